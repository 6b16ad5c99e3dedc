//! Exports of the audit list: NDJSON and CSV hold exactly what the JSON pages hold for the same
//! filter, across several internal chunks; bad requests are refused before anything is streamed;
//! a failure mid-stream is visible to the client.

use reqwest::Method;
use serde_json::{Value, json};

use assent::domain::consents::EXPORT_CHUNK;
use assent::domain::ids::EnvironmentId;

use crate::consents_record::record;
use crate::helpers::{Answer, TestApp, assert_error, call_with, has_detail};

const NDJSON: &str = "application/x-ndjson";
const CSV: &str = "text/csv";
const KIOSK: &str = "Kiosk, \"Pro\"";

fn query(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Seeds `seeded` records (ten external applications, three users), then records three through the
/// API with the fields the seed leaves out. Answers the id of the user of those three.
async fn ledger(app: &TestApp, seeded: usize) -> String {
    let env = EnvironmentId::parse(&app.env_id).unwrap();
    assent::seed::seed(&app.state.store, env, 3, seeded).await.unwrap();
    let alice = app.create_user("alice").await["id"].as_str().unwrap().to_owned();
    let printer = app
        .create_app(json!({"name": "Printer", "type": "WEB_APP", "redirectUris": ["https://printer.example/cb"]}))
        .await;
    record(
        app,
        &alice,
        json!({"application": {"id": printer["id"]}, "scope": ["openid", "email"], "status": "ACCEPTED",
               "expiresAt": "2090-01-01T00:00:00.000Z", "browser": {"name": "Firefox", "version": "133.0"},
               "operatingSystem": {"name": "Linux"}, "device": {"type": "desktop"}}),
    )
    .await;
    record(app, &alice, json!({"application": {"name": KIOSK}, "scope": ["profile"], "status": "DECLINED"})).await;
    let revoked =
        record(app, &alice, json!({"application": {"name": KIOSK}, "scope": ["openid"], "status": "ACCEPTED"})).await;
    let revoke = revoked["_links"]["consent.revoke"]["href"].as_str().unwrap();
    app.call(Method::PATCH, revoke, Some(json!({"status": "REVOKED"})), 200).await;
    alice
}

/// Every item of the JSON audit list for `params`, following `next` links.
async fn listed(app: &TestApp, params: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut url = Some(app.env_url(&format!("/oauthConsents?limit=1000{params}")));
    while let Some(page_url) = url {
        let page = app.get(&page_url, 200).await;
        items.extend(page["_embedded"]["oauthConsents"].as_array().unwrap().iter().cloned());
        url = page["_links"]["next"]["href"].as_str().map(str::to_owned);
    }
    items
}

async fn export(app: &TestApp, token: &str, accept: &str, params: &str) -> Answer {
    let url = app.env_url(&format!("/oauthConsents?{params}"));
    Answer::of(app.client.get(url).bearer_auth(token).header("Accept", accept)).await
}

/// What a CSV column holds for a record of the JSON list: the value at the column's JSON path,
/// scopes joined by spaces, empty when absent.
fn cell(item: &Value, column: &str) -> String {
    let value = column.split('.').fold(item, |value, key| &value[key]);
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(|v| v.as_str().unwrap()).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

fn assert_attachment(answer: &Answer, content_type: &str, extension: &str) {
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.header("Content-Type").is_some_and(|t| t.starts_with(content_type)), "{:?}", answer.headers);
    let disposition = answer.header("Content-Disposition").unwrap_or_default();
    assert!(
        disposition.starts_with("attachment; filename=\"oauthConsents-") && disposition.ends_with(extension),
        "{disposition}"
    );
}

#[tokio::test]
async fn ndjson_and_csv_exports_hold_exactly_what_the_json_list_holds() {
    let app = TestApp::spawn().await;
    let alice = ledger(&app, 2 * EXPORT_CHUNK as usize + 300).await;
    let filters = [
        String::new(),
        query("status eq \"ACCEPTED\""),
        query(&format!("application.name eq \"Kiosk, \\\"Pro\\\"\" or user.id eq \"{alice}\"")),
    ];
    for (n, filter) in filters.iter().enumerate() {
        let params = if filter.is_empty() { String::new() } else { format!("&filter={filter}") };
        let expected = listed(&app, &params).await;
        if n < 2 {
            assert!(expected.len() as u64 > 2 * EXPORT_CHUNK, "{} records span several chunks", expected.len());
        }

        let ndjson = export(&app, &app.token, NDJSON, &params).await;
        assert_attachment(&ndjson, NDJSON, ".ndjson\"");
        let lines: Vec<Value> = ndjson.text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(lines.len(), expected.len(), "filter {filter}");
        assert!(lines == expected, "NDJSON lines differ from the list's items (filter {filter})");

        let csv = export(&app, &app.token, CSV, &params).await;
        assert_attachment(&csv, CSV, ".csv\"");
        let mut reader = csv::Reader::from_reader(csv.text.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(header[..4], ["id", "consentedAt", "updatedAt", "expiresAt"]);
        let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(rows.len(), expected.len(), "filter {filter}");
        for (row, item) in rows.iter().zip(&expected) {
            for (column, value) in header.iter().zip(row.iter()) {
                assert_eq!(value, cell(item, column), "column {column} of {}", item["id"]);
            }
        }
    }
    // The awkward record is there, quoted and read back unchanged.
    let csv = export(&app, &app.token, CSV, &format!("filter={}", query(&format!("user.id eq \"{alice}\"")))).await;
    assert!(csv.text.contains("\"Kiosk, \"\"Pro\"\"\""), "{}", csv.text);
}

#[tokio::test]
async fn an_ndjson_export_embeds_applications_like_the_list_and_csv_refuses_to() {
    let app = TestApp::spawn().await;
    let alice = ledger(&app, 10).await;
    let params = format!("&expand=applications&filter={}", query(&format!("user.id eq \"{alice}\"")));
    let expected = listed(&app, &params).await;
    assert_eq!(expected[2]["_embedded"]["application"]["name"], "Printer", "{}", expected[2]);
    let ndjson = export(&app, &app.token, NDJSON, &params).await;
    let lines: Vec<Value> = ndjson.text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines, expected);

    let refused = export(&app, &app.token, CSV, &params).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(has_detail(&refused.json(), "INVALID_PARAMETER", "expand"), "{}", refused.text);
}

#[tokio::test]
async fn exports_refuse_paging_and_an_accept_naming_nothing_served_is_406() {
    let app = TestApp::spawn().await;
    ledger(&app, 10).await;
    for (params, target) in [("limit=10", "limit"), ("cursor=AAAA", "cursor")] {
        for accept in [NDJSON, CSV] {
            let answer = export(&app, &app.token, accept, params).await;
            assert_eq!(answer.status, 400, "{accept} {params}: {}", answer.text);
            assert_error(&answer.json(), "INVALID_REQUEST");
            assert!(has_detail(&answer.json(), "INVALID_PARAMETER", target), "{}", answer.text);
        }
    }
    let answer = export(&app, &app.token, NDJSON, &format!("filter={}", query("status eq \"LOST\""))).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(has_detail(&answer.json(), "INVALID_FILTER", "filter"), "{}", answer.text);

    let answer = export(&app, &app.token, "application/xml", "").await;
    assert_eq!(answer.status, 406, "{}", answer.text);
    assert_error(&answer.json(), "INVALID_REQUEST");
    assert!(has_detail(&answer.json(), "INVALID_VALUE", "Accept"), "{}", answer.text);

    // JSON stays the default, and the weights of `Accept` decide.
    let page = export(&app, &app.token, "text/html, */*;q=0.8", "limit=2").await;
    assert_eq!(page.json()["_embedded"]["oauthConsents"].as_array().map(Vec::len), Some(2));
    let weighed = export(&app, &app.token, "text/csv;q=0.5, application/x-ndjson", "").await;
    assert_attachment(&weighed, NDJSON, ".ndjson\"");
    assert_eq!(weighed.text.lines().count(), 13);
}

#[tokio::test]
async fn another_environments_token_cannot_export() {
    let app = TestApp::spawn().await;
    ledger(&app, 10).await;
    let other = app.other_environment().await;
    let ids: Vec<String> = listed(&app, "").await.iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect();
    for accept in [NDJSON, CSV] {
        let answer = export(&app, &other.token, accept, "").await;
        assert_eq!(answer.status, 404, "{accept}: {}", answer.text);
        assert_error(&answer.json(), "NOT_FOUND");
        assert!(ids.iter().all(|id| !answer.text.contains(id.as_str())), "{}", answer.text);
    }
    let own = format!("{}/v1/environments/{}/oauthConsents", app.base, other.env_id);
    let answer = Answer::of(app.client.get(own).bearer_auth(&other.token).header("Accept", NDJSON)).await;
    assert_eq!((answer.status, answer.text.as_str()), (200, ""), "B's own export is empty");
    call_with(&app.client, &other.token, Method::GET, &app.env_url("/oauthConsents/totals"), None, 404).await;
}

/// Starts an export of `records` seeded records, reads its first chunk, then closes the store under
/// it; answers the bytes read and how reading the rest ended. The exports below are about 20 MB,
/// several times what the sockets buffer (about 4.5 MB got through before the cut on Linux with its
/// default 4 MiB send buffer), so the server is still reading the ledger when the store closes.
async fn export_cut_by_a_closed_store(accept: &str, records: usize) -> (Vec<u8>, Result<(), reqwest::Error>) {
    let app = TestApp::spawn().await;
    let env = EnvironmentId::parse(&app.env_id).unwrap();
    assent::seed::seed(&app.state.store, env, 10, records).await.unwrap();
    let mut response = app
        .client
        .get(app.env_url("/oauthConsents"))
        .bearer_auth(&app.token)
        .header("Accept", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.chunk().await.unwrap().unwrap().to_vec();
    app.state.store.clone().close().await.unwrap();
    loop {
        match response.chunk().await {
            Ok(Some(bytes)) => body.extend_from_slice(&bytes),
            Ok(None) => return (body, Ok(())),
            Err(error) => return (body, Err(error)),
        }
    }
}

#[tokio::test]
async fn an_ndjson_export_that_fails_midway_ends_with_an_error_line() {
    let records = 25_000;
    let (body, ended) = export_cut_by_a_closed_store(NDJSON, records).await;
    assert!(ended.is_ok(), "the body ends normally after the error line: {ended:?}");
    let text = String::from_utf8(body).unwrap();
    let lines: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let (last, sent) = lines.split_last().unwrap();
    assert_eq!(last["error"]["code"], "UNEXPECTED_ERROR", "{last}");
    assert!(last["error"]["id"].as_str().is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()), "{last}");
    assert!(sent.len() < records, "the export stopped early: {} records", sent.len());
    assert!(sent.iter().all(|line| line["id"].is_string() && line["error"].is_null()));
}

#[tokio::test]
async fn a_csv_export_that_fails_midway_is_cut_off() {
    let records = 60_000;
    let (body, ended) = export_cut_by_a_closed_store(CSV, records).await;
    assert!(ended.is_err(), "the transfer must not look complete");
    let text = String::from_utf8_lossy(&body);
    assert!(text.starts_with("id,consentedAt,"), "{}", &text[..80.min(text.len())]);
    assert!(text.lines().count() < records, "the export stopped early");
}
