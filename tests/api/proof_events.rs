//! The consent event log: every ledger change chained by hash, paged with a cursor, checkpointed
//! with signatures, exported, and verified offline by `assent verify`, which names the first
//! sequence an edit of the database broke.

use std::time::Duration;

use reqwest::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::consents_record::{record, seed_body};
use crate::consents_revoke::REVOKE;
use crate::helpers::{Answer, TestApp};

const ZEROS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Every event of the environment, following `next` links `limit` at a time.
pub(crate) async fn all_events(app: &TestApp, limit: u32) -> Vec<Value> {
    let mut url = app.env_url(&format!("/consentEvents?limit={limit}"));
    let mut events = Vec::new();
    loop {
        let page = app.get(&url, 200).await;
        let items = page["_embedded"]["consentEvents"].as_array().unwrap().clone();
        assert!(items.len() <= limit as usize);
        events.extend(items);
        match page["_links"]["next"]["href"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return events,
        }
    }
}

pub(crate) async fn revoke(app: &TestApp, consent: &Value) {
    let href = consent["_links"]["consent.revoke"]["href"].as_str().unwrap();
    let answer = app
        .client
        .patch(href)
        .bearer_auth(&app.token)
        .header("Content-Type", REVOKE)
        .body(r#"{"status":"REVOKED"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn every_ledger_change_is_appended_in_order_each_event_chained_to_the_one_before() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await["id"].as_str().unwrap().to_owned();
    let bob = app.create_user("bob").await["id"].as_str().unwrap().to_owned();
    let first = record(&app, &alice, seed_body()).await;
    let second = record(&app, &alice, seed_body()).await;
    let third = record(&app, &bob, seed_body()).await;
    revoke(&app, &first).await;
    // Revoking again changes nothing, so it appends nothing.
    revoke(&app, &first).await;
    // Deleting Bob revokes his accepted record (an event), is an event itself, and erases his data (another).
    app.call(Method::DELETE, &app.env_url(&format!("/users/{bob}")), None, 204).await;

    let events = all_events(&app, 2).await;
    // The environment began with the texts of its built-in scopes, each version an event.
    let texts = events.iter().take_while(|e| e["type"] == "scope.text_changed").count();
    let built_in = app.get(&app.env_url("/scopes?limit=1000"), 200).await["size"].as_u64().unwrap() as usize;
    assert_eq!(texts, built_in, "one text event per built-in scope");
    let ledger = &events[texts..];
    assert_eq!(
        types(ledger),
        [
            "consent.recorded",
            "consent.recorded",
            "consent.recorded",
            "consent.revoked",
            "consent.revoked",
            "user.deleted",
            "user.erased"
        ]
    );
    let subjects: Vec<&str> = ledger.iter().map(|e| e["subjectId"].as_str().unwrap()).collect();
    let id = |record: &Value| record["id"].as_str().unwrap().to_owned();
    assert_eq!(subjects, [id(&first), id(&second), id(&third), id(&first), id(&third), bob.clone(), bob.clone()]);
    let mut previous = ZEROS.to_owned();
    for (n, event) in events.iter().enumerate() {
        assert_eq!(event["sequence"], json!(n + 1));
        assert_eq!(event["previousHash"], json!(previous), "event {} links to the one before", n + 1);
        let hash = event["hash"].as_str().unwrap();
        assert_eq!(hash.len(), 64);
        assert_ne!(hash, previous);
        assert_eq!(event["digest"].as_str().unwrap().len(), 64);
        previous = hash.to_owned();
    }
    assert_eq!(ledger[0]["occurredAt"], first["consentedAt"]);
    // Nothing of this log is visible from another environment, nor is the other's log this one's.
    let other = app.other_environment().await;
    for path in ["/consentEvents", "/consentEvents/checkpoints", "/consentEvents/export"] {
        let answer = Answer::of(app.client.get(app.env_url(path)).bearer_auth(&other.token)).await;
        assert!(matches!(answer.status, 401 | 403 | 404), "{path}: {}", answer.status);
        assert!(!answer.text.contains(&alice), "{path} leaked a user id");
    }
    let theirs = app
        .client
        .get(format!("{}/v1/environments/{}/consentEvents", app.base, other.env_id))
        .bearer_auth(&other.token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let their_events = theirs["_embedded"]["consentEvents"].as_array().unwrap();
    assert!(their_events.iter().all(|e| e["type"] == "scope.text_changed"), "only its own scopes' texts: {theirs}");
    assert!(their_events.iter().all(|e| !events.iter().any(|ours| ours["subjectId"] == e["subjectId"])));
}

#[tokio::test]
async fn a_malformed_cursor_or_limit_is_a_clear_error() {
    let app = TestApp::spawn().await;
    for query in ["cursor=not-a-cursor", "limit=0", "cursor=ZTotMQ"] {
        let body = app.get(&app.env_url(&format!("/consentEvents?{query}")), 400).await;
        assert_eq!(body["code"], "INVALID_DATA", "{query}: {body}");
    }
}

/// Runs `assent verify` on `export` with `jwks`; answers its exit code and its JSON report.
pub(crate) fn verify(dir: &std::path::Path, export: &str, jwks: &Value) -> (i32, Value) {
    let jwks_file = dir.join("jwks.json");
    std::fs::write(&jwks_file, jwks.to_string()).unwrap();
    verify_against(dir, export, jwks_file.to_str().unwrap())
}

/// Runs `assent verify` on `export` with `--jwks jwks` (a file or a URL); answers its exit code and report.
pub(crate) fn verify_against(dir: &std::path::Path, export: &str, jwks: &str) -> (i32, Value) {
    let export_file = dir.join("events.ndjson");
    std::fs::write(&export_file, export).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_assent"))
        .env_clear()
        .arg("verify")
        .arg("--export")
        .arg(&export_file)
        .arg("--jwks")
        .arg(jwks)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), report)
}

pub(crate) async fn export(app: &TestApp) -> String {
    let answer = app.client.get(app.env_url("/consentEvents/export")).bearer_auth(&app.token).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/x-ndjson");
    answer.text().await.unwrap()
}

/// Waits until a signed checkpoint covers `sequence`; answers the checkpoints.
pub(crate) async fn checkpointed(app: &TestApp, sequence: i64) -> Vec<Value> {
    for _ in 0..100 {
        let page = app.get(&app.env_url("/consentEvents/checkpoints?limit=1000"), 200).await;
        let checkpoints = page["_embedded"]["checkpoints"].as_array().unwrap().clone();
        if checkpoints.last().is_some_and(|c| c["sequence"] == json!(sequence)) {
            return checkpoints;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no checkpoint covered sequence {sequence}");
}

#[tokio::test]
async fn an_export_verifies_offline_and_verify_names_the_first_sequence_an_edit_of_the_database_broke() {
    let app = TestApp::spawn_with(|config| config.checkpoint_interval_ms = 100).await;
    let alice = app.create_user("alice").await["id"].as_str().unwrap().to_owned();
    let mut records = Vec::new();
    for _ in 0..4 {
        records.push(record(&app, &alice, seed_body()).await);
    }
    revoke(&app, &records[0]).await;
    // After the built-in scopes' text events: four records and a revocation.
    let base = app.get(&app.env_url("/scopes?limit=1000"), 200).await["size"].as_i64().unwrap();
    let checkpoints = checkpointed(&app, base + 5).await;
    let jws = checkpoints.last().unwrap()["jws"].as_str().unwrap();
    let header: Value = {
        use base64::Engine;
        let part = jws.split('.').next().unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "assent-checkpoint+jwt");
    let jwks = app.get(&format!("{}/{}/as/jwks", app.base, app.env_id), 200).await;
    assert!(jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"] == header["kid"]), "the signing key is published");

    let dir = tempfile::tempdir().unwrap();
    let (code, report) = verify(dir.path(), &export(&app).await, &jwks);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["verified"], true);
    assert_eq!(report["events"], base + 5);
    assert_eq!(report["lastCheckpoint"], base + 5);
    // The same with the JWKS fetched from its URL.
    let jwks_url = format!("{}/{}/as/jwks", app.base, app.env_id);
    let from_url = tokio::task::spawn_blocking({
        let (dir, export) = (dir.path().to_owned(), export(&app).await);
        move || verify_against(&dir, &export, &jwks_url)
    });
    let (code, report) = from_url.await.unwrap();
    assert_eq!((code, &report["verified"]), (0, &json!(true)), "{report}");

    // Someone with database access adds a scope to the second record.
    let db = sea_orm::Database::connect(&app.settings.store.url).await.unwrap();
    let second = uuid::Uuid::parse_str(records[1]["id"].as_str().unwrap()).unwrap();
    let widen = |scopes: Value| {
        entities::consent::Entity::update_many()
            .col_expr(entities::consent::Column::Scopes, Expr::value(scopes))
            .filter(entities::consent::Column::Id.eq(second))
    };
    widen(json!(["openid", "email"])).exec(&db).await.unwrap();
    let (code, report) = verify(dir.path(), &export(&app).await, &jwks);
    assert_eq!((code, &report["brokenAt"]), (1, &json!(base + 2)), "{report}");
    widen(json!(["openid"])).exec(&db).await.unwrap();
    assert_eq!(verify(dir.path(), &export(&app).await, &jwks).0, 0, "undoing the edit restores the proof");

    // An event's time moved: its hash no longer matches.
    let event = |sequence: i64| {
        entities::consent_event::Entity::update_many().filter(entities::consent_event::Column::Sequence.eq(sequence))
    };
    event(base + 4)
        .col_expr(entities::consent_event::Column::OccurredAt, Expr::value(chrono::Utc::now()))
        .exec(&db)
        .await
        .unwrap();
    let (code, report) = verify(dir.path(), &export(&app).await, &jwks);
    assert_eq!((code, &report["brokenAt"]), (1, &json!(base + 4)), "{report}");

    // The last events removed, links and all: only the signed checkpoint tells.
    db.execute_unprepared(&format!("DELETE FROM consent_events WHERE sequence >= {}", base + 4)).await.unwrap();
    let (code, report) = verify(dir.path(), &export(&app).await, &jwks);
    assert_eq!((code, &report["brokenAt"]), (1, &json!(base + 4)), "removing the last events is found: {report}");
    assert!(report["reason"].as_str().unwrap().contains("removed"), "{report}");

    // A JWKS without the signing key cannot vouch for the checkpoints.
    let (code, report) = verify(dir.path(), &export(&app).await, &json!({"keys": []}));
    assert_eq!(code, 1, "{report}");
}
