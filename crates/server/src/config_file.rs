//! The optional TOML configuration file (`--config FILE` or `CRM_CONFIG`).
//! Every key maps to one environment variable (see `docs/configuration.md`);
//! a variable that is already set wins over the file, so the layering is
//! defaults < file < environment.
//!
//! ```toml
//! database_url = "postgres://crm@db/crm"   # DATABASE_URL
//! bind = "0.0.0.0:8080"                    # CRM_BIND
//! token_env = "live"                       # CRM_TOKEN_ENV
//! [rate_limit]                             # CRM_RATE_LIMIT_<ROLE>
//! agent = 600
//! [telegram]                               # TELEGRAM_<KEY>
//! bot_token = "123:abc"
//! support_chat_id = -1001234567890
//! [webhook]                                # CRM_WEBHOOK_<KEY>
//! retry_schedule = "5s,5m,30m"
//! [sla]                                    # CRM_SLA_<KEY>
//! tick_ms = 250
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

/// The environment variable a file key stands for.
fn variable(section: Option<&str>, key: &str) -> String {
    let key = key.to_ascii_uppercase();
    match section {
        None if key == "DATABASE_URL" => key,
        None if key == "RUST_LOG" => key,
        None => format!("CRM_{key}"),
        Some("telegram") => format!("TELEGRAM_{key}"),
        Some(other) => format!("CRM_{}_{key}", other.to_ascii_uppercase()),
    }
}

fn scalar(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(a) => Some(a.iter().filter_map(scalar).collect::<Vec<_>>().join(",")),
        _ => None,
    }
}

/// The file's settings as environment variable names and values.
pub fn read(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("parsing {}", path.display()))?;
    let mut out = BTreeMap::new();
    for (k, v) in &table {
        match v {
            toml::Value::Table(section) => {
                for (sk, sv) in section {
                    let value =
                        scalar(sv).with_context(|| format!("{k}.{sk} must be a plain value"))?;
                    out.insert(variable(Some(k), sk), value);
                }
            }
            other => {
                let value = scalar(other).with_context(|| format!("{k} must be a plain value"))?;
                out.insert(variable(None, k), value);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_keys_map_to_their_environment_variables() {
        let dir =
            std::env::temp_dir().join(format!("crm-config-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("crm.toml");
        std::fs::write(
            &path,
            "database_url = \"sqlite:x.db\"\nbind = \"0.0.0.0:1\"\n[telegram]\nsupport_chat_id = -100\n[rate_limit]\nagent = 5\n",
        )
        .unwrap();
        let vars = read(&path).unwrap();
        assert_eq!(vars["DATABASE_URL"], "sqlite:x.db");
        assert_eq!(vars["CRM_BIND"], "0.0.0.0:1");
        assert_eq!(vars["TELEGRAM_SUPPORT_CHAT_ID"], "-100");
        assert_eq!(vars["CRM_RATE_LIMIT_AGENT"], "5");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
