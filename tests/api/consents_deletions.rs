//! What deleting a user or an application does to the ledger, and names that follow a rename.

use reqwest::Method;
use serde_json::{Value, json};

use crate::consents_access::user_token;
use crate::consents_record::record;
use crate::consents_revoked_by::{accepted, assert_revoked_by, audited, encode, revoke_with};
use crate::helpers::{TestApp, assert_error, call_with};
use assent::auth::principal::{READ_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE};

async fn web_app(app: &TestApp, name: &str) -> String {
    let body = json!({"name": name, "type": "WEB_APP", "redirectUris": ["https://app.example.com/cb"]});
    app.create_app(body).await["id"].as_str().unwrap().to_owned()
}

fn href(record: &Value) -> String {
    record["_links"]["self"]["href"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_deleted_user_is_not_found_on_every_user_route_and_the_audit_list_keeps_the_records() {
    let app = TestApp::spawn().await;
    let gus = app.create_user("gus").await["id"].as_str().unwrap().to_owned();
    let printer = web_app(&app, "Printer").await;
    let given = accepted(&app, &gus, &printer).await;
    let declined =
        record(&app, &gus, json!({"application":{"id": printer},"scope":["openid"],"status":"DECLINED"})).await;
    let own = user_token(&app, &gus, &[READ_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE]).await;
    app.call(Method::DELETE, &app.env_url(&format!("/users/{gus}")), None, 204).await;

    let list = app.env_url(&format!("/users/{gus}/oauthConsents"));
    let effective = format!("{list}/effective?application.id={printer}");
    for url in [list.clone(), href(&given), href(&declined), effective] {
        let body = app.get(&url, 404).await;
        assert_error(&body, "NOT_FOUND");
    }
    let patch = app
        .client
        .patch(href(&given))
        .bearer_auth(&app.token)
        .header("Content-Type", "application/json")
        .body(r#"{"status":"REVOKED"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status().as_u16(), 404);
    let record_again = app.post(&list, json!({"application":{"name":"Ext"},"scope":["a"],"status":"ACCEPTED"}), 404);
    assert_error(&record_again.await, "NOT_FOUND");
    // With a token that names the user, the records are just as gone.
    for url in [list.clone(), href(&given)] {
        let body = call_with(&app.client, &own, Method::GET, &url, None, 404).await;
        assert_error(&body, "NOT_FOUND");
    }

    // Evidence: both records are still in the environment's list, the accepted one revoked.
    assert_revoked_by(&audited(&app, &given).await, "USER_DELETED", Some(&gus));
    let kept = audited(&app, &declined).await;
    assert_eq!(kept["status"], "DECLINED");
    assert_eq!(kept["updatedAt"], declined["updatedAt"]);
}

#[tokio::test]
async fn a_deleted_applications_records_are_revoked_and_offer_no_revoke_link() {
    let app = TestApp::spawn().await;
    let hal = app.create_user("hal").await["id"].as_str().unwrap().to_owned();
    let printer = web_app(&app, "Printer").await;
    let other = web_app(&app, "Other").await;
    let given = accepted(&app, &hal, &printer).await;
    let declined =
        record(&app, &hal, json!({"application":{"id": printer},"scope":["openid"],"status":"DECLINED"})).await;
    let untouched = accepted(&app, &hal, &other).await;
    assert!(given["_links"]["consent.revoke"].is_object());

    app.call(Method::DELETE, &app.env_url(&format!("/applications/{printer}")), None, 204).await;
    let read = app.get(&href(&given), 200).await;
    assert_revoked_by(&read, "APPLICATION_DELETED", Some(&printer));
    assert_eq!(read["applicationName"], "Printer", "the record keeps the name it was given under");
    let page = app.get(&app.env_url(&format!("/users/{hal}/oauthConsents?expand=applications")), 200).await;
    let listed = page["_embedded"]["oauthConsents"].as_array().unwrap();
    let shown = listed.iter().find(|r| r["id"] == given["id"]).unwrap();
    assert!(shown["_links"].get("consent.revoke").is_none(), "{shown}");
    assert_eq!(shown["_embedded"]["application"]["name"], "Printer");
    assert_eq!(app.get(&href(&declined), 200).await["status"], "DECLINED");
    assert_eq!(app.get(&href(&untouched), 200).await["status"], "ACCEPTED");
    let effective = app.env_url(&format!("/users/{hal}/oauthConsents/effective?application.id={printer}"));
    assert_eq!(app.get(&effective, 200).await["scope"], json!([]));
    // Revoking it again is still answered, unchanged.
    assert_eq!(revoke_with(&app, &app.token, &given).await, read);
    // The filter finds them by cause.
    let filter = encode("revokedBy.type eq \"APPLICATION_DELETED\"");
    let page = app.get(&format!("{}?filter={filter}", app.env_url("/oauthConsents")), 200).await;
    assert_eq!(page["_embedded"]["oauthConsents"].as_array().unwrap().len(), 1, "{page}");
}

async fn ids(app: &TestApp, filter: &str) -> Vec<String> {
    crate::consents_list::ids(app, &format!("{}?filter={}", app.env_url("/oauthConsents"), encode(filter))).await
}

fn id(record: &Value) -> String {
    record["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn application_name_finds_a_renamed_applications_older_records() {
    let app = TestApp::spawn().await;
    let ivy = app.create_user("ivy").await["id"].as_str().unwrap().to_owned();
    let portal = web_app(&app, "Portal").await;
    let before = accepted(&app, &ivy, &portal).await;
    let rename = json!({"name": "Portal v2", "type": "WEB_APP", "redirectUris": ["https://app.example.com/cb"]});
    app.call(Method::PUT, &app.env_url(&format!("/applications/{portal}")), Some(rename), 200).await;
    let after = accepted(&app, &ivy, &portal).await;
    assert_eq!(before["applicationName"], "Portal");
    assert_eq!(after["applicationName"], "Portal v2");
    let read = app.get(&href(&before), 200).await;
    assert_eq!(read["applicationName"], "Portal", "the record keeps the name it was given under");

    // The new name finds the application's older records too; the old one what was recorded under it.
    assert_eq!(ids(&app, "application.name eq \"Portal v2\"").await, vec![id(&after), id(&before)]);
    assert_eq!(ids(&app, "application.name eq \"Portal\"").await, vec![id(&before)]);

    // Records of external applications under both names, and a new application taking the old
    // name: each name also finds what was recorded under it.
    let ext = |name: &str| json!({"application":{"name": name},"scope":["a"],"status":"ACCEPTED"});
    let external_new = record(&app, &ivy, ext("Portal v2")).await;
    let external_old = record(&app, &ivy, ext("Portal")).await;
    let successor = web_app(&app, "Portal").await;
    let successors = accepted(&app, &ivy, &successor).await;
    assert_eq!(ids(&app, "application.name eq \"Portal v2\"").await, vec![id(&external_new), id(&after), id(&before)]);
    assert_eq!(
        ids(&app, "application.name eq \"Portal\"").await,
        vec![id(&successors), id(&external_old), id(&before)]
    );
    // Another environment's application of the same name changes nothing here.
    let other = app.other_environment().await;
    let body = json!({"name": "Portal v2", "type": "WEB_APP", "redirectUris": ["https://app.example.com/cb"]});
    let url = format!("{}/v1/environments/{}/applications", app.base, other.env_id);
    call_with(&app.client, &other.token, Method::POST, &url, Some(body), 201).await;
    assert_eq!(ids(&app, "application.name eq \"Portal v2\"").await, vec![id(&external_new), id(&after), id(&before)]);
    // Combined with other conditions, on the user's list too.
    let list = app.env_url(&format!("/users/{ivy}/oauthConsents"));
    let filter = encode(&format!(
        "application.name eq \"Portal v2\" and application.id eq \"{portal}\" or application.name eq \"None such\""
    ));
    let page = app.get(&format!("{list}?filter={filter}"), 200).await;
    let found: Vec<String> = page["_embedded"]["oauthConsents"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(found, vec![id(&after), id(&before)]);
}

#[tokio::test]
async fn deleting_an_application_revokes_more_records_than_one_statement_takes() {
    use assent::domain::consents::{ApplicationKind, Consent, ConsentSource, ConsentStatus};
    use assent::domain::ids::{ApplicationId, ConsentId, EnvironmentId, UserId};

    let app = TestApp::spawn().await;
    let jo = app.create_user("jo").await["id"].as_str().unwrap().to_owned();
    let big = web_app(&app, "Big").await;
    let now = chrono::Utc::now();
    // Two full statements of the deletion's revocation and one more record.
    let records: Vec<Consent> = (0..10_001)
        .map(|_| Consent {
            id: ConsentId::new(),
            environment_id: EnvironmentId::parse(&app.env_id).unwrap(),
            user_id: UserId::parse(&jo).unwrap(),
            application_id: ApplicationId::parse(&big).unwrap(),
            application_name: "Big".into(),
            application_kind: ApplicationKind::PingOne,
            scopes: vec!["openid".into()],
            status: ConsentStatus::Accepted,
            browser: None,
            operating_system: None,
            device_type: None,
            location: assent::enrich::Location {
                remote_ip: "192.0.2.1".parse().unwrap(),
                city: None,
                state: None,
                region: None,
                country: None,
            },
            consented_at: now,
            updated_at: now,
            expires_at: None,
            source: ConsentSource::Api,
            remembered: true,
            revocation: None,
            scope_texts: None,
        })
        .collect();
    app.state.store.insert_consents(&records).await.unwrap();

    app.call(Method::DELETE, &app.env_url(&format!("/applications/{big}")), None, 204).await;
    let audit = app.env_url("/oauthConsents");
    let accepted = app.get(&format!("{audit}?limit=1&filter={}", encode("status eq \"ACCEPTED\"")), 200).await;
    assert_eq!(accepted["count"], 0, "{accepted}");
    for record in [&records[0], &records[10_000]] {
        let url = format!("{}/users/{jo}/oauthConsents/{}", app.env_url(""), record.id);
        assert_revoked_by(&app.get(&url, 200).await, "APPLICATION_DELETED", Some(&big));
    }
}
