//! Walking the log and the chain side by side.

use std::collections::HashMap;

use serde::Serialize;
use tgcrm_store::reader::{EventFilter, read_after};
use tgcrm_store::{Db, Position, args};

use super::{ChainHead, GENESIS, event_hash};

/// Where and how the chain first disagrees with the log.
#[derive(Debug, Clone, Serialize)]
pub struct Break {
    pub workspace_id: String,
    pub position: String,
    pub event_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub events_checked: u64,
    /// Events not yet chained (the projector is behind); not a break.
    pub events_pending: u64,
    pub first_break: Option<Break>,
}

/// Recompute every workspace's chain from the log and compare it with the
/// stored one. Stops at the first break.
pub async fn verify(db: &Db, mut progress: impl FnMut(u64)) -> anyhow::Result<VerifyReport> {
    let mut heads: HashMap<String, (i64, String)> = HashMap::new();
    let mut checked = 0u64;
    let mut pending = 0u64;
    let mut position = Position::START;
    loop {
        let batch = read_after(db, position, 2_000, &EventFilter::default()).await?;
        let Some(last) = batch.last() else { break };
        position = last.position;
        let ids: Vec<String> = batch.iter().map(|e| e.event_id.clone()).collect();
        let links = links_for(db, &ids).await?;
        for e in &batch {
            let (index, prev) = heads
                .get(&e.workspace_id)
                .cloned()
                .unwrap_or_else(|| (0, GENESIS.to_owned()));
            let Some(link) = links.get(&e.event_id) else {
                pending += 1;
                continue;
            };
            let broken = |reason: String| Break {
                workspace_id: e.workspace_id.clone(),
                position: e.position.token(),
                event_id: e.event_id.clone(),
                reason,
            };
            if pending > 0 {
                return Ok(report(
                    checked,
                    pending,
                    Some(broken(
                        "a chained event follows unchained ones: the chain skips an event".into(),
                    )),
                ));
            }
            if link.workspace_id != e.workspace_id || link.chain_index != index + 1 {
                return Ok(report(
                    checked,
                    pending,
                    Some(broken(format!(
                        "chain link out of order (index {}, expected {})",
                        link.chain_index,
                        index + 1
                    ))),
                ));
            }
            if link.prev_hash != prev {
                return Ok(report(
                    checked,
                    pending,
                    Some(broken(
                        "chain link does not follow the previous link".into(),
                    )),
                ));
            }
            let expected = event_hash(&prev, e)?;
            if link.hash != expected {
                return Ok(report(checked, pending, Some(broken("event content does not match its hash: it was altered after it was written".into()))));
            }
            heads.insert(e.workspace_id.clone(), (index + 1, expected));
            checked += 1;
            progress(checked);
        }
    }
    // Links whose events are gone (deleted rows).
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let links: Count = db
        .fetch_one("SELECT COUNT(*) AS n FROM audit_chain", args![])
        .await?;
    if u64::try_from(links.n).unwrap_or(0) > checked {
        return Ok(report(
            checked,
            pending,
            Some(Break {
                workspace_id: String::new(),
                position: position.token(),
                event_id: String::new(),
                reason: format!(
                    "the chain has {} links but only {checked} events match: events were removed",
                    links.n
                ),
            }),
        ));
    }
    Ok(report(checked, pending, None))
}

fn report(checked: u64, pending: u64, first_break: Option<Break>) -> VerifyReport {
    VerifyReport {
        events_checked: checked,
        events_pending: pending,
        first_break,
    }
}

async fn links_for(db: &Db, ids: &[String]) -> anyhow::Result<HashMap<String, ChainHead>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT workspace_id, chain_index, transaction_id, position, event_id, prev_hash, hash FROM audit_chain \
             WHERE event_id IN ({})",
            placeholders.join(", ")
        );
        let args = chunk
            .iter()
            .map(|s| tgcrm_store::Arg::from(s.clone()))
            .collect();
        let rows: Vec<ChainHead> = db.fetch_all(&sql, args).await?;
        for r in rows {
            out.insert(r.event_id.clone(), r);
        }
    }
    Ok(out)
}
