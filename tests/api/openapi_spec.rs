//! `openapi.yaml` is generated from the code; this test fails when the checked-in file drifts.

use assent::api::api_service;

const REGENERATE: &str = "UPDATE_OPENAPI=1 cargo test --test api openapi_spec";

#[test]
fn openapi_yaml_is_up_to_date() {
    let spec = api_service("http://localhost:8080").spec_yaml();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &spec).expect("write openapi.yaml");
    }
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(checked_in == spec, "openapi.yaml is out of date with the code; regenerate it with: {REGENERATE}");
}

#[test]
fn every_operation_has_a_summary_and_documents_errors() {
    let spec: serde_json::Value =
        serde_json::from_str(&api_service("http://localhost:8080").spec()).expect("spec JSON");
    let paths = spec["paths"].as_object().expect("paths");
    let mut checked = 0;
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().expect("operations") {
            checked += 1;
            let summary = operation["summary"].as_str().unwrap_or_default();
            assert!(!summary.is_empty(), "{method} {path} has no summary");
            let responses = operation["responses"].as_object().expect("responses");
            let errors: Vec<&String> = responses.keys().filter(|s| s.starts_with('4') || s.starts_with('5')).collect();
            assert!(!errors.is_empty(), "{method} {path} documents no error response");
            for status in errors {
                assert!(
                    responses[status]["content"].as_object().is_some_and(|c| !c.is_empty()),
                    "{method} {path} {status} has no schema"
                );
            }
        }
    }
    assert!(checked >= 10, "expected the whole API, saw {checked} operations");
}
