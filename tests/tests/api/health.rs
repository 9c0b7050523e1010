//! Liveness, readiness and the OpenAPI document.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::both;
use crate::helpers::TestApp;

/// Every `/v1` operation the server routes (method, path template).
const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/me"),
    ("post", "/v1/tickets"),
    ("get", "/v1/tickets"),
    ("get", "/v1/tickets/{id}"),
    ("post", "/v1/tickets/{id}/messages"),
    ("get", "/v1/tickets/{id}/messages"),
    ("post", "/v1/tickets/{id}/status"),
    ("post", "/v1/tickets/{id}/assignment"),
    ("delete", "/v1/tickets/{id}/assignment"),
    ("post", "/v1/tickets/{id}/priority"),
    ("post", "/v1/tickets/{id}/tags"),
    ("post", "/v1/tickets/{id}/fields"),
    ("post", "/v1/tickets/{id}/archive"),
    ("get", "/v1/tickets/{id}/events"),
    ("get", "/v1/events"),
    ("get", "/v1/events/stream"),
    ("get", "/v1/events/export"),
    ("post", "/v1/intake"),
    ("get", "/v1/audit/digest"),
    ("get", "/v1/audit/access-log"),
    ("post", "/v1/customers/{id}/erase"),
    ("post", "/v1/tokens"),
    ("get", "/v1/tokens"),
    ("delete", "/v1/tokens/{id}"),
    ("post", "/v1/tokens/{id}/rotate"),
    ("post", "/v1/agents"),
    ("get", "/v1/agents"),
    ("get", "/v1/agents/{id}"),
    ("patch", "/v1/agents/{id}"),
    ("post", "/v1/agents/{id}/availability"),
    ("post", "/v1/agents/{id}/deactivate"),
    ("post", "/v1/agents/{id}/reactivate"),
    ("post", "/v1/teams"),
    ("get", "/v1/teams"),
    ("get", "/v1/teams/{id}"),
    ("patch", "/v1/teams/{id}"),
    ("get", "/v1/queues/{team}"),
    ("get", "/v1/queues/{team}/stats"),
    ("post", "/v1/queues/{team}/pause"),
    ("post", "/v1/queues/{team}/resume"),
    ("put", "/v1/queues/{team}/capacity"),
    ("put", "/v1/queues/{team}/strategy"),
    ("post", "/v1/queues/{team}/reorder"),
    ("get", "/v1/webhooks/dead-letters"),
    ("post", "/v1/webhooks/deliveries/{id}/redeliver"),
    ("post", "/v1/webhooks"),
    ("get", "/v1/webhooks"),
    ("get", "/v1/webhooks/{id}"),
    ("patch", "/v1/webhooks/{id}"),
    ("delete", "/v1/webhooks/{id}"),
    ("post", "/v1/webhooks/{id}/rotate-secret"),
    ("get", "/v1/webhooks/{id}/deliveries"),
    ("post", "/v1/webhooks/{id}/replay"),
    ("post", "/v1/canned-responses"),
    ("get", "/v1/canned-responses"),
    ("get", "/v1/canned-responses/{id}"),
    ("patch", "/v1/canned-responses/{id}"),
    ("delete", "/v1/canned-responses/{id}"),
    ("post", "/v1/canned-responses/{id}/render"),
    ("post", "/v1/canned-responses/{id}/send"),
    ("post", "/v1/tickets/{id}/canned"),
    ("post", "/v1/templates"),
    ("get", "/v1/templates"),
    ("get", "/v1/templates/{id}"),
    ("patch", "/v1/templates/{id}"),
    ("delete", "/v1/templates/{id}"),
    ("get", "/v1/templates/{id}/versions"),
    ("get", "/v1/templates/{id}/versions/{id}"),
    ("post", "/v1/templates/{id}/render"),
    ("post", "/v1/templates/{id}/send"),
    ("post", "/v1/kb/articles"),
    ("get", "/v1/kb/articles"),
    ("get", "/v1/kb/articles/{id}"),
    ("patch", "/v1/kb/articles/{id}"),
    ("delete", "/v1/kb/articles/{id}"),
    ("get", "/v1/kb/articles/{id}/versions"),
    ("get", "/v1/kb/articles/{id}/versions/{id}"),
    ("get", "/v1/kb/articles/{id}/links"),
    ("get", "/v1/kb/search"),
    ("post", "/v1/kb/import"),
    ("get", "/v1/tickets/{id}/suggestions"),
    ("post", "/v1/tickets/{id}/links"),
    ("get", "/v1/tickets/{id}/links"),
    ("delete", "/v1/tickets/{id}/links/{id}"),
];

/// A path template with every parameter named `{id}`, so documents and routes compare.
fn normalized(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{id}");
            }
            '}' => in_param = false,
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

/// The documented (method, normalized path) pairs under `/v1`.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        if !path.starts_with("/v1/") {
            continue;
        }
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                out.insert((method.to_owned(), normalized(path)));
            }
        }
    }
    out
}

both!(
    healthz_answers_ok_without_a_token,
    |app: TestApp| async move {
        let a = app.get_anonymous("/healthz").await;
        a.expect(200);
        assert_eq!(a.body["status"], "ok");
    }
);

both!(
    readyz_answers_ready_once_the_projectors_run,
    |app: TestApp| async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let a = loop {
            let a = app.get_anonymous("/readyz").await;
            if a.status == 200 || tokio::time::Instant::now() > deadline {
                break a;
            }
            assert_eq!(a.status, 503, "readyz is 200 or 503: {}", a.text);
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        a.expect(200);
        assert_eq!(a.body["status"], "ready");
        assert_eq!(a.body["database"], "ok");
        let projectors = a.body["projectors"].as_array().unwrap();
        assert!(!projectors.is_empty(), "readyz lists the projectors");
        assert!(projectors.iter().all(|p| p["name"].is_string()));
    }
);

both!(
    the_openapi_document_is_3_1_and_documents_every_routed_v1_operation,
    |app: TestApp| async move {
        let a = app.get_anonymous("/openapi.json").await;
        a.expect(200);
        assert!(
            a.content_type().starts_with("application/json"),
            "{}",
            a.content_type()
        );
        let version = a.body["openapi"].as_str().expect("an openapi version");
        assert!(version.starts_with("3.1"), "OpenAPI 3.1, got {version}");
        let documented = documented(&a.body);
        let missing: Vec<_> = ROUTES
            .iter()
            .filter(|(m, p)| !documented.contains(&((*m).to_owned(), normalized(p))))
            .collect();
        assert!(
            missing.is_empty(),
            "routed but not in /openapi.json: {missing:?}"
        );
    }
);

both!(
    every_documented_v1_operation_is_routed_and_needs_a_token,
    |app: TestApp| async move {
        let doc = app.get_anonymous("/openapi.json").await;
        doc.expect(200);
        for (method, path) in documented(&doc.body) {
            let concrete = path.replace("{id}", "0190a5a4-0000-7000-8000-000000000001");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let a = app
                .send(
                    app.request(method.clone(), &concrete, None)
                        .timeout(Duration::from_secs(5)),
                )
                .await;
            assert!(
                a.status != 405 && !(a.status == 404 && a.body["detail"] == "no such route"),
                "{method} {path} is documented but not routed: {} {}",
                a.status,
                a.text
            );
            a.expect_problem(401);
            assert_eq!(a.header("www-authenticate").as_deref(), Some("Bearer"));
        }
    }
);
