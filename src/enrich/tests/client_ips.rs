//! Trusted proxy lists and X-Forwarded-For resolution.

use super::*;

fn proxies(list: &str) -> TrustedProxies {
    TrustedProxies::parse(list).expect("valid proxy list")
}

#[test]
fn untrusted_peer_ignores_spoofed_header() {
    let trusted = proxies("10.0.0.0/8");
    let peer = ip("198.51.100.9");
    assert_eq!(client_ip(peer, Some("1.2.3.4"), &trusted), peer);
    assert_eq!(client_ip(peer, Some("1.2.3.4"), &TrustedProxies::default()), peer);
}

#[test]
fn trusted_peer_gives_right_most_untrusted_hop() {
    let trusted = proxies("10.0.0.0/8, 127.0.0.1");
    let peer = ip("10.0.0.1");
    assert_eq!(client_ip(peer, Some("203.0.113.7"), &trusted), ip("203.0.113.7"));
    // The client may put anything left of its own address; the proxy appended the truth.
    assert_eq!(client_ip(peer, Some("1.1.1.1, 203.0.113.7"), &trusted), ip("203.0.113.7"));
    assert_eq!(client_ip(ip("127.0.0.1"), Some("203.0.113.7"), &trusted), ip("203.0.113.7"));
    assert_eq!(client_ip(peer, None, &trusted), peer);
}

#[test]
fn chains_of_trusted_hops_are_skipped() {
    let trusted = proxies("10.0.0.0/8");
    let peer = ip("10.0.0.1");
    assert_eq!(client_ip(peer, Some("1.1.1.1, 203.0.113.7, 10.0.0.3,10.0.0.2"), &trusted), ip("203.0.113.7"));
    // Every hop trusted: the left-most is the best we know.
    assert_eq!(client_ip(peer, Some("10.0.0.3, 10.0.0.2"), &trusted), ip("10.0.0.3"));
}

#[test]
fn garbage_stops_the_walk() {
    let trusted = proxies("10.0.0.0/8");
    let peer = ip("10.0.0.1");
    assert_eq!(client_ip(peer, Some("203.0.113.7, garbage, 10.0.0.2"), &trusted), ip("10.0.0.2"));
    for header in ["garbage", "", " , ", "unknown", "203.0.113.7, ", "fe80::1%eth0"] {
        assert_eq!(client_ip(peer, Some(header), &trusted), peer, "{header:?}");
    }
}

#[test]
fn ipv6_hops_and_ports() {
    let trusted = proxies("fd00::/8, 10.0.0.0/8");
    assert_eq!(client_ip(ip("fd00::1"), Some("2001:db8::7"), &trusted), ip("2001:db8::7"));
    assert_eq!(client_ip(ip("fd00::1"), Some("[2001:db8::7]:443, fd00::2"), &trusted), ip("2001:db8::7"));
    assert_eq!(client_ip(ip("10.0.0.1"), Some("[2001:db8::8]"), &trusted), ip("2001:db8::8"));
    assert_eq!(client_ip(ip("10.0.0.1"), Some("203.0.113.7:4711"), &trusted), ip("203.0.113.7"));
}

#[test]
fn mapped_ipv4_is_treated_as_ipv4() {
    let trusted = proxies("10.0.0.0/8");
    assert_eq!(client_ip(ip("::ffff:10.0.0.1"), Some("::ffff:203.0.113.7"), &trusted), ip("203.0.113.7"));
    assert_eq!(client_ip(ip("::ffff:198.51.100.9"), Some("1.2.3.4"), &trusted), ip("198.51.100.9"));
    assert_eq!(client_ip(ip("::ffff:10.0.0.1"), Some("203.0.113.7, ::ffff:10.0.0.9"), &trusted), ip("203.0.113.7"));
    let mapped_config = proxies("::ffff:10.0.0.0/104, ::ffff:127.0.0.1");
    assert!(mapped_config.contains(ip("10.1.2.3")));
    assert!(mapped_config.contains(ip("127.0.0.1")));
    assert!(!mapped_config.contains(ip("11.0.0.1")));
}

#[test]
fn parse_accepts_cidrs_and_addresses() {
    let trusted = proxies(" 10.0.0.0/8, 127.0.0.1,2001:db8::/32 ,fd00::1,");
    for inside in ["10.255.0.1", "127.0.0.1", "2001:db8:1::1", "fd00::1"] {
        assert!(trusted.contains(ip(inside)), "{inside}");
    }
    for outside in ["11.0.0.1", "127.0.0.2", "2001:db9::1", "fd00::2"] {
        assert!(!trusted.contains(ip(outside)), "{outside}");
    }
    // Host bits are tolerated: 10.1.2.3/8 means 10.0.0.0/8.
    assert!(proxies("10.1.2.3/8").contains(ip("10.200.0.1")));
    assert!(!proxies("").contains(ip("127.0.0.1")));
}

#[test]
fn parse_errors_name_the_bad_entry() {
    for (list, bad) in [
        ("10.0.0.0/8, bogus", "\"bogus\""),
        ("10.0.0.0/33", "\"10.0.0.0/33\""),
        ("127.0.0.1, 10.0.0.0/8/8", "\"10.0.0.0/8/8\""),
        ("localhost", "\"localhost\""),
    ] {
        let err = TrustedProxies::parse(list).expect_err("must fail");
        assert!(err.contains(bad), "{list:?} gave {err:?}");
    }
}
