//! SLA and escalation policies as they stand now (deleted ones removed): what
//! the SLA applier and the escalation ticker choose from, and what the
//! policy lists show.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tgcrm_domain::escalation::{
    EscalationPolicy, EscalationPolicyDefinition, EscalationPolicyEvent,
};
use tgcrm_domain::sla::policy::{SlaPolicy, SlaPolicyDefinition, SlaPolicyEvent};
use tgcrm_store::{Arg, Backend, Db, SqlError, StoredEvent, Tx, args};

use crate::projector::Projector;
use crate::schema::ddl;

pub const NAME: &str = "service_policies";

pub struct PoliciesProjector;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS rm_sla_policies (
        policy_id    TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL,
        name         TEXT NOT NULL,
        rank         {int} NOT NULL,
        enabled      {bool} NOT NULL,
        definition   {json} NOT NULL,
        created_at   {ts} NOT NULL,
        updated_at   {ts} NOT NULL,
        version      {int} NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS rm_sla_policies_by_rank ON rm_sla_policies (workspace_id, rank, created_at, policy_id)",
    "CREATE TABLE IF NOT EXISTS rm_escalation_policies (
        policy_id    TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL,
        name         TEXT NOT NULL,
        enabled      {bool} NOT NULL,
        definition   {json} NOT NULL,
        created_at   {ts} NOT NULL,
        updated_at   {ts} NOT NULL,
        version      {int} NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS rm_escalation_policies_by_ws ON rm_escalation_policies (workspace_id, created_at, policy_id)",
];

#[async_trait]
impl Projector for PoliciesProjector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        1
    }

    fn reads(&self) -> &'static [&'static str] {
        &[
            tgcrm_domain::sla::policy::AGGREGATE_TYPE,
            tgcrm_domain::escalation::AGGREGATE_TYPE,
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_sla_policies", "rm_escalation_policies"]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        SCHEMA.iter().map(|s| ddl(backend, s)).collect()
    }

    async fn apply(&self, tx: &mut Tx, stored: &StoredEvent) -> anyhow::Result<()> {
        let id = stored.aggregate_id.as_str();
        let seq = stored.sequence;
        if let Some(event) = stored.decode::<SlaPolicy>() {
            match event? {
                SlaPolicyEvent::Created {
                    workspace_id,
                    definition,
                    at,
                    ..
                } => {
                    tx.execute(
                        "INSERT INTO rm_sla_policies (policy_id, workspace_id, name, rank, enabled, definition, \
                         created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) \
                         ON CONFLICT (policy_id) DO NOTHING",
                        args![
                            id,
                            workspace_id.as_str(),
                            definition.name.as_str(),
                            definition.rank,
                            definition.enabled,
                            serde_json::to_value(&definition)?,
                            at,
                            seq
                        ],
                    )
                    .await?;
                }
                SlaPolicyEvent::Updated { definition, at } => {
                    tx.execute(
                        "UPDATE rm_sla_policies SET name = $3, rank = $4, enabled = $5, definition = $6, \
                         updated_at = $7, version = $2 WHERE policy_id = $1 AND version < $2",
                        args![
                            id,
                            seq,
                            definition.name.as_str(),
                            definition.rank,
                            definition.enabled,
                            serde_json::to_value(&definition)?,
                            at
                        ],
                    )
                    .await?;
                }
                SlaPolicyEvent::Deleted { .. } => {
                    tx.execute(
                        "DELETE FROM rm_sla_policies WHERE policy_id = $1",
                        args![id],
                    )
                    .await?;
                }
            }
            return Ok(());
        }
        if let Some(event) = stored.decode::<EscalationPolicy>() {
            match event? {
                EscalationPolicyEvent::Created {
                    workspace_id,
                    definition,
                    at,
                    ..
                } => {
                    tx.execute(
                        "INSERT INTO rm_escalation_policies (policy_id, workspace_id, name, enabled, definition, \
                         created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $6, $7) \
                         ON CONFLICT (policy_id) DO NOTHING",
                        args![
                            id,
                            workspace_id.as_str(),
                            definition.name.as_str(),
                            definition.enabled,
                            serde_json::to_value(&definition)?,
                            at,
                            seq
                        ],
                    )
                    .await?;
                }
                EscalationPolicyEvent::Updated { definition, at } => {
                    tx.execute(
                        "UPDATE rm_escalation_policies SET name = $3, enabled = $4, definition = $5, \
                         updated_at = $6, version = $2 WHERE policy_id = $1 AND version < $2",
                        args![
                            id,
                            seq,
                            definition.name.as_str(),
                            definition.enabled,
                            serde_json::to_value(&definition)?,
                            at
                        ],
                    )
                    .await?;
                }
                EscalationPolicyEvent::Deleted { .. } => {
                    tx.execute(
                        "DELETE FROM rm_escalation_policies WHERE policy_id = $1",
                        args![id],
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }
}

/// A policy row: its id, version and whole definition.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PolicyRow {
    pub policy_id: String,
    pub workspace_id: String,
    pub definition: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// A page of policies.
#[derive(Debug, Clone)]
pub struct PolicyPage {
    pub items: Vec<PolicyRow>,
    pub next_cursor: Option<String>,
}

/// The workspace's SLA policies in the order they are tried (rank, then age).
pub async fn sla_policies(db: &Db, workspace_id: &str) -> Result<Vec<PolicyRow>, SqlError> {
    db.fetch_all(
        "SELECT policy_id, workspace_id, definition, created_at, updated_at, version FROM rm_sla_policies \
         WHERE workspace_id = $1 ORDER BY rank, created_at, policy_id",
        args![workspace_id],
    )
    .await
}

/// The workspace's SLA policies, decoded, in the order they are tried.
pub async fn sla_candidates(
    db: &Db,
    workspace_id: &str,
) -> Result<Vec<(tgcrm_domain::SlaPolicyId, i64, SlaPolicyDefinition)>, SqlError> {
    let rows = sla_policies(db, workspace_id).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let id = r.policy_id.parse().ok()?;
            let def = serde_json::from_value(r.definition).ok()?;
            Some((id, r.version, def))
        })
        .collect())
}

/// A page of SLA policies by rank; the cursor is the offset-free key (rank, id).
pub async fn list_sla_policies(
    db: &Db,
    workspace_id: &str,
    limit: i64,
    after: Option<(i64, String)>,
) -> Result<PolicyPage, SqlError> {
    let mut args: Vec<Arg> = vec![workspace_id.into()];
    let mut sql = String::from(
        "SELECT policy_id, workspace_id, definition, created_at, updated_at, version FROM rm_sla_policies \
         WHERE workspace_id = $1",
    );
    if let Some((rank, id)) = after {
        args.push(rank.into());
        args.push(id.into());
        sql.push_str(" AND (rank > $2 OR (rank = $2 AND policy_id > $3))");
    }
    args.push((limit + 1).into());
    sql.push_str(&format!(" ORDER BY rank, policy_id LIMIT ${}", args.len()));
    let mut items: Vec<PolicyRow> = db.fetch_all(&sql, args).await?;
    let next_cursor = page_end(&mut items, limit, |r| {
        let rank = r
            .definition
            .get("rank")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        crate::writing_cursor::encode_key_id(&rank.to_string(), &r.policy_id)
    });
    Ok(PolicyPage { items, next_cursor })
}

/// The workspace's enabled escalation policies, decoded.
pub async fn escalation_policies(
    db: &Db,
    workspace_id: Option<&str>,
) -> Result<
    Vec<(
        String,
        tgcrm_domain::EscalationPolicyId,
        i64,
        EscalationPolicyDefinition,
    )>,
    SqlError,
> {
    let rows: Vec<PolicyRow> = match workspace_id {
        Some(ws) => {
            db.fetch_all(
                "SELECT policy_id, workspace_id, definition, created_at, updated_at, version \
                 FROM rm_escalation_policies WHERE workspace_id = $1 AND enabled = $2 \
                 ORDER BY created_at, policy_id",
                args![ws, true],
            )
            .await?
        }
        None => {
            db.fetch_all(
                "SELECT policy_id, workspace_id, definition, created_at, updated_at, version \
                 FROM rm_escalation_policies WHERE enabled = $1 ORDER BY workspace_id, created_at, policy_id",
                args![true],
            )
            .await?
        }
    };
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let id = r.policy_id.parse().ok()?;
            let def = serde_json::from_value(r.definition).ok()?;
            Some((r.workspace_id, id, r.version, def))
        })
        .collect())
}

/// A page of escalation policies, oldest first.
pub async fn list_escalation_policies(
    db: &Db,
    workspace_id: &str,
    limit: i64,
    after: Option<(DateTime<Utc>, String)>,
) -> Result<PolicyPage, SqlError> {
    let mut args: Vec<Arg> = vec![workspace_id.into()];
    let mut sql = String::from(
        "SELECT policy_id, workspace_id, definition, created_at, updated_at, version \
         FROM rm_escalation_policies WHERE workspace_id = $1",
    );
    if let Some((at, id)) = after {
        args.push(at.into());
        args.push(id.into());
        sql.push_str(" AND (created_at > $2 OR (created_at = $2 AND policy_id > $3))");
    }
    args.push((limit + 1).into());
    sql.push_str(&format!(
        " ORDER BY created_at, policy_id LIMIT ${}",
        args.len()
    ));
    let mut items: Vec<PolicyRow> = db.fetch_all(&sql, args).await?;
    let next_cursor = page_end(&mut items, limit, |r| {
        crate::cursor::encode_time_id(r.created_at, &r.policy_id)
    });
    Ok(PolicyPage { items, next_cursor })
}

fn page_end<T>(items: &mut Vec<T>, limit: i64, cursor: impl Fn(&T) -> String) -> Option<String> {
    if items.len() as i64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or(0));
        items.last().map(cursor)
    } else {
        None
    }
}
