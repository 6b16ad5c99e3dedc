//! CORS: an environment's listed origins, and only those, may call the records API and the
//! token, userinfo and revocation endpoints from a browser script.

use reqwest::Method;
use serde_json::json;

use crate::consents_access::user_token;
use crate::consents_record::{record, seed_body};
use crate::helpers::{TestApp, assert_error, has_detail};
use assent::auth::principal::READ_CONSENTS_SCOPE;

const ACCOUNT: &str = "https://account.example.com";

async fn preflight(app: &TestApp, url: &str, origin: &str, method: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, url)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", "authorization, content-type")
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn origins_are_checked_and_nothing_is_stored_from_a_refused_list() {
    let app = TestApp::spawn().await;
    let url = app.env_url("");
    let refused = app
        .call(
            Method::PATCH,
            &url,
            Some(json!({"corsOrigins": [ACCOUNT, "https://Account.Example.com", "https://a.example.com/path",
                                        "*", "ftp://files.example.com", "https://a.example.com:443"]})),
            400,
        )
        .await;
    assert_error(&refused, "INVALID_DATA");
    for target in ["corsOrigins[1]", "corsOrigins[2]", "corsOrigins[3]", "corsOrigins[4]", "corsOrigins[5]"] {
        assert!(has_detail(&refused, "INVALID_VALUE", target), "{target}: {refused}");
    }
    assert!(!has_detail(&refused, "INVALID_VALUE", "corsOrigins[0]"), "{refused}");
    let too_many: Vec<String> = (0..51).map(|i| format!("https://app{i}.example.com")).collect();
    let refused = app.call(Method::PATCH, &url, Some(json!({ "corsOrigins": too_many })), 400).await;
    assert!(has_detail(&refused, "INVALID_VALUE", "corsOrigins"), "{refused}");
    assert_eq!(app.get(&url, 200).await["corsOrigins"], json!([]), "nothing stored half-way");

    let set = app
        .call(Method::PATCH, &url, Some(json!({"corsOrigins": [ACCOUNT, ACCOUNT, "http://localhost:8080"]})), 200)
        .await;
    assert_eq!(set["corsOrigins"], json!([ACCOUNT, "http://localhost:8080"]), "repeats dropped");
    let kept = app.call(Method::PATCH, &url, Some(json!({"consentUrl": null})), 200).await;
    assert_eq!(kept["corsOrigins"], set["corsOrigins"], "an update that does not name the list keeps it");
    let cleared = app.call(Method::PATCH, &url, Some(json!({"corsOrigins": null})), 200).await;
    assert_eq!(cleared["corsOrigins"], json!([]));
}

#[tokio::test]
async fn only_listed_origins_get_cors_headers_and_only_on_the_records_and_token_endpoints() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice").await["id"].as_str().unwrap().to_owned();
    let given = record(&app, &alice, seed_body()).await;
    let list = app.env_url(&format!("/users/{alice}/oauthConsents"));
    let one = given["_links"]["self"]["href"].as_str().unwrap().to_owned();
    let token_url = format!("{}/{}/as/token", app.base, app.env_id);

    // Nothing is listed yet: no grant for anyone.
    let answer = preflight(&app, &list, ACCOUNT, "GET").await;
    assert_eq!(answer.status(), 403);
    assert_eq!(header(&answer, "access-control-allow-origin"), None);

    // Another environment listing the origin grants nothing here.
    let other = app.other_environment().await;
    let other_env = format!("{}/v1/environments/{}", app.base, other.env_id);
    crate::helpers::call_with(
        &app.client,
        &other.token,
        Method::PATCH,
        &other_env,
        Some(json!({"corsOrigins": [ACCOUNT]})),
        200,
    )
    .await;
    assert_eq!(preflight(&app, &list, ACCOUNT, "GET").await.status(), 403);

    app.call(Method::PATCH, &app.env_url(""), Some(json!({"corsOrigins": [ACCOUNT]})), 200).await;
    for (url, method, methods) in [
        (list.clone(), "GET", "GET, POST"),
        (one.clone(), "PATCH", "GET, PATCH"),
        (format!("{list}/effective"), "GET", "GET"),
        (token_url.clone(), "POST", "POST"),
        (format!("{}/{}/as/revoke", app.base, app.env_id), "POST", "POST"),
        (format!("{}/{}/as/userinfo", app.base, app.env_id), "GET", "GET, POST"),
    ] {
        let answer = preflight(&app, &url, ACCOUNT, method).await;
        assert_eq!(answer.status(), 204, "{url}");
        assert_eq!(header(&answer, "access-control-allow-origin"), Some(ACCOUNT), "{url}");
        assert_eq!(header(&answer, "access-control-allow-methods"), Some(methods), "{url}");
        let allowed_headers = header(&answer, "access-control-allow-headers").unwrap();
        for name in ["Authorization", "Content-Type", "If-Match", "Idempotency-Key"] {
            assert!(allowed_headers.contains(name), "{allowed_headers}");
        }
        assert_eq!(header(&answer, "access-control-allow-credentials"), None, "tokens, never cookies");
        // An unlisted origin: refused, and nothing a browser would take as a grant.
        let answer = preflight(&app, &url, "https://evil.example", method).await;
        assert_eq!(answer.status(), 403, "{url}");
        assert!(answer.headers().keys().all(|name| !name.as_str().starts_with("access-control-")), "{url}");
    }
    // Endpoints a browser script has no business calling get no grant at all.
    for url in [app.env_url(""), app.env_url("/oauthConsents"), format!("{}/{}/as/introspect", app.base, app.env_id)] {
        let answer = preflight(&app, &url, ACCOUNT, "GET").await;
        assert_eq!(header(&answer, "access-control-allow-origin"), None, "{url}");
    }

    // The actual requests: the listed origin may read the answer, and its headers.
    let reader = user_token(&app, &alice, &[READ_CONSENTS_SCOPE]).await;
    let read = |origin: Option<&'static str>, token: Option<String>| {
        let mut request = app.client.get(&one);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let answer = read(Some(ACCOUNT), Some(reader.clone())).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(header(&answer, "access-control-allow-origin"), Some(ACCOUNT));
    assert!(header(&answer, "access-control-expose-headers").unwrap().contains("ETag"));
    assert!(header(&answer, "vary").unwrap().contains("Origin"));
    // Errors too, so the script can read why.
    let answer = read(Some(ACCOUNT), None).await.unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(header(&answer, "access-control-allow-origin"), Some(ACCOUNT));
    let answer = read(Some("https://evil.example"), Some(reader.clone())).await.unwrap();
    assert_eq!(header(&answer, "access-control-allow-origin"), None);
    let answer = read(None, Some(reader)).await.unwrap();
    assert_eq!(header(&answer, "access-control-allow-origin"), None);

    // Removing the origin takes effect at once.
    app.call(Method::PATCH, &app.env_url(""), Some(json!({"corsOrigins": []})), 200).await;
    assert_eq!(preflight(&app, &list, ACCOUNT, "GET").await.status(), 403);
}
