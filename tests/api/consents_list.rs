//! Listing consents: newest first, SCIM filters in the database, expand, and keyset paging under inserts.

use std::collections::HashSet;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::consents_record::record;
use crate::helpers::{TestApp, assert_error};

fn query(filter: &str) -> String {
    url::form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

/// The ids of the records on the page at `url`.
pub(crate) async fn ids(app: &TestApp, url: &str) -> Vec<String> {
    let page = app.get(url, 200).await;
    page["_embedded"]["oauthConsents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

struct Fixture {
    app: TestApp,
    alice: String,
    bob: String,
    printer_id: String,
    /// alice: printer [openid profile] ACCEPTED
    a1: Value,
    /// alice: externalApp [openid email] DECLINED
    a2: Value,
    /// alice: externalApp [email] ACCEPTED, then REVOKED
    a3: Value,
    /// bob: printer [openid email] ACCEPTED
    b1: Value,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await["id"].as_str().unwrap().to_owned();
    let bob = app.create_user("bob").await["id"].as_str().unwrap().to_owned();
    let printer = app
        .create_app(json!({"name":"Printer","type":"WEB_APP","redirectUris":["https://printer.example.com/cb"]}))
        .await;
    let printer_id = printer["id"].as_str().unwrap().to_owned();
    let a1 =
        record(&app, &alice, json!({"application":{"id":printer_id},"scope":["openid","profile"],"status":"ACCEPTED"}))
            .await;
    let a2 = record(
        &app,
        &alice,
        json!({"application":{"name":"externalApp"},"scope":["openid","email"],"status":"DECLINED"}),
    )
    .await;
    let a3 =
        record(&app, &alice, json!({"application":{"name":"externalApp"},"scope":["email"],"status":"ACCEPTED"})).await;
    app.call(
        reqwest::Method::PATCH,
        a3["_links"]["consent.revoke"]["href"].as_str().unwrap(),
        Some(json!({"status":"REVOKED"})),
        200,
    )
    .await;
    let b1 =
        record(&app, &bob, json!({"application":{"id":printer_id},"scope":["openid","email"],"status":"ACCEPTED"}))
            .await;
    Fixture { app, alice, bob, printer_id, a1, a2, a3, b1 }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_filter_attribute_and_operator_selects_in_the_database() {
    let f = fixture().await;
    let user_list = f.app.env_url(&format!("/users/{}/oauthConsents", f.alice));
    let audit = f.app.env_url("/oauthConsents");
    let newest_first = |v: Vec<&Value>| v.into_iter().map(id).collect::<Vec<_>>();

    assert_eq!(ids(&f.app, &user_list).await, newest_first(vec![&f.a3, &f.a2, &f.a1]), "newest first");
    assert_eq!(ids(&f.app, &audit).await, newest_first(vec![&f.b1, &f.a3, &f.a2, &f.a1]));

    let cases: Vec<(String, &str, Vec<&Value>)> = vec![
        (format!("application.id eq \"{}\"", f.printer_id), "audit", vec![&f.b1, &f.a1]),
        ("application.name eq \"externalApp\"".into(), "user", vec![&f.a3, &f.a2]),
        ("status eq \"ACCEPTED\"".into(), "audit", vec![&f.b1, &f.a1]),
        ("status eq \"DECLINED\"".into(), "audit", vec![&f.a2]),
        ("status eq \"REVOKED\"".into(), "audit", vec![&f.a3]),
        (format!("user.id eq \"{}\"", f.bob), "audit", vec![&f.b1]),
        ("scope eq \"email\"".into(), "audit", vec![&f.b1, &f.a3, &f.a2]),
        ("scope eq \"email\" and status eq \"ACCEPTED\"".into(), "audit", vec![&f.b1]),
        ("status eq \"DECLINED\" or status eq \"REVOKED\"".into(), "user", vec![&f.a3, &f.a2]),
        (
            format!("(application.id eq \"{}\" or scope eq \"email\") and user.id eq \"{}\"", f.printer_id, f.alice),
            "audit",
            vec![&f.a3, &f.a2, &f.a1],
        ),
        (format!("consentedAt ge \"{}\"", f.a2["consentedAt"].as_str().unwrap()), "user", vec![&f.a3, &f.a2]),
        (format!("consentedAt gt \"{}\"", f.a2["consentedAt"].as_str().unwrap()), "user", vec![&f.a3]),
        (format!("consentedAt le \"{}\"", f.a2["consentedAt"].as_str().unwrap()), "user", vec![&f.a2, &f.a1]),
        (format!("consentedAt lt \"{}\"", f.a2["consentedAt"].as_str().unwrap()), "user", vec![&f.a1]),
        (format!("consentedAt eq \"{}\"", f.a1["consentedAt"].as_str().unwrap()), "user", vec![&f.a1]),
        ("APPLICATION.NAME EQ \"externalApp\" AND STATUS EQ \"DECLINED\"".into(), "user", vec![&f.a2]),
    ];
    for (filter, list, expected) in cases {
        let base = if list == "audit" { &audit } else { &user_list };
        let url = format!("{base}?filter={}", query(&filter));
        assert_eq!(ids(&f.app, &url).await, newest_first(expected), "filter: {filter}");
    }
}

#[tokio::test]
async fn expired_records_read_and_filter_as_expired() {
    let app = TestApp::spawn().await;
    let user = app.create_user("gina").await["id"].as_str().unwrap().to_owned();
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let expiring = record(
        &app,
        &user,
        json!({"application":{"name":"x"},"scope":["openid"],"status":"ACCEPTED","expiresAt":soon}),
    )
    .await;
    let lasting = record(&app, &user, json!({"application":{"name":"x"},"scope":["email"],"status":"ACCEPTED"})).await;
    assert_eq!(expiring["status"], "ACCEPTED");
    tokio::time::sleep(std::time::Duration::from_millis(1800)).await;
    let read = app.get(expiring["_links"]["self"]["href"].as_str().unwrap(), 200).await;
    assert_eq!(read["status"], "EXPIRED");
    assert!(read["_links"].get("consent.revoke").is_none());
    let list = app.env_url(&format!("/users/{user}/oauthConsents"));
    assert_eq!(ids(&app, &format!("{list}?filter={}", query("status eq \"EXPIRED\""))).await, vec![id(&expiring)]);
    assert_eq!(ids(&app, &format!("{list}?filter={}", query("status eq \"ACCEPTED\""))).await, vec![id(&lasting)]);
    let effective = app
        .get(
            &app.env_url(&format!(
                "/users/{user}/oauthConsents/effective?application.id={}",
                expiring["application"]["id"].as_str().unwrap()
            )),
            200,
        )
        .await;
    assert_eq!(effective["scope"], json!(["email"]), "expired records grant nothing");
}

#[tokio::test]
async fn bad_filters_are_invalid_filter_errors_naming_what_is_supported() {
    let f = fixture().await;
    let audit = f.app.env_url("/oauthConsents");
    for filter in [
        "bogus eq \"x\"",
        "application.name co \"ext\"",
        "status ne \"ACCEPTED\"",
        "application.id eq \"not-a-uuid\"",
        "status eq \"MAYBE\"",
        "consentedAt gt \"yesterday\"",
        "status eq \"ACCEPTED\" and",
        "(status eq \"ACCEPTED\"",
        "status eq ACCEPTED",
        "application.name eq \"unterminated",
        &"(".repeat(40),
    ] {
        let body = f.app.get(&format!("{audit}?filter={}", query(filter)), 400).await;
        assert_error(&body, "INVALID_DATA");
        let detail = &body["details"][0];
        assert_eq!(detail["code"], "INVALID_FILTER", "{filter}: {body}");
        assert_eq!(detail["target"], "filter");
        assert!(detail["innerError"]["supportedAttributes"].as_array().unwrap().contains(&json!("application.id")));
        assert!(detail["innerError"]["supportedOperators"].as_array().unwrap().contains(&json!("eq")));
    }
}

#[tokio::test]
async fn expand_applications_embeds_the_application() {
    let f = fixture().await;
    let list = f.app.get(&f.app.env_url(&format!("/users/{}/oauthConsents?expand=applications", f.alice)), 200).await;
    let records = list["_embedded"]["oauthConsents"].as_array().unwrap();
    let printer = records.iter().find(|r| r["id"] == f.a1["id"]).unwrap();
    assert_eq!(printer["_embedded"]["application"]["id"], f.printer_id);
    assert_eq!(printer["_embedded"]["application"]["name"], "Printer");
    assert_eq!(printer["_embedded"]["application"]["type"], "WEB_APP");
    let external = records.iter().find(|r| r["id"] == f.a2["id"]).unwrap();
    assert_eq!(external["_embedded"]["application"]["applicationType"], "EXTERNAL");
    assert_eq!(external["_embedded"]["application"]["name"], "externalApp");
    let one =
        f.app.get(&format!("{}?expand=applications", f.b1["_links"]["self"]["href"].as_str().unwrap()), 200).await;
    assert_eq!(one["_embedded"]["application"]["name"], "Printer");
    let plain = f.app.get(f.b1["_links"]["self"]["href"].as_str().unwrap(), 200).await;
    assert!(plain.get("_embedded").is_none());
    let bad = f.app.get(&f.app.env_url("/oauthConsents?expand=users"), 400).await;
    assert_error(&bad, "INVALID_REQUEST");
}

#[tokio::test]
async fn paging_through_2500_records_with_inserts_between_pages_loses_and_repeats_nothing() {
    let app = TestApp::spawn().await;
    let user = app.create_user("pager").await["id"].as_str().unwrap().to_owned();
    let body = json!({"application":{"name":"bulk"},"scope":["openid"],"status":"ACCEPTED"});
    let mut originals: HashSet<String> = HashSet::new();
    for _ in 0..50 {
        let batch = join_all((0..50).map(|_| record(&app, &user, body.clone()))).await;
        originals.extend(batch.iter().map(id));
    }
    assert_eq!(originals.len(), 2500);
    let mut seen: Vec<String> = Vec::new();
    let mut next = Some(app.env_url(&format!("/users/{user}/oauthConsents?limit=300")));
    let mut pages = 0;
    while let Some(url) = next {
        let page = app.get(&url, 200).await;
        pages += 1;
        let items = page["_embedded"]["oauthConsents"].as_array().unwrap();
        assert_eq!(page["size"].as_u64().unwrap() as usize, items.len());
        seen.extend(items.iter().map(id));
        // New records arrive while the admin pages through the ledger.
        join_all((0..7).map(|_| record(&app, &user, body.clone()))).await;
        next = page["_links"]["next"]["href"].as_str().map(str::to_owned);
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no record repeated");
    assert!(originals.iter().all(|id| unique.contains(id)), "no original record lost");
    assert_eq!(pages, 9);
}

#[tokio::test]
async fn limits_and_cursors_are_validated() {
    let f = fixture().await;
    for query in ["limit=0", "limit=-5"] {
        let body = f.app.get(&format!("{}?{query}", f.app.env_url("/oauthConsents")), 400).await;
        assert_eq!(body["details"][0]["target"], "limit", "{body}");
    }
    // PingOne: a limit may not be honoured, clients trust `size`.
    let clamped = f.app.get(&format!("{}?limit=1001", f.app.env_url("/oauthConsents")), 200).await;
    assert_eq!(clamped["size"], 4);
    let body = f.app.get(&format!("{}?cursor=%24%24", f.app.env_url("/oauthConsents")), 400).await;
    assert_eq!(body["details"][0]["target"], "cursor");
    let two = f.app.get(&format!("{}?limit=2", f.app.env_url("/oauthConsents")), 200).await;
    assert_eq!(two["size"], 2);
    assert!(two["_links"].get("prev").is_none(), "the first page has no prev: {two}");
    let rest = f.app.get(two["_links"]["next"]["href"].as_str().unwrap(), 200).await;
    assert_eq!(rest["size"], 2);
    assert!(rest["_links"].get("next").is_none());
    let back = f.app.get(rest["_links"]["prev"]["href"].as_str().expect("prev"), 200).await;
    assert_eq!(back["_embedded"], two["_embedded"], "prev leads back to the first page");
    let _ = &f.bob;
}

#[tokio::test]
async fn count_is_the_total_the_filter_matches_and_size_is_the_page() {
    // The reproduction: 13 records listed two at a time answered "count":2.
    let app = TestApp::spawn().await;
    let user = app.create_user("dana").await["id"].as_str().unwrap().to_owned();
    for n in 0..13 {
        let status = if n % 3 == 0 { "DECLINED" } else { "ACCEPTED" };
        record(&app, &user, json!({"application":{"name":"externalApp"},"scope":["email"],"status":status})).await;
    }
    let list = app.env_url(&format!("/users/{user}/oauthConsents"));
    let mut url = format!("{list}?limit=2");
    let mut pages = 0;
    loop {
        let page = app.get(&url, 200).await;
        assert_eq!(page["count"], 13, "{page}");
        assert_eq!(page["size"], page["_embedded"]["oauthConsents"].as_array().unwrap().len());
        pages += 1;
        match page["_links"]["next"]["href"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 7);
    let declined = app.get(&format!("{list}?limit=2&filter={}", query(r#"status eq "DECLINED""#)), 200).await;
    assert_eq!((declined["count"].as_u64(), declined["size"].as_u64()), (Some(5), Some(2)), "{declined}");
}

#[tokio::test]
async fn count_is_left_out_when_the_collection_is_larger_than_the_counting_bound() {
    let app = TestApp::spawn().await;
    let env = assent::domain::ids::EnvironmentId::parse(&app.env_id).unwrap();
    assent::seed::seed(&app.state.store, env, 1, 1001).await.expect("seed");
    let page = app.get(&format!("{}?limit=5", app.env_url("/oauthConsents")), 200).await;
    assert_eq!(page["size"], 5);
    assert!(page.get("count").is_none(), "above 1000 the total is not counted: {}", page["count"]);
    let filtered = format!("{}?limit=5&filter={}", app.env_url("/oauthConsents"), query(r#"status eq "DECLINED""#));
    let page = app.get(&filtered, 200).await;
    assert_eq!(page["count"], 100, "a filter narrowing it below the bound is counted");
}
