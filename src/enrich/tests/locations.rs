//! GeoIP sources and lookups.

use super::*;

fn only_ip(remote_ip: IpAddr) -> Location {
    Location { remote_ip, city: None, state: None, region: None, country: None }
}

fn place(remote_ip: &str, [city, state, region, country]: [&str; 4]) -> Location {
    let text = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Location {
        remote_ip: ip(remote_ip),
        city: text(city),
        state: text(state),
        region: text(region),
        country: text(country),
    }
}

#[test]
fn bundled_ipv4_hit() {
    let enricher = Enricher::new(GeoIpSource::Bundled);
    assert_eq!(enricher.locate(ip("203.0.113.7")), place("203.0.113.7", ["Tacoma", "Washington", "", "United States"]));
}

#[test]
fn bundled_ipv6_hit_and_country_only_record() {
    let enricher = Enricher::new(GeoIpSource::Bundled);
    assert_eq!(enricher.locate(ip("2001:db8:2::1")), place("2001:db8:2::1", ["Tokyo", "Tokyo", "", "Japan"]));
    assert_eq!(
        enricher.locate(ip("2001:db8:1:ab::7")),
        place("2001:db8:1:ab::7", ["London", "England", "", "United Kingdom"])
    );
    assert_eq!(enricher.locate(ip("2001:db8:4::1")), place("2001:db8:4::1", ["", "", "", "Canada"]));
}

#[test]
fn mapped_ipv4_is_looked_up_and_reported_as_ipv4() {
    let enricher = Enricher::new(GeoIpSource::Bundled);
    assert_eq!(enricher.locate(ip("::ffff:192.0.2.55")), place("192.0.2.55", ["Berlin", "Berlin", "", "Germany"]));
    assert_eq!(enricher.locate(ip("::ffff:10.0.0.1")), only_ip(ip("10.0.0.1")));
}

#[test]
fn private_loopback_and_unknown_addresses_give_only_the_ip() {
    let enricher = Enricher::new(GeoIpSource::Bundled);
    for address in
        ["10.0.0.1", "192.168.1.1", "127.0.0.1", "100.64.0.1", "8.8.8.8", "::1", "fd00::1", "fe80::1", "2001:db8:ff::1"]
    {
        assert_eq!(enricher.locate(ip(address)), only_ip(ip(address)));
    }
}

#[test]
fn disabled_gives_only_the_ip() {
    let enricher = Enricher::new(GeoIpSource::Disabled);
    assert_eq!(enricher.locate(ip("203.0.113.7")), only_ip(ip("203.0.113.7")));
    assert_eq!(enricher.geoip_description(), "disabled");
}

#[test]
fn missing_file_gives_only_the_ip() {
    let path = std::env::temp_dir().join("assent-enrich-no-such-file.mmdb");
    let enricher = Enricher::new(GeoIpSource::File(path));
    assert_eq!(enricher.locate(ip("203.0.113.7")), only_ip(ip("203.0.113.7")));
    assert!(enricher.geoip_description().contains("cannot read"));
}

#[test]
fn file_sources_are_loaded_and_garbage_files_ignored() {
    let dir = std::env::temp_dir().join(format!("assent-enrich-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("cities.mmdb");
    let bad = dir.join("garbage.mmdb");
    std::fs::write(&good, geoip::BUNDLED).expect("write");
    std::fs::write(&bad, b"not a database").expect("write");

    let enricher = Enricher::new(GeoIpSource::File(good.clone()));
    assert_eq!(enricher.locate(ip("198.51.100.1")).city.as_deref(), Some("São Paulo"));
    assert!(enricher.geoip_description().starts_with(&good.display().to_string()));

    let enricher = Enricher::new(GeoIpSource::File(bad));
    assert_eq!(enricher.locate(ip("198.51.100.1")), only_ip(ip("198.51.100.1")));
    assert!(enricher.geoip_description().contains("not a MaxMind DB"));
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn bundled_description_names_type_date_and_size() {
    let description = Enricher::new(GeoIpSource::Bundled).geoip_description();
    assert!(description.starts_with("bundled sample assent-cities.mmdb"));
    assert!(description.contains(": GeoIP2-City, built 2026-11-01, "));
    assert!(description.ends_with(" nodes"));
}

#[test]
fn build_dates_are_formatted_in_utc() {
    assert_eq!(geoip::date(0), "1970-01-01");
    assert_eq!(geoip::date(951_782_399), "2000-02-28");
    assert_eq!(geoip::date(951_782_400), "2000-02-29");
    assert_eq!(geoip::date(1_793_491_200), "2026-11-01");
    assert_eq!(geoip::date(4_102_444_799), "2099-12-31");
}

#[test]
fn enricher_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Enricher>();
}
