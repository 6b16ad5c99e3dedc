//! Keeps the checked-in `assent-cities.mmdb` identical to a fresh build of `cities.csv`, and
//! checks that it decodes with the GeoIP2-City schema Assent reads.

use std::net::IpAddr;

use maxminddb::{Reader, geoip2};

const DIR: &str = env!("CARGO_MANIFEST_DIR");
const REBUILD: &str = "cargo run -p assent-geoip --bin build-geoip -- geoip/cities.csv geoip/assent-cities.mmdb";

fn source() -> String {
    std::fs::read_to_string(format!("{DIR}/cities.csv")).expect("read cities.csv")
}

fn checked_in() -> Vec<u8> {
    std::fs::read(format!("{DIR}/assent-cities.mmdb")).expect("read assent-cities.mmdb")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test IP")
}

/// English names of the city, first subdivision, country and continent at `ip`.
fn names(reader: &Reader<Vec<u8>>, ip: IpAddr) -> Option<[Option<String>; 4]> {
    let city: geoip2::City = reader.lookup(ip).expect("lookup").decode().expect("decode")?;
    let en = |n: &geoip2::Names| n.english.map(str::to_owned);
    Some([
        en(&city.city.names),
        city.subdivisions.first().and_then(|s| en(&s.names)),
        en(&city.country.names),
        en(&city.continent.names),
    ])
}

fn strings(values: [&str; 4]) -> Option<[Option<String>; 4]> {
    Some(values.map(|v| (!v.is_empty()).then(|| v.to_owned())))
}

#[test]
fn checked_in_database_matches_cities_csv() {
    let built = assent_geoip::build_from_csv(&source()).expect("cities.csv builds");
    assert!(built == checked_in(), "geoip/assent-cities.mmdb is stale; rebuild it with: {REBUILD}");
}

#[test]
fn build_is_deterministic() {
    let first = assent_geoip::build_from_csv(&source()).expect("build");
    let second = assent_geoip::build_from_csv(&source()).expect("build");
    assert_eq!(first, second);
}

#[test]
fn tacoma_decodes_as_geoip2_city() {
    let reader = Reader::from_source(checked_in()).expect("valid mmdb");
    let city: geoip2::City = reader
        .lookup(ip("203.0.113.7"))
        .expect("lookup")
        .decode()
        .expect("decode")
        .expect("203.0.113.7 is in the database");
    assert_eq!(city.city.names.english, Some("Tacoma"));
    let state = city.subdivisions.first().expect("a subdivision");
    assert_eq!(state.names.english, Some("Washington"));
    assert_eq!(state.iso_code, Some("WA"));
    assert_eq!(city.country.names.english, Some("United States"));
    assert_eq!(city.country.iso_code, Some("US"));
    assert_eq!(city.continent.names.english, Some("North America"));
    assert_eq!(city.continent.code, Some("NA"));
    assert_eq!(city.location.accuracy_radius, Some(20));
    assert_eq!(city.location.latitude, Some(47.2529));
    assert_eq!(city.location.longitude, Some(-122.4443));
    assert_eq!(city.location.time_zone, Some("America/Los_Angeles"));
}

#[test]
fn every_documentation_network_resolves() {
    let reader = Reader::from_source(checked_in()).expect("valid mmdb");
    let cases = [
        ("192.0.2.1", ["Berlin", "Berlin", "Germany", "Europe"]),
        ("198.51.100.200", ["São Paulo", "São Paulo", "Brazil", "South America"]),
        ("203.0.113.255", ["Tacoma", "Washington", "United States", "North America"]),
        ("2001:db8:1::1", ["London", "England", "United Kingdom", "Europe"]),
        ("2001:db8:2:ffff::9", ["Tokyo", "Tokyo", "Japan", "Asia"]),
        ("2001:db8:3::", ["Sydney", "New South Wales", "Australia", "Oceania"]),
        ("2001:db8:4::1", ["", "", "Canada", "North America"]),
        // The writer aliases ::ffff:0:0/96 to the IPv4 tree.
        ("::ffff:203.0.113.7", ["Tacoma", "Washington", "United States", "North America"]),
    ];
    for (address, expected) in cases {
        assert_eq!(names(&reader, ip(address)), strings(expected), "{address}");
    }
    for miss in ["10.0.0.1", "127.0.0.1", "8.8.8.8", "2001:db8:5::1", "::1"] {
        assert_eq!(names(&reader, ip(miss)), None, "{miss}");
    }
}

#[test]
fn metadata_is_geoip2_city_with_pinned_epoch() {
    let reader = Reader::from_source(checked_in()).expect("valid mmdb");
    let meta = reader.metadata();
    assert_eq!(meta.database_type, "GeoIP2-City");
    assert_eq!(meta.ip_version, 6);
    assert_eq!(meta.build_epoch, assent_geoip::BUILD_EPOCH_SECS);
    assert_eq!(meta.languages, ["en"]);
}

fn error_of(body: &str) -> String {
    let text = format!("{}\n{body}\n", assent_geoip::HEADER);
    let err = assent_geoip::build_from_csv(&text).expect_err("bad input must fail");
    format!("{err:#}")
}

#[test]
fn bad_lines_are_reported_with_their_line_number() {
    let ok = "203.0.113.0/24,Tacoma,Washington,WA,United States,US,North America,NA,47.2,-122.4,20,America/Los_Angeles";
    let cases = [
        ("203.0.113.0/33,a,,,b,US,c,NA,,,,", "line 2", "not a CIDR"),
        ("203.0.113.7/24,a,,,b,US,c,NA,,,,", "line 2", "host bits"),
        ("203.0.113.0/24,a,,,b,US,c,NA,,,", "line 2", "found 11"),
        ("203.0.113.0/24,a,,,b,usa,c,NA,,,,", "line 2", "country_iso"),
        ("203.0.113.0/24,a,,,,US,c,NA,,,,", "line 2", "country must not"),
        ("203.0.113.0/24,a,x,,b,US,c,NA,,,,", "line 2", "subdivision"),
        ("203.0.113.0/24,a,,,b,US,c,NA,91,0,,", "line 2", "latitude"),
        ("203.0.113.0/24,a,,,b,US,c,NA,1,,,", "line 2", "both be set"),
        ("203.0.113.0/24,a,,,b,US,c,NA,,,70000,", "line 2", "accuracy_radius"),
        ("\"203.0.113.0/24\",a,,,b,US,c,NA,,,,", "line 2", "quoted"),
        (&format!("{ok}\n\n203.0.113.128/25,a,,,b,US,c,NA,,,,"), "line 4", "overlaps 203.0.113.0/24 from line 2"),
    ];
    for (body, line, problem) in cases {
        let message = error_of(body);
        assert!(message.contains(line) && message.contains(problem), "{body:?} gave {message:?}");
    }
    let header = assent_geoip::build_from_csv("network,city\n").expect_err("bad header");
    assert!(format!("{header:#}").contains("line 1: expected the header"));
    let empty = assent_geoip::build_from_csv(assent_geoip::HEADER).expect_err("no rows");
    assert!(format!("{empty:#}").contains("no networks"));
}
