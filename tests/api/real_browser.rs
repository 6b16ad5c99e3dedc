//! The hosted pages in a real browser: headless Chromium driven through WebDriver (chromedriver)
//! signs in, unticks a flexible scope, approves, and lands on a local redirect URI with a code.
//! A screenshot of the consent page is saved as `target/consent-page.png`.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::browser::{PASSWORD, Pkce, USERNAME, param};
use crate::helpers::{TestApp, skip};

/// Where chromedriver is: `CHROMEDRIVER`, else Debian's package location.
pub(crate) fn chromedriver() -> Option<String> {
    let path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    std::path::Path::new(&path).exists().then_some(path)
}

/// A stand-in for the client's callback: answers every request with a short page.
async fn callback_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                let body = "<!DOCTYPE html><title>Callback</title><p>Code received.</p>";
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://{address}/cb")
}

/// A running chromedriver, stopped when dropped.
pub(crate) struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts chromedriver on a free port.
pub(crate) async fn start_chromedriver(path: &str) -> (Driver, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = std::process::Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Driver)
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/status")).await.is_ok() {
            return (child, url);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {url}");
}

/// A headless Chromium session with a window of `width` × `height`, with the chromedriver behind it
/// (keep both alive for the test); `None`, the test skipped with its reason, without chromedriver
/// (never on CI, which installs it).
pub(crate) async fn headless_chromium(width: u32, height: u32) -> Option<(Driver, fantoccini::Client)> {
    let Some(driver_path) = chromedriver() else {
        assert!(std::env::var_os("CI").is_none(), "CI must run the browser tests: install chromium-driver");
        skip("no chromedriver (apt-get install chromium chromium-driver)");
        return None;
    };
    let (driver, driver_url) = start_chromedriver(&driver_path).await;
    // reqwest and fantoccini bring both rustls back ends; the process picks one.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut capabilities = serde_json::Map::new();
    let window = format!("--window-size={width},{height}");
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", window]}),
    );
    let browser = ClientBuilder::rustls()
        .expect("TLS roots")
        .capabilities(capabilities)
        .connect(&driver_url)
        .await
        .expect("a WebDriver session");
    Some((driver, browser))
}

/// Saves a screenshot as `target/<name>`, to be looked at.
pub(crate) fn save_screenshot(name: &str, png: &[u8]) {
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&target).ok();
    std::fs::write(target.join(name), png).expect("screenshot saved");
}

#[tokio::test]
async fn headless_chromium_signs_in_unticks_a_flexible_scope_and_gets_a_code() {
    let Some((_driver, browser)) = headless_chromium(900, 1000).await else { return };
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let redirect_uri = callback_server().await;
    let client = app
        .create_app(json!({
            "name": "Invoice Printer (browser)",
            "type": "WEB_APP",
            "redirectUris": [redirect_uri],
            "scopes": ["openid", "email", "invoices:read", "invoices:write"],
        }))
        .await;
    let client_id = client["id"].as_str().unwrap().to_owned();
    let client_secret = app.app_secret(&client_id).await;
    let pkce = Pkce::new();
    let mut authorize = url::Url::parse(&format!("{}/{}/as/authorize", app.base, app.env_id)).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "openid email invoices:read invoices:write")
        .append_pair("state", "browser-state")
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256");

    let outcome = async {
        browser.goto(authorize.as_str()).await?;
        browser.wait().for_element(Locator::Id("username")).await?.send_keys(USERNAME).await?;
        browser.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
        browser.find(Locator::Css("button[type=submit]")).await?.click().await?;

        let flexible = browser.wait().for_element(Locator::Css("input[type=checkbox][value='invoices:read']")).await?;
        save_screenshot("consent-page.png", &browser.screenshot().await?);
        assert!(flexible.is_selected().await?, "flexible scopes start ticked");
        flexible.click().await?;
        assert!(!flexible.is_selected().await?);
        browser.find(Locator::Css("button[value=approve]")).await?.click().await?;

        let mut landed = browser.current_url().await?;
        for _ in 0..100 {
            if landed.as_str().starts_with(&redirect_uri) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            landed = browser.current_url().await?;
        }
        Ok::<_, fantoccini::error::CmdError>(landed)
    }
    .await;
    browser.close().await.ok();
    let landed = outcome.expect("the browser went through the flow");
    assert!(landed.as_str().starts_with(&redirect_uri), "landed on {landed}");
    assert_eq!(param(landed.as_str(), "state").as_deref(), Some("browser-state"));
    let code = param(landed.as_str(), "code").expect("a code");

    let answer = app
        .token_request(
            &app.env_id,
            Some((&client_id, &client_secret)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect_uri),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["scope"], "openid email invoices:write", "the unticked scope is not granted");
    let records =
        app.get(&app.env_url(&format!("/users/{}/oauthConsents", fixture.user_id)), 200).await["_embedded"]
            ["oauthConsents"]
            .clone();
    assert_eq!(records[0]["browser"]["name"], "Chrome", "the record names the real browser: {records}");
}
