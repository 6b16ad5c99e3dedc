//! The serde form of every consent wire type equals its OpenAPI (poem-openapi) form.

use chrono::Utc;
use poem_openapi::types::ToJSON;

use super::*;
use crate::api::types::Link;
use crate::domain::consents::{ApplicationKind, Consent, ConsentSource, ConsentStatus, Revocation, RevokedBy};
use crate::domain::ids::{ApplicationId, ConsentId, EnvironmentId, UserId};
use crate::enrich::{Location, Software};

fn record(full: bool) -> Consent {
    let now = crate::domain::now();
    Consent {
        id: ConsentId::new(),
        environment_id: EnvironmentId::new(),
        user_id: UserId::new(),
        application_id: ApplicationId::new(),
        application_name: "Printer \"Pro\"".into(),
        application_kind: if full { ApplicationKind::PingOne } else { ApplicationKind::External },
        scopes: vec!["openid".into(), "email".into()],
        status: if full { ConsentStatus::Accepted } else { ConsentStatus::Revoked },
        browser: full.then(|| Software { name: "Chrome".into(), version: Some("131".into()) }),
        operating_system: full.then(|| Software { name: "Linux".into(), version: None }),
        device_type: full.then(|| "desktop".into()),
        location: Location {
            remote_ip: "2001:db8::1".parse().expect("ip"),
            city: full.then(|| "London".into()),
            state: full.then(|| "England".into()),
            region: full.then(|| "Greater London".into()),
            country: full.then(|| "United Kingdom".into()),
        },
        consented_at: now,
        updated_at: now,
        expires_at: full.then(|| now + chrono::Duration::days(1)),
        source: if full { ConsentSource::ConsentPage } else { ConsentSource::Api },
        remembered: full,
        revocation: (!full).then(|| Revocation { at: now, by: RevokedBy::Administrator(ApplicationId::new()) }),
        scope_texts: None,
    }
}

fn render(consent: Consent, embed: bool) -> ConsentOut {
    let env_url = format!("http://x/v1/environments/{}", consent.environment_id);
    let self_url = format!("{env_url}/users/{}/oauthConsents/{}", consent.user_id, consent.id);
    let mut out = ConsentOut::from_parts(&env_url, LinkRights::ALL, consent, Utc::now());
    assert!(out.links.self_.href == self_url);
    if embed {
        out.embedded = Some(ConsentEmbedded {
            application: EmbeddedApplication {
                id: "a".into(),
                name: "n".into(),
                application_type: ApplicationType::PingOne,
                app_type: Some(crate::api::applications::AppType::WebApp),
                enabled: Some(true),
                links: Some(SelfLink { self_: Link::to("http://x/app") }),
            },
        });
    }
    out
}

fn same<T: ToJSON + serde::Serialize>(value: &T) {
    let openapi = value.to_json().expect("to_json");
    let serde = serde_json::to_value(value).expect("serde");
    assert_eq!(serde, openapi);
}

#[test]
fn consent_out_serialises_the_same_both_ways() {
    same(&render(record(true), true));
    same(&render(record(false), false));
}

#[test]
fn pages_and_effective_consent_serialise_the_same_both_ways() {
    let cursors = crate::domain::paging::Page::<()> {
        items: vec![],
        next_cursor: Some("def".into()),
        prev_cursor: Some("abc".into()),
        total: None,
    };
    let page = ConsentsPage {
        links: crate::api::types::collection_links("http://x/c", 2, Some("abc"), &cursors, &[("filter", "a b")]),
        embedded: EmbeddedConsents { oauth_consents: vec![render(record(true), false), render(record(false), true)] },
        count: None,
        size: 2,
    };
    same(&page);
    let alone =
        crate::domain::paging::Page::<()> { items: vec![], next_cursor: None, prev_cursor: None, total: Some(0) };
    let empty = ConsentsPage {
        links: crate::api::types::collection_links("http://x/c", 2, None, &alone, &[]),
        embedded: EmbeddedConsents { oauth_consents: vec![] },
        count: Some(0),
        size: 0,
    };
    same(&empty);
    let effective = EffectiveConsentOut {
        application: IdRef::to("a"),
        user: IdRef::to("u"),
        scope: vec!["openid".into()],
        consent_ids: vec!["c".into()],
        expires_at: Some(Utc::now().into()),
    };
    same(&effective);
}
