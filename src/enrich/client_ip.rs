//! Client address resolution: which X-Forwarded-For hops to believe, given trusted proxies.

use std::net::{IpAddr, SocketAddr};

use ipnet::{IpNet, Ipv4Net};

use super::unmap;

/// CIDR ranges whose X-Forwarded-For we believe.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of CIDRs or plain addresses ("10.0.0.0/8, 127.0.0.1"); Err names the bad entry.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        list.split(',')
            .map(str::trim)
            // Tolerate "a, b," and an empty setting (= trust nobody).
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .map(|net| net.trunc())
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map(unmap_net)
                    .map_err(|_| {
                        format!("invalid trusted proxy {entry:?}: expected an IP address or CIDR such as 10.0.0.0/8")
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    /// Whether `ip` (IPv4-mapped IPv6 counts as IPv4) is inside a trusted range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = unmap(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// `::ffff:10.0.0.0/104` as `10.0.0.0/8`, so it matches the unmapped addresses we compare.
fn unmap_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => v6
            .network()
            .to_ipv4_mapped()
            .and_then(|addr| Ipv4Net::new(addr, v6.prefix_len() - 96).ok())
            .map_or(net, IpNet::V4),
        _ => net,
    }
}

/// The client IP: the TCP peer, or — only when the peer is a trusted proxy — the right-most address of X-Forwarded-For that is not itself a trusted proxy.
///
/// Trusted hops are skipped right to left; if every hop is trusted, the left-most one is used.
/// An unparseable entry stops the walk at the last good address (or the peer). Several
/// X-Forwarded-For header values are expected joined with ",". IPv4-mapped IPv6 addresses are
/// treated as IPv4.
pub fn client_ip(peer: IpAddr, x_forwarded_for: Option<&str>, trusted: &TrustedProxies) -> IpAddr {
    let peer = unmap(peer);
    let Some(forwarded) = x_forwarded_for else {
        return peer;
    };
    if !trusted.contains(peer) {
        // Anyone can send the header; only our own proxies' word counts.
        return peer;
    }
    let mut client = peer;
    for entry in forwarded.rsplit(',') {
        let Some(hop) = parse_hop(entry) else {
            // Left of garbage nothing is reliable.
            break;
        };
        client = hop;
        if !trusted.contains(hop) {
            break;
        }
    }
    client
}

/// One X-Forwarded-For entry: a bare address, or with a port as some proxies add
/// ("203.0.113.7:4711", "[2001:db8::1]:443", "[2001:db8::1]").
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| entry.strip_prefix('[').and_then(|e| e.strip_suffix(']')).and_then(|e| e.parse::<IpAddr>().ok()))
        .map(unmap)
}
