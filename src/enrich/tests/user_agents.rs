//! User-Agent → browser / operating system / device type mapping.

use super::*;

fn sw(name: &str, version: Option<&str>) -> Option<Software> {
    Some(Software { name: name.to_owned(), version: version.map(str::to_owned) })
}

fn device(browser: Option<Software>, os: Option<Software>, device_type: Option<&str>) -> ClientDevice {
    ClientDevice { browser, operating_system: os, device_type: device_type.map(str::to_owned) }
}

fn parse(ua: &str) -> ClientDevice {
    Enricher::new(GeoIpSource::Disabled).device(Some(ua))
}

#[test]
fn chrome_on_macos() {
    let ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    let expected = device(sw("Chrome", Some("131.0.0.0")), sw("Mac OS", Some("10.15.7")), Some("desktop"));
    assert_eq!(parse(ua), expected);
}

#[test]
fn safari_on_iphone() {
    let ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1";
    let expected = device(sw("Safari", Some("17.6")), sw("iOS", Some("17.6")), Some("mobile"));
    assert_eq!(parse(ua), expected);
}

#[test]
fn safari_on_ipad_is_a_tablet() {
    let ua = "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1";
    let expected = device(sw("Safari", Some("17.6")), sw("iOS", Some("17.6")), Some("tablet"));
    assert_eq!(parse(ua), expected);
}

#[test]
fn android_without_mobile_is_a_tablet() {
    let ua = "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Safari/537.36";
    let expected = device(sw("Chrome", Some("131.0.6778.81")), sw("Android", Some("14")), Some("tablet"));
    assert_eq!(parse(ua), expected);
}

#[test]
fn android_phone() {
    let ua = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36";
    let expected = device(sw("Chrome", Some("131.0.6778.81")), sw("Android", Some("14")), Some("mobile"));
    assert_eq!(parse(ua), expected);
}

#[test]
fn edge_on_windows_10() {
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86";
    let expected = device(sw("Edge", Some("131.0.2903.86")), sw("Windows", Some("10")), Some("desktop"));
    assert_eq!(parse(ua), expected);
}

#[test]
fn firefox_on_linux_has_no_os_version() {
    let ua = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    let expected = device(sw("Firefox", Some("133.0")), sw("Linux", None), Some("desktop"));
    assert_eq!(parse(ua), expected);
}

#[test]
fn googlebot_is_a_bot_without_browser() {
    let ua = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    assert_eq!(parse(ua), device(None, None, Some("bot")));
    let smartphone_bot = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    assert_eq!(parse(smartphone_bot), device(None, None, Some("bot")));
}

#[test]
fn http_libraries_give_nothing() {
    // woothee: name "HTTP Library", version "curl", category "misc".
    for ua in ["curl/8.5.0", "Wget/1.21.3", "python-requests/2.31.0"] {
        assert_eq!(parse(ua), ClientDevice::default(), "{ua}");
    }
}

#[test]
fn missing_empty_and_garbage_give_nothing() {
    let enricher = Enricher::new(GeoIpSource::Disabled);
    assert_eq!(enricher.device(None), ClientDevice::default());
    for ua in ["", "   ", "-", "garbage \u{0}\u{1}!!", "Mozilla/5.0", "🙂"] {
        assert_eq!(enricher.device(Some(ua)), ClientDevice::default(), "{ua:?}");
    }
}

#[test]
fn windows_releases_are_split_into_name_and_version() {
    let cases = [
        ("Windows NT 6.3; Win64; x64", "8.1"),
        ("Windows NT 6.2; Win64; x64", "8"),
        ("Windows NT 6.1; Win64; x64", "7"),
        ("Windows NT 6.0", "Vista"),
        ("Windows NT 5.1", "XP"),
    ];
    for (platform, version) in cases {
        let ua =
            format!("Mozilla/5.0 ({platform}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36");
        let os = parse(&ua).operating_system;
        assert_eq!(os, sw("Windows", Some(version)), "{platform}");
    }
}

#[test]
fn other_platforms() {
    let chromebook = "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    let got = parse(chromebook);
    assert_eq!(got.operating_system, sw("Chrome OS", Some("14541.0.0")));
    assert_eq!(got.device_type.as_deref(), Some("desktop"));

    // woothee's os_version for BSD is the CPU architecture, not a version.
    let bsd = "Mozilla/5.0 (X11; FreeBSD amd64; rv:120.0) Gecko/20100101 Firefox/120.0";
    assert_eq!(parse(bsd).operating_system, sw("BSD", None));

    let playstation = "Mozilla/5.0 (PlayStation 4 3.11) AppleWebKit/537.73 (KHTML, like Gecko)";
    assert_eq!(parse(playstation), device(None, sw("PlayStation 4", Some("3.11")), Some("appliance")));

    let feature_phone = "DoCoMo/2.0 P903i(c100;TB;W24H12)";
    assert_eq!(parse(feature_phone).device_type.as_deref(), Some("mobile"));

    let samsung = "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36";
    assert_eq!(parse(samsung), device(sw("SamsungBrowser", Some("25.0")), sw("Android", Some("14")), Some("mobile")));
}
