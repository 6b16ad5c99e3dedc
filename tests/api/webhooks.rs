//! Webhook delivery from the event log: Standard Webhooks messages signed with the subscription's
//! secret (verified with the official `standardwebhooks` library), in order, with ids stable
//! across retries; failing destinations retried on the schedule, then disabled with the reason;
//! redirects not followed; the attempt log; replays.

use std::sync::OnceLock;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::consents_record::{record, seed_body};
use crate::helpers::{TestApp, assert_error};
use crate::node_project::NodeProject;
use crate::proof_events::revoke;
use crate::webhook_receiver::{Delivery, Receiver};

const WEBHOOKS: NodeProject =
    NodeProject { dir: "webhooks", package: "standardwebhooks", what: "the webhook verifier does not type-check" };
static VERIFIER: OnceLock<std::path::PathBuf> = OnceLock::new();

/// Bound on waits for deliveries (generous for a loaded machine).
const PROMPTLY: Duration = Duration::from_secs(20);

/// A server that may deliver to 127.0.0.1, retrying after 100 ms then 200 ms, and disabling a
/// subscription that failed for 1.5 s.
async fn server() -> TestApp {
    TestApp::spawn_with(|config| {
        config.webhook_allow_private = true;
        config.webhook_retry_schedule_ms = "100,200".into();
        config.webhook_disable_after_ms = 1_500;
        config.webhook_timeout_ms = 2_000;
        config.webhook_lease_ms = 5_000;
        config.webhook_poll_ms = 100;
    })
    .await
}

async fn subscribe(app: &TestApp, url: &str, types: &[&str]) -> Value {
    app.post(&app.env_url("/subscriptions"), json!({"url": url, "eventTypes": types}), 201).await
}

async fn attempts(app: &TestApp, subscription: &Value) -> Vec<Value> {
    let page = app.get(subscription["_links"]["attempts"]["href"].as_str().unwrap(), 200).await;
    page["_embedded"]["attempts"].as_array().unwrap().clone()
}

/// The attempt log once it holds at least `count` attempts: a run saves its attempts after the
/// destination answered, so a receiver can hold a message its attempt is not logged for yet.
async fn logged_attempts(app: &TestApp, subscription: &Value, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    loop {
        let logged = attempts(app, subscription).await;
        if logged.len() >= count {
            return logged;
        }
        assert!(tokio::time::Instant::now() < deadline, "{} attempts logged: {logged:#?}", logged.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `tests/webhooks` on `got`: each must verify with `secret` (and with `also`, when given) and
/// be refused when changed or checked with `stranger`'s secret; answers its summary, or `None` when
/// the library is not installed here (never on CI).
async fn verified_by_the_library(
    got: &[Delivery],
    secret: String,
    stranger: &Value,
    also: Option<String>,
) -> Option<Value> {
    if !WEBHOOKS.installed() {
        return None;
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_string(got).unwrap()).unwrap();
    let verifier = WEBHOOKS.compiled(&VERIFIER, "verify-deliveries", |_| {});
    let mut env = vec![
        ("SECRET", secret),
        ("OTHER_SECRET", stranger["secret"].as_str().unwrap().to_owned()),
        ("DELIVERIES", file.path().display().to_string()),
    ];
    env.extend(also.map(|also| ("ALSO_SECRET", also)));
    Some(WEBHOOKS.run(verifier, env).await)
}

fn ids(deliveries: &[Delivery]) -> Vec<String> {
    deliveries.iter().map(|d| d.id.clone()).collect()
}

#[tokio::test]
async fn deliveries_are_standard_webhooks_in_log_order_and_verify_with_the_official_library() {
    let app = server().await;
    let receiver = Receiver::start().await;
    let subscription = subscribe(&app, &receiver.url(), &["consent.recorded", "consent.revoked"]).await;
    let secret = subscription["secret"].as_str().unwrap().to_owned();
    // A second subscription, to an event type nothing here appends: it is never sent anything.
    let quiet = Receiver::start().await;
    let other = subscribe(&app, &quiet.url(), &["application.deleted"]).await;
    let user = app.create_user("webhooks").await;
    let user_id = user["id"].as_str().unwrap();

    let first = record(&app, user_id, seed_body()).await;
    let second = record(&app, user_id, seed_body()).await;
    revoke(&app, &first).await;
    let got = receiver.wait_until(PROMPTLY, |got| got.len() >= 3).await;
    assert_eq!(got.len(), 3, "{got:#?}");

    let events = crate::proof_events::all_events(&app, 100).await;
    let expected: Vec<String> = events
        .iter()
        .filter(|e| e["type"] == "consent.recorded" || e["type"] == "consent.revoked")
        .map(|e| format!("{}:{}", app.env_id, e["sequence"]))
        .collect();
    assert_eq!(ids(&got), expected, "one message per event, in the log's order, ids {{envId}}:{{sequence}}");
    let bodies: Vec<Value> = got.iter().map(Delivery::json).collect();
    assert_eq!(bodies[0]["type"], "consent.recorded");
    assert_eq!(bodies[0]["data"]["recordId"], first["id"]);
    assert_eq!(bodies[0]["data"]["userId"], user["id"]);
    assert_eq!(bodies[0]["data"]["scopes"], json!(["openid"]));
    assert_eq!(bodies[0]["data"]["environmentId"], app.env_id.as_str());
    assert_eq!(bodies[1]["data"]["recordId"], second["id"]);
    assert_eq!(bodies[2]["type"], "consent.revoked");
    assert_eq!(bodies[2]["data"]["recordId"], first["id"]);
    assert_eq!(bodies[2]["data"]["revokedBy"]["type"], "ADMINISTRATOR");
    // The hash in the message is the hash in the log.
    let revoked_event = events.iter().find(|e| e["type"] == "consent.revoked").unwrap();
    assert_eq!(bodies[2]["data"]["hash"], revoked_event["hash"]);
    assert!(got.iter().all(|d| d.signature.starts_with("v1,") && d.path == "/hook"));
    let sent_at: i64 = got[0].timestamp.parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - sent_at).abs() < 60, "the timestamp is the attempt's");
    assert!(quiet.deliveries().is_empty());

    // The attempt log: each delivered, newest first, with status and latency.
    let logged = logged_attempts(&app, &subscription, 3).await;
    let sequences: Vec<&Value> = logged.iter().map(|a| &a["sequence"]).collect();
    assert_eq!(sequences.len(), 3);
    assert!(sequences.windows(2).all(|w| w[0].as_i64() > w[1].as_i64()), "newest first: {sequences:?}");
    assert!(logged.iter().all(|a| a["delivered"] == true && a["statusCode"] == 204 && a["manual"] == false));
    let state = app.get(subscription["_links"]["self"]["href"].as_str().unwrap(), 200).await;
    assert_eq!(state["delivery"]["deliveredThrough"], revoked_event["sequence"]);
    assert_eq!(state["delivery"]["failures"], 0);
    let page = app.get(&format!("{}?limit=2", subscription["_links"]["attempts"]["href"].as_str().unwrap()), 200).await;
    let next = page["_links"]["next"]["href"].as_str().unwrap().to_owned();
    let rest = app.get(&next, 200).await;
    assert_eq!(rest["_embedded"]["attempts"][0]["sequence"], logged[2]["sequence"]);
    assert!(rest["_links"].get("next").is_none());
    let back = app.get(rest["_links"]["prev"]["href"].as_str().unwrap(), 200).await;
    assert_eq!(back["_embedded"]["attempts"], page["_embedded"]["attempts"], "prev leads back to the newer page");

    // /metrics counts them, with the lag from each event to its delivery.
    let metrics = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("assent_webhook_deliveries_total 3"), "{metrics}");
    assert!(metrics.contains("assent_webhook_delivery_lag_seconds_count 3"), "{metrics}");
    assert!(metrics.contains("assent_webhook_failures_total 0"), "{metrics}");

    let Some(summary) = verified_by_the_library(&got, secret, &other, None).await else { return };
    assert_eq!(summary["verified"], 3, "{summary}");
    assert_eq!(summary["rejected"], 6, "a changed body and another secret are refused: {summary}");
    assert_eq!(summary["payloads"][2]["data"]["recordId"], first["id"]);
}

#[tokio::test]
async fn a_failing_destination_is_retried_with_the_same_id_then_disabled_and_enabling_it_resumes_where_it_stopped() {
    let app = server().await;
    let receiver = Receiver::start().await;
    let subscription = subscribe(&app, &receiver.url(), &["consent.recorded"]).await;
    let href = subscription["_links"]["self"]["href"].as_str().unwrap().to_owned();
    let user = app.create_user("retries").await;
    let user_id = user["id"].as_str().unwrap();

    // A redirect is a failure (it is not followed), then a 500, then the destination takes it.
    receiver.answer_next(&[307, 500]);
    let first = record(&app, user_id, seed_body()).await;
    let got = receiver.wait_until(PROMPTLY, |got| got.len() >= 3).await;
    assert!(got.iter().all(|d| d.path == "/hook"), "the redirect's /elsewhere is never asked for");
    let id = got[0].id.clone();
    assert_eq!(ids(&got), [id.clone(), id.clone(), id], "the same message id on every attempt");
    assert_eq!(got[0].body, got[2].body);
    assert_eq!(got[2].json()["data"]["recordId"], first["id"]);
    let logged = logged_attempts(&app, &subscription, 3).await;
    let summary: Vec<(Value, bool)> =
        logged.iter().map(|a| (a["statusCode"].clone(), a["delivered"] == true)).collect();
    assert_eq!(summary, [(json!(204), true), (json!(500), false), (json!(307), false)]);
    assert!(logged[2]["error"].as_str().unwrap().contains("redirects are not followed"), "{}", logged[2]);
    assert!(logged[1]["nextAttemptAt"].is_string() && logged[2]["nextAttemptAt"].is_string());
    assert!(logged[0].get("nextAttemptAt").is_none());

    // Failing from now on: retried, then disabled with the reason; nothing after it is skipped.
    receiver.answer_always(503);
    let second = record(&app, user_id, seed_body()).await;
    // While it waits, /metrics counts it in the backlog.
    let metrics = format!("{}/metrics", app.base);
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    loop {
        let text = app.client.get(&metrics).send().await.unwrap().text().await.unwrap();
        if text.lines().any(|l| l.starts_with("assent_webhook_backlog_events ") && !l.ends_with(" 0")) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no backlog counted: {text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    let disabled = loop {
        let state = app.get(&href, 200).await;
        if state["enabled"] == false {
            break state;
        }
        assert!(tokio::time::Instant::now() < deadline, "not disabled: {state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let reason = disabled["disabledReason"].as_str().unwrap();
    assert!(reason.contains("answered 503"), "{reason}");
    assert!(disabled["delivery"]["failures"].as_u64().unwrap() >= 3, "{disabled}");
    let tries = receiver.deliveries().len();
    let third = record(&app, user_id, seed_body()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.deliveries().len(), tries, "a disabled subscription is sent nothing");

    // Enabled again: delivery resumes at the event it stopped at, and catches up.
    receiver.answer_always(200);
    let enable = json!({"url": receiver.url(), "eventTypes": ["consent.recorded"], "enabled": true});
    let enabled = app.call(Method::PUT, &href, Some(enable), 200).await;
    assert!(enabled.get("disabledReason").is_none(), "{enabled}");
    let got = receiver
        .wait_until(PROMPTLY, |got| got.last().is_some_and(|d| d.json()["data"]["recordId"] == third["id"]))
        .await;
    let delivered: Vec<Value> = got[tries..].iter().map(|d| d.json()["data"]["recordId"].clone()).collect();
    assert_eq!(delivered, [second["id"].clone(), third["id"].clone()]);
}

#[tokio::test]
async fn a_replay_sends_one_event_again_with_its_id_and_is_logged_as_manual() {
    let app = server().await;
    let receiver = Receiver::start().await;
    let subscription = subscribe(&app, &receiver.url(), &["consent.recorded"]).await;
    let replay = subscription["_links"]["replay"]["href"].as_str().unwrap().to_owned();
    let user = app.create_user("replays").await;
    record(&app, user["id"].as_str().unwrap(), seed_body()).await;
    let got = receiver.wait_until(PROMPTLY, |got| !got.is_empty()).await;
    let sequence: i64 = got[0].id.rsplit(':').next().unwrap().parse().unwrap();

    let attempt = app.post(&replay, json!({"sequence": sequence}), 200).await;
    assert_eq!(attempt["delivered"], true, "{attempt}");
    assert_eq!(attempt["manual"], true);
    assert_eq!(attempt["messageId"], got[0].id.as_str());
    let again = receiver.wait_until(PROMPTLY, |got| got.len() >= 2).await;
    assert_eq!(again[1].id, again[0].id);
    assert_eq!(again[1].body, again[0].body);
    assert_eq!(logged_attempts(&app, &subscription, 2).await[0]["manual"], true);

    // Bad replays: no such event, not a subscribed type, not a number.
    let missing = app.post(&replay, json!({"sequence": sequence + 1000}), 400).await;
    assert_error(&missing, "INVALID_DATA");
    let zero = app.post(&replay, json!({"sequence": 0}), 400).await;
    assert_error(&zero, "INVALID_DATA");
    let scope_event = 1; // Every environment starts with its scopes' text events.
    let unsubscribed = app.post(&replay, json!({"sequence": scope_event}), 400).await;
    assert!(unsubscribed.to_string().contains("does not receive"), "{unsubscribed}");
    app.post(&replay, json!({"sequence": "one"}), 400).await;
    let unknown = format!("{}/subscriptions/{}/replay", app.env_url(""), uuid::Uuid::now_v7());
    app.post(&unknown, json!({"sequence": sequence}), 404).await;
}

#[tokio::test]
async fn after_a_rotation_messages_verify_with_the_new_secret_and_for_a_day_with_the_old_one() {
    let app = server().await;
    let receiver = Receiver::start().await;
    let subscription = subscribe(&app, &receiver.url(), &["consent.recorded"]).await;
    let old = subscription["secret"].as_str().unwrap().to_owned();
    let rotated =
        app.call(Method::POST, subscription["_links"]["secret.rotate"]["href"].as_str().unwrap(), None, 200).await;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let stranger = subscribe(&app, &Receiver::start().await.url(), &["application.deleted"]).await;
    let user = app.create_user("rotation").await;
    record(&app, user["id"].as_str().unwrap(), seed_body()).await;
    let got = receiver.wait_until(PROMPTLY, |got| !got.is_empty()).await;
    assert_eq!(got[0].signature.split(' ').count(), 2, "two signatures: {}", got[0].signature);
    let Some(summary) = verified_by_the_library(&got, new, &stranger, Some(old)).await else { return };
    assert_eq!(summary["verified"], 1, "{summary}");
    assert_eq!(summary["alsoVerified"], 1, "the old secret still verifies: {summary}");
}
