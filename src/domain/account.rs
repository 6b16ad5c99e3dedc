//! The hosted account page's side of the domain: its own application (one per environment, made on
//! first use), the page's view of a user's grants, and removing an application's access, which
//! revokes through the same operation as the records API's `consent.revoke`.

use uuid::Uuid;

use super::applications::{self, AppType, Application, ApplicationDraft, ConsentMethod, GrantType};
use super::consents::{self, Consent, EffectiveConsent, RevokedBy};
use super::error::DomainError;
use super::ids::{ApplicationId, EnvironmentId, UserId};
use crate::auth::principal::{READ_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE};
use crate::auth::secrets::SecretBox;
use crate::store::{Store, StoreError};

/// The scopes the account page asks for: the user's own records, to read and to withdraw.
pub const ACCOUNT_SCOPES: [&str; 3] = ["openid", READ_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE];

/// Bits of the environment's id flipped to make its account application's id: only in the random
/// tail, so the id keeps its version and variant, is stable, and is unique per environment.
const ACCOUNT_ID_MASK: u128 = 0xa55a_a55a_a55a;

/// The id of `env`'s account page application.
pub fn account_application_id(env: EnvironmentId) -> ApplicationId {
    ApplicationId::from_uuid(Uuid::from_u128(env.as_uuid().as_u128() ^ ACCOUNT_ID_MASK))
}

/// The account page's application, registered on first use: a first-party public client
/// (TRUSTED, so no consent page; its grant is still recorded) whose one redirect URI is the page's
/// callback. An administrator may disable it, which switches the page off, or delete it, which
/// signs everyone out of the page until it is made again.
pub async fn account_application(
    store: &Store,
    secrets: &SecretBox,
    env: EnvironmentId,
    callback: &str,
) -> Result<Application, DomainError> {
    let id = account_application_id(env);
    match store.get_application(env, id).await {
        Ok(app) => return Ok(app),
        Err(StoreError::NotFound) => {}
        Err(other) => return Err(other.into()),
    }
    store.get_environment(env).await?;
    let draft = ApplicationDraft {
        name: Some("My Account".into()),
        description: Some("The hosted account page, where users see and withdraw their consents".into()),
        app_type: Some(AppType::SinglePageApp),
        grant_types: Some(vec![GrantType::AuthorizationCode]),
        redirect_uris: Some(vec![callback.to_owned()]),
        consent_method: Some(ConsentMethod::Trusted),
        scopes: Some(ACCOUNT_SCOPES.iter().map(|s| (*s).to_owned()).collect()),
        ..ApplicationDraft::default()
    };
    let known: Vec<String> = ACCOUNT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    let mut new = applications::prepare(env, draft, &known, secrets).await?;
    new.application.id = id;
    match store.insert_application(env, &new.application, &new.secret).await {
        Ok(()) => Ok(new.application),
        // Two first visits at once: the other one made it.
        Err(StoreError::Conflict(_)) => Ok(store.get_application(env, id).await?),
        Err(other) => Err(other.into()),
    }
}

/// One application with access, as the account page shows it.
#[derive(Clone, Debug)]
pub struct AccessGrant {
    /// What is granted, and by which records.
    pub grant: EffectiveConsent,
    /// The records behind it, newest first.
    pub records: Vec<Consent>,
    /// The application's name: a registered application's current name, else its newest record's.
    pub name: String,
}

/// The applications `user` has granted something to now, the most recently granted first.
pub async fn access_grants(store: &Store, env: EnvironmentId, user: UserId) -> Result<Vec<AccessGrant>, DomainError> {
    let grants = consents::effective_consents(store, env, user).await?;
    let newest: Vec<Consent> = grants.iter().filter_map(|(_, records)| records.first().cloned()).collect();
    let apps = consents::consent_applications(store, env, &newest).await?;
    Ok(grants
        .into_iter()
        .filter_map(|(grant, records)| {
            let newest = records.first()?;
            let name = match apps.get(&grant.application_id) {
                Some(app) => app.name.clone(),
                None => newest.application_name.clone(),
            };
            Some(AccessGrant { grant, records, name })
        })
        .collect())
}

/// What removing an application's access did.
#[derive(Clone, Debug)]
pub struct RemovedAccess {
    /// The application's name.
    pub name: String,
    /// Records revoked.
    pub revoked: usize,
}

/// Removes `application`'s access: revokes, as the user, every record that grants it something
/// (the same operation as a `consent.revoke` PATCH), which ends its grants and tokens at once.
pub async fn remove_access(
    store: &Store,
    env: EnvironmentId,
    user: UserId,
    application: ApplicationId,
) -> Result<RemovedAccess, DomainError> {
    let grants = access_grants(store, env, user).await?;
    let Some(grant) = grants.into_iter().find(|g| g.grant.application_id == application) else {
        return Err(DomainError::NotFound);
    };
    for id in &grant.grant.consent_ids {
        consents::revoke_consent(store, env, user, *id, RevokedBy::User(user)).await?;
    }
    Ok(RemovedAccess { name: grant.name, revoked: grant.grant.consent_ids.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_application_id_is_stable_per_environment_and_keeps_the_uuid_version() {
        let env = EnvironmentId::new();
        let id = account_application_id(env);
        assert_eq!(id, account_application_id(env));
        assert_ne!(id.as_uuid(), env.as_uuid());
        assert_ne!(id, account_application_id(EnvironmentId::new()));
        assert_eq!(id.as_uuid().get_version_num(), 7);
        assert_eq!(id.as_uuid().get_variant(), uuid::Variant::RFC4122);
    }
}
