//! Every operation of `openapi.yaml` that takes a bearer token, tried with an auditor worker and a
//! recorder worker of the same environment: exactly the operations their permissions name succeed;
//! every other one is a 403 naming the permission it needs, and shows none of the environment's
//! data. The administrator then gets every operation done with the same requests, which proves the
//! refused ones were refused for their permission alone. A new operation needs `p1:admin` here
//! until it is listed in `NEEDS`.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::tenancy_matrix::{Operation, operations, send, tenant_a, url};
use crate::worker_roles::worker;
use assent::auth::principal::{ADMIN_SCOPE, CREATE_CONSENTS_SCOPE, READ_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE};

/// The permission each operation needs on a worker token, by operationId; every other one needs `p1:admin`.
const NEEDS: &[(&str, &str)] = &[
    ("consents.record", CREATE_CONSENTS_SCOPE),
    ("consents.list", READ_CONSENTS_SCOPE),
    ("consents.audit", READ_CONSENTS_SCOPE),
    ("consents.totals", READ_CONSENTS_SCOPE),
    ("consents.effective", READ_CONSENTS_SCOPE),
    ("consents.read", READ_CONSENTS_SCOPE),
    ("consents.receipt", READ_CONSENTS_SCOPE),
    ("consents.revoke", UPDATE_CONSENTS_SCOPE),
    ("consentEvents.list", READ_CONSENTS_SCOPE),
    ("consentEvents.checkpoints", READ_CONSENTS_SCOPE),
    ("consentEvents.export", READ_CONSENTS_SCOPE),
];

fn needed(op: &Operation) -> &'static str {
    NEEDS.iter().find(|(id, _)| *id == op.id).map_or(ADMIN_SCOPE, |(_, scope)| scope)
}

#[tokio::test]
async fn every_operation_of_the_spec_admits_a_worker_by_its_permissions_alone() {
    let app = TestApp::spawn_with(|config| config.webhook_allow_private = true).await;
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).expect("openapi.yaml");
    let spec: Value = serde_yaml::from_str(&text).expect("openapi.yaml parses");
    let a = tenant_a(&app).await;
    let ops: Vec<Operation> = operations(&spec).into_iter().filter(|op| op.bearer).collect();
    for (id, _) in NEEDS {
        assert!(ops.iter().any(|op| op.id == *id), "{id} is an operation of the spec");
    }
    // Deletions last, so that every other operation still finds its resource.
    let (deletes, others): (Vec<&Operation>, Vec<&Operation>) = ops.iter().partition(|op| op.method == Method::DELETE);
    let ordered: Vec<&Operation> = others.into_iter().chain(deletes).collect();

    let auditor = worker(&app, "Matrix auditor", &[READ_CONSENTS_SCOPE]).await;
    let recorder = worker(&app, "Matrix recorder", &[CREATE_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE]).await;
    let mut n = 0;
    for (who, token, granted) in [
        ("auditor", &auditor.token, vec![READ_CONSENTS_SCOPE]),
        ("recorder", &recorder.token, vec![CREATE_CONSENTS_SCOPE, UPDATE_CONSENTS_SCOPE]),
    ] {
        let mut allowed = Vec::new();
        for op in &ordered {
            n += 1;
            let target = url(&app.base, op, &app.env_id, &a.ids);
            let answer = send(&app, &spec, op, &target, token, ("", ""), n).await;
            let what = format!("{who}: {} {} ({})", op.method, op.path, op.id);
            if granted.contains(&needed(op)) {
                assert!((200..300).contains(&answer.status), "{what} answered {}: {}", answer.status, answer.text);
                allowed.push(op.id.as_str());
                continue;
            }
            assert_eq!(answer.status, 403, "{what}: {}", answer.text);
            let body = answer.json();
            assert_eq!(body["code"], "ACCESS_FAILED", "{what}: {body}");
            assert_eq!(body["details"][0]["code"], "INSUFFICIENT_PERMISSIONS", "{what}: {body}");
            let message = body["details"][0]["message"].as_str().unwrap_or_default();
            assert!(message.contains(&format!("'{}'", needed(op))), "{what} names what it needs: {body}");
            for secret in &a.secrets {
                assert!(!answer.text.contains(secret.as_str()), "{what} leaked data: {}", answer.text);
            }
        }
        allowed.sort_unstable();
        let mut expected: Vec<&str> =
            NEEDS.iter().filter(|(_, scope)| granted.contains(scope)).map(|(id, _)| *id).collect();
        expected.sort_unstable();
        assert_eq!(allowed, expected, "{who}");
    }

    // The positive control: the administrator gets every operation done with the same requests.
    for op in &ordered {
        n += 1;
        let target = url(&app.base, op, &app.env_id, &a.ids);
        let answer = send(&app, &spec, op, &target, &app.token, ("", ""), n).await;
        assert!(
            (200..300).contains(&answer.status),
            "administrator: {} {} answered {}: {}",
            op.method,
            op.path,
            answer.status,
            answer.text
        );
    }
}
