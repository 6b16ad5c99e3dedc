//! `assent seed`: fills an environment with users and consent records, for benchmarks and demos.

use std::time::Instant;

use crate::domain::consents::{ApplicationKind, Consent, ConsentSource, ConsentStatus, Revocation, RevokedBy};
use crate::domain::error::DomainError;
use crate::domain::ids::{ConsentId, EnvironmentId, UserId};
use crate::domain::users::User;
use crate::enrich::{Location, Software};
use crate::store::Store;

/// What `seed` created.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Seeded {
    /// The environment filled.
    pub environment_id: String,
    /// Users created.
    pub users: usize,
    /// Consent records created.
    pub consents: usize,
    /// A user that has records (for per-user list benchmarks).
    pub sample_user_id: String,
    /// A record of that user (for read benchmarks).
    pub sample_consent_id: String,
    /// An application name the records use (for filter benchmarks).
    pub sample_application_name: String,
    /// Wall-clock seconds spent.
    pub seconds: f64,
}

/// Records per transaction.
const BATCH: usize = 5_000;
/// External applications the records are spread over.
const APPLICATIONS: usize = 10;
const SCOPES: [&[&str]; 4] =
    [&["openid"], &["openid", "profile"], &["openid", "email"], &["openid", "profile", "email"]];

/// Creates `users` users and `consents` records spread round-robin over them and ten external applications.
pub async fn seed(store: &Store, env: EnvironmentId, users: usize, consents: usize) -> Result<Seeded, DomainError> {
    let started = Instant::now();
    store.get_environment(env).await?;
    let users = users.max(1);
    let run = uuid::Uuid::now_v7().simple().to_string();
    let mut user_ids = Vec::with_capacity(users);
    for n in 0..users {
        let now = crate::domain::now();
        let user = User {
            id: UserId::new(),
            environment_id: env,
            username: format!("seed-{run}-{n}"),
            email: Some(format!("seed-{n}@example.com")),
            given_name: None,
            family_name: None,
            enabled: true,
            external_subject: None,
            created_at: now,
            updated_at: now,
        };
        store.insert_user(env, &user, None).await?;
        user_ids.push(user.id);
    }
    let mut applications = Vec::with_capacity(APPLICATIONS);
    for n in 0..APPLICATIONS {
        let name = format!("seed-app-{n}");
        applications.push((store.external_application_id(env, &name).await?, name));
    }
    let location = Location {
        remote_ip: std::net::IpAddr::from([203, 0, 113, 7]),
        city: Some("Tacoma".into()),
        state: Some("Washington".into()),
        region: Some("Pierce County".into()),
        country: Some("United States".into()),
    };
    let mut first: Option<(UserId, ConsentId)> = None;
    let mut batch = Vec::with_capacity(BATCH);
    for n in 0..consents {
        let user = user_ids[n % users];
        let (application_id, application_name) = &applications[(n / users) % APPLICATIONS];
        let status = match n % 10 {
            8 => ConsentStatus::Declined,
            9 => ConsentStatus::Revoked,
            _ => ConsentStatus::Accepted,
        };
        let now = crate::domain::now();
        let record = Consent {
            id: ConsentId::new(),
            environment_id: env,
            user_id: user,
            application_id: *application_id,
            application_name: application_name.clone(),
            application_kind: ApplicationKind::External,
            scopes: SCOPES[n % SCOPES.len()].iter().map(|s| (*s).to_owned()).collect(),
            status,
            browser: Some(Software { name: "Chrome".into(), version: Some("131.0.0.0".into()) }),
            operating_system: Some(Software { name: "Mac OS".into(), version: Some("10.15.7".into()) }),
            device_type: Some("desktop".into()),
            location: location.clone(),
            consented_at: now,
            updated_at: now,
            expires_at: None,
            source: ConsentSource::Api,
            remembered: true,
            revocation: (status == ConsentStatus::Revoked).then_some(Revocation { at: now, by: RevokedBy::User(user) }),
            scope_texts: None,
        };
        first.get_or_insert((user, record.id));
        batch.push(record);
        if batch.len() == BATCH {
            store.insert_consents(&batch).await?;
            batch.clear();
        }
    }
    store.insert_consents(&batch).await?;
    store.refresh_statistics().await?;
    let (sample_user, sample_consent) = first.unwrap_or((user_ids[0], ConsentId::new()));
    Ok(Seeded {
        environment_id: env.to_string(),
        users,
        consents,
        sample_user_id: sample_user.to_string(),
        sample_consent_id: if consents > 0 { sample_consent.to_string() } else { String::new() },
        sample_application_name: applications[0].1.clone(),
        seconds: started.elapsed().as_secs_f64(),
    })
}
