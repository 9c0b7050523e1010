//! Handling a ticket command: load, decide, append; on a version conflict
//! (another writer appended first) reload and decide again, a few times, so a
//! client sees 409 only when the decision itself changes.

use tgcrm_domain::ticket::{AGGREGATE_TYPE, EVENT_VERSION, Ticket, TicketCommand, TicketError, TicketEvent, decide};
use tgcrm_domain::{Clock, TicketId, WorkspaceId};

use crate::append::{AppendError, NewEvent, StreamWrite, append};
use crate::event::Metadata;
use crate::load::{LoadError, load_ticket};
use crate::notify::EventStore;
use crate::position::Position;
use crate::reader::stream_head;

/// Snapshot every this many events, so loading a long ticket stays cheap.
pub const SNAPSHOT_EVERY: i64 = 100;
/// Reload-and-decide attempts on version conflicts before giving up.
pub const MAX_ATTEMPTS: usize = 8;

/// Who is asking, from where, and (optionally) which version they saw.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub workspace_id: WorkspaceId,
    pub metadata: Metadata,
    /// The client's `If-Match`: refuse unless the ticket is still at this version.
    pub expected_version: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct CommandOutcome {
    pub ticket: Ticket,
    pub version: i64,
    /// The new events (empty when the command repeated something already done).
    pub events: Vec<TicketEvent>,
    /// The position of the stream's newest event: pass it as `consistent_with`.
    pub position: Option<Position>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Refused(#[from] TicketError),
    /// The ticket does not exist in the caller's workspace.
    #[error("ticket not found")]
    NotFound,
    #[error("the ticket is at version {current}, not {expected}")]
    VersionMismatch { expected: i64, current: i64 },
    #[error("the ticket kept changing under this command; try again")]
    Contended,
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("appending to the event log: {0}")]
    Append(#[source] crate::db::SqlError),
    #[error("serializing an event: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// Decide `command` on ticket `id` and store what it decided.
#[tracing::instrument(skip_all, fields(ticket_id = %id))]
pub async fn execute(
    store: &EventStore,
    clock: &dyn Clock,
    id: &TicketId,
    ctx: &CommandContext,
    command: TicketCommand,
) -> Result<CommandOutcome, CommandError> {
    let db = store.db();
    let aggregate_id = id.to_string();
    for attempt in 1..=MAX_ATTEMPTS {
        let loaded = load_ticket(db, id).await?;
        let mut ticket = loaded.state;
        if let Some(ws) = &ticket.workspace_id
            && ws != &ctx.workspace_id
        {
            return Err(CommandError::NotFound);
        }
        if let Some(expected) = ctx.expected_version
            && expected != loaded.version
        {
            if !ticket.exists() {
                return Err(CommandError::NotFound);
            }
            return Err(CommandError::VersionMismatch {
                expected,
                current: loaded.version,
            });
        }
        let now = clock.now();
        let events = match decide(&ticket, command.clone(), now) {
            Ok(events) => events,
            Err(TicketError::NotFound) => return Err(CommandError::NotFound),
            Err(e) => return Err(e.into()),
        };
        if events.is_empty() {
            let position = stream_head(db, AGGREGATE_TYPE, &aggregate_id)
                .await
                .map_err(CommandError::Append)?;
            return Ok(CommandOutcome {
                ticket,
                version: loaded.version,
                events,
                position,
            });
        }
        let mut new_events = Vec::with_capacity(events.len());
        for e in &events {
            new_events.push(NewEvent {
                event_id: uuid::Uuid::now_v7(),
                event_type: e.type_name().to_owned(),
                event_version: EVENT_VERSION.to_owned(),
                payload: serde_json::to_value(e)?,
                occurred_at: e.at(),
            });
            ticket.apply(e.clone());
        }
        let version = loaded.version + events.len() as i64;
        let snapshot = if version / SNAPSHOT_EVERY > loaded.version / SNAPSHOT_EVERY {
            Some((version, serde_json::to_value(&ticket)?))
        } else {
            None
        };
        let workspace = ctx.workspace_id.to_string();
        let write = StreamWrite {
            aggregate_type: AGGREGATE_TYPE,
            aggregate_id: &aggregate_id,
            workspace_id: &workspace,
            expected_sequence: loaded.version,
            metadata: &ctx.metadata,
            snapshot,
        };
        match append(db, &write, &new_events).await {
            Ok(positions) => {
                store.notify_appended();
                return Ok(CommandOutcome {
                    ticket,
                    version,
                    events,
                    position: positions.last().copied(),
                });
            }
            Err(AppendError::Conflict) => {
                tracing::debug!(attempt, "version conflict; deciding again");
                continue;
            }
            Err(AppendError::Database(e)) => return Err(CommandError::Append(e)),
        }
    }
    Err(CommandError::Contended)
}
