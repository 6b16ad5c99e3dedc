//! Slow and idle clients cannot hold the server: heads, bodies and idle connections have timeouts, and
//! connections over the cap are refused at once, so `/health` keeps answering.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;

use crate::helpers::TestApp;

/// The timeouts these tests run with (header read, body read, idle), in milliseconds.
const TIMEOUT_MS: u64 = 1000;
/// How long past its timeout a connection may take to be closed: generous, for a loaded machine.
const SLACK: Duration = Duration::from_secs(5);

async fn app(max_connections: usize) -> TestApp {
    TestApp::spawn_with(|config| {
        config.header_read_timeout_ms = TIMEOUT_MS;
        config.body_read_timeout_ms = TIMEOUT_MS;
        config.idle_timeout_ms = TIMEOUT_MS;
        config.max_connections = max_connections;
    })
    .await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://")).await.expect("connect")
}

/// Everything the server sends until it closes the connection, or `None` if it is still open after `within`.
async fn read_until_closed(stream: &mut (impl AsyncReadExt + Unpin), within: Duration) -> Option<String> {
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

/// Writes `bytes` one at a time, `every` apart, until done or the server closes the connection.
fn trickle(mut writer: OwnedWriteHalf, bytes: Vec<u8>, every: Duration) {
    tokio::spawn(async move {
        for byte in bytes {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// `GET /health` on a new connection: the status line, or what went wrong.
async fn health(app: &TestApp) -> String {
    let mut stream = connect(app).await;
    let request = b"GET /health HTTP/1.1\r\nHost: assent\r\nConnection: close\r\n\r\n";
    stream.write_all(request).await.expect("request sent");
    let answer = read_until_closed(&mut stream, SLACK).await.unwrap_or_default();
    answer.lines().next().unwrap_or("no answer").to_owned()
}

/// A request head for `path` with a body of `length` bytes.
fn post_head(app: &TestApp, path: &str, length: usize) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: assent\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n",
        app.token
    )
    .into_bytes()
}

/// The JSON body of a raw HTTP answer.
fn json_body(answer: &str) -> Value {
    let body = answer.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("JSON body expected ({e}): {answer}"))
}

/// What a held connection did: the kind, and what the server sent before closing it (`None`: still open).
type Held = tokio::task::JoinHandle<(&'static str, Option<String>)>;

/// Connects, sends `first` at once and `rest` a byte at a time `every` apart, and reads until closed.
async fn hold(app: &TestApp, kind: &'static str, first: Vec<u8>, rest: Vec<u8>, every: Duration) -> Held {
    let stream = connect(app).await;
    tokio::spawn(async move {
        let (mut reader, mut writer) = stream.into_split();
        if !first.is_empty() {
            writer.write_all(&first).await.expect("sent");
        }
        let within = Duration::from_millis(TIMEOUT_MS) + SLACK;
        if rest.is_empty() {
            // Keep the write half: dropping it would send FIN, which the server rightly takes as the end.
            let answer = read_until_closed(&mut reader, within).await;
            drop(writer);
            return (kind, answer);
        }
        trickle(writer, rest, every);
        (kind, read_until_closed(&mut reader, within).await)
    })
}

#[tokio::test]
async fn slow_heads_slow_bodies_and_idle_connections_are_closed_in_time_and_health_still_answers() {
    let app = app(64).await;
    let every = Duration::from_millis(200);
    let users = format!("/v1/environments/{}/users", app.env_id);
    let body = br#"{"username": "slow-client-user"}"#.to_vec();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(hold(&app, "silent", vec![], vec![], every).await);
        let half = b"GET /health HTTP/1.1\r\nHost: assent\r\n".to_vec();
        held.push(hold(&app, "half-sent head", half, vec![], every).await);
        // At a byte every 200 ms this head would take 10 s.
        let head = b"GET /health HTTP/1.1\r\nHost: assent\r\nX-Slow: yes\r\n\r\n".to_vec();
        held.push(hold(&app, "trickled head", vec![], head, every).await);
        // The head at once, the body a byte every 200 ms (6 s).
        held.push(hold(&app, "trickled body", post_head(&app, &users, body.len()), body.clone(), every).await);
        // The head and five bytes of the body, then nothing.
        let mut stalled = post_head(&app, &users, body.len());
        stalled.extend_from_slice(&body[..5]);
        held.push(hold(&app, "stalled body", stalled, vec![], every).await);
        // One request answered, then a kept-alive connection with nothing more to say.
        let one = b"GET /health HTTP/1.1\r\nHost: assent\r\n\r\n".to_vec();
        held.push(hold(&app, "idle after a response", one, vec![], every).await);
    }
    assert_eq!(health(&app).await, "HTTP/1.1 200 OK", "/health answers while 18 slow connections are held");

    for task in held {
        let (kind, answer) = task.await.expect("held connection task");
        let answer = answer.unwrap_or_else(|| panic!("{kind}: still open {SLACK:?} after its {TIMEOUT_MS} ms timeout"));
        match kind {
            "trickled body" | "stalled body" => {
                assert!(answer.starts_with("HTTP/1.1 408 "), "{kind}: {answer}");
                assert!(answer.to_ascii_lowercase().contains("connection: close"), "{kind}: {answer}");
                let error = json_body(&answer);
                assert_eq!(error["code"], "INVALID_REQUEST", "{kind}: {error}");
                assert!(error["id"].is_string(), "{kind}: {error}");
            }
            "idle after a response" => assert!(answer.starts_with("HTTP/1.1 200 OK"), "{kind}: {answer}"),
            _ => assert_eq!(answer, "", "{kind}: closed without an answer"),
        }
    }
    assert_eq!(health(&app).await, "HTTP/1.1 200 OK");
    let listed = app.get(&app.env_url("/users"), 200).await;
    assert!(!listed.to_string().contains("slow-client-user"), "no slow body reached a handler: {listed}");
}

#[tokio::test]
async fn connections_over_the_cap_are_answered_503_at_once_and_served_again_when_slots_free_up() {
    const CAP: usize = 4;
    let app = TestApp::spawn_with(|config| {
        config.header_read_timeout_ms = 60_000;
        config.idle_timeout_ms = 60_000;
        config.max_connections = CAP;
    })
    .await;
    // More silent connections than the cap (the test client's own kept-alive connection may hold a slot too).
    let mut streams = Vec::new();
    for _ in 0..CAP + 3 {
        streams.push(connect(&app).await);
    }
    // Every slot is taken: one more connection is refused straight away, in the error format.
    let mut one_more = connect(&app).await;
    let refused = read_until_closed(&mut one_more, SLACK).await.expect("refused and closed at once");
    assert!(refused.starts_with("HTTP/1.1 503 "), "{refused}");
    let lower = refused.to_ascii_lowercase();
    assert!(lower.contains("retry-after: 1\r\n") && lower.contains("connection: close"), "{refused}");
    let error = json_body(&refused);
    assert_eq!(error["code"], "UNEXPECTED_ERROR", "{error}");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("connection limit")), "{error}");
    assert!(error["id"].as_str().is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()), "{error}");

    // Of the first ones, those over the cap were refused the same way; the others are still open.
    let reads = streams.into_iter().map(|mut stream| {
        tokio::spawn(async move { (read_until_closed(&mut stream, Duration::from_secs(2)).await, stream) })
    });
    let mut refused = 0;
    let mut open = Vec::new();
    for read in reads {
        match read.await.expect("read task") {
            (Some(answer), _) => {
                assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
                refused += 1;
            }
            (None, stream) => open.push(stream),
        }
    }
    assert!(refused >= 3 && open.len() <= CAP, "{refused} refused, {} held", open.len());

    // Closing the held connections frees their slots.
    drop(open);
    let mut status = String::new();
    for _ in 0..50 {
        status = health(&app).await;
        if status == "HTTP/1.1 200 OK" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "HTTP/1.1 200 OK", "served again once slots are free");
}
