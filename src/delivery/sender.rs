//! Sending one webhook message: a POST of its JSON body with the Standard Webhooks headers, no
//! redirects followed, no proxy, bounded in time; under the strict destination policy the
//! addresses the host resolves to are checked again at delivery, so a name that now points at a
//! private address (DNS rebinding) is refused before any connection is made.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::subscriptions::{DestinationPolicy, is_public};
use crate::domain::webhooks::{WebhookMessage, signatures};

/// What a destination made of one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// Its HTTP status, when it answered.
    pub status: Option<u16>,
    /// From the start of the request to the answer's head (or the failure).
    pub latency: Duration,
    /// Why it was not delivered, when it was not.
    pub error: Option<String>,
}

impl Sent {
    /// Whether the destination took the message (a 2xx answer).
    pub fn delivered(&self) -> bool {
        self.error.is_none()
    }
}

/// Resolves names to their public addresses only; a name with none is refused.
#[derive(Debug)]
struct PublicAddressesOnly;

impl Resolve for PublicAddressesOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addresses: Addrs = Box::new(public.into_iter());
            Ok(addresses)
        })
    }
}

/// The HTTP client deliveries are sent with.
#[derive(Clone, Debug)]
pub struct Sender {
    client: reqwest::Client,
    policy: DestinationPolicy,
}

impl Sender {
    /// A client for `policy`, giving each request at most `timeout`.
    pub fn new(policy: DestinationPolicy, timeout: Duration) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("Assent-Webhooks/", env!("CARGO_PKG_VERSION")));
        if !policy.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicAddressesOnly));
        }
        let client = builder.build().map_err(|e| format!("the webhook client cannot be built: {e}"))?;
        Ok(Self { client, policy })
    }

    /// POSTs `message` to `url`, signed with each of `secrets` at `timestamp` (seconds since 1970).
    pub async fn send(&self, url: &str, message: &WebhookMessage, secrets: &[Vec<u8>], timestamp: i64) -> Sent {
        let started = Instant::now();
        let failed = |error: String| Sent { status: None, latency: started.elapsed(), error: Some(error) };
        if let Some(refused) = self.refused_literal(url) {
            return failed(refused);
        }
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures(secrets, &message.id, timestamp, &message.body))
            .body(message.body.clone())
            .send()
            .await;
        match sent {
            Ok(answer) => {
                let status = answer.status();
                let latency = started.elapsed();
                let error = if status.is_success() {
                    None
                } else if status.is_redirection() {
                    Some(format!("answered {}; redirects are not followed", status.as_u16()))
                } else {
                    Some(format!("answered {}", status.as_u16()))
                };
                Sent { status: Some(status.as_u16()), latency, error }
            }
            Err(error) if error.is_timeout() => failed("no answer within the delivery timeout".into()),
            Err(error) if error.is_connect() => failed(format!("could not connect: {}", root_cause(&error))),
            Err(error) => failed(format!("the request failed: {}", root_cause(&error))),
        }
    }

    /// Why `url`, naming an address rather than a host, may not be reached under the policy.
    fn refused_literal(&self, url: &str) -> Option<String> {
        if self.policy.allow_private {
            return None;
        }
        let parsed = url::Url::parse(url).ok()?;
        let ip = match parsed.host()? {
            url::Host::Ipv4(ip) => std::net::IpAddr::V4(ip),
            url::Host::Ipv6(ip) => std::net::IpAddr::V6(ip),
            url::Host::Domain(_) => return None,
        };
        (!is_public(ip)).then(|| format!("{ip} is not a public address"))
    }
}

/// The innermost cause of a client error: the message a destination's owner can act on.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_resolving_only_to_loopback_is_refused_at_delivery() {
        let name: Name = "localhost".parse().unwrap_or_else(|_| unreachable!("a valid name"));
        let resolved = PublicAddressesOnly.resolve(name).await;
        let error = resolved.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("no public address"), "{error}");
    }

    #[tokio::test]
    async fn an_address_literal_on_a_private_network_is_never_contacted() {
        let sender =
            Sender::new(DestinationPolicy::default(), Duration::from_secs(1)).unwrap_or_else(|e| panic!("{e}"));
        let message = WebhookMessage {
            id: "e:1".into(),
            event_type: crate::domain::proof::EventType::ConsentRevoked,
            sequence: 1,
            occurred_at: chrono::Utc::now(),
            body: "{}".into(),
        };
        let sent = sender.send("https://10.1.2.3/hook", &message, &[b"secret".to_vec()], 0).await;
        assert_eq!(sent.error.as_deref(), Some("10.1.2.3 is not a public address"));
        assert_eq!(sent.status, None);
    }
}
