//! The writing tools' tests (canned responses, templates, knowledge base)
//! over the suite's server: a thin layer on [`crate::helpers`] that keeps
//! the write's `X-Event-Position` and `ETag` at hand.

mod canned;
mod kb;
mod templates;

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tgcrm_store::tokens::Role;

use crate::helpers::App;

/// Run a test body against the real server on SQLite and on Postgres.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                ($body)($crate::writing::TestApp::spawn(false).await).await
            }
            #[tokio::test]
            async fn postgres() {
                ($body)($crate::writing::TestApp::spawn(true).await).await
            }
        }
    };
}

pub struct TestApp {
    pub app: App,
    /// An admin token of workspace `acme`.
    pub admin: String,
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub position: Option<String>,
    pub etag: Option<String>,
}

impl TestApp {
    pub async fn spawn(postgres: bool) -> Self {
        let app = crate::helpers::spawn(postgres).await;
        let admin = app.token("acme", Role::Admin).await;
        Self { app, admin }
    }

    /// A token of `role` in `workspace`, bound to `agent` if given.
    pub async fn token(&self, workspace: &str, role: Role, agent: Option<&str>) -> String {
        self.app.token_for(workspace, role, agent).await
    }

    pub async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> Resp {
        let headers: Vec<(&str, &str)> = if_match.map(|v| ("If-Match", v)).into_iter().collect();
        let a = self
            .app
            .send(method, path, Some(token), body, &headers)
            .await;
        if a.status >= 400 {
            assert_eq!(
                a.content_type, "application/problem+json",
                "errors are problem+json"
            );
        }
        Resp {
            position: a.header("x-event-position"),
            etag: a.header("etag"),
            status: a.status,
            body: if a.body.is_string() && a.body.as_str() == Some("") {
                Value::Null
            } else {
                a.body
            },
        }
    }

    pub async fn get(&self, token: &str, path: &str) -> Resp {
        self.call(token, Method::GET, path, None, None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Resp {
        self.call(token, Method::POST, path, Some(body), None).await
    }

    pub async fn patch(
        &self,
        token: &str,
        path: &str,
        body: Value,
        if_match: Option<&str>,
    ) -> Resp {
        self.call(token, Method::PATCH, path, Some(body), if_match)
            .await
    }

    pub async fn delete(&self, token: &str, path: &str) -> Resp {
        self.call(token, Method::DELETE, path, None, None).await
    }

    /// `path` read after the write that returned `position`. The server waits
    /// a bounded time and answers 503 (Retry-After) while the read model is
    /// still behind, as it may be on a busy shared Postgres: retry then.
    pub async fn get_after(&self, token: &str, path: &str, position: &Option<String>) -> Resp {
        let sep = if path.contains('?') { '&' } else { '?' };
        let path = match position {
            Some(p) => format!("{path}{sep}consistent_with={p}"),
            None => path.to_owned(),
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let r = self.get(token, &path).await;
            if r.status != 503 || std::time::Instant::now() > deadline {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Open a ticket in `acme`; extra JSON fields (priority, tags, fields) merge in.
    pub async fn ticket(&self, subject: &str, body: &str, extra: Value) -> String {
        let mut req = json!({
            "subject": subject,
            "body": body,
            "customer": {"telegram_user_id": 77, "name": "Ivan", "username": "ivan_p"},
        });
        if let (Some(r), Some(e)) = (req.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                r.insert(k.clone(), v.clone());
            }
        }
        let res = self.post(&self.admin, "/v1/tickets", req).await;
        assert_eq!(res.status, 201, "{}", res.body);
        res.body["id"].as_str().unwrap().to_owned()
    }
}

/// The field names of a 422's errors.
pub fn error_fields(r: &Resp) -> Vec<String> {
    r.body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
