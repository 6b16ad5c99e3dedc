//! Liveness, readiness and Prometheus metrics, scraped and parsed as Prometheus would.

use serde_json::json;

use crate::helpers::{Answer, TestApp};

/// `/metrics` parsed by an independent Prometheus text-format parser.
async fn scrape(app: &TestApp, token: Option<&str>) -> prometheus_parse::Scrape {
    let mut request = app.client.get(format!("{}/metrics", app.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = Answer::of(request).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.header("content-type").unwrap_or_default().starts_with("text/plain; version=0.0.4"));
    prometheus_parse::Scrape::parse(answer.text.lines().map(|line| Ok(line.to_owned()))).expect("valid exposition")
}

/// The value of `name` whose labels include every pair in `labels`.
fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .find_map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => Some(v),
            _ => None,
        })
}

#[tokio::test]
async fn health_says_alive_and_ready_says_the_database_is_migrated() {
    let app = TestApp::spawn().await;
    let health = Answer::of(app.client.get(format!("{}/health", app.base))).await;
    assert_eq!((health.status, health.text.as_str()), (200, "ok"));
    let ready = Answer::of(app.client.get(format!("{}/ready", app.base))).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.json(), json!({"status": "READY"}));
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status_with_latency_and_store_figures() {
    let app = TestApp::spawn().await;
    let user = app.create_user("metered").await;
    let consents = app.env_url(&format!("/users/{}/oauthConsents", user["id"].as_str().unwrap()));
    for _ in 0..3 {
        let answer = Answer::of(
            app.client
                .post(&consents)
                .bearer_auth(&app.token)
                .header("Content-Type", "application/vnd.pingidentity.consent.accept+json")
                .body(json!({"application": {"name": "Metered"}, "scope": ["a"], "status": "ACCEPTED"}).to_string()),
        )
        .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
    }
    app.get(&consents, 200).await;
    // Unknown paths share one label, however many there are.
    for path in ["/no/such/path", "/another/unknown"] {
        assert_eq!(Answer::of(app.client.get(format!("{}{path}", app.base))).await.status, 404);
    }

    let scrape = scrape(&app, None).await;
    let route = "/v1/environments/:param0/users/:param1/oauthConsents";
    let created = [("method", "POST"), ("route", route), ("status", "201")];
    assert_eq!(value(&scrape, "assent_http_requests_total", &created), Some(3.0), "{:?}", scrape.samples);
    assert_eq!(
        value(&scrape, "assent_http_requests_total", &[("method", "GET"), ("route", route), ("status", "200")]),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, "assent_http_requests_total", &[("route", "unmatched"), ("status", "404")]),
        Some(2.0),
        "unknown paths are one series"
    );
    let histogram = scrape
        .samples
        .iter()
        .find(|s| s.metric == "assent_http_request_duration_seconds" && s.labels.get("route") == Some(route))
        .expect("a latency histogram per route");
    match &histogram.value {
        prometheus_parse::Value::Histogram(buckets) => {
            assert!(buckets.iter().any(|b| b.less_than.is_infinite()), "{buckets:?}");
        }
        other => panic!("not a histogram: {other:?}"),
    }
    assert!(value(&scrape, "assent_db_statements_total", &[]).unwrap_or(0.0) > 0.0);
    assert!(value(&scrape, "assent_db_pool_connections", &[("state", "idle")]).is_some());
    assert!(value(&scrape, "assent_token_standing_cache_total", &[("result", "hit")]).unwrap_or(0.0) >= 1.0);
    assert!(value(&scrape, "assent_rate_limited_total", &[("budget", "environment_requests")]).is_some());
    if app.state.store.backend_name() == "sqlite" {
        assert!(value(&scrape, "assent_writer_batch_records_total", &[]).unwrap_or(0.0) >= 3.0);
        assert_eq!(value(&scrape, "assent_writer_queued_records", &[]), Some(0.0));
    }
    assert!(scrape.docs.contains_key("assent_http_requests_total"), "HELP text is served");
}

#[tokio::test]
async fn metrics_switched_off_are_not_served() {
    let app = TestApp::spawn_with(|config| config.metrics = false).await;
    app.create_user("uncounted").await;
    let answer = Answer::of(app.client.get(format!("{}/metrics", app.base))).await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    assert_eq!(answer.json()["code"], "NOT_FOUND");
}

#[tokio::test]
async fn metrics_ask_for_the_configured_bearer_token() {
    let secret = "a-metrics-token-of-32-characters";
    let app = TestApp::spawn_with(|config| config.metrics_token = Some(secret.into())).await;
    let refused = Answer::of(app.client.get(format!("{}/metrics", app.base))).await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    assert_eq!(refused.json()["code"], "ACCESS_FAILED");
    let wrong =
        Answer::of(app.client.get(format!("{}/metrics", app.base)).bearer_auth("a-metrics-token-of-32-characterz"))
            .await;
    assert_eq!(wrong.status, 401);
    let scrape = scrape(&app, Some(secret)).await;
    assert!(!scrape.samples.is_empty());
}
