//! Unit tests of the enrich module, one file per concern.

use std::net::IpAddr;

use super::*;

/// Parses a literal test address.
fn ip(text: &str) -> IpAddr {
    text.parse().expect("test IP")
}

mod client_ips;
mod locations;
mod user_agents;
