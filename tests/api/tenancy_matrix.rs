//! Every operation of `openapi.yaml`, tried from another environment: with a worker token and a
//! user token of environment B on environment A's resources, and with environment B in the path
//! and A's resource ids. Nothing may succeed and no answer may carry A's data. Each operation is
//! then called once with A's own worker token, which must succeed: that proves the refused
//! requests were well formed, so they were refused for being of another environment and for
//! nothing else. A new route is walked without editing this test; a new kind of path parameter
//! needs one line in `tenant_a`. `worker_roles` walks the same operations by permission.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::helpers::{Answer, TestApp};

/// A's resources, their ids by path parameter name, and what of them must never leak.
pub(crate) struct Tenant {
    pub(crate) ids: HashMap<&'static str, String>,
    pub(crate) secrets: Vec<String>,
}

pub(crate) async fn tenant_a(app: &TestApp) -> Tenant {
    let user = app
        .post(
            &app.env_url("/users"),
            json!({"username": "matrix-alice", "email": "matrix-alice@example.com", "password": "correct horse battery"}),
            201,
        )
        .await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    let scope = app.post(&app.env_url("/scopes"), json!({"name": "matrix:read", "description": "Matrix"}), 201).await;
    let web = app
        .create_app(json!({"name": "Matrix web", "type": "WEB_APP", "redirectUris": ["https://matrix.example/cb"],
                           "scopes": ["openid", "matrix:read"]}))
        .await;
    let app_id = web["id"].as_str().unwrap().to_owned();
    let secret = app.app_secret(&app_id).await;
    let consent = app
        .post(
            &app.env_url(&format!("/users/{user_id}/oauthConsents")),
            json!({"application": {"id": app_id}, "scope": ["openid", "matrix:read"], "status": "ACCEPTED"}),
            201,
        )
        .await;
    let subscription = app
        .post(
            &app.env_url("/subscriptions"),
            json!({"url": "http://127.0.0.1:9/matrix-hook", "eventTypes": ["consent.revoked", "scope.text_changed"]}),
            201,
        )
        .await;
    let ids = HashMap::from([
        ("envId", app.env_id.clone()),
        ("userId", user_id.clone()),
        ("appId", app_id.clone()),
        ("scopeId", scope["id"].as_str().unwrap().to_owned()),
        ("subscriptionId", subscription["id"].as_str().unwrap().to_owned()),
        ("consentId", consent["id"].as_str().unwrap().to_owned()),
        ("application.id", app_id.clone()),
    ]);
    let secrets = vec![
        user_id,
        "matrix-alice".into(),
        "matrix-alice@example.com".into(),
        secret,
        app.client_secret.clone(),
        subscription["secret"].as_str().unwrap().to_owned(),
        "matrix-hook".into(),
    ];
    Tenant { ids, secrets }
}

/// Resolves `$ref`s and `allOf` wrappers to the schema they name.
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return resolve(spec, &spec["components"]["schemas"][name]);
    }
    if let Some(first) = schema["allOf"].as_array().and_then(|all| all.first()) {
        return resolve(spec, first);
    }
    schema
}

/// A plausible value for a property, by name first (where a name carries meaning the schema
/// cannot say), then by schema.
fn sample(spec: &Value, name: &str, schema: &Value, unique: &str) -> Value {
    match name {
        "username" => return json!(format!("matrix-{unique}")),
        "name" if schema["type"] == "string" => return json!(format!("matrix-{unique}")),
        // A free-text status is the revocation body's, which takes exactly this.
        "status" if schema["type"] == "string" => return json!("REVOKED"),
        "email" => return json!(format!("{unique}@example.com")),
        "password" => return json!("correct horse battery staple"),
        "redirectUris" => return json!(["https://matrix.example/cb"]),
        "scope" | "scopes" => return json!(["openid"]),
        "application" => return json!({"name": format!("External {unique}")}),
        "loginUrl" | "consentUrl" => return json!("https://login.matrix.example/"),
        "privacyPolicyUrl" => return json!("https://matrix.example/privacy"),
        // A webhook destination: the matrix's servers allow private ones (no DNS here).
        "url" => return json!("http://127.0.0.1:9/hook"),
        // Scope text events too: every environment starts with some, so a replay has one to send.
        "eventTypes" => return json!(["consent.revoked", "scope.text_changed"]),
        "controllerContact" => return json!("privacy@matrix.example"),
        "user" | "expiresAt" | "browser" | "operatingSystem" | "device" | "grantTypes" | "responseTypes" => {
            return Value::Null;
        }
        _ => {}
    }
    let schema = resolve(spec, schema);
    if let Some(first) = schema["enum"].as_array().and_then(|values| values.first()) {
        return first.clone();
    }
    match schema["type"].as_str() {
        Some("object") => object_sample(spec, schema, unique),
        Some("array") => json!([]),
        Some("boolean") => json!(true),
        Some("integer") | Some("number") => json!(1),
        Some("string") => match schema["format"].as_str() {
            Some("uri") | Some("url") => json!("https://matrix.example/"),
            Some("date-time") => json!("2030-01-01T00:00:00Z"),
            _ => json!("matrix"),
        },
        _ => Value::Null,
    }
}

fn object_sample(spec: &Value, schema: &Value, unique: &str) -> Value {
    let mut object = Map::new();
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        if property["readOnly"] == true {
            continue;
        }
        let value = sample(spec, name, property, unique);
        if !value.is_null() {
            object.insert(name.clone(), value);
        }
    }
    Value::Object(object)
}

/// One operation of the spec.
pub(crate) struct Operation {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) id: String,
    pub(crate) bearer: bool,
    body: Option<(String, Value)>,
    query: Vec<String>,
}

pub(crate) fn operations(spec: &Value) -> Vec<Operation> {
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            let body = operation["requestBody"]["content"].as_object().and_then(|content| {
                let (media, typed) = content.iter().next()?;
                Some((media.clone(), typed["schema"].clone()))
            });
            let query = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query" && p["required"] == true)
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect();
            found.push(Operation {
                method: method.to_uppercase().parse().expect("method"),
                path: path.clone(),
                id: operation["operationId"].as_str().unwrap_or(path).to_owned(),
                bearer: operation["security"].as_array().is_some_and(|s| !s.is_empty()),
                body,
                query,
            });
        }
    }
    found
}

/// The URL of `op` with its path parameters taken from `ids` and the environment from `env`.
pub(crate) fn url(base: &str, op: &Operation, env: &str, ids: &HashMap<&'static str, String>) -> String {
    let mut path = op.path.replace("{envId}", env);
    while let Some(start) = path.find('{') {
        let end = path[start..].find('}').map(|e| start + e).expect("closing brace");
        let name = &path[start + 1..end];
        let id = ids.get(name).unwrap_or_else(|| panic!("{}: no id for path parameter '{name}'", op.id));
        path.replace_range(start..=end, id);
    }
    let query: Vec<String> = op
        .query
        .iter()
        .map(|name| {
            format!("{name}={}", ids.get(name.as_str()).unwrap_or_else(|| panic!("{}: no value for '{name}'", op.id)))
        })
        .collect();
    if query.is_empty() { format!("{base}{path}") } else { format!("{base}{path}?{}", query.join("&")) }
}

/// Sends `op` with a bearer token, or for the OAuth client endpoints with client credentials.
pub(crate) async fn send(
    app: &TestApp,
    spec: &Value,
    op: &Operation,
    url: &str,
    bearer: &str,
    basic: (&str, &str),
    n: usize,
) -> Answer {
    let mut request = app.client.request(op.method.clone(), url);
    request = if op.bearer { request.bearer_auth(bearer) } else { request.basic_auth(basic.0, Some(basic.1)) };
    if let Some((media, schema)) = &op.body {
        let body = sample(spec, "", schema, &format!("{}-{n}", op.id.replace('.', "-")));
        request = if media == "application/x-www-form-urlencoded" {
            let form: Vec<(String, String)> = body
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))
                .collect();
            request.form(&form)
        } else {
            request.header("Content-Type", media.as_str()).body(body.to_string())
        };
    }
    Answer::of(request).await
}

#[tokio::test]
async fn no_operation_of_the_spec_serves_another_environment_or_shows_its_data() {
    let app = TestApp::spawn_with(|config| config.webhook_allow_private = true).await;
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).expect("openapi.yaml");
    let spec: Value = serde_yaml::from_str(&text).expect("openapi.yaml parses");
    let a = tenant_a(&app).await;
    let b = app.other_environment().await;
    // B's worker credentials, and a token of B's that carries a user with every self-service scope.
    let b_env = assent::domain::ids::EnvironmentId::parse(&b.env_id).unwrap();
    let b_client = app
        .state
        .store
        .list_applications(b_env, assent::domain::paging::PageRequest { limit: 10, position: None })
        .await
        .unwrap()[0]
        .clone();
    let b_secret = app
        .state
        .secrets
        .open(&app.state.store.get_client_credentials(b_env, b_client.id).await.unwrap().sealed_secret)
        .unwrap();
    let b_user = crate::helpers::call_with(
        &app.client,
        &b.token,
        Method::POST,
        &format!("{}/v1/environments/{}/users", app.base, b.env_id),
        Some(json!({"username": "matrix-bob"})),
        201,
    )
    .await;
    let scopes: Vec<String> =
        ["openid", "profile", "email", "p1:read:oauthConsents", "p1:update:oauthConsents"].map(str::to_owned).into();
    let basis = assent::auth::tokens::TokenBasis {
        client_id: &b_client.id.to_string(),
        subject: b_user["id"].as_str().unwrap(),
        scopes: &scopes,
        ..Default::default()
    };
    let b_user_token = app.state.tokens.issue(b_env, basis).await.unwrap().token;
    let b_basic = (b_client.id.to_string(), b_secret);

    let ops = operations(&spec);
    assert!(ops.len() >= 20, "the whole spec: {} operations", ops.len());
    let public = |op: &Operation| !op.bearer && op.method == Method::GET && op.path != "/{envId}/as/userinfo";
    let mut tried = 0;
    for (n, op) in ops.iter().enumerate() {
        let has_ids = op.path.matches('{').count() > 1;
        let mut attempts = vec![
            ("B's worker on A", url(&app.base, op, &app.env_id, &a.ids), b.token.as_str()),
            ("B's user on A", url(&app.base, op, &app.env_id, &a.ids), b_user_token.as_str()),
        ];
        if has_ids {
            attempts.push(("B's worker, B's path, A's ids", url(&app.base, op, &b.env_id, &a.ids), b.token.as_str()));
        }
        for (who, target, token) in attempts {
            let answer = send(&app, &spec, op, &target, token, (&b_basic.0, &b_basic.1), n).await;
            for secret in &a.secrets {
                assert!(
                    !answer.text.contains(secret.as_str()),
                    "{who}: {} {} leaked A's data: {}",
                    op.method,
                    op.path,
                    answer.text
                );
            }
            if public(op) {
                continue;
            }
            tried += 1;
            assert!(
                matches!(answer.status, 400..=404),
                "{who}: {} {} answered {}: {}",
                op.method,
                op.path,
                answer.status,
                answer.text
            );
            assert!(
                !op.bearer || matches!(answer.status, 401 | 403 | 404),
                "{who}: {} {} must be refused for its environment, not for its request: {} {}",
                op.method,
                op.path,
                answer.status,
                answer.text
            );
        }
    }
    assert!(tried >= 50, "refusals checked: {tried}");

    // The positive control: A's own worker gets every management operation done with the same requests.
    let (deletes, others): (Vec<&Operation>, Vec<&Operation>) =
        ops.iter().filter(|op| op.bearer).partition(|op| op.method == Method::DELETE);
    for (n, op) in others.into_iter().chain(deletes).enumerate() {
        let target = url(&app.base, op, &app.env_id, &a.ids);
        let answer = send(&app, &spec, op, &target, &app.token, ("", ""), 1000 + n).await;
        assert!(
            (200..300).contains(&answer.status),
            "control: {} {} answered {}: {}",
            op.method,
            op.path,
            answer.status,
            answer.text
        );
    }
}
