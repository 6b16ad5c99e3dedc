//! Tenancy: another environment's token sees nothing of this one, exactly as if it did not exist.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, call_with};

/// Calls `path` of environment `env_id`'s management API with `token`.
async fn in_env(
    app: &TestApp,
    token: &str,
    env_id: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    let url = format!("{}/v1/environments/{env_id}{path}", app.base);
    call_with(&app.client, token, method, &url, body, status).await
}

fn id_of(resource: &Value) -> String {
    resource["id"].as_str().expect("id").to_owned()
}

/// Every management route, relative to `/v1/environments/{envId}`, with a valid body where one is needed.
fn routes(user_id: &str, app_id: &str) -> Vec<(Method, String, Option<Value>)> {
    let worker = json!({"name": "Intruder", "type": "WORKER"});
    vec![
        (Method::GET, String::new(), None),
        (Method::GET, "/users".into(), None),
        (Method::POST, "/users".into(), Some(json!({"username": "intruder"}))),
        (Method::GET, format!("/users/{user_id}"), None),
        (Method::PATCH, format!("/users/{user_id}"), Some(json!({"username": "renamed"}))),
        (Method::DELETE, format!("/users/{user_id}"), None),
        (Method::GET, "/applications".into(), None),
        (Method::POST, "/applications".into(), Some(worker.clone())),
        (Method::GET, format!("/applications/{app_id}"), None),
        (Method::PUT, format!("/applications/{app_id}"), Some(worker)),
        (Method::DELETE, format!("/applications/{app_id}"), None),
        (Method::GET, format!("/applications/{app_id}/secret"), None),
        (Method::POST, format!("/applications/{app_id}/secret"), None),
    ]
}

#[tokio::test]
async fn another_environments_token_finds_nothing_on_any_route() {
    let app = TestApp::spawn().await;
    let other = app.other_environment().await;
    let other_url = |path: &str| format!("{}/v1/environments/{}{path}", app.base, other.env_id);
    let user =
        in_env(&app, &other.token, &other.env_id, Method::POST, "/users", Some(json!({"username": "bea"})), 201).await;
    let application = in_env(
        &app,
        &other.token,
        &other.env_id,
        Method::POST,
        "/applications",
        Some(json!({"name": "B app", "type": "WORKER"})),
        201,
    )
    .await;
    let secret = in_env(
        &app,
        &other.token,
        &other.env_id,
        Method::GET,
        &format!("/applications/{}/secret", id_of(&application)),
        None,
        200,
    )
    .await;
    let (user_id, app_id) = (id_of(&user), id_of(&application));
    let nowhere = uuid::Uuid::new_v4();

    for (method, path, body) in routes(&user_id, &app_id) {
        // Environment A's token on environment B's route.
        let refused = call_with(&app.client, &app.token, method.clone(), &other_url(&path), body.clone(), 404).await;
        assert_error(&refused, "NOT_FOUND");
        // The same route of an environment that does not exist.
        let url = format!("{}/v1/environments/{nowhere}{path}", app.base);
        let missing = call_with(&app.client, &app.token, method.clone(), &url, body, 404).await;
        assert_eq!(refused["code"], missing["code"], "{method} {path}");
        assert_eq!(refused["message"], missing["message"], "{method} {path}");
        assert_eq!(refused["details"], missing["details"], "{method} {path}");
    }

    // Nothing of B was changed by the refused calls.
    assert_eq!(
        in_env(&app, &other.token, &other.env_id, Method::GET, &format!("/users/{user_id}"), None, 200).await,
        user
    );
    assert_eq!(
        in_env(&app, &other.token, &other.env_id, Method::GET, &format!("/applications/{app_id}"), None, 200).await,
        application
    );
    assert_eq!(
        in_env(&app, &other.token, &other.env_id, Method::GET, &format!("/applications/{app_id}/secret"), None, 200)
            .await,
        secret
    );
    let users = in_env(&app, &other.token, &other.env_id, Method::GET, "/users", None, 200).await;
    assert_eq!(users["count"], 1, "{users}");
    let apps = in_env(&app, &other.token, &other.env_id, Method::GET, "/applications", None, 200).await;
    assert_eq!(apps["count"], 2, "the bootstrap worker and B app: {apps}");
    // Nor was anything created in A.
    assert_eq!(app.get(&app.env_url("/users"), 200).await["count"], 0);
    assert_eq!(app.get(&app.env_url("/applications"), 200).await["count"], 1);
}

#[tokio::test]
async fn another_environments_ids_are_not_found_under_ones_own_path() {
    let app = TestApp::spawn().await;
    let other = app.other_environment().await;
    let other_url = |path: &str| format!("{}/v1/environments/{}{path}", app.base, other.env_id);
    let user =
        call_with(&app.client, &other.token, Method::POST, &other_url("/users"), Some(json!({"username": "bea"})), 201)
            .await;
    let application = call_with(
        &app.client,
        &other.token,
        Method::POST,
        &other_url("/applications"),
        Some(json!({"name": "B app", "type": "WORKER"})),
        201,
    )
    .await;
    for (method, path, body) in routes(&id_of(&user), &id_of(&application)) {
        if !path.contains(&id_of(&user)) && !path.contains(&id_of(&application)) {
            continue;
        }
        let refused = app.call(method.clone(), &app.env_url(&path), body, 404).await;
        assert_error(&refused, "NOT_FOUND");
    }
    // B's user and application are intact.
    call_with(&app.client, &other.token, Method::GET, &other_url(&format!("/users/{}", id_of(&user))), None, 200).await;
    let read = call_with(
        &app.client,
        &other.token,
        Method::GET,
        &other_url(&format!("/applications/{}", id_of(&application))),
        None,
        200,
    )
    .await;
    assert_eq!(read["name"], "B app");
}

#[tokio::test]
async fn lists_never_show_another_environments_users_or_applications() {
    let app = TestApp::spawn().await;
    let other = app.other_environment().await;
    let other_url = |path: &str| format!("{}/v1/environments/{}{path}", app.base, other.env_id);
    let mut mine = Vec::new();
    let mut theirs = Vec::new();
    for name in ["ann", "ben", "cat"] {
        mine.push(id_of(&app.create_user(name).await));
        let body = Some(json!({"username": name}));
        theirs.push(id_of(&call_with(&app.client, &other.token, Method::POST, &other_url("/users"), body, 201).await));
    }
    let my_app = id_of(&app.create_app(json!({"name": "A worker", "type": "WORKER"})).await);
    let body = Some(json!({"name": "B worker", "type": "WORKER"}));
    let their_app =
        id_of(&call_with(&app.client, &other.token, Method::POST, &other_url("/applications"), body, 201).await);

    let ids = |page: &Value, key: &str| -> Vec<String> {
        page["_embedded"][key].as_array().expect("items").iter().map(id_of).collect()
    };
    let my_users = app.get(&app.env_url("/users"), 200).await;
    assert_eq!(ids(&my_users, "users"), mine);
    assert!(
        my_users["_embedded"]["users"]
            .as_array()
            .expect("users")
            .iter()
            .all(|u| u["environment"]["id"] == app.env_id.as_str())
    );
    let their_users = call_with(&app.client, &other.token, Method::GET, &other_url("/users"), None, 200).await;
    assert_eq!(ids(&their_users, "users"), theirs);

    let my_apps = ids(&app.get(&app.env_url("/applications"), 200).await, "applications");
    assert_eq!(my_apps, vec![app.client_id.clone(), my_app]);
    let their_apps = ids(
        &call_with(&app.client, &other.token, Method::GET, &other_url("/applications"), None, 200).await,
        "applications",
    );
    assert_eq!(their_apps.len(), 2);
    assert_eq!(their_apps[1], their_app);
    assert!(!their_apps.contains(&app.client_id));

    // Paging within one environment never crosses into the other, even with a cursor from it.
    let first = app.get(&app.env_url("/users?limit=1"), 200).await;
    let next = first["_links"]["next"]["href"].as_str().expect("next").to_owned();
    let cursor = next.split("cursor=").nth(1).expect("cursor").to_owned();
    let page =
        call_with(&app.client, &other.token, Method::GET, &other_url(&format!("/users?cursor={cursor}")), None, 200)
            .await;
    assert!(ids(&page, "users").iter().all(|id| theirs.contains(id)), "{page}");
}
