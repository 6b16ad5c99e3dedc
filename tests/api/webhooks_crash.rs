//! Delivery across processes. At least once across a crash: a server killed with SIGKILL in the
//! middle of delivering a burst loses no event; after a restart on the same database every event
//! of the log reaches the destination (some twice, with the same id), first deliveries in the
//! log's order. And two nodes on one database share the work through the lease, without sending
//! an event twice.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use assent::auth::secrets::generate_master_key;
use reqwest::Method;
use serde_json::json;

use crate::consents_record::{ACCEPT, seed_body};
use crate::helpers::{call_with, fresh_database};
use crate::process::{bootstrap, serve, worker_token};
use crate::webhook_receiver::Receiver;

const SETTINGS: [(&str, &str); 5] = [
    ("ASSENT_WEBHOOK_ALLOW_PRIVATE", "true"),
    ("ASSENT_WEBHOOK_LEASE_MS", "2000"),
    ("ASSENT_WEBHOOK_TIMEOUT_MS", "1000"),
    ("ASSENT_WEBHOOK_POLL_MS", "100"),
    ("ASSENT_WEBHOOK_RETRY_SCHEDULE_MS", "100"),
];

/// Subscribes `receiver` to `consent.recorded` and makes a user `username`; answers the URL of
/// that user's records.
async fn subscribed_user(
    client: &reqwest::Client,
    token: &str,
    base: &str,
    env: &str,
    receiver: &Receiver,
    username: &str,
) -> String {
    let environment = format!("{base}/v1/environments/{env}");
    let subscription = json!({"url": receiver.url(), "eventTypes": ["consent.recorded"]});
    call_with(client, token, Method::POST, &format!("{environment}/subscriptions"), Some(subscription), 201).await;
    let user = json!({"username": username});
    let user = call_with(client, token, Method::POST, &format!("{environment}/users"), Some(user), 201).await;
    format!("{environment}/users/{}/oauthConsents", user["id"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_delivery_delivers_every_event_after_restart_with_the_same_ids() {
    let (database_url, _database) = fresh_database().await;
    let key = generate_master_key();
    let (env, client_id, secret) = bootstrap(&database_url, &key, "Crash");
    let receiver = Receiver::start().await;
    // Slower than records are made, so events are waiting when the server dies.
    receiver.delay(Duration::from_millis(5));
    let mut server = serve(&database_url, &key, &SETTINGS);
    let token = worker_token(&server.base, &env, &client_id, &secret).await;
    let client = reqwest::Client::new();
    let records = subscribed_user(&client, &token, &server.base, &env, &receiver, "crash").await;

    // Four clients record until the server is gone.
    let gone = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (client, records, token, gone) = (client.clone(), records.clone(), token.clone(), gone.clone());
            tokio::spawn(async move {
                let mut stored = 0;
                while !gone.load(Ordering::Relaxed) && stored < 150 {
                    let sent = client
                        .post(&records)
                        .bearer_auth(&token)
                        .header("Content-Type", ACCEPT)
                        .body(seed_body().to_string())
                        .send()
                        .await;
                    match sent {
                        Ok(answer) if answer.status() == 201 => stored += 1,
                        _ => break,
                    }
                }
                stored
            })
        })
        .collect();
    receiver.wait_until(Duration::from_secs(30), |got| got.len() >= 40).await;
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("the server died");
    gone.store(true, Ordering::Relaxed);
    let mut acknowledged = 0;
    for worker in workers {
        acknowledged += worker.await.expect("worker");
    }
    let before_restart = receiver.deliveries().len();

    let restarted = serve(&database_url, &key, &SETTINGS);
    let token = worker_token(&restarted.base, &env, &client_id, &secret).await;
    let mut expected = Vec::new();
    let mut url = Some(format!("{}/v1/environments/{env}/consentEvents?limit=1000", restarted.base));
    while let Some(page) = url {
        let body = call_with(&client, &token, Method::GET, &page, None, 200).await;
        for event in body["_embedded"]["consentEvents"].as_array().unwrap() {
            if event["type"] == "consent.recorded" {
                expected.push(format!("{env}:{}", event["sequence"]));
            }
        }
        url = body["_links"]["next"]["href"].as_str().map(str::to_owned);
    }
    assert!(expected.len() >= acknowledged, "every acknowledged record has its event");
    assert!(expected.len() > before_restart, "events were waiting when the server was killed");
    let wanted: HashSet<&String> = expected.iter().collect();
    let got = receiver
        .wait_until(Duration::from_secs(60), |got| {
            let seen: HashSet<&String> = got.iter().map(|d| &d.id).collect();
            wanted.is_subset(&seen)
        })
        .await;
    let mut first_seen = Vec::new();
    let mut seen = HashSet::new();
    for delivery in &got {
        if seen.insert(delivery.id.clone()) {
            first_seen.push(delivery.id.clone());
        }
    }
    assert_eq!(first_seen, expected, "each event first delivered in the log's order, none lost, none foreign");
    eprintln!(
        "{} events; {before_restart} requests before the kill; {} after the restart; {} duplicates",
        expected.len(),
        got.len() - before_restart,
        got.len() - expected.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_delivering_one_subscription_send_each_event_once_in_order() {
    let (database_url, _database) = fresh_database().await;
    let key = generate_master_key();
    let (env, client_id, secret) = bootstrap(&database_url, &key, "Two dispatchers");
    let receiver = Receiver::start().await;
    // Nodes behind one load balancer share the public URL, so each accepts the other's tokens.
    let mut settings = SETTINGS.to_vec();
    settings.push(("ASSENT_PUBLIC_URL", "https://consent.example.test"));
    settings.push(("ASSENT_WEBHOOK_LEASE_MS", "5000"));
    let nodes = [serve(&database_url, &key, &settings), serve(&database_url, &key, &settings)];
    let token = worker_token(&nodes[0].base, &env, &client_id, &secret).await;
    let client = reqwest::Client::new();
    let records = subscribed_user(&client, &token, &nodes[0].base, &env, &receiver, "two").await;
    let path = records.strip_prefix(&nodes[0].base).unwrap().to_owned();

    // Records arrive on both nodes at once; each node wakes its own dispatcher.
    let posts = (0..100).map(|n| {
        let url = format!("{}{path}", nodes[n % 2].base);
        let request = client.post(url).bearer_auth(&token).header("Content-Type", ACCEPT).body(seed_body().to_string());
        async move { request.send().await.map(|answer| answer.status().as_u16()) }
    });
    let statuses: Vec<u16> = futures::future::join_all(posts).await.into_iter().map(|s| s.unwrap()).collect();
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");

    let got = receiver
        .wait_until(Duration::from_secs(30), |got| got.iter().map(|d| &d.id).collect::<HashSet<_>>().len() >= 100)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_now = receiver.deliveries();
    assert_eq!(got_now.len(), got.len(), "nothing more arrives once every event has");
    let sequences: Vec<i64> = got.iter().map(|d| d.id.rsplit(':').next().unwrap().parse().unwrap()).collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "each event once, in the log's order: {sequences:?}");
    assert_eq!(sequences.len(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_with_sigterm_gives_up_its_leases_so_a_restart_resumes_at_once() {
    const EVENTS: usize = 40;
    let (database_url, _database) = fresh_database().await;
    let key = generate_master_key();
    let (env, client_id, secret) = bootstrap(&database_url, &key, "Stop");
    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_millis(200));
    // A lease far longer than the test may wait: only giving it up lets the restart deliver. A
    // short grace period, so the stop comes while most events still wait.
    let settings = [
        ("ASSENT_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("ASSENT_WEBHOOK_LEASE_MS", "120000"),
        ("ASSENT_WEBHOOK_POLL_MS", "100"),
        ("ASSENT_SHUTDOWN_GRACE_MS", "1000"),
    ];
    let mut server = serve(&database_url, &key, &settings);
    let token = worker_token(&server.base, &env, &client_id, &secret).await;
    let client = reqwest::Client::new();
    let records = subscribed_user(&client, &token, &server.base, &env, &receiver, "stop").await;
    for _ in 0..EVENTS {
        call_with(&client, &token, Method::POST, &records, Some(seed_body()), 201).await;
    }
    drop(client);
    receiver.wait_until(Duration::from_secs(20), |got| !got.is_empty()).await;
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let stopped = tokio::task::spawn_blocking(move || server.child.wait()).await.unwrap().unwrap();
    assert!(stopped.success(), "{stopped}");
    let stopped_at = receiver.deliveries().len();
    assert!(stopped_at < EVENTS, "the run was cut short: {stopped_at} delivered");

    let _restarted = serve(&database_url, &key, &settings);
    let got = receiver
        .wait_until(Duration::from_secs(30), |got| got.iter().map(|d| &d.id).collect::<HashSet<_>>().len() == EVENTS)
        .await;
    eprintln!("{stopped_at} delivered before SIGTERM, {} after the restart", got.len() - stopped_at);
}
