//! API tokens. The secret is shown once, when issued or rotated; only its
//! SHA-256 is stored (secrets are 256-bit random, so a fast hash is enough).
//! Secrets name their deployment's environment (`crm_live_…`, `crm_test_…`)
//! so a test token used against production is refused with a clear reason.
//! Every issue, rotation and revocation is also an event in the log
//! (aggregate `api_token`, no secrets), written in the same transaction as
//! the table change, so auditors see the lifecycle.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

use crate::append::{AppendError, NewEvent, StreamWrite, append_in};
use crate::args;
use crate::db::{Db, SqlError, Tx};
use crate::event::Metadata;

pub const AGGREGATE_TYPE: &str = "api_token";

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
    pub const ALL: [Role; 5] = [
        Self::Admin,
        Self::Agent,
        Self::Bot,
        Self::Analyst,
        Self::Auditor,
    ];

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
            .ok_or_else(|| {
                format!("unknown role '{s}'; expected one of admin, agent, bot, analyst, auditor")
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The environment a deployment's tokens belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenEnv {
    #[default]
    Live,
    Test,
}

impl TokenEnv {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Live => "crm_live_",
            Self::Test => "crm_test_",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
        }
    }
}

impl FromStr for TokenEnv {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "live" => Ok(Self::Live),
            "test" => Ok(Self::Test),
            other => Err(format!(
                "unknown token environment '{other}'; expected live or test"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenRecord {
    pub id: String,
    pub workspace_id: String,
    pub role: Role,
    pub agent_id: Option<String>,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still works.
    pub previous_valid_until: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    workspace_id: String,
    role: String,
    agent_id: Option<String>,
    label: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    rotated_at: Option<DateTime<Utc>>,
    previous_valid_until: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl Row {
    fn record(self) -> Option<TokenRecord> {
        Some(TokenRecord {
            role: self.role.parse().ok()?,
            id: self.id,
            workspace_id: self.workspace_id,
            agent_id: self.agent_id,
            label: self.label,
            created_at: self.created_at,
            expires_at: self.expires_at,
            rotated_at: self.rotated_at,
            previous_valid_until: self.previous_valid_until,
            revoked_at: self.revoked_at,
        })
    }
}

const COLUMNS: &str = "id, workspace_id, role, agent_id, label, created_at, expires_at, rotated_at, previous_valid_until, revoked_at";

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

fn new_secret(env: TokenEnv) -> Secret {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    Secret(format!("{}{}", env.prefix(), hex::encode(bytes)))
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no such token")]
    NotFound,
    #[error("the token is revoked")]
    Revoked,
    #[error("the token changed concurrently; try again")]
    Conflict,
    #[error(transparent)]
    Database(#[from] SqlError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl From<AppendError> for TokenError {
    fn from(e: AppendError) -> Self {
        match e {
            // A token's write names no data subject: it cannot find one erased.
            AppendError::Conflict | AppendError::SubjectErased => Self::Conflict,
            AppendError::Database(d) => Self::Database(d),
        }
    }
}

/// What to issue.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub workspace_id: &'a str,
    pub role: Role,
    pub agent_id: Option<&'a str>,
    pub label: Option<&'a str>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Seq {
    seq: i64,
}

async fn record_event(
    tx: &mut Tx,
    token_id: &str,
    workspace_id: &str,
    meta: &Metadata,
    event_type: &str,
    payload: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), TokenError> {
    let current: Seq = tx
        .fetch_one(
            "SELECT COALESCE(MAX(sequence), 0) AS seq FROM events WHERE aggregate_type = $1 AND aggregate_id = $2",
            args![AGGREGATE_TYPE, token_id],
        )
        .await?;
    let write = StreamWrite {
        aggregate_type: AGGREGATE_TYPE,
        aggregate_id: token_id,
        workspace_id,
        expected_sequence: current.seq,
        metadata: meta,
        snapshot: None,
        live_subject: None,
    };
    let event = NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: event_type.to_owned(),
        event_version: "1.0".to_owned(),
        payload: serde_json::json!({ event_type: payload }),
        occurred_at: at,
    };
    append_in(tx, &write, &[event]).await?;
    Ok(())
}

/// Issue a token; returns its record and the secret (shown once).
pub async fn issue(
    db: &Db,
    env: TokenEnv,
    new: &NewToken<'_>,
    meta: &Metadata,
    now: DateTime<Utc>,
) -> Result<(TokenRecord, Secret), TokenError> {
    let secret = new_secret(env);
    let id = format!("tok_{}", uuid::Uuid::now_v7().simple());
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO api_tokens (id, workspace_id, role, agent_id, secret_hash, label, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![id.as_str(), new.workspace_id, new.role.as_str(), new.agent_id, hash(secret.expose()), new.label, now, new.expires_at],
    )
    .await?;
    record_event(
        &mut tx,
        &id,
        new.workspace_id,
        meta,
        "TokenIssued",
        serde_json::json!({
            "token_id": id, "role": new.role.as_str(), "agent_id": new.agent_id, "label": new.label,
            "expires_at": new.expires_at, "environment": env.as_str(), "at": now,
        }),
        now,
    )
    .await?;
    tx.commit().await?;
    let record = TokenRecord {
        id,
        workspace_id: new.workspace_id.to_owned(),
        role: new.role,
        agent_id: new.agent_id.map(str::to_owned),
        label: new.label.map(str::to_owned),
        created_at: now,
        expires_at: new.expires_at,
        rotated_at: None,
        previous_valid_until: None,
        revoked_at: None,
    };
    Ok((record, secret))
}

/// Issue a token for the CLI (actor `cli`), without expiry.
pub async fn create(
    db: &Db,
    workspace_id: &str,
    role: Role,
    agent_id: Option<&str>,
    label: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(TokenRecord, Secret), TokenError> {
    let env = std::env::var("CRM_TOKEN_ENV")
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or_default();
    issue(
        db,
        env,
        &NewToken {
            workspace_id,
            role,
            agent_id,
            label,
            expires_at: None,
        },
        &Metadata::new("cli", crate::event::Source::Cli),
        now,
    )
    .await
}

/// Why a presented secret was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// A token of another environment (e.g. a test token in production).
    WrongEnvironment {
        token_env: &'static str,
        deployment_env: &'static str,
    },
    Unknown,
    Expired,
}

/// The live token with this secret, or why not.
pub async fn authenticate(
    db: &Db,
    env: TokenEnv,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Result<TokenRecord, Rejection>, SqlError> {
    if !secret.starts_with(env.prefix()) {
        for other in [TokenEnv::Live, TokenEnv::Test] {
            if other != env && secret.starts_with(other.prefix()) {
                return Ok(Err(Rejection::WrongEnvironment {
                    token_env: other.as_str(),
                    deployment_env: env.as_str(),
                }));
            }
        }
        return Ok(Err(Rejection::Unknown));
    }
    let h = hash(secret);
    let sql = format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE revoked_at IS NULL AND \
         (secret_hash = $1 OR (previous_secret_hash = $1 AND previous_valid_until > $2))"
    );
    let row: Option<Row> = db.fetch_optional(&sql, args![h, now]).await?;
    let Some(record) = row.and_then(Row::record) else {
        return Ok(Err(Rejection::Unknown));
    };
    if record.expires_at.is_some_and(|e| e <= now) {
        return Ok(Err(Rejection::Expired));
    }
    Ok(Ok(record))
}

pub async fn list(db: &Db, workspace_id: &str) -> Result<Vec<TokenRecord>, SqlError> {
    let sql =
        format!("SELECT {COLUMNS} FROM api_tokens WHERE workspace_id = $1 ORDER BY created_at, id");
    let rows: Vec<Row> = db.fetch_all(&sql, args![workspace_id]).await?;
    Ok(rows.into_iter().filter_map(Row::record).collect())
}

pub async fn get(db: &Db, workspace_id: &str, id: &str) -> Result<Option<TokenRecord>, SqlError> {
    let sql = format!("SELECT {COLUMNS} FROM api_tokens WHERE workspace_id = $1 AND id = $2");
    let row: Option<Row> = db.fetch_optional(&sql, args![workspace_id, id]).await?;
    Ok(row.and_then(Row::record))
}

/// A new secret; the old one keeps working for `grace`, then stops.
pub async fn rotate(
    db: &Db,
    env: TokenEnv,
    workspace_id: &str,
    id: &str,
    grace: Duration,
    meta: &Metadata,
    now: DateTime<Utc>,
) -> Result<(TokenRecord, Secret), TokenError> {
    let current = get(db, workspace_id, id)
        .await?
        .ok_or(TokenError::NotFound)?;
    if current.revoked_at.is_some() {
        return Err(TokenError::Revoked);
    }
    let secret = new_secret(env);
    let until = now + grace;
    let mut tx = db.begin().await?;
    tx.execute(
        "UPDATE api_tokens SET previous_secret_hash = secret_hash, previous_valid_until = $3, \
         secret_hash = $4, rotated_at = $5 WHERE workspace_id = $1 AND id = $2",
        args![workspace_id, id, until, hash(secret.expose()), now],
    )
    .await?;
    record_event(
        &mut tx,
        id,
        workspace_id,
        meta,
        "TokenRotated",
        serde_json::json!({ "token_id": id, "previous_valid_until": until, "at": now }),
        now,
    )
    .await?;
    tx.commit().await?;
    let record = get(db, workspace_id, id)
        .await?
        .ok_or(TokenError::NotFound)?;
    Ok((record, secret))
}

/// Revoke now: both the current and any previous secret stop working.
pub async fn revoke(
    db: &Db,
    workspace_id: &str,
    id: &str,
    meta: &Metadata,
    now: DateTime<Utc>,
) -> Result<TokenRecord, TokenError> {
    let current = get(db, workspace_id, id)
        .await?
        .ok_or(TokenError::NotFound)?;
    if current.revoked_at.is_some() {
        return Ok(current);
    }
    let mut tx = db.begin().await?;
    tx.execute(
        "UPDATE api_tokens SET revoked_at = $3 WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL",
        args![workspace_id, id, now],
    )
    .await?;
    record_event(
        &mut tx,
        id,
        workspace_id,
        meta,
        "TokenRevoked",
        serde_json::json!({ "token_id": id, "at": now }),
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, workspace_id, id).await?.ok_or(TokenError::NotFound)
}
