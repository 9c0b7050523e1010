//! DDL written once for both databases: `{ts}`, `{bool}`, `{json}`, `{int}` are
//! replaced by each backend's type.

use tgcrm_store::Backend;

pub fn ddl(backend: Backend, template: &str) -> String {
    let (ts, boolean, json, int) = match backend {
        Backend::Postgres => ("TIMESTAMPTZ", "BOOLEAN", "JSONB", "BIGINT"),
        Backend::Sqlite => ("TEXT", "INTEGER", "TEXT", "INTEGER"),
    };
    template
        .replace("{ts}", ts)
        .replace("{bool}", boolean)
        .replace("{json}", json)
        .replace("{int}", int)
}
