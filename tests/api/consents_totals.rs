//! Totals of the ledger per application and status: counted like the list reads statuses, with the
//! audit filter, a `consentedAt` window, bounded inputs, and only the caller's environment.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use assent::domain::consents::{ApplicationKind, Consent, ConsentSource, ConsentStatus};
use assent::domain::ids::{ApplicationId, ConsentId, EnvironmentId, UserId};
use assent::enrich::Location;

use crate::helpers::{TestApp, assert_error, call_with, has_detail};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn query(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A record as the ledger holds it, written straight to the store so its dates can be chosen.
struct Row {
    app: ApplicationId,
    name: &'static str,
    kind: ApplicationKind,
    status: ConsentStatus,
    expires: Option<&'static str>,
    consented: &'static str,
}

fn consent(env: EnvironmentId, user: UserId, row: &Row) -> Consent {
    Consent {
        id: ConsentId::new(),
        environment_id: env,
        user_id: user,
        application_id: row.app,
        application_name: row.name.into(),
        application_kind: row.kind,
        scopes: vec!["openid".into()],
        status: row.status,
        browser: None,
        operating_system: None,
        device_type: None,
        location: Location { remote_ip: [192, 0, 2, 1].into(), city: None, state: None, region: None, country: None },
        consented_at: at(row.consented),
        updated_at: at(row.consented),
        expires_at: row.expires.map(at),
        source: ConsentSource::Api,
        remembered: true,
        revocation: None,
        scope_texts: None,
    }
}

/// The ledger of the tests below:
/// - Printer (registered, renamed since): 3 ACCEPTED, 2 EXPIRED, 1 DECLINED, 1 REVOKED; four
///   consented 2025-01-10, three 2025-04-10.
/// - Kiosk (external): 2 ACCEPTED that expire in 2090, 1 REVOKED; consented 2025-06-01.
/// - Gone (registered, deleted since): 1 DECLINED consented 2025-03-01.
struct Ledger {
    app: TestApp,
    printer: String,
    kiosk: String,
    gone: String,
}

async fn ledger() -> Ledger {
    let app = TestApp::spawn().await;
    let env = EnvironmentId::parse(&app.env_id).unwrap();
    let user = UserId::parse(app.create_user("auditee").await["id"].as_str().unwrap()).unwrap();
    let registered = |name: &str| json!({"name": name, "type": "WEB_APP", "redirectUris": ["https://a.example/cb"]});
    let printer = app.create_app(registered("Printer v1")).await["id"].as_str().unwrap().to_owned();
    let gone = app.create_app(registered("Gone app")).await["id"].as_str().unwrap().to_owned();
    let kiosk = app.state.store.external_application_id(env, "Kiosk").await.unwrap();
    let (p, g) = (ApplicationId::parse(&printer).unwrap(), ApplicationId::parse(&gone).unwrap());
    use ApplicationKind::{External, PingOne};
    use ConsentStatus::{Accepted, Declined, Revoked};
    let printer_row =
        |status, expires, consented| Row { app: p, name: "Printer v1", kind: PingOne, status, expires, consented };
    let kiosk_row = |status, expires| Row {
        app: kiosk,
        name: "Kiosk",
        kind: External,
        status,
        expires,
        consented: "2025-06-01T00:00:00Z",
    };
    let rows = [
        printer_row(Accepted, None, "2025-01-10T00:00:00Z"),
        printer_row(Accepted, None, "2025-01-10T00:00:00Z"),
        printer_row(Accepted, Some("2020-01-01T00:00:00Z"), "2025-01-10T00:00:00Z"),
        printer_row(Declined, None, "2025-01-10T00:00:00Z"),
        printer_row(Accepted, None, "2025-04-10T00:00:00Z"),
        printer_row(Accepted, Some("2025-05-01T00:00:00Z"), "2025-04-10T00:00:00Z"),
        printer_row(Revoked, None, "2025-04-10T00:00:00Z"),
        kiosk_row(Accepted, Some("2090-01-01T00:00:00Z")),
        kiosk_row(Accepted, Some("2090-01-01T00:00:00Z")),
        kiosk_row(Revoked, None),
        Row {
            app: g,
            name: "Gone app",
            kind: PingOne,
            status: Declined,
            expires: None,
            consented: "2025-03-01T00:00:00Z",
        },
    ];
    let records: Vec<Consent> = rows.iter().map(|row| consent(env, user, row)).collect();
    app.state.store.insert_consents(&records).await.unwrap();
    let apps = app.env_url("/applications");
    app.call(reqwest::Method::PUT, &format!("{apps}/{printer}"), Some(registered("Printer")), 200).await;
    app.call(reqwest::Method::DELETE, &format!("{apps}/{gone}"), None, 204).await;
    Ledger { app, printer, kiosk: kiosk.to_string(), gone }
}

fn totals_url(app: &TestApp, params: &str) -> String {
    app.env_url(&format!("/oauthConsents/totals{params}"))
}

/// `byApplication` as (id, name, type, total, [ACCEPTED, DECLINED, REVOKED, EXPIRED]).
fn lines(body: &Value) -> Vec<(String, String, String, u64, [u64; 4])> {
    body["byApplication"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            let count = |status: &str| line["counts"][status].as_u64().unwrap();
            (
                line["application"]["id"].as_str().unwrap().to_owned(),
                line["application"]["name"].as_str().unwrap().to_owned(),
                line["application"]["applicationType"].as_str().unwrap().to_owned(),
                line["total"].as_u64().unwrap(),
                [count("ACCEPTED"), count("DECLINED"), count("REVOKED"), count("EXPIRED")],
            )
        })
        .collect()
}

#[tokio::test]
async fn totals_count_each_application_by_the_status_the_list_shows() {
    let l = ledger().await;
    let body = l.app.get(&totals_url(&l.app, ""), 200).await;
    assert_eq!(body["total"], 11);
    assert_eq!(body["applicationCount"], 3);
    assert!(body["countedAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{body}");
    assert_eq!(
        lines(&body),
        vec![
            (l.printer.clone(), "Printer".into(), "PINGONE".into(), 7, [3, 1, 1, 2]),
            (l.kiosk.clone(), "Kiosk".into(), "EXTERNAL".into(), 3, [2, 0, 1, 0]),
            (l.gone.clone(), "Gone app".into(), "PINGONE".into(), 1, [0, 1, 0, 0]),
        ],
        "most records first; current name of a registered app, the record's name once it is deleted"
    );
    // Each count is what the audit list holds for that application and status.
    for (id, _, _, _, counts) in lines(&body) {
        for (status, expected) in ["ACCEPTED", "DECLINED", "REVOKED", "EXPIRED"].into_iter().zip(counts) {
            let filter = query(&format!("application.id eq \"{id}\" and status eq \"{status}\""));
            let page = l.app.get(&l.app.env_url(&format!("/oauthConsents?limit=1000&filter={filter}")), 200).await;
            let listed = page["_embedded"]["oauthConsents"].as_array().unwrap().len() as u64;
            assert_eq!(listed, expected, "{status} of {id}");
        }
    }
}

#[tokio::test]
async fn totals_take_the_audit_filter_a_window_and_a_limit() {
    let l = ledger().await;
    let expired = l.app.get(&totals_url(&l.app, &format!("?filter={}", query("status eq \"EXPIRED\""))), 200).await;
    assert_eq!(expired["total"], 2);
    assert_eq!(lines(&expired), vec![(l.printer.clone(), "Printer".into(), "PINGONE".into(), 2, [0, 0, 0, 2])]);

    // `since` is inclusive and `until` exclusive: Kiosk's records at 2025-06-01 fall out of the first window.
    let window = "?since=2025-02-01T00:00:00Z&until=2025-06-01T00:00:00Z";
    let body = l.app.get(&totals_url(&l.app, window), 200).await;
    assert_eq!(body["total"], 4);
    assert_eq!(body["since"], "2025-02-01T00:00:00.000Z");
    assert_eq!(body["until"], "2025-06-01T00:00:00.000Z");
    let counted: Vec<(String, u64)> = lines(&body).into_iter().map(|(id, _, _, total, _)| (id, total)).collect();
    assert_eq!(counted, vec![(l.printer.clone(), 3), (l.gone.clone(), 1)]);
    let body = l.app.get(&totals_url(&l.app, &format!("?since={}", query("2025-06-01T02:00:00+02:00"))), 200).await;
    assert_eq!(body["total"], 3);
    assert_eq!(lines(&body)[0].0, l.kiosk);

    let filter = query(&format!("application.id eq \"{}\" or status eq \"REVOKED\"", l.gone));
    let body = l.app.get(&totals_url(&l.app, &format!("?filter={filter}&until=2025-05-01T00:00:00Z")), 200).await;
    let counted: Vec<(String, u64)> = lines(&body).into_iter().map(|(id, _, _, total, _)| (id, total)).collect();
    // A tie goes by id (time-ordered: Printer was created first); Kiosk's revoked record is too late.
    assert_eq!(counted, vec![(l.printer.clone(), 1), (l.gone.clone(), 1)]);

    let top = l.app.get(&totals_url(&l.app, "?limit=1"), 200).await;
    assert_eq!((top["total"].as_u64(), top["applicationCount"].as_u64()), (Some(11), Some(3)));
    assert_eq!(lines(&top).len(), 1);
    assert_eq!(lines(&top)[0].0, l.printer);

    let none = l.app.get(&totals_url(&l.app, "?since=2030-01-01T00:00:00Z"), 200).await;
    assert_eq!((none["total"].as_u64(), none["applicationCount"].as_u64()), (Some(0), Some(0)));
    assert_eq!(none["byApplication"], json!([]));
}

#[tokio::test]
async fn totals_refuse_bad_windows_limits_and_filters_with_clear_400s() {
    let app = TestApp::spawn().await;
    let cases = [
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?since=yesterday", "since"),
        ("?until=2026-02-30T00:00:00Z", "until"),
        ("?since=2026-01-01T00:00:00Z&until=2026-01-01T00:00:00Z", "until"),
        ("?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "until"),
    ];
    for (params, target) in cases {
        let body = app.get(&totals_url(&app, params), 400).await;
        assert_error(&body, "INVALID_DATA");
        assert!(has_detail(&body, "INVALID_VALUE", target), "{params}: {body}");
    }
    let body = app.get(&totals_url(&app, &format!("?filter={}", query("status eq \"LOST\""))), 400).await;
    assert!(has_detail(&body, "INVALID_FILTER", "filter"), "{body}");
    let body = app.get(&totals_url(&app, "?limit=many"), 400).await;
    assert!(has_detail(&body, "INVALID_PARAMETER", "limit"), "{body}");
}

#[tokio::test]
async fn another_environments_token_gets_no_totals_and_sees_only_its_own() {
    let l = ledger().await;
    let other = l.app.other_environment().await;
    let body = call_with(&l.app.client, &other.token, reqwest::Method::GET, &totals_url(&l.app, ""), None, 404).await;
    assert_error(&body, "NOT_FOUND");
    assert!(!body.to_string().contains(&l.printer), "{body}");
    let own = format!("{}/v1/environments/{}/oauthConsents/totals", l.app.base, other.env_id);
    let body = call_with(&l.app.client, &other.token, reqwest::Method::GET, &own, None, 200).await;
    assert_eq!((body["total"].as_u64(), body["byApplication"].clone()), (Some(0), json!([])));
}
