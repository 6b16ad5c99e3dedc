use chrono::{Duration, Utc};

use super::*;

fn record(scopes: &[&str], status: ConsentStatus, expires_in: Option<i64>) -> Consent {
    let now = Utc::now();
    Consent {
        id: ConsentId::new(),
        environment_id: EnvironmentId::new(),
        user_id: UserId::new(),
        application_id: ApplicationId::new(),
        application_name: "app".into(),
        application_kind: ApplicationKind::External,
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        status,
        browser: None,
        operating_system: None,
        device_type: None,
        location: crate::enrich::Location {
            remote_ip: "127.0.0.1".parse().expect("ip"),
            city: None,
            state: None,
            region: None,
            country: None,
        },
        consented_at: now,
        updated_at: now,
        expires_at: expires_in.map(|s| now + Duration::seconds(s)),
        source: ConsentSource::Api,
        remembered: true,
        revocation: (status == ConsentStatus::Revoked).then_some(Revocation { at: now, by: RevokedBy::Unknown }),
        scope_texts: None,
    }
}

#[test]
fn accepted_record_past_its_expiry_reads_as_expired() {
    let now = Utc::now();
    assert_eq!(record(&["a"], ConsentStatus::Accepted, Some(-1)).status_at(now), EffectiveStatus::Expired);
    assert_eq!(record(&["a"], ConsentStatus::Accepted, Some(60)).status_at(now), EffectiveStatus::Accepted);
    assert_eq!(record(&["a"], ConsentStatus::Accepted, None).status_at(now), EffectiveStatus::Accepted);
    assert_eq!(record(&["a"], ConsentStatus::Revoked, Some(-1)).status_at(now), EffectiveStatus::Revoked);
}

#[test]
fn effective_consent_is_the_union_in_first_granted_order() {
    let older = record(&["openid", "profile"], ConsentStatus::Accepted, Some(600));
    let newer = record(&["email", "openid"], ConsentStatus::Accepted, Some(60));
    let effective =
        EffectiveConsent::from_records(ApplicationId::new(), UserId::new(), &[newer.clone(), older.clone()]);
    assert_eq!(effective.scopes, vec!["openid", "profile", "email"]);
    assert_eq!(effective.consent_ids, vec![newer.id, older.id]);
    assert_eq!(effective.expires_at, newer.expires_at);
}
