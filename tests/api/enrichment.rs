//! Enrichment through the API: devices from real User-Agents, locations from the client address.

use serde_json::{Value, json};

use crate::consents_record::post_consent;
use crate::helpers::TestApp;

const ACCEPT: &str = "application/vnd.pingidentity.consent.accept+json";

fn bare_body() -> String {
    json!({"application":{"name":"Enriched","appType":"EXTERNAL"},"scope":["openid"],"status":"ACCEPTED"}).to_string()
}

async fn recorded(app: &TestApp, headers: &[(&str, &str)]) -> Value {
    let user = app.create_user(&format!("u{}", uuid::Uuid::new_v4().simple())).await;
    let (status, _, body) = post_consent(app, user["id"].as_str().unwrap(), &bare_body(), ACCEPT, headers).await;
    assert_eq!(status, 201, "{body}");
    body
}

#[tokio::test]
async fn devices_come_from_real_user_agents() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            json!({"name":"Chrome","version":"131.0.0.0"}),
            json!({"name":"Mac OS","version":"10.15.7"}),
            json!({"type":"desktop"}),
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
            json!({"name":"Safari","version":"17.6"}),
            json!({"name":"iOS","version":"17.6"}),
            json!({"type":"mobile"}),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            json!({"name":"Chrome","version":"131.0.0.0"}),
            json!({"name":"Android","version":"14"}),
            json!({"type":"tablet"}),
        ),
    ];
    for (ua, browser, os, device) in cases {
        let body = recorded(&app, &[("User-Agent", ua)]).await;
        assert_eq!(body["browser"], browser, "{ua}");
        assert_eq!(body["operatingSystem"], os, "{ua}");
        assert_eq!(body["device"], device, "{ua}");
    }
    // curl is no browser: nothing is made up, nothing says UNKNOWN.
    let body = recorded(&app, &[("User-Agent", "curl/8.5.0")]).await;
    for field in ["browser", "operatingSystem", "device"] {
        assert!(body.get(field).is_none(), "{field} should be omitted for curl: {body}");
    }
    assert!(!body.to_string().contains("UNKNOWN"));
}

#[tokio::test]
async fn forwarded_address_counts_only_behind_a_trusted_proxy() {
    let trusted = TestApp::spawn_with(|c| c.trusted_proxies = "127.0.0.1/32".into()).await;
    let body = recorded(&trusted, &[("X-Forwarded-For", "203.0.113.7")]).await;
    assert_eq!(
        body["location"],
        json!({"remoteIp":"203.0.113.7","city":"Tacoma","state":"Washington","region":null,"country":"United States"})
    );
    // Right-most untrusted hop wins; the spoofed left-most entry is ignored.
    let body = recorded(&trusted, &[("X-Forwarded-For", "198.51.100.9, 203.0.113.8")]).await;
    assert_eq!(body["location"]["remoteIp"], "203.0.113.8");

    let untrusted = TestApp::spawn().await;
    let body = recorded(&untrusted, &[("X-Forwarded-For", "203.0.113.7")]).await;
    assert_eq!(
        body["location"],
        json!({"remoteIp":"127.0.0.1","city":null,"state":null,"region":null,"country":null}),
        "a spoofed header from an untrusted peer is ignored"
    );
}

#[tokio::test]
async fn ipv6_addresses_are_located() {
    let app = TestApp::spawn_with(|c| c.trusted_proxies = "127.0.0.1/32".into()).await;
    let body = recorded(&app, &[("X-Forwarded-For", "2001:db8:1::42")]).await;
    assert_eq!(body["location"]["remoteIp"], "2001:db8:1::42");
    assert_eq!(body["location"]["city"], "London");
    assert_eq!(body["location"]["country"], "United Kingdom");
    // The bundled database has no second-level subdivisions, and the continent is no region.
    assert_eq!(body["location"]["region"], Value::Null);
}

#[tokio::test]
async fn without_a_geoip_database_only_the_address_is_recorded() {
    let app = TestApp::spawn_with(|c| {
        c.trusted_proxies = "127.0.0.1/32".into();
        c.geoip_db = Some("none".into());
    })
    .await;
    let body = recorded(&app, &[("X-Forwarded-For", "203.0.113.7")]).await;
    assert_eq!(
        body["location"],
        json!({"remoteIp":"203.0.113.7","city":null,"state":null,"region":null,"country":null})
    );

    let missing = TestApp::spawn_with(|c| {
        c.trusted_proxies = "127.0.0.1/32".into();
        c.geoip_db = Some("/nonexistent/GeoLite2-City.mmdb".into());
    })
    .await;
    let body = recorded(&missing, &[("X-Forwarded-For", "203.0.113.7")]).await;
    assert_eq!(
        body["location"],
        json!({"remoteIp":"203.0.113.7","city":null,"state":null,"region":null,"country":null})
    );
}

#[tokio::test]
async fn private_addresses_have_no_location() {
    let app = TestApp::spawn_with(|c| c.trusted_proxies = "127.0.0.1/32".into()).await;
    let body = recorded(&app, &[("X-Forwarded-For", "10.1.2.3")]).await;
    assert_eq!(body["location"], json!({"remoteIp":"10.1.2.3","city":null,"state":null,"region":null,"country":null}));
}
