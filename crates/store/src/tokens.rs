//! API tokens. The secret is shown once, when created; only its SHA-256 is
//! stored (secrets are 256-bit random, so a fast hash is enough).

use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

use crate::args;
use crate::db::{Db, SqlError};

/// What a token may do. Each endpoint states the roles it admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything in the workspace.
    Admin,
    /// Work tickets: reply, note, change status, assign.
    Agent,
    /// The Telegram bot or another intake channel: open tickets, post customer messages.
    Bot,
    /// Read tickets, metrics and the event feed.
    Analyst,
    /// Read the event log and its metadata.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [Self::Admin, Self::Agent, Self::Bot, Self::Analyst, Self::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Agent => "agent",
            Self::Bot => "bot",
            Self::Analyst => "analyst",
            Self::Auditor => "auditor",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role '{s}'; expected one of admin, agent, bot, analyst, auditor"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub workspace_id: String,
    pub role: Role,
    pub agent_id: Option<String>,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    workspace_id: String,
    role: String,
    agent_id: Option<String>,
    label: Option<String>,
    created_at: DateTime<Utc>,
}

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Create a token; returns its record and the secret (shown once).
pub async fn create(
    db: &Db,
    workspace_id: &str,
    role: Role,
    agent_id: Option<&str>,
    label: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(TokenRecord, Secret), SqlError> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = format!("crm_{}", hex::encode(bytes));
    let id = format!("tok_{}", uuid::Uuid::now_v7().simple());
    db.execute(
        "INSERT INTO api_tokens (id, workspace_id, role, agent_id, secret_hash, label, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![id.as_str(), workspace_id, role.as_str(), agent_id, hash(&secret), label, now],
    )
    .await?;
    Ok((
        TokenRecord {
            id,
            workspace_id: workspace_id.to_owned(),
            role,
            agent_id: agent_id.map(str::to_owned),
            label: label.map(str::to_owned),
            created_at: now,
        },
        Secret(secret),
    ))
}

/// The live token with this secret, if any.
pub async fn authenticate(db: &Db, secret: &str) -> Result<Option<TokenRecord>, SqlError> {
    let row: Option<Row> = db
        .fetch_optional(
            "SELECT id, workspace_id, role, agent_id, label, created_at FROM api_tokens \
             WHERE secret_hash = $1 AND revoked_at IS NULL",
            args![hash(secret)],
        )
        .await?;
    Ok(row.and_then(|r| {
        Some(TokenRecord {
            role: r.role.parse().ok()?,
            id: r.id,
            workspace_id: r.workspace_id,
            agent_id: r.agent_id,
            label: r.label,
            created_at: r.created_at,
        })
    }))
}
