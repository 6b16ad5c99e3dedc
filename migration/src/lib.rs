//! Schema migrations, run at start-up by `assent serve` and `assent bootstrap`.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_platform_tables;
mod m20261123_000002_create_consent_ledger;
mod m20261123_000003_create_scopes;
mod m20261123_000004_application_consent_and_scopes;
mod m20261123_000005_index_consents_by_application_and_status;
mod m20261123_000006_authorization_flow;
mod m20261123_000007_external_login_and_consent_apps;
mod m20261201_000008_token_liveness_and_login_throttles;
mod m20261201_000009_idempotency_keys;
mod m20261201_000010_consent_revoked_by;
mod m20261201_000011_external_subjects;
mod m20261201_000012_worker_permissions;
mod m20261201_000013_totals_cover_expiry;
mod m20261201_000014_environment_cors_origins;
mod m20261207_000015_consent_event_log;
mod m20261207_000016_environment_controller;
mod m20261207_000017_scope_text_versions;
mod m20261207_000018_user_erasure;
mod m20261207_000019_webhook_subscriptions;
mod m20261208_000020_webhook_deliveries;

/// All migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_platform_tables::Migration),
            Box::new(m20261123_000002_create_consent_ledger::Migration),
            Box::new(m20261123_000003_create_scopes::Migration),
            Box::new(m20261123_000004_application_consent_and_scopes::Migration),
            Box::new(m20261123_000005_index_consents_by_application_and_status::Migration),
            Box::new(m20261123_000006_authorization_flow::Migration),
            Box::new(m20261123_000007_external_login_and_consent_apps::Migration),
            Box::new(m20261201_000008_token_liveness_and_login_throttles::Migration),
            Box::new(m20261201_000009_idempotency_keys::Migration),
            Box::new(m20261201_000010_consent_revoked_by::Migration),
            Box::new(m20261201_000011_external_subjects::Migration),
            Box::new(m20261201_000012_worker_permissions::Migration),
            Box::new(m20261201_000013_totals_cover_expiry::Migration),
            Box::new(m20261201_000014_environment_cors_origins::Migration),
            Box::new(m20261207_000015_consent_event_log::Migration),
            Box::new(m20261207_000016_environment_controller::Migration),
            Box::new(m20261207_000017_scope_text_versions::Migration),
            Box::new(m20261207_000018_user_erasure::Migration),
            Box::new(m20261207_000019_webhook_subscriptions::Migration),
            Box::new(m20261208_000020_webhook_deliveries::Migration),
        ]
    }
}
