//! Records revoked before Assent kept who revoked them: the migration gives them `revokedAt` =
//! their `updatedAt` (revoking was the only change a record could undergo) and the cause `UNKNOWN`.
//! It also remembers the names registered applications' records were given under.

use assent::auth::secrets::generate_master_key;
use assent::domain::consents::{ConsentStatus, Revocation, RevokedBy};
use assent::domain::ids::EnvironmentId;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use entities::application_name;
use migration::{Migrator, MigratorTrait};
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::helpers::{fresh_database, start_server, test_settings};

const REVOKED_BY_MIGRATION: &str = "m20261201_000010_consent_revoked_by";

/// Inserts a record of application `app` in the columns the ledger had before the migration.
async fn insert_old_record(
    db: &impl ConnectionTrait,
    (env, id, app): (Uuid, Uuid, Uuid),
    (application_type, status): (&str, &str),
    updated_at: DateTime<Utc>,
) {
    let consented_at = updated_at - Duration::days(3);
    let columns = [
        "environment_id",
        "id",
        "user_id",
        "application_id",
        "application_name",
        "application_type",
        "scopes",
        "status",
        "remote_ip",
        "consented_at",
        "updated_at",
    ];
    let insert = Query::insert()
        .into_table(Alias::new("consents"))
        .columns(columns.map(Alias::new))
        .values_panic([
            env.into(),
            id.into(),
            Uuid::now_v7().into(),
            app.into(),
            "Old App".into(),
            application_type.into(),
            serde_json::json!(["openid"]).into(),
            status.into(),
            "192.0.2.1".into(),
            consented_at.into(),
            updated_at.into(),
        ])
        .to_owned();
    db.execute(&insert).await.expect("old record inserted");
}

#[tokio::test]
async fn records_revoked_before_the_migration_read_as_revoked_at_their_last_update_by_unknown() {
    let (url, _database) = fresh_database().await;
    let db = Database::connect(&url).await.expect("connect");
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == REVOKED_BY_MIGRATION)
        .expect("the migration is registered");
    Migrator::up(&db, Some(u32::try_from(before).unwrap())).await.expect("migrated up to it");
    let env = Uuid::now_v7();
    let updated_at = Utc::now().trunc_subsecs(3) - Duration::hours(5);
    let (revoked, accepted) = (Uuid::now_v7(), Uuid::now_v7());
    let (registered, external) = (Uuid::now_v7(), Uuid::now_v7());
    insert_old_record(&db, (env, revoked, registered), ("PINGONE", "REVOKED"), updated_at).await;
    insert_old_record(&db, (env, accepted, external), ("EXTERNAL", "ACCEPTED"), updated_at).await;
    db.close().await.ok();

    // The server runs the rest of the migrations as it starts.
    let (_base, state) = start_server(test_settings(&url, &generate_master_key())).await;
    let everything = state.store.resolve_filter(EnvironmentId::from_uuid(env), None).await.expect("no filter");
    let records = state
        .store
        .list_consents(
            EnvironmentId::from_uuid(env),
            None,
            &everything,
            assent::domain::paging::PageRequest { limit: 10, position: None },
            Utc::now(),
        )
        .await
        .expect("records read");
    let find = |id: Uuid| records.iter().find(|r| r.id.as_uuid() == id).expect("record kept");
    let old = find(revoked);
    assert_eq!(old.status, ConsentStatus::Revoked);
    assert_eq!(old.revocation, Some(Revocation { at: updated_at, by: RevokedBy::Unknown }));
    assert_eq!(old.updated_at, updated_at);
    let live = find(accepted);
    assert_eq!(live.status, ConsentStatus::Accepted);
    assert_eq!(live.revocation, None);

    // The registered application's record name is kept among its names; external names are not.
    let db = Database::connect(&url).await.expect("connect");
    let names = application_name::Entity::find()
        .filter(application_name::Column::EnvironmentId.eq(env))
        .all(&db)
        .await
        .expect("names read");
    let expected = application_name::Model { environment_id: env, name: "Old App".into(), application_id: registered };
    assert_eq!(names, vec![expected]);
}
