//! A webhook destination for tests: an HTTP server on 127.0.0.1 that keeps every request it is
//! sent (headers and raw body) and answers as the test tells it (a queue of statuses, then a
//! default; optionally after a delay).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{EndpointExt, Request, Response, Route, Server, handler};

/// One request the receiver was sent.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Delivery {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
    /// The raw body.
    pub body: String,
    /// The path it was sent to.
    #[serde(skip)]
    pub path: String,
}

impl Delivery {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Shared {
    got: Mutex<Vec<Delivery>>,
    queued: Mutex<VecDeque<u16>>,
    status: AtomicU16,
    delay_ms: AtomicU64,
}

/// A running receiver.
pub struct Receiver {
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub base: String,
    shared: Arc<Shared>,
}

#[handler]
async fn receive(request: &Request, body: String, shared: Data<&Arc<Shared>>) -> Response {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let delay = shared.delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    shared.got.lock().unwrap().push(Delivery {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
        path: request.uri().path().to_owned(),
    });
    let queued = shared.queued.lock().unwrap().pop_front();
    let status =
        StatusCode::from_u16(queued.unwrap_or_else(|| shared.status.load(Ordering::Relaxed))).unwrap_or(StatusCode::OK);
    let mut answer = Response::builder().status(status);
    if status.is_redirection() {
        answer = answer.header("location", "/elsewhere");
    }
    answer.finish()
}

impl Receiver {
    /// Starts a receiver answering 204 to everything.
    pub async fn start() -> Receiver {
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("the receiver binds");
        let address = acceptor.local_addr().remove(0);
        let base = format!("http://{}", address.as_socket_addr().expect("a socket address"));
        let shared = Arc::new(Shared { status: AtomicU16::new(204), ..Default::default() });
        let app = Route::new().at("/*path", receive).data(shared.clone());
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        Receiver { base, shared }
    }

    /// The URL to subscribe.
    pub fn url(&self) -> String {
        format!("{}/hook", self.base)
    }

    /// Every request so far, in the order they arrived.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.got.lock().unwrap().clone()
    }

    /// The next requests are answered with `statuses`, in order, before the default.
    pub fn answer_next(&self, statuses: &[u16]) {
        self.shared.queued.lock().unwrap().extend(statuses);
    }

    /// Requests after the queued ones are answered with `status`.
    pub fn answer_always(&self, status: u16) {
        self.shared.status.store(status, Ordering::Relaxed);
    }

    /// Each request is answered after `delay`.
    pub fn delay(&self, delay: Duration) {
        self.shared.delay_ms.store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    /// Waits (at most `within`) until `done` holds of the requests so far; answers them.
    pub async fn wait_until(&self, within: Duration, done: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.deliveries();
            if done(&got) {
                return got;
            }
            assert!(tokio::time::Instant::now() < deadline, "the receiver waited {within:?}; it has {got:#?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
