//! Stopping the server: SIGTERM (or Ctrl-C) stops accepting, finishes what is in flight within the
//! grace period, and every record a client was told is stored, is.

use std::collections::HashSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use assent::auth::secrets::generate_master_key;
use assent::startup::Application;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{call_with, fresh_database, start_server, test_config, test_settings};

/// Bound on every wait for something that should happen promptly (generous for a loaded machine).
const PROMPTLY: Duration = Duration::from_secs(10);

use crate::process::{bootstrap, serve, worker_token};

/// What one POST came to.
enum Outcome {
    /// 201, with the record's id.
    Stored(String),
    /// Another status: answered, not stored.
    Answered(u16),
    /// The connection was refused: the server no longer accepts.
    Refused,
    /// Anything else: a connection that was accepted and then left without an answer.
    NoAnswer(String),
}

async fn post_consent(client: &reqwest::Client, url: &str, token: &str, n: usize) -> Outcome {
    let body = json!({"application": {"name": "burst", "appType": "EXTERNAL"}, "scope": ["openid"],
                      "status": "ACCEPTED", "device": {"type": format!("burst-{n}")}});
    let sent = client
        .post(url)
        .bearer_auth(token)
        .header("Content-Type", "application/vnd.pingidentity.consent.accept+json")
        .body(body.to_string())
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) if error.is_connect() => return Outcome::Refused,
        Err(error) => return Outcome::NoAnswer(format!("{error:?}")),
    };
    let status = response.status().as_u16();
    match response.json::<Value>().await {
        Ok(record) if status == 201 => Outcome::Stored(record["id"].as_str().expect("record id").to_owned()),
        Ok(_) => Outcome::Answered(status),
        Err(error) => Outcome::NoAnswer(format!("{status} with an unreadable body: {error:?}")),
    }
}

/// Every record id of `user`, following the `next` links.
async fn stored_ids(base: &str, env: &str, user: &str, token: &str) -> HashSet<String> {
    let client = reqwest::Client::new();
    let mut ids = HashSet::new();
    let mut url = Some(format!("{base}/v1/environments/{env}/users/{user}/oauthConsents?limit=1000"));
    while let Some(page) = url {
        let body = call_with(&client, token, Method::GET, &page, None, 200).await;
        for record in body["_embedded"]["oauthConsents"].as_array().expect("records") {
            ids.insert(record["id"].as_str().expect("id").to_owned());
        }
        url = body["_links"]["next"]["href"].as_str().map(str::to_owned);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_burst_of_records_answers_every_request_and_loses_no_acknowledged_record() {
    let (database_url, _database) = fresh_database().await;
    let key = generate_master_key();
    let (env, client_id, secret) = bootstrap(&database_url, &key, "Shutdown");
    let (client_id, secret) = (client_id.as_str(), secret.as_str());

    let mut server = serve(&database_url, &key, &[]);
    let token = worker_token(&server.base, &env, client_id, secret).await;
    let users = format!("{}/v1/environments/{env}/users", server.base);
    let client = reqwest::Client::new();
    let user = call_with(&client, &token, Method::POST, &users, Some(json!({"username": "burst"})), 201).await;
    let user = user["id"].as_str().unwrap().to_owned();
    let url = format!("{users}/{user}/oauthConsents");

    // Eight clients post records back to back, each request on a new connection, until refused.
    let stored = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..8)
        .map(|worker| {
            let (url, token, stored) = (url.clone(), token.clone(), stored.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(0)
                    .timeout(Duration::from_secs(60))
                    .build()
                    .expect("client");
                let mut outcomes = Vec::new();
                for n in 0..5_000 {
                    let outcome = post_consent(&client, &url, &token, worker * 10_000 + n).await;
                    if matches!(outcome, Outcome::Stored(_)) {
                        stored.fetch_add(1, Ordering::Relaxed);
                    }
                    let last = matches!(outcome, Outcome::Refused | Outcome::NoAnswer(_));
                    outcomes.push(outcome);
                    if last {
                        break;
                    }
                }
                outcomes
            })
        })
        .collect();

    // SIGTERM in the middle of the burst.
    let waited = tokio::time::timeout(PROMPTLY, async {
        while stored.load(Ordering::Relaxed) < 50 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "the burst is under way");
    let pid = server.child.id().to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    assert!(kill.success());

    let mut acknowledged = Vec::new();
    let (mut answered, mut refused, mut unanswered) = (Vec::new(), 0, Vec::new());
    for worker in workers {
        let outcomes = tokio::time::timeout(PROMPTLY * 3, worker).await.expect("workers finish").expect("worker");
        assert!(matches!(outcomes.last(), Some(Outcome::Refused | Outcome::NoAnswer(_))), "each ends refused");
        for outcome in outcomes {
            match outcome {
                Outcome::Stored(id) => acknowledged.push(id),
                Outcome::Answered(status) => answered.push(status),
                Outcome::Refused => refused += 1,
                Outcome::NoAnswer(error) => unanswered.push(error),
            }
        }
    }
    assert!(unanswered.is_empty(), "accepted requests left without an answer: {unanswered:?}");
    assert_eq!(refused, 8, "every client ends on a refused connection");

    // The process stops by itself, cleanly, within the grace period.
    let exited = tokio::time::timeout(PROMPTLY * 3, async {
        loop {
            if let Some(status) = server.child.try_wait().expect("try_wait") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the server exits after SIGTERM");
    assert!(exited.success(), "exit status {exited}");
    let log = server.log.lock().unwrap().join("\n");
    assert!(log.contains("SIGTERM received") && log.contains("assent stopped"), "{log}");

    // A new server on the same database has every acknowledged record.
    let (base, _state) = start_server(test_settings(&database_url, &key)).await;
    let token = worker_token(&base, &env, client_id, secret).await;
    let ids = stored_ids(&base, &env, &user, &token).await;
    let missing: Vec<&String> = acknowledged.iter().filter(|id| !ids.contains(*id)).collect();
    assert!(missing.is_empty(), "{} of {} acknowledged records are missing", missing.len(), acknowledged.len());
    eprintln!("{} acknowledged, other answers {answered:?}, {refused} refused", acknowledged.len());
}

/// Everything the server sends until it closes the connection, or `None` if still open after `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = async {
        let mut buf = [0; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(within, read).await.ok()?;
    Some(String::from_utf8_lossy(&received).into_owned())
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_and_closes_the_rest_after_the_grace_period() {
    let (database_url, _database) = fresh_database().await;
    let mut config = test_config(&database_url, &generate_master_key());
    config.shutdown_grace_ms = 1500;
    config.body_read_timeout_ms = 60_000;
    config.header_read_timeout_ms = 60_000;
    assent::telemetry::init_for_tests();
    let app = Application::build(config.validate().expect("valid settings")).await.expect("server builds");
    let address = app.address();
    let created = assent::domain::environments::bootstrap(&app.state().store, &app.state().secrets, "Stop".into())
        .await
        .expect("bootstrap");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    // A token request whose body is half sent, a POST whose body stalls, and an idle kept-alive connection.
    let token_head = format!(
        "POST /{}/as/token HTTP/1.1\r\nHost: assent\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 29\r\nAuthorization: Basic {}\r\n\r\ngrant_type=",
        created.environment.id,
        base64_basic(&created.client_id, &created.client_secret),
    );
    let mut in_flight = TcpStream::connect(address).await.expect("connect");
    in_flight.write_all(token_head.as_bytes()).await.expect("sent");
    let mut stalled = TcpStream::connect(address).await.expect("connect");
    let stalled_head = format!(
        "POST /v1/environments/{}/users HTTP/1.1\r\nHost: assent\r\nContent-Type: application/json\r\n\
         Content-Length: 40\r\n\r\n{{\"user",
        created.environment.id
    );
    stalled.write_all(stalled_head.as_bytes()).await.expect("sent");
    let mut idle = TcpStream::connect(address).await.expect("connect");
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: assent\r\n\r\n").await.expect("sent");
    let mut first = [0; 17];
    idle.read_exact(&mut first).await.expect("health answered");
    assert_eq!(&first, b"HTTP/1.1 200 OK\r\n");
    // Let the server read the heads before it is told to stop (ordering only).
    tokio::time::sleep(Duration::from_millis(300)).await;

    stop.send(()).expect("server running");
    // New connections are refused once the server has taken the signal.
    let refused = tokio::time::timeout(PROMPTLY, async {
        loop {
            match TcpStream::connect(address).await {
                Err(error) => return error.kind(),
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
    .expect("new connections are refused");
    assert_eq!(refused, std::io::ErrorKind::ConnectionRefused);
    // The idle connection is closed at once; its one answer was complete.
    let rest = read_until_closed(&mut idle, PROMPTLY).await.expect("idle connection closed");
    assert!(rest.ends_with("ok"), "{rest}");
    // The request in flight is finished and answered, with the connection closed after it.
    in_flight.write_all(b"client_credentials").await.expect("rest of the body sent");
    let answer = read_until_closed(&mut in_flight, PROMPTLY).await.expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(answer.contains("access_token"), "{answer}");
    // The stalled one is closed when the grace period ends, without an answer; then the server returns.
    let after = read_until_closed(&mut stalled, PROMPTLY).await.expect("closed after the grace period");
    assert_eq!(after, "", "no answer for a body that never came");
    let ran = tokio::time::timeout(PROMPTLY, running).await.expect("run_until returns").expect("server task");
    assert!(ran.is_ok(), "{ran:?}");
}

fn base64_basic(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}
