//! Users: create, read, partial update, delete, validation details and keyset paging.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Answer, TestApp, assert_error, has_detail};

/// Whether `text` is a wire timestamp: `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`.
fn is_wire_timestamp(text: &str) -> bool {
    const PATTERN: &[u8] = b"dddd-dd-ddTdd:dd:dd.dddZ";
    text.len() == PATTERN.len()
        && text.bytes().zip(PATTERN).all(|(c, p)| if *p == b'd' { c.is_ascii_digit() } else { c == *p })
}

/// POSTs a user body and expects a 400 with `code`; returns the error body.
async fn refused(app: &TestApp, body: Value, code: &str) -> Value {
    let error = app.post(&app.env_url("/users"), body, 400).await;
    assert_error(&error, code);
    error
}

/// The ids of the users of one page.
fn page_ids(page: &Value) -> Vec<String> {
    page["_embedded"]["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Creates `n` users named `{prefix}-{i}` and returns their ids in creation order.
async fn create_users(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let user = app.create_user(&format!("{prefix}-{i:02}")).await;
        ids.push(user["id"].as_str().expect("id").to_owned());
    }
    ids
}

#[test]
fn the_timestamp_pattern_is_strict() {
    assert!(is_wire_timestamp("2026-11-23T10:32:20.573Z"));
    assert!(!is_wire_timestamp("2026-11-23T10:32:20Z"));
    assert!(!is_wire_timestamp("2026-11-23T10:32:20.573+00:00"));
    assert!(!is_wire_timestamp("2026-11-23T10:32:20.573123Z"));
}

#[tokio::test]
async fn creating_a_user_answers_201_with_location_and_never_the_password() {
    let app = TestApp::spawn().await;
    let request = app.client.post(app.env_url("/users")).bearer_auth(&app.token).json(&json!({
        "username": "ada.lovelace",
        "email": "ada@example.com",
        "name": {"given": "Ada", "family": "Lovelace"},
        "password": "correct horse battery staple",
    }));
    let answer = Answer::of(request).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert!(!answer.text.to_lowercase().contains("password"), "no password in the answer: {}", answer.text);
    assert!(!answer.text.contains("correct horse"), "{}", answer.text);
    let user = answer.json();
    let id = user["id"].as_str().expect("id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{user}");
    let self_href = user["_links"]["self"]["href"].as_str().expect("self link");
    assert_eq!(self_href, app.env_url(&format!("/users/{id}")));
    assert_eq!(answer.header("Location"), Some(self_href));
    assert_eq!(user["_links"]["environment"]["href"], app.env_url(""));
    assert_eq!(user["environment"]["id"], app.env_id.as_str());
    assert_eq!(user["username"], "ada.lovelace");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["name"]["given"], "Ada");
    assert_eq!(user["name"]["family"], "Lovelace");
    assert_eq!(user["enabled"], true, "enabled defaults to true");
    for field in ["createdAt", "updatedAt"] {
        let text = user[field].as_str().unwrap_or_default();
        assert!(is_wire_timestamp(text), "{field} = {text}");
    }
    assert_eq!(user["createdAt"], user["updatedAt"]);

    // Reading it back gives the same representation.
    let read = app.get(self_href, 200).await;
    assert_eq!(read, user);
}

#[tokio::test]
async fn a_user_can_be_created_disabled_with_only_a_username() {
    let app = TestApp::spawn().await;
    let user = app.post(&app.env_url("/users"), json!({"username": "bob", "enabled": false}), 201).await;
    assert_eq!(user["enabled"], false);
    assert!(user.get("email").is_none(), "{user}");
    assert_eq!(user["name"], json!({}));
}

#[tokio::test]
async fn a_duplicate_username_is_a_uniqueness_violation() {
    let app = TestApp::spawn().await;
    let first = app.create_user("alice").await;
    let error = refused(&app, json!({"username": "alice", "email": "other@example.com"}), "INVALID_DATA").await;
    assert!(has_detail(&error, "UNIQUENESS_VIOLATION", "username"), "{error}");
    // The first user is untouched and the only one.
    let list = app.get(&app.env_url("/users"), 200).await;
    assert_eq!(page_ids(&list), vec![first["id"].as_str().expect("id").to_owned()]);
    // Usernames are unique per environment only.
    let other = app.other_environment().await;
    let url = format!("{}/v1/environments/{}/users", app.base, other.env_id);
    crate::helpers::call_with(&app.client, &other.token, Method::POST, &url, Some(json!({"username": "alice"})), 201)
        .await;
}

#[tokio::test]
async fn a_missing_username_is_a_required_value() {
    let app = TestApp::spawn().await;
    let error = refused(&app, json!({"email": "a@example.com"}), "INVALID_DATA").await;
    assert!(has_detail(&error, "REQUIRED_VALUE", "username"), "{error}");
    let error = refused(&app, json!({"username": "   "}), "INVALID_DATA").await;
    assert!(has_detail(&error, "REQUIRED_VALUE", "username"), "{error}");
    let error = refused(&app, json!({"username": null}), "INVALID_DATA").await;
    assert!(error["details"][0]["target"] == "username", "{error}");
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_an_invalid_value_naming_the_field() {
    let app = TestApp::spawn().await;
    let error = refused(&app, json!({"username": "carol", "enabled": "yes"}), "INVALID_DATA").await;
    assert!(has_detail(&error, "INVALID_VALUE", "enabled"), "{error}");
    let error = refused(&app, json!({"username": "carol", "name": {"given": 5}}), "INVALID_DATA").await;
    assert!(has_detail(&error, "INVALID_VALUE", "name.given"), "{error}");
    let error = refused(&app, json!({"username": ["carol"]}), "INVALID_DATA").await;
    assert!(has_detail(&error, "INVALID_VALUE", "username"), "{error}");
    let error = refused(&app, json!({"username": "car ol"}), "INVALID_DATA").await;
    assert!(has_detail(&error, "INVALID_VALUE", "username"), "{error}");
}

#[tokio::test]
async fn an_invalid_email_is_refused() {
    let app = TestApp::spawn().await;
    for email in ["not-an-email", "a@b", "two@@example.com", "sp ace@example.com"] {
        let error = refused(&app, json!({"username": "dave", "email": email}), "INVALID_DATA").await;
        assert!(has_detail(&error, "INVALID_VALUE", "email"), "{email}: {error}");
    }
}

#[tokio::test]
async fn a_short_password_is_refused_and_every_problem_is_reported() {
    let app = TestApp::spawn().await;
    let error = refused(&app, json!({"username": "erin", "password": "short"}), "INVALID_DATA").await;
    assert!(has_detail(&error, "INVALID_VALUE", "password"), "{error}");
    let error =
        refused(&app, json!({"username": "erin", "email": "nope", "password": "1234567"}), "INVALID_DATA").await;
    assert!(has_detail(&error, "INVALID_VALUE", "email"), "{error}");
    assert!(has_detail(&error, "INVALID_VALUE", "password"), "{error}");
    // Nothing was stored.
    assert_eq!(app.get(&app.env_url("/users"), 200).await["count"], 0);
    // Eight characters is enough.
    app.post(&app.env_url("/users"), json!({"username": "erin", "password": "12345678"}), 201).await;
}

#[tokio::test]
async fn reading_a_user_returns_it_and_an_unknown_id_is_not_found() {
    let app = TestApp::spawn().await;
    let created = app.create_user("frank").await;
    let url = app.env_url(&format!("/users/{}", created["id"].as_str().expect("id")));
    assert_eq!(app.get(&url, 200).await, created);
    let missing = app.get(&app.env_url(&format!("/users/{}", uuid::Uuid::new_v4())), 404).await;
    assert_error(&missing, "NOT_FOUND");
}

#[tokio::test]
async fn patch_keeps_omitted_attributes_sets_given_ones_and_null_clears() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            &app.env_url("/users"),
            json!({"username": "grace", "email": "grace@example.com", "name": {"given": "G", "family": "Hopper"}}),
            201,
        )
        .await;
    let url = created["_links"]["self"]["href"].as_str().expect("self").to_owned();

    let patched = app.call(Method::PATCH, &url, Some(json!({"name": {"given": "Grace"}})), 200).await;
    assert_eq!(patched["name"], json!({"given": "Grace", "family": "Hopper"}));
    assert_eq!(patched["username"], "grace");
    assert_eq!(patched["email"], "grace@example.com");
    assert_eq!(patched["enabled"], true);
    assert_eq!(patched["createdAt"], created["createdAt"]);
    assert!(is_wire_timestamp(patched["updatedAt"].as_str().unwrap_or_default()));
    assert!(patched["updatedAt"].as_str() >= created["updatedAt"].as_str());

    let patched = app.call(Method::PATCH, &url, Some(json!({"email": null})), 200).await;
    assert!(patched.get("email").is_none(), "email removed: {patched}");
    assert_eq!(patched["name"], json!({"given": "Grace", "family": "Hopper"}));

    let patched = app.call(Method::PATCH, &url, Some(json!({"name": {"family": null}, "enabled": false})), 200).await;
    assert_eq!(patched["name"], json!({"given": "Grace"}));
    assert_eq!(patched["enabled"], false);

    let patched = app.call(Method::PATCH, &url, Some(json!({})), 200).await;
    assert_eq!(patched["username"], "grace");
    assert_eq!(patched["name"], json!({"given": "Grace"}));
    assert_eq!(patched["enabled"], false);

    let patched = app.call(Method::PATCH, &url, Some(json!({"name": null, "email": "g@example.com"})), 200).await;
    assert_eq!(patched["name"], json!({}), "null removes both name parts");
    assert_eq!(patched["email"], "g@example.com");
    assert_eq!(patched["enabled"], false);

    // The stored user is what PATCH answered.
    assert_eq!(app.get(&url, 200).await, patched);
}

#[tokio::test]
async fn patch_cannot_remove_the_username() {
    let app = TestApp::spawn().await;
    let created = app.create_user("heidi").await;
    let url = created["_links"]["self"]["href"].as_str().expect("self").to_owned();
    let error = app.call(Method::PATCH, &url, Some(json!({"username": null})), 400).await;
    assert_error(&error, "INVALID_DATA");
    assert!(has_detail(&error, "INVALID_VALUE", "username"), "{error}");
    let error = app.call(Method::PATCH, &url, Some(json!({"email": "bad"})), 400).await;
    assert!(has_detail(&error, "INVALID_VALUE", "email"), "{error}");
    assert_eq!(app.get(&url, 200).await, created, "a refused PATCH changes nothing");
}

#[tokio::test]
async fn patch_to_a_taken_username_is_a_uniqueness_violation() {
    let app = TestApp::spawn().await;
    app.create_user("ivan").await;
    let judy = app.create_user("judy").await;
    let url = judy["_links"]["self"]["href"].as_str().expect("self").to_owned();
    let error = app.call(Method::PATCH, &url, Some(json!({"username": "ivan"})), 400).await;
    assert_error(&error, "INVALID_DATA");
    assert!(has_detail(&error, "UNIQUENESS_VIOLATION", "username"), "{error}");
    assert_eq!(app.get(&url, 200).await["username"], "judy");
    // Renaming to one's own name or a free one is fine.
    app.call(Method::PATCH, &url, Some(json!({"username": "judy"})), 200).await;
    let renamed = app.call(Method::PATCH, &url, Some(json!({"username": "judith"})), 200).await;
    assert_eq!(renamed["username"], "judith");
}

#[tokio::test]
async fn deleting_a_user_answers_204_and_it_is_gone() {
    let app = TestApp::spawn().await;
    let created = app.create_user("mallory").await;
    let url = created["_links"]["self"]["href"].as_str().expect("self").to_owned();
    let answer = Answer::of(app.client.delete(&url).bearer_auth(&app.token)).await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    assert!(answer.text.is_empty());
    assert_error(&app.get(&url, 404).await, "NOT_FOUND");
    assert_error(&app.call(Method::DELETE, &url, None, 404).await, "NOT_FOUND");
    assert_error(&app.call(Method::PATCH, &url, Some(json!({"enabled": false})), 404).await, "NOT_FOUND");
    // The username is free again.
    app.create_user("mallory").await;
}

#[tokio::test]
async fn paging_follows_next_links_through_every_user_in_creation_order() {
    let app = TestApp::spawn().await;
    let created = create_users(&app, "user", 25).await;
    let mut url = app.env_url("/users?limit=10");
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let page = app.get(&url, 200).await;
        let ids = page_ids(&page);
        assert_eq!(page["count"], 25, "count is the collection's total: {page}");
        assert_eq!(page["size"], ids.len());
        assert!(page["_links"]["self"]["href"].as_str().is_some_and(|h| h.contains("limit=10")), "{page}");
        assert_eq!(page["_links"].get("prev").is_some(), !seen.is_empty(), "prev on every page but the first: {page}");
        sizes.push(ids.len());
        seen.extend(ids);
        match page["_links"]["next"]["href"].as_str() {
            Some(next) => url = next.to_owned(),
            None => {
                assert!(page["_links"].get("next").is_none(), "no next on the last page: {page}");
                break;
            }
        }
        assert!(sizes.len() <= 3, "too many pages: {sizes:?}");
    }
    assert_eq!(sizes, vec![10, 10, 5]);
    assert_eq!(seen, created, "every user once, in creation order");

    // Back from the last page with `prev` links: the same pages in reverse.
    let mut back = Vec::new();
    let mut prev = app.get(&url, 200).await["_links"]["prev"]["href"].as_str().map(str::to_owned);
    while let Some(link) = prev {
        let page = app.get(&link, 200).await;
        back.push(page_ids(&page));
        prev = page["_links"]["prev"]["href"].as_str().map(str::to_owned);
        assert!(page["_links"]["next"]["href"].is_string(), "a page reached backwards has a next: {page}");
        assert!(back.len() <= 2, "too many pages back");
    }
    assert_eq!(back, vec![created[10..20].to_vec(), created[..10].to_vec()]);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 25);

    // Without a limit, one page of up to 100 holds them all.
    let all = app.get(&app.env_url("/users"), 200).await;
    assert_eq!(page_ids(&all), created);
    assert!(all["_links"].get("next").is_none());
}

#[tokio::test]
async fn users_created_while_paging_are_neither_lost_nor_repeated() {
    let app = TestApp::spawn().await;
    let originals = create_users(&app, "early", 25).await;
    let mut url = app.env_url("/users?limit=10");
    let mut seen: Vec<String> = Vec::new();
    let mut added: Vec<String> = Vec::new();
    for round in 0.. {
        assert!(round < 20, "paging does not end");
        let page = app.get(&url, 200).await;
        seen.extend(page_ids(&page));
        let Some(next) = page["_links"]["next"]["href"].as_str() else { break };
        url = next.to_owned();
        // Meanwhile, someone else adds users (and removes one already seen).
        added.extend(create_users(&app, &format!("late{round}"), 3).await);
        if round == 0 {
            let first = app.env_url(&format!("/users/{}", seen[0]));
            app.call(Method::DELETE, &first, None, 204).await;
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no user is repeated: {seen:?}");
    let seen_originals: Vec<&String> = seen.iter().filter(|id| originals.contains(id)).collect();
    assert_eq!(seen_originals, originals.iter().collect::<Vec<_>>(), "every original user once, in order");
    // Users added after the pages were read come after every original one.
    let first_added = seen.iter().position(|id| added.contains(id)).unwrap_or(seen.len());
    assert!(first_added >= originals.len(), "{seen:?}");
    assert!(seen.iter().all(|id| originals.contains(id) || added.contains(id)));
}

#[tokio::test]
async fn a_limit_below_1_is_refused_and_one_above_1000_is_served_1000() {
    let app = TestApp::spawn().await;
    app.create_user("kim").await;
    for limit in ["1001", "1000000"] {
        let page = app.get(&app.env_url(&format!("/users?limit={limit}")), 200).await;
        assert_eq!(page["size"], 1);
        assert!(page["_links"]["self"]["href"].as_str().unwrap().contains("limit=1000"), "{page}");
    }
    for limit in ["0", "-1"] {
        let error = app.get(&app.env_url(&format!("/users?limit={limit}")), 400).await;
        assert_error(&error, "INVALID_DATA");
        assert!(has_detail(&error, "INVALID_VALUE", "limit"), "limit={limit}: {error}");
        let targets: Vec<&Value> = error["details"].as_array().expect("details").iter().map(|d| &d["target"]).collect();
        assert_eq!(targets, vec!["limit"], "limit={limit}: {error}");
    }
    for limit in ["1", "1000"] {
        let page = app.get(&app.env_url(&format!("/users?limit={limit}")), 200).await;
        assert_eq!(page["count"], 1);
    }
}

#[tokio::test]
async fn a_cursor_not_issued_by_the_service_is_refused() {
    let app = TestApp::spawn().await;
    for cursor in ["garbage!", "AAAA", "not%20a%20cursor"] {
        let error = app.get(&app.env_url(&format!("/users?cursor={cursor}")), 400).await;
        assert_error(&error, "INVALID_DATA");
        assert!(has_detail(&error, "INVALID_VALUE", "cursor"), "cursor={cursor}: {error}");
    }
}
