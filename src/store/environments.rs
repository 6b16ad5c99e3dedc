//! Environments and their signing keys.

use super::reads::ReadExt;
use entities::{environment, signing_key};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};

use super::error::conflict_on;
use super::{Store, StoreError};
use crate::auth::keys::{PublicJwk, SigningKey};
use crate::auth::secrets::SecretBox;
use crate::domain::applications::{Application, ClientSecret};
use crate::domain::environments::{Controller, Environment};
use crate::domain::ids::{EnvironmentId, KeyId};
use crate::domain::scopes::Scope;

/// A stored signing key, private half still sealed.
#[derive(Clone, Debug)]
pub struct StoredKey {
    /// Key id.
    pub id: KeyId,
    /// AES-GCM sealed PKCS#8 DER.
    pub private_sealed: Vec<u8>,
    /// Public JWK.
    pub public: PublicJwk,
}

impl Store {
    /// Inserts an environment with its first signing key, administrator application and built-in
    /// scopes, in one transaction.
    pub async fn insert_environment(
        &self,
        env: &Environment,
        key: &SigningKey,
        sealer: &SecretBox,
        app: &Application,
        secret: &ClientSecret,
        scopes: &[Scope],
    ) -> Result<(), StoreError> {
        let sealed_key = sealer.seal_bytes(&key.private_der).map_err(StoreError::Database)?;
        let tx = self.begin().await?;
        environment::Model {
            id: env.id.as_uuid(),
            name: env.name.clone(),
            login_url: env.login_url.clone(),
            consent_url: env.consent_url.clone(),
            cors_origins: super::applications::strings_to_json(&env.cors_origins),
            controller_name: env.controller.name.clone(),
            controller_contact: env.controller.contact.clone(),
            privacy_policy_url: env.controller.privacy_policy_url.clone(),
            created_at: env.created_at,
            updated_at: env.updated_at,
        }
        .into_active_model()
        .insert(&tx)
        .await?;
        signing_key::Model {
            environment_id: env.id.as_uuid(),
            id: key.id.as_uuid(),
            private_key_sealed: sealed_key,
            public_x: key.public.x.clone(),
            public_y: key.public.y.clone(),
            created_at: env.created_at,
        }
        .into_active_model()
        .insert(&tx)
        .await?;
        super::applications::to_row(app, secret).into_active_model().insert(&tx).await.map_err(conflict_on("id"))?;
        super::applications::remember_name(&tx, env.id, app.id, &app.name).await?;
        entities::scope::Entity::insert_many(scopes.iter().map(|s| super::scopes::to_row(s).into_active_model()))
            .exec(&tx)
            .await?;
        super::scope_texts::keep_text(&tx, scopes).await?;
        tx.commit().await?;
        self.changed(env.id);
        Ok(())
    }

    /// Reads one environment.
    pub async fn get_environment(&self, env: EnvironmentId) -> Result<Environment, StoreError> {
        let row = match self.catalog.environment(env.as_uuid()) {
            Some(row) => row,
            None => {
                let start = self.catalog.start();
                let row = environment::Entity::find_by_id(env.as_uuid())
                    .read_one(&self.reads)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                self.catalog.keep_environment(start, row)
            }
        };
        Ok(Environment {
            id: EnvironmentId::from_uuid(row.id),
            name: row.name.clone(),
            login_url: row.login_url.clone(),
            consent_url: row.consent_url.clone(),
            cors_origins: super::applications::strings_from_json(&row.cors_origins)?,
            controller: Controller {
                name: row.controller_name.clone(),
                contact: row.controller_contact.clone(),
                privacy_policy_url: row.privacy_policy_url.clone(),
            },
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// Writes an environment's settings.
    pub async fn update_environment(&self, env: &Environment) -> Result<(), StoreError> {
        let result = environment::Entity::update_many()
            .col_expr(environment::Column::LoginUrl, sea_orm::sea_query::Expr::value(env.login_url.clone()))
            .col_expr(environment::Column::ConsentUrl, sea_orm::sea_query::Expr::value(env.consent_url.clone()))
            .col_expr(
                environment::Column::CorsOrigins,
                sea_orm::sea_query::Expr::value(super::applications::strings_to_json(&env.cors_origins)),
            )
            .col_expr(environment::Column::ControllerName, sea_orm::sea_query::Expr::value(env.controller.name.clone()))
            .col_expr(
                environment::Column::ControllerContact,
                sea_orm::sea_query::Expr::value(env.controller.contact.clone()),
            )
            .col_expr(
                environment::Column::PrivacyPolicyUrl,
                sea_orm::sea_query::Expr::value(env.controller.privacy_policy_url.clone()),
            )
            .col_expr(environment::Column::UpdatedAt, sea_orm::sea_query::Expr::value(env.updated_at))
            .filter(environment::Column::Id.eq(env.id.as_uuid()))
            .exec(&self.db)
            .await;
        self.changed(env.id);
        super::error::touched(result?.rows_affected)
    }

    /// The environment's signing keys, newest first (the first one signs).
    pub async fn signing_keys(&self, env: EnvironmentId) -> Result<Vec<StoredKey>, StoreError> {
        let rows = signing_key::Entity::find()
            .filter(signing_key::Column::EnvironmentId.eq(env.as_uuid()))
            .order_by_desc(signing_key::Column::Id)
            .read_all(&self.reads)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| StoredKey {
                id: KeyId::from_uuid(row.id),
                private_sealed: row.private_key_sealed,
                public: PublicJwk { kid: row.id.to_string(), x: row.public_x, y: row.public_y },
            })
            .collect())
    }
}
