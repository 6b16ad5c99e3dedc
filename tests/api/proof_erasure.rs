//! A user's data, out and erased: the export holds everything about them; erasure (and deletion)
//! leaves their e-mail address and IP address nowhere in the database's files or tables, while the
//! event log still verifies offline.

use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::consents_record::seed_body;
use crate::helpers::{Answer, TestApp, assert_error};
use crate::proof_events::{all_events, checkpointed, export, revoke, verify};

const ADA_IP: &str = "198.51.100.23";
const ADA_EMAIL: &str = "ada.erasure@example.org";
const BOB_IP: &str = "198.51.100.42";
const BOB_EMAIL: &str = "bob.erasure@example.org";

async fn person(app: &TestApp, username: &str, email: &str) -> String {
    let body = json!({"username": username, "email": email, "name": {"given": "Erasure", "family": format!("Family-{username}")}});
    app.post(&app.env_url("/users"), body, 201).await["id"].as_str().unwrap().to_owned()
}

/// Records a consent for `user` from `ip`, with an idempotency key (so an answer is kept).
async fn record_from(app: &TestApp, user: &str, ip: &str) -> Value {
    let answer = Answer::of(
        app.client
            .post(app.env_url(&format!("/users/{user}/oauthConsents")))
            .bearer_auth(&app.token)
            .header("Content-Type", "application/vnd.pingidentity.consent.accept+json")
            .header("X-Forwarded-For", ip)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .body(seed_body().to_string()),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.json()
}

/// Where `needle` still appears: files of a SQLite database, or rows of PostgreSQL's tables.
async fn traces(app: &TestApp, needle: &str) -> Vec<String> {
    let url = &app.settings.store.url;
    let mut found = Vec::new();
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let file = rest.split('?').next().unwrap();
        for suffix in ["", "-wal", "-journal"] {
            let path = format!("{file}{suffix}");
            let Ok(bytes) = std::fs::read(&path) else { continue };
            if bytes.windows(needle.len()).any(|window| window == needle.as_bytes()) {
                found.push(path);
            }
        }
        return found;
    }
    let db = sea_orm::Database::connect(url).await.unwrap();
    let tables = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
        ))
        .await
        .unwrap();
    for row in tables {
        let table: String = row.try_get("", "tablename").unwrap();
        let sql = format!("SELECT count(*) AS n FROM \"{table}\" t WHERE t::text LIKE '%{needle}%'");
        let n: i64 = db
            .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap()
            .try_get("", "n")
            .unwrap();
        if n > 0 {
            found.push(table);
        }
    }
    found
}

#[tokio::test]
async fn erasure_leaves_no_ip_or_email_in_the_database_and_the_event_log_still_verifies() {
    let app = TestApp::spawn_with(|config| {
        config.trusted_proxies = "127.0.0.1/32".into();
        config.checkpoint_interval_ms = 100;
    })
    .await;
    let ada = person(&app, "ada-erasure", ADA_EMAIL).await;
    let bob = person(&app, "bob-erasure", BOB_EMAIL).await;
    let first = record_from(&app, &ada, ADA_IP).await;
    record_from(&app, &ada, ADA_IP).await;
    record_from(&app, &bob, BOB_IP).await;
    revoke(&app, &first).await;

    // Everything about Ada, in one document.
    let data = app.get(&app.env_url(&format!("/users/{ada}/export")), 200).await;
    assert_eq!(data["user"]["email"], ADA_EMAIL);
    assert_eq!(data["oauthConsents"].as_array().unwrap().len(), 2);
    assert_eq!(data["oauthConsents"][1]["location"]["remoteIp"], ADA_IP);
    let types: Vec<&str> =
        data["consentEvents"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["consent.recorded", "consent.recorded", "consent.revoked"]);
    for needle in [ADA_IP, ADA_EMAIL, BOB_IP, BOB_EMAIL] {
        assert!(!traces(&app, needle).await.is_empty(), "{needle} is stored before erasure");
    }

    app.call(Method::POST, &app.env_url(&format!("/users/{ada}/erase")), None, 204).await;
    app.call(Method::DELETE, &app.env_url(&format!("/users/{bob}")), None, 204).await;
    for needle in [ADA_IP, ADA_EMAIL, "Family-ada-erasure", BOB_IP, BOB_EMAIL, "Family-bob-erasure"] {
        assert_eq!(traces(&app, needle).await, Vec::<String>::new(), "{needle} is gone");
    }
    let data = app.get(&app.env_url(&format!("/users/{ada}/export")), 200).await;
    assert_eq!(data["user"]["username"], format!("erased-{ada}"));
    assert!(data["user"].get("email").is_none(), "{}", data["user"]);
    let records = data["oauthConsents"].as_array().unwrap();
    assert_eq!(records.len(), 2, "the records stay");
    assert!(
        records.iter().all(|r| r["location"]["remoteIp"] == "0.0.0.0" && r.get("browser").is_none()),
        "{records:?}"
    );
    assert_eq!(records[1]["status"], "REVOKED");
    assert_eq!(records[1]["scope"], json!(["openid"]));

    // The chain kept every event, and says what happened.
    let events = all_events(&app, 1000).await;
    let last: Vec<&str> = events.iter().rev().take(3).map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        last,
        ["user.erased", "user.deleted", "consent.revoked"],
        "Bob's deletion revoked his record and erased him"
    );
    assert!(events.iter().any(|e| e["type"] == "user.erased" && e["subjectId"] == json!(ada)));
    let head = events.last().unwrap()["sequence"].as_i64().unwrap();
    checkpointed(&app, head).await;
    let jwks = app.get(&format!("{}/{}/as/jwks", app.base, app.env_id), 200).await;
    let dir = tempfile::tempdir().unwrap();
    let (code, report) = verify(dir.path(), &export(&app).await, &jwks);
    assert_eq!(code, 0, "erasure keeps the proof: {report}");
    assert_eq!(report["events"], json!(head));

    // An erased user cannot sign in again, and another environment cannot erase or export anyone here.
    let other = app.other_environment().await;
    for (method, path) in [(Method::GET, "export"), (Method::POST, "erase")] {
        let url = app.env_url(&format!("/users/{ada}/{path}"));
        let answer = Answer::of(app.client.request(method, url).bearer_auth(&other.token)).await;
        assert!(matches!(answer.status, 401 | 403 | 404), "{path}: {}", answer.status);
    }
    let missing = Answer::of(
        app.client.post(app.env_url(&format!("/users/{}/erase", uuid::Uuid::now_v7()))).bearer_auth(&app.token),
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_error(&missing.json(), "NOT_FOUND");
}
