//! What SDKs recording consent rely on: `Idempotency-Key` (a retry never makes a second record)
//! and entity tags (`ETag`, `If-None-Match`, `If-Match`).

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::consents_record::ACCEPT;
use crate::consents_revoke::REVOKE;
use crate::helpers::{Answer, TestApp, assert_error, has_detail};

async fn post_with_key(app: &TestApp, url: &str, key: &str, body: &Value) -> Answer {
    Answer::of(
        app.client
            .post(url)
            .bearer_auth(&app.token)
            .header("Content-Type", ACCEPT)
            .header("Idempotency-Key", key)
            .body(body.to_string()),
    )
    .await
}

async fn record_count(app: &TestApp, user: &str) -> u64 {
    app.get(&app.env_url(&format!("/users/{user}/oauthConsents")), 200).await["count"].as_u64().unwrap()
}

#[tokio::test]
async fn a_retried_post_with_the_same_idempotency_key_replays_the_first_answer() {
    let app = TestApp::spawn().await;
    let user = app.create_user("ana").await["id"].as_str().unwrap().to_owned();
    let url = app.env_url(&format!("/users/{user}/oauthConsents"));
    let body = json!({"application":{"name":"Newsletter"},"scope":["email"],"status":"ACCEPTED"});
    let first = post_with_key(&app, &url, "retry-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(first.header("Idempotent-Replayed").is_none());
    let again = post_with_key(&app, &url, "retry-1", &body).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(again.json()["id"], first.json()["id"], "the same record");
    assert_eq!(again.header("Location"), first.header("Location"));
    assert_eq!(again.header("ETag"), first.header("ETag"));
    assert_eq!(record_count(&app, &user).await, 1);

    // Another key is another request.
    let other = post_with_key(&app, &url, "retry-2", &body).await;
    assert_eq!(other.status, 201);
    assert_ne!(other.json()["id"], first.json()["id"]);
    assert_eq!(record_count(&app, &user).await, 2);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let user = app.create_user("ben").await["id"].as_str().unwrap().to_owned();
    let url = app.env_url(&format!("/users/{user}/oauthConsents"));
    let accepted = json!({"application":{"name":"Newsletter"},"scope":["email"],"status":"ACCEPTED"});
    assert_eq!(post_with_key(&app, &url, "k", &accepted).await.status, 201);
    let declined = json!({"application":{"name":"Newsletter"},"scope":["email"],"status":"DECLINED"});
    let reused = post_with_key(&app, &url, "k", &declined).await;
    assert_eq!(reused.status, 422, "{}", reused.text);
    let body = reused.json();
    assert_error(&body, "INVALID_REQUEST");
    assert!(has_detail(&body, "INVALID_VALUE", "Idempotency-Key"), "{body}");
    assert_eq!(record_count(&app, &user).await, 1);

    // A refused first request keeps nothing: the key can be used again once the body is right.
    let invalid = json!({"application":{"name":"Newsletter"},"status":"MAYBE"});
    assert_eq!(post_with_key(&app, &url, "fix-me", &invalid).await.status, 400);
    assert_eq!(post_with_key(&app, &url, "fix-me", &accepted).await.status, 201);
    assert_eq!(record_count(&app, &user).await, 2);

    // Keys are bounded.
    for key in ["", &"k".repeat(256), "tab\there"] {
        let answer = post_with_key(&app, &url, key, &accepted).await;
        assert_eq!(answer.status, 400, "key {key:?}: {}", answer.text);
        assert!(has_detail(&answer.json(), "INVALID_VALUE", "Idempotency-Key"));
    }
    assert_eq!(record_count(&app, &user).await, 2);
}

#[tokio::test]
async fn a_retry_storm_of_identical_requests_creates_one_record() {
    let app = TestApp::spawn().await;
    let user = app.create_user("cleo").await["id"].as_str().unwrap().to_owned();
    let url = app.env_url(&format!("/users/{user}/oauthConsents"));
    let body = json!({"application":{"name":"Newsletter"},"scope":["email"],"status":"ACCEPTED"});
    let answers = join_all((0..20).map(|_| post_with_key(&app, &url, "storm", &body))).await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 201, "every retry gets the first answer: {}", a.text);
            a.json()["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(answers.iter().filter(|a| a.header("Idempotent-Replayed").is_none()).count(), 1);
    assert_eq!(record_count(&app, &user).await, 1);
}

#[tokio::test]
async fn idempotency_keys_are_per_environment_and_per_caller() {
    let app = TestApp::spawn().await;
    let user = app.create_user("dora").await["id"].as_str().unwrap().to_owned();
    let url = app.env_url(&format!("/users/{user}/oauthConsents"));
    let body = json!({"application":{"name":"Newsletter"},"scope":["email"],"status":"ACCEPTED"});
    assert_eq!(post_with_key(&app, &url, "shared", &body).await.status, 201);

    // Another environment's token with the same key learns nothing: the records route is a 404 to it.
    let other = app.other_environment().await;
    let answer = Answer::of(
        app.client
            .post(&url)
            .bearer_auth(&other.token)
            .header("Content-Type", ACCEPT)
            .header("Idempotency-Key", "shared")
            .body(body.to_string()),
    )
    .await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    assert!(answer.header("Idempotent-Replayed").is_none());

    // The key also works on other POSTs: a user created once.
    let users = app.env_url("/users");
    let alice = json!({"username": "alice"});
    let first =
        Answer::of(app.client.post(&users).bearer_auth(&app.token).header("Idempotency-Key", "u1").json(&alice)).await;
    let again =
        Answer::of(app.client.post(&users).bearer_auth(&app.token).header("Idempotency-Key", "u1").json(&alice)).await;
    assert_eq!((first.status, again.status), (201, 201), "{} / {}", first.text, again.text);
    assert_eq!(first.json()["id"], again.json()["id"]);
}

#[tokio::test]
async fn reads_carry_an_etag_that_answers_304_and_guards_the_revocation() {
    let app = TestApp::spawn().await;
    let user = app.create_user("eve").await["id"].as_str().unwrap().to_owned();
    let body = json!({"application":{"name":"Newsletter"},"scope":["email"],"status":"ACCEPTED"});
    let created = post_with_key(&app, &app.env_url(&format!("/users/{user}/oauthConsents")), "e1", &body).await;
    let item = created.header("Location").unwrap().to_owned();
    let read = Answer::of(app.client.get(&item).bearer_auth(&app.token)).await;
    let etag = read.header("ETag").expect("a strong ETag").to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
    assert_eq!(created.header("ETag"), Some(etag.as_str()), "the 201 carries the same tag");

    let conditional = |tag: &str| app.client.get(&item).bearer_auth(&app.token).header("If-None-Match", tag.to_owned());
    let unchanged = Answer::of(conditional(&etag)).await;
    assert_eq!(unchanged.status, 304);
    assert!(unchanged.text.is_empty());
    assert_eq!(unchanged.header("ETag"), Some(etag.as_str()));
    assert_eq!(Answer::of(conditional("\"something-else\"")).await.status, 200);
    // The embedded application makes another representation, with another tag.
    let expanded = Answer::of(app.client.get(format!("{item}?expand=applications")).bearer_auth(&app.token)).await;
    assert_ne!(expanded.header("ETag"), Some(etag.as_str()));

    let patch = |tag: &str| {
        app.client
            .request(Method::PATCH, &item)
            .bearer_auth(&app.token)
            .header("Content-Type", REVOKE)
            .header("If-Match", tag.to_owned())
            .body(json!({"status":"REVOKED"}).to_string())
    };
    let stale = Answer::of(patch("\"stale\"")).await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    assert!(has_detail(&stale.json(), "INVALID_VALUE", "If-Match"));
    assert_eq!(app.get(&item, 200).await["status"], "ACCEPTED", "nothing changed");
    let revoked = Answer::of(patch(&etag)).await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(revoked.json()["status"], "REVOKED");
    let new_etag = revoked.header("ETag").unwrap().to_owned();
    assert_ne!(new_etag, etag);
    // The old tag no longer matches anything.
    assert_eq!(Answer::of(conditional(&etag)).await.status, 200);
    assert_eq!(Answer::of(patch(&etag)).await.status, 412);
    assert_eq!(Answer::of(patch("*")).await.status, 200, "`*` matches any version");
}
