//! Real answers validate against `openapi.yaml`: every error class and the records API's answers,
//! each against the schema the spec declares for that operation and status (an undeclared status
//! fails too). The spec is OpenAPI 3.0; its `nullable` is turned into JSON Schema's `["…", "null"]`
//! and the `jsonschema` crate (an independent validator) judges the bodies.

use reqwest::Method;
use serde_json::{Value, json};

use crate::consents_record::{ACCEPT, post_consent, record};
use crate::consents_revoke::REVOKE;
use crate::helpers::{Answer, TestApp};

fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).expect("openapi.yaml");
    serde_yaml::from_str(&text).expect("openapi.yaml parses")
}

/// OpenAPI 3.0's `nullable: true` as JSON Schema: the type also admits `null`.
fn json_schema(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out: serde_json::Map<String, Value> =
                map.iter().filter(|(k, _)| *k != "nullable").map(|(k, v)| (k.clone(), json_schema(v))).collect();
            if map.get("nullable") == Some(&Value::Bool(true))
                && let Some(Value::String(kind)) = map.get("type")
            {
                out.insert("type".into(), json!([kind, "null"]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}

/// What in `body` breaks `schema` (resolving `#/components/…` in the spec).
fn problems(spec: &Value, schema: &Value, body: &Value) -> Vec<String> {
    let mut root = json_schema(schema);
    root.as_object_mut().expect("schema object").insert("components".into(), json_schema(&spec["components"]));
    let validator = jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("schema does not compile: {e}"));
    validator.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

/// Validates `body` against `schema`.
fn validate(spec: &Value, schema: &Value, body: &Value, what: &str) {
    let errors = problems(spec, schema, body);
    assert!(errors.is_empty(), "{what}: the answer does not match the spec:\n{}\n{body}", errors.join("\n"));
}

#[test]
fn the_check_refuses_answers_the_spec_does_not_allow() {
    let spec = spec();
    let error = json!({"$ref": "#/components/schemas/ErrorBody"});
    let good = json!({"id": uuid::Uuid::new_v4(), "code": "NOT_FOUND", "message": "m", "details": []});
    assert!(problems(&spec, &error, &good).is_empty());
    assert!(!problems(&spec, &error, &json!({"code": "NOT_FOUND", "message": "m", "details": []})).is_empty());
    assert!(!problems(&spec, &error, &json!({"id": uuid::Uuid::new_v4(), "code": "X", "message": "m"})).is_empty());
    let location = json!({"$ref": "#/components/schemas/LocationOut"});
    let nulls = json!({"remoteIp": "192.0.2.1", "city": null, "state": null, "region": null, "country": null});
    assert!(problems(&spec, &location, &nulls).is_empty(), "nullable fields admit null");
    assert!(!problems(&spec, &location, &json!({"remoteIp": "192.0.2.1", "city": 7})).is_empty());
}

/// Checks an answer against what the spec declares for `template` / `method` / its status.
fn conforms(spec: &Value, template: &str, method: &str, answer: &Answer) {
    let what = format!("{} {method} {template}", answer.status);
    let response = &spec["paths"][template][method]["responses"][answer.status.to_string()];
    assert!(response.is_object(), "{what}: the spec does not declare this status: {}", answer.text);
    match response["content"].as_object().and_then(|c| c.values().next()) {
        Some(media) => validate(spec, &media["schema"], &answer.json(), &what),
        None => assert!(answer.text.is_empty(), "{what}: the spec declares no body: {}", answer.text),
    }
}

/// Checks an error answer that belongs to no operation (an unknown route, a wrong method).
fn is_error_body(spec: &Value, answer: &Answer) {
    let schema = json!({"$ref": "#/components/schemas/ErrorBody"});
    validate(spec, &schema, &answer.json(), &format!("{} error", answer.status));
}

async fn send(
    app: &TestApp,
    method: Method,
    url: &str,
    token: Option<&str>,
    content: Option<(&str, String)>,
) -> Answer {
    let mut request = app.client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some((content_type, body)) = content {
        request = request.header("Content-Type", content_type).body(body);
    }
    Answer::of(request).await
}

const COLLECTION: &str = "/v1/environments/{envId}/users/{userId}/oauthConsents";
const ITEM: &str = "/v1/environments/{envId}/users/{userId}/oauthConsents/{consentId}";
const AUDIT: &str = "/v1/environments/{envId}/oauthConsents";

#[tokio::test]
async fn every_error_class_and_the_records_answers_validate_against_the_spec() {
    let spec = spec();
    let app = TestApp::spawn().await;
    let token = Some(app.token.as_str());
    let user = app.create_user("ines").await["id"].as_str().unwrap().to_owned();
    let collection = app.env_url(&format!("/users/{user}/oauthConsents"));

    // 201, 200 (read, list, audit), 304, 200 (revoke).
    let body = json!({"application":{"name":"Newsletter"},"scope":["email"],"status":"ACCEPTED"}).to_string();
    let (status, _, created) = post_consent(&app, &user, &body, ACCEPT, &[]).await;
    assert_eq!(status, 201);
    let answer = send(&app, Method::POST, &collection, token, Some((ACCEPT, body.clone()))).await;
    conforms(&spec, COLLECTION, "post", &answer);
    let item = created["_links"]["self"]["href"].as_str().unwrap().to_owned();
    let read = send(&app, Method::GET, &item, token, None).await;
    conforms(&spec, ITEM, "get", &read);
    let expanded = send(&app, Method::GET, &format!("{item}?expand=applications"), token, None).await;
    conforms(&spec, ITEM, "get", &expanded);
    let etag = read.header("ETag").expect("ETag").to_owned();
    let unchanged =
        Answer::of(app.client.get(&item).bearer_auth(&app.token).header("If-None-Match", etag.as_str())).await;
    assert_eq!(unchanged.status, 304);
    conforms(&spec, ITEM, "get", &unchanged);
    for _ in 0..3 {
        record(&app, &user, json!({"application":{"name":"Other"},"status":"DECLINED"})).await;
    }
    let page = send(&app, Method::GET, &format!("{collection}?limit=2"), token, None).await;
    conforms(&spec, COLLECTION, "get", &page);
    let next = page.json()["_links"]["next"]["href"].as_str().unwrap().to_owned();
    conforms(&spec, COLLECTION, "get", &send(&app, Method::GET, &next, token, None).await);
    conforms(&spec, AUDIT, "get", &send(&app, Method::GET, &app.env_url("/oauthConsents"), token, None).await);

    // 412, then the revocation it guarded.
    let revoke = || Some((REVOKE, json!({"status":"REVOKED"}).to_string()));
    let stale = Answer::of(
        app.client
            .patch(&item)
            .bearer_auth(&app.token)
            .header("If-Match", "\"stale\"")
            .header("Content-Type", REVOKE)
            .body(json!({"status":"REVOKED"}).to_string()),
    )
    .await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    conforms(&spec, ITEM, "patch", &stale);
    let revoked = send(&app, Method::PATCH, &item, token, revoke()).await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    conforms(&spec, ITEM, "patch", &revoked);

    // 400 of every kind: invalid data, malformed JSON, a bad filter, an unknown parameter.
    for (url, method, content) in [
        (collection.clone(), Method::POST, Some((ACCEPT, "{}".to_owned()))),
        (collection.clone(), Method::POST, Some((ACCEPT, "{\"status\":".to_owned()))),
        (format!("{collection}?filter=application.name%20gt%20%22x%22"), Method::GET, None),
        (format!("{collection}?order=consentedAt"), Method::GET, None),
        (format!("{item}?filter=x"), Method::GET, None),
    ] {
        let answer = send(&app, method.clone(), &url, token, content).await;
        assert_eq!(answer.status, 400, "{method} {url}: {}", answer.text);
        let template = if url.starts_with(&item) { ITEM } else { COLLECTION };
        conforms(&spec, template, &method.as_str().to_lowercase(), &answer);
    }

    // 401, 403, 404, 413, 415.
    let unauthenticated = send(&app, Method::GET, &collection, None, None).await;
    assert_eq!(unauthenticated.status, 401);
    conforms(&spec, COLLECTION, "get", &unauthenticated);
    let other = app.other_environment().await;
    let missing = send(&app, Method::GET, &collection, Some(&other.token), None).await;
    assert_eq!(missing.status, 404);
    conforms(&spec, COLLECTION, "get", &missing);
    let big = format!("{{\"application\":{{\"name\":\"{}\"}}}}", "x".repeat(200 * 1024));
    let too_large = send(&app, Method::POST, &collection, token, Some((ACCEPT, big))).await;
    assert_eq!(too_large.status, 413);
    is_error_body(&spec, &too_large);
    let unsupported = send(&app, Method::POST, &collection, token, Some(("text/plain", "x".into()))).await;
    assert_eq!(unsupported.status, 415);
    conforms(&spec, COLLECTION, "post", &unsupported);

    // Errors outside any operation: an unknown route, a wrong method.
    let unknown = send(&app, Method::GET, &app.env_url("/groups"), token, None).await;
    assert_eq!(unknown.status, 404);
    is_error_body(&spec, &unknown);
    let wrong_method = send(&app, Method::DELETE, &collection, token, None).await;
    assert_eq!(wrong_method.status, 405);
    is_error_body(&spec, &wrong_method);
}

#[tokio::test]
async fn a_user_token_without_the_scope_gets_a_403_that_validates() {
    use assent::auth::tokens::TokenBasis;
    use assent::domain::ids::EnvironmentId;
    let spec = spec();
    let app = TestApp::spawn().await;
    let user = app.create_user("jo").await["id"].as_str().unwrap().to_owned();
    let env = EnvironmentId::parse(&app.env_id).unwrap();
    let scopes = vec!["openid".to_owned()];
    let basis = TokenBasis { client_id: &app.client_id, subject: &user, scopes: &scopes, ..TokenBasis::default() };
    let token = app.state.tokens.issue(env, basis).await.unwrap().token;
    let collection = app.env_url(&format!("/users/{user}/oauthConsents"));
    let forbidden = send(&app, Method::GET, &collection, Some(&token), None).await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.text);
    conforms(&spec, COLLECTION, "get", &forbidden);
}
