//! Request enrichment: what a consent's User-Agent and client IP say about the device and place.
//!
//! Everything here is a pure function of strings and addresses (no HTTP or database types), so
//! handlers stay thin and the mapping rules are unit-tested on their own.

mod client_ip;
mod geoip;
#[cfg(test)]
mod tests;
mod user_agent;

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

pub use client_ip::{TrustedProxies, client_ip};

/// Browser or operating system as PingOne names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Software {
    /// Product name, e.g. "Chrome" or "Mac OS".
    pub name: String,
    /// Version as the User-Agent gives it, e.g. "131.0.0.0" or "10.15.7".
    pub version: Option<String>,
}

/// What the User-Agent header tells about the client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientDevice {
    /// The browser, when the client is one (not for bots, HTTP libraries or appliances).
    pub browser: Option<Software>,
    /// The operating system, when the User-Agent names one.
    pub operating_system: Option<Software>,
    /// "desktop", "mobile", "tablet", "bot" or "appliance"; `None` when unknown.
    pub device_type: Option<String>,
}

/// Where a client IP address is, as far as the GeoIP database knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The client address (IPv4-mapped IPv6 addresses are reported as IPv4).
    pub remote_ip: IpAddr,
    /// English city name.
    pub city: Option<String>,
    /// English name of the first subdivision (state, province, England…).
    pub state: Option<String>,
    /// Second-level subdivision (county, district), e.g. "Pierce County", when the database has one.
    pub region: Option<String>,
    /// English country name.
    pub country: Option<String>,
}

/// Which GeoIP database to load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GeoIpSource {
    /// The small sample database compiled into the binary (documentation networks only).
    Bundled,
    /// A GeoIP2-City-schema `.mmdb` file (DB-IP City Lite, MaxMind GeoLite2-City…).
    File(PathBuf),
    /// No location data at all.
    Disabled,
}

/// Loaded once at start; cheap to share behind an Arc; every method is a pure function of its inputs.
pub struct Enricher {
    user_agents: woothee::parser::Parser,
    geo: geoip::Geo,
}

impl Enricher {
    /// Loads the UA parser and the GeoIP database; logs once what was loaded or why none is used. Never fails.
    pub fn new(geoip: GeoIpSource) -> Enricher {
        let user_agents = woothee::parser::Parser::new();
        // woothee compiles its regexes lazily on first use; pay that here, not on a request.
        let _ = user_agents.parse(user_agent::WARM_UP);
        Enricher { user_agents, geo: geoip::Geo::load(&geoip) }
    }

    /// Browser, operating system and device type from a User-Agent header value.
    pub fn device(&self, user_agent: Option<&str>) -> ClientDevice {
        user_agent::device(&self.user_agents, user_agent)
    }

    /// The client address with whatever the GeoIP database knows about it.
    pub fn locate(&self, ip: IpAddr) -> Location {
        self.geo.locate(ip)
    }

    /// Short description of the loaded GeoIP database, for logs and health output.
    pub fn geoip_description(&self) -> String {
        self.geo.description().to_owned()
    }
}

impl fmt::Debug for Enricher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enricher").field("geoip", &self.geo.description()).finish_non_exhaustive()
    }
}

/// Treats `::ffff:a.b.c.d` as `a.b.c.d`: dual-stack sockets report IPv4 peers that way, and
/// both proxy lists and GeoIP data are written in IPv4 form.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}
