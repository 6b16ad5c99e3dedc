//! Settings: defaults, errors that name the setting, the key file.

use super::*;
use crate::auth::secrets::generate_master_key;

fn valid() -> Config {
    Config { secret_key: Some(generate_master_key()), ..Config::default() }
}

#[test]
fn defaults_are_valid() {
    let settings = valid().validate().unwrap();
    assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
    assert!(settings.store.url.starts_with("sqlite://"));
}

#[test]
fn errors_name_the_setting() {
    let err = Config { listen: "nope".into(), ..valid() }.validate().unwrap_err();
    assert!(err.to_string().contains("ASSENT_LISTEN"), "{err}");
    let err = Config { database_url: "mysql://x".into(), ..valid() }.validate().unwrap_err();
    assert!(err.to_string().contains("ASSENT_DATABASE_URL"), "{err}");
    let err = Config { public_url: Some("ftp://x".into()), ..valid() }.validate().unwrap_err();
    assert!(err.to_string().contains("ASSENT_PUBLIC_URL"), "{err}");
    let err = Config { trusted_proxies: "10.0.0.0/8, nonsense".into(), ..valid() }.validate().unwrap_err();
    assert!(err.to_string().contains("ASSENT_TRUSTED_PROXIES"), "{err}");
    let err = Config { secret_key: Some("short".into()), ..valid() }.validate().unwrap_err();
    assert!(err.to_string().contains("ASSENT_SECRET_KEY"), "{err}");
    let err = Config { db_acquire_timeout_ms: 0, ..valid() }.validate().unwrap_err();
    assert!(err.to_string().contains("ASSENT_DB_ACQUIRE_TIMEOUT_MS"), "{err}");
}

#[test]
fn a_metrics_token_is_optional_but_never_short() {
    assert_eq!(valid().validate().unwrap().metrics_token, None);
    let token = "a-metrics-token-of-32-characters";
    let settings = Config { metrics_token: Some(token.into()), ..valid() }.validate().unwrap();
    assert_eq!(settings.metrics_token.as_deref(), Some(token));
    for bad in ["short", "has a space in it, so no", &"x".repeat(257)] {
        let err = Config { metrics_token: Some(bad.into()), ..valid() }.validate().unwrap_err();
        assert!(err.to_string().contains("ASSENT_METRICS_TOKEN"), "{err}");
    }
}

#[test]
fn connection_limits_are_bounded_and_named() {
    for (config, setting) in [
        (Config { header_read_timeout_ms: 0, ..valid() }, "ASSENT_HEADER_READ_TIMEOUT_MS"),
        (Config { body_read_timeout_ms: 700_000, ..valid() }, "ASSENT_BODY_READ_TIMEOUT_MS"),
        (Config { idle_timeout_ms: 50, ..valid() }, "ASSENT_IDLE_TIMEOUT_MS"),
        (Config { max_connections: 0, ..valid() }, "ASSENT_MAX_CONNECTIONS"),
        (Config { shutdown_grace_ms: 600_001, ..valid() }, "ASSENT_SHUTDOWN_GRACE_MS"),
    ] {
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains(setting), "{err}");
    }
    let settings = Config { shutdown_grace_ms: 0, ..valid() }.validate().unwrap();
    assert_eq!(settings.shutdown_grace, Duration::ZERO);
    assert_eq!(settings.connections.max_connections, 1024);
}

#[test]
fn public_url_loses_its_trailing_slash() {
    let settings = Config { public_url: Some("https://consent.example.com/".into()), ..valid() }.validate().unwrap();
    assert_eq!(settings.public_url.as_deref(), Some("https://consent.example.com"));
}

#[test]
fn key_file_is_created_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    let file = path.to_string_lossy().into_owned();
    let a = Config { secret_key_file: file.clone(), ..Config::default() }.validate().unwrap();
    let sealed = a.secrets.seal("x").unwrap();
    let b = Config { secret_key_file: file, ..Config::default() }.validate().unwrap();
    assert_eq!(b.secrets.open(&sealed).unwrap(), "x");
}

#[test]
// `Jail` closures answer figment's own (large) error type.
#[allow(clippy::result_large_err)]
fn webhook_settings_are_bounded_and_a_one_wait_schedule_reads_from_the_environment_beside_test_variables() {
    let settings = valid().validate().unwrap();
    assert_eq!(settings.delivery.retry.schedule.len(), 6);
    assert_eq!(settings.delivery.retry.disable_after, Duration::from_secs(5 * 86_400));
    for (config, setting) in [
        (Config { webhook_retry_schedule_ms: "".into(), ..valid() }, "ASSENT_WEBHOOK_RETRY_SCHEDULE_MS"),
        (Config { webhook_retry_schedule_ms: "5,100".into(), ..valid() }, "ASSENT_WEBHOOK_RETRY_SCHEDULE_MS"),
        (Config { webhook_retry_schedule_ms: "soon".into(), ..valid() }, "ASSENT_WEBHOOK_RETRY_SCHEDULE_MS"),
        (Config { webhook_timeout_ms: 0, ..valid() }, "ASSENT_WEBHOOK_TIMEOUT_MS"),
        (Config { webhook_lease_ms: 10_000, ..valid() }, "ASSENT_WEBHOOK_LEASE_MS"),
        (Config { webhook_concurrency: 0, ..valid() }, "ASSENT_WEBHOOK_CONCURRENCY"),
        (Config { webhook_disable_after_ms: 10, ..valid() }, "ASSENT_WEBHOOK_DISABLE_AFTER_MS"),
        (Config { webhook_poll_ms: 10, ..valid() }, "ASSENT_WEBHOOK_POLL_MS"),
    ] {
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains(setting), "{err}");
    }
    figment::Jail::expect_with(|jail| {
        jail.set_env("ASSENT_WEBHOOK_RETRY_SCHEDULE_MS", "100");
        // The test suite's own variables (scripts/test sets this one) are not settings.
        jail.set_env("ASSENT_TEST_SKIP_LOG", "/tmp/skipped");
        let loaded = Config::load(None);
        assert_eq!(loaded.map(|c| c.webhook_retry_schedule_ms).map_err(|e| e.to_string()), Ok("100".to_owned()));
        Ok(())
    });
}
