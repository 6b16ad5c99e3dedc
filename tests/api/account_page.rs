//! The hosted account page, `/{envId}/myaccount`: a user sees the applications with access to their
//! account and removes one; that application's tokens end at once while the others keep working.
//! In headless Chromium (screenshots `target/account-page.png`, at a phone's width,
//! `target/account-page-removed.png` and `target/account-page-history.png`), and over plain HTTP for its protections.

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::browser::{Browser, Fixture, PASSWORD, USERNAME, hidden};
use crate::flow::tokens;
use crate::helpers::{Answer, TestApp, assert_oauth_error};
use crate::real_browser::{headless_chromium, save_screenshot};

/// A second application the fixture's user grants access to.
async fn calendar(app: &TestApp, fixture: &Fixture) -> Fixture {
    let created = app
        .create_app(json!({
            "name": "Team Calendar", "type": "WEB_APP", "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"],
            "redirectUris": [crate::browser::REDIRECT_URI], "scopes": ["openid", "email", "invoices:read"],
        }))
        .await;
    let client_id = created["id"].as_str().unwrap().to_owned();
    let client_secret = app.app_secret(&client_id).await;
    Fixture { client_id, client_secret, user_id: fixture.user_id.clone() }
}

async fn text_of(browser: &Client, css: &str) -> Result<String, fantoccini::error::CmdError> {
    browser.wait().for_element(Locator::Css(css)).await?.text().await
}

#[tokio::test]
async fn a_user_removes_one_apps_access_on_the_hosted_page_and_only_its_tokens_end() {
    let Some((_driver, browser)) = headless_chromium(412, 1000).await else { return };
    let app = TestApp::spawn().await;
    let printer = app.flow_fixture("REQUIRED").await;
    let calendar = calendar(&app, &printer).await;
    let printer_tokens = tokens(&app, &printer, &app.browser(), "openid invoices:read invoices:write", None).await;
    let calendar_tokens = tokens(&app, &calendar, &app.browser(), "openid email", None).await;

    // The scope's text changes after the user consented: the history shows what they were shown.
    let scopes = app.get(&app.env_url("/scopes?limit=1000"), 200).await;
    let write =
        scopes["_embedded"]["scopes"].as_array().unwrap().iter().find(|s| s["name"] == "invoices:write").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let reworded = json!({"name": "invoices:write", "consent": "REQUIRED", "description": "Send invoices as you"});
    app.call(reqwest::Method::PUT, &app.env_url(&format!("/scopes/{write}")), Some(reworded), 200).await;

    let account = format!("{}/{}/myaccount", app.base, app.env_id);
    let outcome = async {
        browser.goto(&account).await?;
        // The hosted login (the account page is a trusted first-party client: no consent page).
        browser.wait().for_element(Locator::Id("username")).await?.send_keys(USERNAME).await?;
        browser.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
        browser.find(Locator::Css("button[type=submit]")).await?.click().await?;
        let heading = text_of(&browser, "main h2").await?;
        assert_eq!(heading, "Apps with access");
        let names: Vec<String> = {
            let mut names = Vec::new();
            for element in browser.find_all(Locator::Css("article h3")).await? {
                names.push(element.text().await?);
            }
            names
        };
        assert_eq!(names, ["My Account", "Team Calendar", "Invoice Printer"], "newest grant first");
        let page = browser.source().await?;
        assert!(page.contains("Send invoices as you"), "scopes by their consent-page descriptions, as they read today");
        assert!(page.contains("Chrome on"), "where it was granted: {page}");
        assert!(!page.contains("<script"), "no JavaScript");
        save_screenshot("account-page.png", &browser.screenshot().await?);

        browser.find(Locator::Css("button[aria-label='Remove access for Invoice Printer']")).await?.click().await?;
        let confirmed = text_of(&browser, "p.ok").await?;
        save_screenshot("account-page-removed.png", &browser.screenshot().await?);

        // History: every decision, the printer's now REVOKED.
        browser.goto(&format!("{account}/history")).await?;
        let history = text_of(&browser, "ol.history").await?;
        save_screenshot("account-page-history.png", &browser.screenshot().await?);
        Ok::<_, fantoccini::error::CmdError>((confirmed, history))
    }
    .await;
    browser.close().await.ok();
    let (confirmed, history) = outcome.expect("the browser went through the account page");
    assert!(confirmed.contains("Invoice Printer no longer has access"), "{confirmed}");
    assert!(history.contains("Invoice Printer: REVOKED"), "{history}");
    assert!(
        history.contains("You were shown: “Use your invoices (invoices:read)”; “Use your invoices (invoices:write)”"),
        "{history}"
    );
    assert!(!history.contains("Send invoices as you"), "the text as it was, not as it is: {history}");
    assert!(history.contains("Team Calendar: ACCEPTED"), "{history}");

    // The printer's tokens ended at once; the calendar's still work.
    let access = |t: &Value| t["access_token"].as_str().unwrap().to_owned();
    let refresh = |t: &Value| t["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(app.introspect(&printer, &access(&printer_tokens)).await["active"], false);
    assert_oauth_error(&app.refresh(&printer, &refresh(&printer_tokens)).await, 400, "invalid_grant");
    assert_eq!(app.introspect(&calendar, &access(&calendar_tokens)).await["active"], true);
    assert_eq!(app.refresh(&calendar, &refresh(&calendar_tokens)).await.status, 200);
    let record = crate::flow::records(&app, &printer).await;
    let printer_record = record.iter().find(|r| r["application"]["id"] == printer.client_id.as_str()).unwrap();
    assert_eq!(printer_record["revokedBy"]["type"], "USER", "{printer_record}");
}

/// Signs `browser` in to the account page over plain HTTP; answers the apps page and the page's token.
async fn sign_in(app: &TestApp, browser: &Browser, env_id: &str) -> (Answer, String) {
    let account = format!("{}/{env_id}/myaccount", app.base);
    let start = Answer::of(browser.client.get(&account)).await;
    assert_eq!(start.status, 303, "{}", start.text);
    let authorize = start.header("Location").unwrap().to_owned();
    assert!(authorize.contains("code_challenge_method=S256"), "{authorize}");
    let login = Answer::of(browser.client.get(&authorize)).await;
    assert_eq!(login.status, 200, "{}", login.text);
    let back = browser.sign_in(&login).await; // back into /authorize, which redirects to the callback
    assert_eq!(back.status, 302, "{} {:?}", back.text, back.header("Location"));
    let callback = browser.follow(&back).await;
    assert_eq!(callback.status, 303, "{}", callback.text);
    let set = callback.header("Set-Cookie").unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains(&format!("Path=/{env_id}/myaccount")), "{set}");
    let token = set.strip_prefix("assent_account=").and_then(|rest| rest.split(';').next()).unwrap().to_owned();
    let page = browser.follow(&callback).await;
    assert_eq!(page.status, 200, "{}", page.text);
    (page, token)
}

#[tokio::test]
async fn the_account_page_checks_its_form_its_environment_and_signs_out_when_its_own_access_goes() {
    let app = TestApp::spawn().await;
    let printer = app.flow_fixture("REQUIRED").await;
    tokens(&app, &printer, &app.browser(), "openid invoices:write", None).await;
    let browser = app.browser();
    let (page, token) = sign_in(&app, &browser, &app.env_id).await;
    assert_eq!(page.header("X-Frame-Options"), Some("DENY"));
    assert!(page.header("Content-Security-Policy").unwrap().contains("frame-ancestors 'none'"));
    assert!(page.text.contains("Invoice Printer") && page.text.contains("My Account"), "{}", page.text);
    let csrf = hidden(&page.text, "csrf_token").expect("a CSRF token");
    let remove = format!("{}/{}/myaccount/remove", app.base, app.env_id);

    // A form without the page's CSRF token is refused, and nothing is revoked.
    let forged = Answer::of(
        browser.client.post(&remove).form(&[("csrf_token", "forged"), ("application", printer.client_id.as_str())]),
    )
    .await;
    assert_eq!(forged.status, 403);
    let still = crate::flow::records(&app, &printer).await;
    assert!(still.iter().all(|r| r["status"] == "ACCEPTED"), "{still:?}");

    // The page's cookie means nothing in another environment: it signs in there afresh.
    let other = app.other_environment().await;
    let elsewhere = Answer::of(browser.client.get(format!("{}/{}/myaccount", app.base, other.env_id))).await;
    assert_eq!(elsewhere.status, 303);
    assert!(elsewhere.header("Location").unwrap().starts_with(&format!("{}/{}/as/authorize", app.base, other.env_id)));

    // Removing the page's own access: confirmed, signed out, and the old cookie no longer works.
    let own = assent::domain::account::account_application_id(
        assent::domain::ids::EnvironmentId::parse(&app.env_id).unwrap(),
    );
    let own = own.to_string();
    let done =
        Answer::of(browser.client.post(&remove).form(&[("csrf_token", csrf.as_str()), ("application", own.as_str())]))
            .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.text.contains("you are now signed out"), "{}", done.text);
    assert!(done.header("Set-Cookie").unwrap().contains("Max-Age=0"));
    let again = Answer::of(
        app.client
            .get(format!("{}/{}/myaccount", app.base, app.env_id))
            .header("Cookie", format!("assent_account={token}")),
    )
    .await;
    assert_eq!(again.status, 303, "the page's own token died with its consent: back to sign-in");
    assert!(again.header("Location").unwrap().contains("/as/authorize"));
    let records = crate::flow::records(&app, &printer).await;
    let own_record = records.iter().find(|r| r["application"]["id"] == own.as_str()).unwrap();
    assert_eq!(own_record["status"], "REVOKED");
    assert_eq!(own_record["source"], "IMPLICIT", "a trusted first-party client: recorded, not asked");
}
