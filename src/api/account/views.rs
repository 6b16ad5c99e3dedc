//! The hosted account page's HTML: what each page shows, rendered with the hosted pages' security
//! headers (CSP with a per-response nonce, no framing, no caching).

use std::collections::HashMap;

use askama::Template;
use chrono::{DateTime, Utc};
use poem::Response;
use poem::http::StatusCode;

use crate::api::pages::page;
use crate::auth::secrets::random_token;
use crate::domain::account::AccessGrant;
use crate::domain::consents::{Consent, EffectiveStatus};

/// One scope, as the consent page describes it.
pub struct ScopeView {
    /// The scope string.
    pub name: String,
    /// Its consent-page description, or its name.
    pub description: String,
}

/// One application with access.
pub struct AppView {
    /// The application's id (the form's value).
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<ScopeView>,
    /// When the newest record granting it was made.
    pub granted_at: String,
    /// Browser, operating system and city of that record, when known.
    pub from: Option<String>,
    /// Whether it is the account page's own application.
    pub is_account_page: bool,
}

/// One record of the history.
pub struct RecordView {
    /// The application's name on the record.
    pub application: String,
    /// ACCEPTED, DECLINED, REVOKED or EXPIRED.
    pub status: &'static str,
    /// The scopes, space-separated.
    pub scopes: String,
    /// The texts shown on the consent page for its scopes, as they were then (when kept).
    pub texts: Vec<String>,
    /// When it was made.
    pub when: String,
    /// Browser, operating system and city, when known.
    pub from: Option<String>,
}

/// The page's own URLs.
pub struct AccountUrls {
    /// Apps with access.
    pub apps: String,
    /// History.
    pub history: String,
    /// The remove-access form's target.
    pub remove: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AppsPage<'a> {
    nonce: &'a str,
    current: &'a str,
    apps_url: &'a str,
    history_url: &'a str,
    remove_url: &'a str,
    csrf_token: &'a str,
    apps: &'a [AppView],
}

#[derive(Template)]
#[template(path = "account_history.html")]
struct HistoryPage<'a> {
    nonce: &'a str,
    current: &'a str,
    apps_url: &'a str,
    history_url: &'a str,
    records: &'a [RecordView],
    newer_url: Option<&'a str>,
    older_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "account_removed.html")]
struct RemovedPage<'a> {
    nonce: &'a str,
    name: &'a str,
    signed_out: bool,
    apps_url: &'a str,
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%-d %B %Y, %H:%M UTC").to_string()
}

/// "Chrome on Mac OS in Tacoma", from what the record knows.
fn from(record: &Consent) -> Option<String> {
    let software = match (&record.browser, &record.operating_system) {
        (Some(browser), Some(os)) => Some(format!("{} on {}", browser.name, os.name)),
        (Some(one), None) | (None, Some(one)) => Some(one.name.clone()),
        (None, None) => None,
    };
    let place = record.location.city.as_ref().map(|city| format!("in {city}"));
    let parts: Vec<String> = software.into_iter().chain(place).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The applications with access, each with its scopes' descriptions.
pub fn app_views(
    grants: &[AccessGrant],
    descriptions: &HashMap<String, String>,
    account_app: crate::domain::ids::ApplicationId,
) -> Vec<AppView> {
    grants
        .iter()
        .filter_map(|grant| {
            let newest = grant.records.first()?;
            Some(AppView {
                id: grant.grant.application_id.to_string(),
                name: grant.name.clone(),
                scopes: grant
                    .grant
                    .scopes
                    .iter()
                    .map(|name| ScopeView {
                        name: name.clone(),
                        description: descriptions.get(name).cloned().unwrap_or_else(|| name.clone()),
                    })
                    .collect(),
                granted_at: when(newest.consented_at),
                from: from(newest),
                is_account_page: grant.grant.application_id == account_app,
            })
        })
        .collect()
}

/// The history's rows, as read at `now`.
pub fn record_views(
    records: &[Consent],
    texts: &std::collections::HashMap<(crate::domain::ids::ScopeId, i32), Option<String>>,
    now: DateTime<Utc>,
) -> Vec<RecordView> {
    records
        .iter()
        .map(|record| RecordView {
            application: record.application_name.clone(),
            status: match record.status_at(now) {
                EffectiveStatus::Accepted => "ACCEPTED",
                EffectiveStatus::Declined => "DECLINED",
                EffectiveStatus::Revoked => "REVOKED",
                EffectiveStatus::Expired => "EXPIRED",
            },
            scopes: record.scopes.join(" "),
            texts: crate::domain::proof::receipt::purposes_of(record, texts)
                .into_iter()
                .filter_map(|purpose| purpose.text)
                .collect(),
            when: when(record.consented_at),
            from: from(record),
        })
        .collect()
}

/// "Apps with access".
pub fn apps_page(urls: &AccountUrls, csrf_token: &str, apps: &[AppView]) -> Response {
    let nonce = random_token(16);
    let html = AppsPage {
        nonce: &nonce,
        current: "apps",
        apps_url: &urls.apps,
        history_url: &urls.history,
        remove_url: &urls.remove,
        csrf_token,
        apps,
    }
    .render();
    page(StatusCode::OK, html, &nonce, &["'self'"])
}

/// "History", one page of it.
pub fn history_page(urls: &AccountUrls, records: &[RecordView], newer: Option<&str>, older: Option<&str>) -> Response {
    let nonce = random_token(16);
    let html = HistoryPage {
        nonce: &nonce,
        current: "history",
        apps_url: &urls.apps,
        history_url: &urls.history,
        records,
        newer_url: newer,
        older_url: older,
    }
    .render();
    page(StatusCode::OK, html, &nonce, &[])
}

/// The confirmation after removing an application's access.
pub fn removed_page(urls: &AccountUrls, name: &str, signed_out: bool) -> Response {
    let nonce = random_token(16);
    let html = RemovedPage { nonce: &nonce, name, signed_out, apps_url: &urls.apps }.render();
    page(StatusCode::OK, html, &nonce, &[])
}
