//! Settings from the environment. Secrets (database passwords) never print.

use secrecy::{ExposeSecret, SecretString};

/// Where the data lives and where to listen.
#[derive(Clone)]
pub struct Settings {
    /// `postgres://…` or `sqlite:…`; default `sqlite:./crm.db`.
    pub database_url: SecretString,
    /// `CRM_BIND`, default `127.0.0.1:8080`.
    pub bind: String,
    /// `CRM_DATABASE_MAX_CONNECTIONS`: the Postgres pool size (default 32).
    pub max_connections: u32,
    /// API behaviour: `CRM_TOKEN_ENV` (live|test), `CRM_RATE_LIMIT_<ROLE>`
    /// (requests per minute), `CRM_TOKEN_ROTATION_GRACE_SECONDS`.
    pub api: tgcrm_api::ApiConfig,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite:./crm.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

impl Settings {
    pub fn from_env() -> Self {
        let database_url = std::env::var("DATABASE_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let bind = std::env::var("CRM_BIND")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let mut api = tgcrm_api::ApiConfig::default();
        if let Some(env) = std::env::var("CRM_TOKEN_ENV")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            api.token_env = env;
        }
        api.rate_limits = tgcrm_api::rate_limit::RateLimitConfig::from_env();
        api.webhooks = match tgcrm_webhooks::WebhookConfig::from_env() {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "ignoring malformed webhook settings; using defaults");
                tgcrm_webhooks::WebhookConfig::default()
            }
        };
        if let Some(secs) = std::env::var("CRM_TOKEN_ROTATION_GRACE_SECONDS")
            .ok()
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|s| *s >= 0)
        {
            api.rotation_grace = chrono::Duration::seconds(secs);
        }
        if let Some(secs) = std::env::var("CRM_REQUEST_TIMEOUT_SECONDS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|s| *s > 0)
        {
            api.request_timeout = std::time::Duration::from_secs(secs);
        }
        let max_connections = std::env::var("CRM_DATABASE_MAX_CONNECTIONS")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|n| *n >= 2)
            .unwrap_or(tgcrm_store::db::DEFAULT_MAX_CONNECTIONS);
        Self {
            database_url: SecretString::from(database_url),
            bind,
            max_connections,
            api,
        }
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }

    /// The database kind and location with any password removed, for logs.
    pub fn database_display(&self) -> String {
        let url = self.database_url();
        match url.split_once('@') {
            Some((scheme_user, rest)) => {
                let scheme = scheme_user.split("://").next().unwrap_or("db");
                format!("{scheme}://…@{rest}")
            }
            None => url.to_owned(),
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database", &self.database_display())
            .field("bind", &self.bind)
            .finish()
    }
}
