//! Settings from the environment. Secrets (database passwords) never print.

use secrecy::{ExposeSecret, SecretString};

/// Where the data lives and where to listen.
#[derive(Clone)]
pub struct Settings {
    /// `postgres://…` or `sqlite:…`; default `sqlite:./crm.db`.
    pub database_url: SecretString,
    /// `CRM_BIND`, default `127.0.0.1:8080`.
    pub bind: String,
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
        Self {
            database_url: SecretString::from(database_url),
            bind,
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
