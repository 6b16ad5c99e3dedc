//! What a request says about its client: User-Agent and address (behind trusted proxies).

use std::net::{IpAddr, Ipv4Addr};

use poem::Request;
use poem::web::RemoteAddr;

use crate::domain::consents::RequestContext;
use crate::enrich::{TrustedProxies, client_ip};

/// The TCP peer's address; unknown peers (e.g. Unix sockets) count as unspecified.
fn peer(request: &Request) -> IpAddr {
    let remote: &RemoteAddr = request.remote_addr();
    remote.as_socket_addr().map(|a| a.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The enrichment inputs of `request`.
pub fn request_context(request: &Request, trusted: &TrustedProxies) -> RequestContext {
    let forwarded: Vec<&str> =
        request.headers().get_all("X-Forwarded-For").iter().filter_map(|v| v.to_str().ok()).collect();
    let forwarded = (!forwarded.is_empty()).then(|| forwarded.join(","));
    RequestContext {
        user_agent: request.headers().get("User-Agent").and_then(|v| v.to_str().ok()).map(str::to_owned),
        client_ip: client_ip(peer(request), forwarded.as_deref(), trusted),
    }
}
