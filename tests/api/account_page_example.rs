//! The reference account page (`examples/account-page/`), served from a second local origin, in
//! headless Chromium: it signs the user in through `/as/authorize` as a public client with PKCE,
//! lists their consents with their own token (CORS), withdraws one by following its
//! `consent.revoke` link, and shows it `REVOKED`; withdrawing its own access signs the user out.
//! Screenshots: `target/account-page-example.png` and `target/account-page-example-signed-out.png`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::{Client, Locator};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::browser::{PASSWORD, USERNAME};
use crate::consents_record::record;
use crate::helpers::TestApp;
use crate::real_browser::{headless_chromium, save_screenshot};

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/account-page")
}

/// Serves the example's files, as any static web server would; answers its origin.
async fn static_site() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 8192];
                let read = stream.read(&mut buffer).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buffer[..read]);
                let path = head.split_whitespace().nth(1).unwrap_or("/").split('?').next().unwrap_or("/").to_owned();
                let name = match path.trim_start_matches('/') {
                    "" => "index.html",
                    other => other,
                };
                let known = ["index.html", "account.js", "account.css"];
                let (status, kind, body) = match known.iter().find(|k| **k == name) {
                    Some(file) => {
                        let kind = match file.rsplit('.').next() {
                            Some("js") => "text/javascript",
                            Some("css") => "text/css",
                            _ => "text/html; charset=utf-8",
                        };
                        ("200 OK", kind, std::fs::read(example_dir().join(file)).unwrap())
                    }
                    None => ("404 Not Found", "text/plain", b"not found".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    format!("http://{address}")
}

/// Waits until the page's status line contains `text`; answers it.
async fn status_containing(browser: &Client, text: &str) -> Result<String, fantoccini::error::CmdError> {
    let mut last = String::new();
    // The page may still be loading after a redirect: until then there is no element to read.
    for _ in 0..300 {
        if let Ok(status) = browser.find(Locator::Id("status")).await
            && let Ok(said) = status.text().await
        {
            last = said;
            if last.contains(text) {
                return Ok(last);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let problem = browser.find(Locator::Id("problem")).await?.text().await.unwrap_or_default();
    panic!("the status never said {text:?}: {last:?} (problem: {problem:?})");
}

/// The status cell of the row of `consent_id`.
async fn status_of(browser: &Client, consent_id: &str) -> Result<String, fantoccini::error::CmdError> {
    browser.find(Locator::Css(&format!("tr[data-consent-id='{consent_id}'] td.status"))).await?.text().await
}

#[tokio::test]
async fn the_example_account_page_on_another_origin_signs_in_lists_and_revokes_through_the_link() {
    let Some((_driver, browser)) = headless_chromium(1000, 800).await else { return };
    let app = TestApp::spawn().await;
    let fixture = app.flow_fixture("REQUIRED").await;
    let site = static_site().await;
    let page = format!("{site}/index.html");
    // The page is a public client of its own, allowed to call from its origin.
    let account = app
        .create_app(json!({
            "name": "Account page", "type": "SINGLE_PAGE_APP", "redirectUris": [page],
            "scopes": ["openid", "p1:read:oauthConsents", "p1:update:oauthConsents"],
        }))
        .await;
    assert_eq!(account["tokenEndpointAuthMethod"], "NONE");
    let account_id = account["id"].as_str().unwrap().to_owned();
    app.call(Method::PATCH, &app.env_url(""), Some(json!({"corsOrigins": [site]})), 200).await;
    // Something to withdraw: the printer's grant, recorded earlier.
    let printer = record(
        &app,
        &fixture.user_id,
        json!({"application": {"id": fixture.client_id}, "scope": ["openid", "invoices:read"], "status": "ACCEPTED"}),
    )
    .await;
    let printer_id = printer["id"].as_str().unwrap().to_owned();

    let configured = format!("{page}?assent={}&env={}&client_id={account_id}", app.base, app.env_id);
    let outcome = async {
        browser.goto(&configured).await?;
        status_containing(&browser, "not signed in").await?;
        browser.find(Locator::Id("sign-in")).await?.click().await?;
        // Assent's hosted login, then its consent page for the account page itself.
        browser.wait().for_element(Locator::Id("username")).await?.send_keys(USERNAME).await?;
        browser.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
        browser.find(Locator::Css("button[type=submit]")).await?.click().await?;
        browser.wait().for_element(Locator::Css("button[value=approve]")).await?.click().await?;
        // Back on the page's origin: two decisions, the printer's and the page's own.
        status_containing(&browser, "2 decisions").await?;
        assert!(browser.current_url().await?.as_str().starts_with(&site));
        assert_eq!(status_of(&browser, &printer_id).await?, "ACCEPTED");
        browser.find(Locator::Css(&format!("tr[data-consent-id='{printer_id}'] button.revoke"))).await?.click().await?;
        status_containing(&browser, "Consent withdrawn from Invoice Printer").await?;
        assert_eq!(status_of(&browser, &printer_id).await?, "REVOKED");
        let withdrawn = browser.find_all(Locator::Css(&format!("tr[data-consent-id='{printer_id}'] button"))).await?;
        assert!(withdrawn.is_empty(), "a revoked record offers no revoke link");
        save_screenshot("account-page-example.png", &browser.screenshot().await?);

        // Withdrawing the page's own access signs the user out, and the page says so.
        browser
            .find(Locator::Css(&format!("tr[data-application-id='{account_id}'] button.revoke")))
            .await?
            .click()
            .await?;
        let said = status_containing(&browser, "signed out").await?;
        save_screenshot("account-page-example-signed-out.png", &browser.screenshot().await?);
        Ok::<_, fantoccini::error::CmdError>(said)
    }
    .await;
    browser.close().await.ok();
    let said = outcome.expect("the browser went through the account page");
    assert!(said.contains("this page's own access"), "{said}");

    // The server's view: withdrawn by the user herself, through the record's own link.
    let printer_now = app.get(printer["_links"]["self"]["href"].as_str().unwrap(), 200).await;
    assert_eq!(printer_now["status"], "REVOKED");
    assert_eq!(printer_now["revokedBy"]["type"], "USER", "{printer_now}");
    let own: Vec<Value> = app.get(&app.env_url(&format!("/users/{}/oauthConsents", fixture.user_id)), 200).await
        ["_embedded"]["oauthConsents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["application"]["id"] == account_id.as_str())
        .cloned()
        .collect();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["status"], "REVOKED", "the page's own consent is withdrawn: {own:?}");
}
