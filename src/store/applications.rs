//! Applications, scoped by environment; enum settings are stored by their wire names.

use std::sync::Arc;

use super::reads::ReadExt;
use entities::{application, application_name};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
};
use serde_json::Value as Json;

use super::consent_revocations::{ConsentsOf, revoke_consents_of};
use super::error::{conflict_on, touched};
use super::grants::{GrantsOf, revoke_grants_of};
use super::{Store, StoreError};
use crate::domain::applications::{
    AppType, Application, ClientSecret, ConsentMethod, GrantType, PkceEnforcement, Protocol, ResponseType,
    TokenAuthMethod,
};
use crate::domain::consents::{Revocation, RevokedBy};
use crate::domain::ids::{ApplicationId, EnvironmentId};
use crate::domain::paging::PageRequest;

/// What the token endpoint needs to authenticate a client.
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    /// Argon2 PHC string of the secret.
    pub secret_hash: String,
    /// Sealed clear secret.
    pub sealed_secret: Vec<u8>,
}

/// Two-way mapping between an enum and its stored name; unknown stored names are a database error.
macro_rules! stored_names {
    ($ty:ty { $($variant:path => $name:literal),+ $(,)? }) => {
        impl StoredName for $ty {
            fn stored_name(&self) -> &'static str {
                match self { $($variant => $name),+ }
            }
            fn from_stored(name: &str) -> Result<Self, StoreError> {
                match name {
                    $($name => Ok($variant),)+
                    other => Err(StoreError::Database(format!("unknown stored value '{other}' for {}", stringify!($ty)))),
                }
            }
        }
    };
}

trait StoredName: Sized {
    fn stored_name(&self) -> &'static str;
    fn from_stored(name: &str) -> Result<Self, StoreError>;
}

stored_names!(AppType { AppType::Worker => "WORKER", AppType::WebApp => "WEB_APP", AppType::NativeApp => "NATIVE_APP", AppType::SinglePageApp => "SINGLE_PAGE_APP" });
stored_names!(GrantType { GrantType::AuthorizationCode => "AUTHORIZATION_CODE", GrantType::ClientCredentials => "CLIENT_CREDENTIALS", GrantType::RefreshToken => "REFRESH_TOKEN" });
stored_names!(ResponseType { ResponseType::Code => "CODE" });
stored_names!(TokenAuthMethod { TokenAuthMethod::ClientSecretBasic => "CLIENT_SECRET_BASIC", TokenAuthMethod::ClientSecretPost => "CLIENT_SECRET_POST", TokenAuthMethod::None => "NONE" });
stored_names!(PkceEnforcement { PkceEnforcement::Optional => "OPTIONAL", PkceEnforcement::S256Required => "S256_REQUIRED" });
stored_names!(Protocol { Protocol::OpenIdConnect => "OPENID_CONNECT" });
stored_names!(ConsentMethod { ConsentMethod::Trusted => "TRUSTED", ConsentMethod::Required => "REQUIRED" });

fn names_to_json<T: StoredName>(items: &[T]) -> Json {
    Json::Array(items.iter().map(|i| Json::String(i.stored_name().to_owned())).collect())
}

fn names_from_json<T: StoredName>(value: &Json) -> Result<Vec<T>, StoreError> {
    strings_from_json(value)?.iter().map(|s| T::from_stored(s)).collect()
}

pub(super) fn strings_to_json(items: &[String]) -> Json {
    Json::Array(items.iter().cloned().map(Json::String).collect())
}

pub(super) fn strings_from_json(value: &Json) -> Result<Vec<String>, StoreError> {
    serde_json::from_value(value.clone()).map_err(|e| StoreError::Database(format!("stored list: {e}")))
}

/// The row for a new application.
pub(super) fn to_row(app: &Application, secret: &ClientSecret) -> application::Model {
    application::Model {
        environment_id: app.environment_id.as_uuid(),
        id: app.id.as_uuid(),
        name: app.name.clone(),
        description: app.description.clone(),
        enabled: app.enabled,
        protocol: app.protocol.stored_name().to_owned(),
        app_type: app.app_type.stored_name().to_owned(),
        grant_types: names_to_json(&app.grant_types),
        response_types: names_to_json(&app.response_types),
        redirect_uris: strings_to_json(&app.redirect_uris),
        token_endpoint_auth_method: app.token_endpoint_auth_method.stored_name().to_owned(),
        pkce_enforcement: app.pkce_enforcement.stored_name().to_owned(),
        consent_method: app.consent_method.stored_name().to_owned(),
        scopes: strings_to_json(&app.scopes),
        secret_hash: secret.hash.clone(),
        secret_sealed: secret.sealed.clone(),
        created_at: app.created_at,
        updated_at: app.updated_at,
        credential_version: app.credential_version,
    }
}

fn to_domain(row: application::Model) -> Result<Application, StoreError> {
    Ok(Application {
        id: ApplicationId::from_uuid(row.id),
        environment_id: EnvironmentId::from_uuid(row.environment_id),
        name: row.name,
        description: row.description,
        enabled: row.enabled,
        protocol: Protocol::from_stored(&row.protocol)?,
        app_type: AppType::from_stored(&row.app_type)?,
        grant_types: names_from_json(&row.grant_types)?,
        response_types: names_from_json(&row.response_types)?,
        redirect_uris: strings_from_json(&row.redirect_uris)?,
        token_endpoint_auth_method: TokenAuthMethod::from_stored(&row.token_endpoint_auth_method)?,
        pkce_enforcement: PkceEnforcement::from_stored(&row.pkce_enforcement)?,
        consent_method: ConsentMethod::from_stored(&row.consent_method)?,
        scopes: strings_from_json(&row.scopes)?,
        created_at: row.created_at,
        updated_at: row.updated_at,
        credential_version: row.credential_version,
    })
}

/// Adds `name` to the names application `id` has had (kept after it is deleted, for the records
/// given under them; see `consent_filter`).
pub(super) async fn remember_name(
    db: &impl ConnectionTrait,
    env: EnvironmentId,
    id: ApplicationId,
    name: &str,
) -> Result<(), StoreError> {
    let row =
        application_name::Model { environment_id: env.as_uuid(), name: name.to_owned(), application_id: id.as_uuid() };
    application_name::Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::columns([
                application_name::Column::EnvironmentId,
                application_name::Column::Name,
                application_name::Column::ApplicationId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn scoped(env: EnvironmentId) -> sea_orm::Select<application::Entity> {
    application::Entity::find().filter(application::Column::EnvironmentId.eq(env.as_uuid()))
}

fn one(env: EnvironmentId, id: ApplicationId) -> sea_orm::Select<application::Entity> {
    scoped(env).filter(application::Column::Id.eq(id.as_uuid()))
}

impl Store {
    /// Inserts an application with its secret, and its name among the names it has had.
    pub async fn insert_application(
        &self,
        env: EnvironmentId,
        app: &Application,
        secret: &ClientSecret,
    ) -> Result<(), StoreError> {
        debug_assert_eq!(env, app.environment_id);
        let tx = self.begin().await?;
        to_row(app, secret).into_active_model().insert(&tx).await.map_err(conflict_on("id"))?;
        remember_name(&tx, env, app.id, &app.name).await?;
        let committed = tx.commit().await;
        self.changed(env);
        committed?;
        Ok(())
    }

    /// Reads one application.
    pub async fn get_application(&self, env: EnvironmentId, id: ApplicationId) -> Result<Application, StoreError> {
        to_domain(Arc::unwrap_or_clone(self.application_row(env, id).await?))
    }

    /// An application's row, from the catalog while it is fresh.
    async fn application_row(
        &self,
        env: EnvironmentId,
        id: ApplicationId,
    ) -> Result<Arc<application::Model>, StoreError> {
        if let Some(row) = self.catalog.application(env.as_uuid(), id.as_uuid()) {
            return Ok(row);
        }
        let start = self.catalog.start();
        let row = one(env, id).read_one(&self.reads).await?.ok_or(StoreError::NotFound)?;
        Ok(self.catalog.keep_application(start, row))
    }

    /// The applications among `ids` that exist in the environment.
    pub async fn get_applications(
        &self,
        env: EnvironmentId,
        ids: &[ApplicationId],
    ) -> Result<Vec<Application>, StoreError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = scoped(env)
            .filter(application::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .read_all(&self.reads)
            .await?;
        rows.into_iter().map(to_domain).collect()
    }

    /// Reads one application with what is needed to authenticate it.
    pub async fn get_application_with_credentials(
        &self,
        env: EnvironmentId,
        id: ApplicationId,
    ) -> Result<(Application, ClientCredentials), StoreError> {
        let row = Arc::unwrap_or_clone(self.application_row(env, id).await?);
        let credentials =
            ClientCredentials { secret_hash: row.secret_hash.clone(), sealed_secret: row.secret_sealed.clone() };
        Ok((to_domain(row)?, credentials))
    }

    /// Only the credentials of an application.
    pub async fn get_client_credentials(
        &self,
        env: EnvironmentId,
        id: ApplicationId,
    ) -> Result<ClientCredentials, StoreError> {
        self.get_application_with_credentials(env, id).await.map(|(_, c)| c)
    }

    /// Up to `limit` applications after the cursor id, in id (creation) order.
    pub async fn list_applications(
        &self,
        env: EnvironmentId,
        page: PageRequest,
    ) -> Result<Vec<Application>, StoreError> {
        let query = super::paging::keyset(scoped(env), application::Column::Id, false, page);
        query.read_all(&self.reads).await?.into_iter().map(to_domain).collect()
    }

    /// How many applications the environment has, counting no further than `bound + 1`.
    pub async fn count_applications(&self, env: EnvironmentId, bound: u64) -> Result<u64, StoreError> {
        Ok(scoped(env).read_count_upto(&self.reads, bound).await?)
    }

    /// Writes every setting of `app` (not its secret). Disabling it ends its grants and moves its
    /// credential version on, so no token issued before stands again, even once it is re-enabled;
    /// `ends_client_tokens` moves the version on alone, ending its client_credentials tokens.
    pub async fn update_application(
        &self,
        env: EnvironmentId,
        app: &Application,
        ends_client_tokens: bool,
    ) -> Result<(), StoreError> {
        let ends_tokens = ends_client_tokens || !app.enabled;
        let tx = self.begin().await?;
        let mut update = application::Entity::update_many();
        if ends_tokens {
            update = update.col_expr(
                application::Column::CredentialVersion,
                Expr::col(application::Column::CredentialVersion).add(1),
            );
        }
        let result = update
            .col_expr(application::Column::Name, Expr::value(app.name.clone()))
            .col_expr(application::Column::Description, Expr::value(app.description.clone()))
            .col_expr(application::Column::Enabled, Expr::value(app.enabled))
            .col_expr(application::Column::Protocol, Expr::value(app.protocol.stored_name()))
            .col_expr(application::Column::AppType, Expr::value(app.app_type.stored_name()))
            .col_expr(application::Column::GrantTypes, Expr::value(names_to_json(&app.grant_types)))
            .col_expr(application::Column::ResponseTypes, Expr::value(names_to_json(&app.response_types)))
            .col_expr(application::Column::RedirectUris, Expr::value(strings_to_json(&app.redirect_uris)))
            .col_expr(
                application::Column::TokenEndpointAuthMethod,
                Expr::value(app.token_endpoint_auth_method.stored_name()),
            )
            .col_expr(application::Column::PkceEnforcement, Expr::value(app.pkce_enforcement.stored_name()))
            .col_expr(application::Column::ConsentMethod, Expr::value(app.consent_method.stored_name()))
            .col_expr(application::Column::Scopes, Expr::value(strings_to_json(&app.scopes)))
            .col_expr(application::Column::UpdatedAt, Expr::value(app.updated_at))
            .filter(application::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(application::Column::Id.eq(app.id.as_uuid()))
            .exec(&tx)
            .await?;
        touched(result.rows_affected)?;
        remember_name(&tx, env, app.id, &app.name).await?;
        if !app.enabled {
            revoke_grants_of(&tx, env, GrantsOf::Client(app.id), app.updated_at).await?;
        }
        tx.commit().await?;
        self.changed(env);
        if ends_tokens {
            self.ended();
        }
        Ok(())
    }

    /// Whether a client still exists and is enabled, and its credential version; `None` once deleted.
    pub async fn client_standing(
        &self,
        env: EnvironmentId,
        id: ApplicationId,
    ) -> Result<Option<(bool, i32)>, StoreError> {
        Ok(one(env, id)
            .select_only()
            .column(application::Column::Enabled)
            .column(application::Column::CredentialVersion)
            .limit(1)
            .read_tuples::<(bool, i32)>(&self.reads)
            .await?
            .pop())
    }

    /// How many applications of the environment list the scope `name`.
    pub async fn count_applications_with_scope(&self, env: EnvironmentId, name: &str) -> Result<u64, StoreError> {
        let lists_it = match self.db.get_database_backend() {
            DbBackend::Postgres => {
                "EXISTS (SELECT 1 FROM json_array_elements_text(\"applications\".\"scopes\") AS s(name) WHERE s.name = $1)"
            }
            _ => "EXISTS (SELECT 1 FROM json_each(\"applications\".\"scopes\") WHERE json_each.value = ?)",
        };
        Ok(scoped(env).filter(Expr::cust_with_values(lists_it, [name])).read_count(&self.reads).await?)
    }

    /// Replaces the secret of an application and moves its credential version on: tokens it got
    /// with the old secret (client_credentials) stop standing.
    pub async fn replace_client_secret(
        &self,
        env: EnvironmentId,
        id: ApplicationId,
        secret: &ClientSecret,
    ) -> Result<(), StoreError> {
        let result = application::Entity::update_many()
            .col_expr(application::Column::SecretHash, Expr::value(secret.hash.clone()))
            .col_expr(application::Column::SecretSealed, Expr::value(secret.sealed.clone()))
            .col_expr(application::Column::CredentialVersion, Expr::col(application::Column::CredentialVersion).add(1))
            .col_expr(application::Column::UpdatedAt, Expr::value(crate::domain::now()))
            .filter(application::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(application::Column::Id.eq(id.as_uuid()))
            .exec(&self.db)
            .await?;
        self.changed(env);
        touched(result.rows_affected)?;
        self.ended();
        Ok(())
    }

    /// Deletes an application, ends its grants (with their tokens) and revokes the accepted,
    /// unexpired consent records given to it (`APPLICATION_DELETED`), in one transaction. The records
    /// stay, and so do the names it had (records were given under them).
    pub async fn delete_application(
        &self,
        env: EnvironmentId,
        id: ApplicationId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.begin().await?;
        let result = application::Entity::delete_many()
            .filter(application::Column::EnvironmentId.eq(env.as_uuid()))
            .filter(application::Column::Id.eq(id.as_uuid()))
            .exec(&tx)
            .await?;
        touched(result.rows_affected)?;
        revoke_grants_of(&tx, env, GrantsOf::Client(id), now).await?;
        let revocation = Revocation { at: now, by: RevokedBy::ApplicationDeleted(id) };
        revoke_consents_of(&tx, env, ConsentsOf::Application(id), revocation).await?;
        tx.commit().await?;
        self.changed(env);
        self.ended();
        Ok(())
    }
}
