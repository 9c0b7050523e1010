//! Handling a command on any aggregate: load, decide, append; on a version
//! conflict (another writer appended first) reload and decide again, a few
//! times, so a client sees 409 only when the decision itself changes.

use tgcrm_domain::{Clock, Decider, DomainFact, Refusal, WorkspaceId};

use crate::append::{AppendError, NewEvent, StreamWrite, append, append_in};
use crate::event::Metadata;
use crate::load::{LoadError, Loaded, load_keeping_keys};
use crate::notify::EventStore;
use crate::position::Position;
use crate::reader::stream_head;

/// Snapshot every this many events, so loading a long aggregate stays cheap.
pub const SNAPSHOT_EVERY: i64 = 100;
/// Reload-and-decide attempts on version conflicts before giving up.
pub const MAX_ATTEMPTS: usize = 8;

/// Who is asking, from where, and (optionally) which version they saw.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub workspace_id: WorkspaceId,
    pub metadata: Metadata,
    /// The client's `If-Match`: refuse unless the aggregate is still at this version.
    pub expected_version: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct CommandOutcome<A: Decider> {
    pub state: A,
    pub version: i64,
    /// The new events (empty when the command repeated something already done).
    pub events: Vec<A::Fact>,
    /// The position of the stream's newest event: pass it as `consistent_with`.
    pub position: Option<Position>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: Refusal> {
    #[error(transparent)]
    Refused(E),
    /// The aggregate does not exist in the caller's workspace.
    #[error("not found")]
    NotFound,
    #[error("the resource is at version {current}, not {expected}")]
    VersionMismatch { expected: i64, current: i64 },
    #[error("the resource kept changing under this command; try again")]
    Contended,
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("appending to the event log: {0}")]
    Append(#[source] crate::db::SqlError),
    #[error("serializing an event: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// Decide `command` on aggregate `aggregate_id` of type `A` and store what it decided.
pub async fn execute<A: Decider>(
    store: &EventStore,
    clock: &dyn Clock,
    aggregate_id: &str,
    ctx: &CommandContext,
    command: A::Cmd,
) -> Result<CommandOutcome<A>, CommandError<A::Refused>> {
    execute_with::<A>(store, clock, aggregate_id, ctx, command, &[]).await
}

/// A statement that must commit together with a command's events: state that
/// may not live in the log (a signing secret) or that must change atomically
/// with a fact about it (a delivery marked dead with its `WebhookExhausted`).
#[derive(Debug, Clone)]
pub struct SideWrite {
    pub sql: String,
    pub args: Vec<crate::db::Arg>,
}

/// [`execute`], plus `side_writes` run in the append's transaction. They run
/// (in a transaction of their own) also when the command decides nothing, and
/// not at all when it is refused.
#[tracing::instrument(skip_all, fields(aggregate = A::TYPE, id = %aggregate_id))]
pub async fn execute_with<A: Decider>(
    store: &EventStore,
    clock: &dyn Clock,
    aggregate_id: &str,
    ctx: &CommandContext,
    command: A::Cmd,
    side_writes: &[SideWrite],
) -> Result<CommandOutcome<A>, CommandError<A::Refused>> {
    let db = store.db();
    let cache = store.aggregates();
    let keys = store.keys();
    let _turn = store.turn(aggregate_id).await;
    // The first try may decide on the state this process last wrote; every
    // answer but a successful append is given only from a state just loaded.
    let mut use_cache = true;
    let mut attempt = 0;
    while attempt < MAX_ATTEMPTS {
        let mut ring = crate::personal::KeyRing::with_cache(keys);
        let now = clock.now();
        let cached = if use_cache {
            cache.get::<A>(aggregate_id)
        } else {
            None
        };
        let from_cache = cached.is_some();
        use_cache = false;
        // Drop the cached state, load the aggregate and decide again (not
        // counted as an attempt).
        macro_rules! reload {
            () => {{
                cache.forget::<A>(aggregate_id);
                continue;
            }};
        }
        // Answer with `$answer` from a state just loaded; from a cached one,
        // reload first.
        macro_rules! answer {
            ($answer:expr) => {{
                if from_cache {
                    reload!();
                }
                return $answer;
            }};
        }
        let loaded = match cached {
            Some(loaded) => loaded,
            None => {
                attempt += 1;
                load_keeping_keys::<A>(db, aggregate_id, &mut ring).await?
            }
        };
        let mut state = loaded.state;
        if let Some(ws) = state.workspace()
            && ws != &ctx.workspace_id
        {
            answer!(Err(CommandError::NotFound));
        }
        // A cached state holds the subject's personal fields in the clear:
        // once the key is erased, only the log's (sealed) state will do. A
        // key this process read lately counts as live here; the append
        // below checks it still is (`live_subject`).
        if from_cache
            && let Some(subject) = state.data_subject()
            && !ring
                .is_live(db, ctx.workspace_id.as_str(), &subject, now)
                .await
                .map_err(CommandError::Append)?
        {
            reload!();
        }
        if let Some(expected) = ctx.expected_version
            && expected != loaded.version
        {
            if state.workspace().is_none() {
                answer!(Err(CommandError::NotFound));
            }
            answer!(Err(CommandError::VersionMismatch {
                expected,
                current: loaded.version,
            }));
        }
        let events = match state.decide(command.clone(), now) {
            Ok(events) => events,
            Err(e) if e.is_not_found() => answer!(Err(CommandError::NotFound)),
            Err(e) => answer!(Err(CommandError::Refused(e))),
        };
        if events.is_empty() {
            if from_cache {
                reload!();
            }
            if !side_writes.is_empty() {
                let mut tx = db.begin().await.map_err(CommandError::Append)?;
                for w in side_writes {
                    tx.execute(&w.sql, w.args.clone())
                        .await
                        .map_err(CommandError::Append)?;
                }
                tx.commit().await.map_err(CommandError::Append)?;
            }
            let position = stream_head(db, A::TYPE, aggregate_id)
                .await
                .map_err(CommandError::Append)?;
            return Ok(CommandOutcome {
                state,
                version: loaded.version,
                events,
                position,
            });
        }
        let mut new_events = Vec::with_capacity(events.len());
        for e in &events {
            new_events.push(NewEvent {
                event_id: uuid::Uuid::now_v7(),
                event_type: cqrs_es::DomainEvent::event_type(e),
                event_version: cqrs_es::DomainEvent::event_version(e),
                payload: serde_json::to_value(e)?,
                occurred_at: e.at(),
            });
            state.evolve(e.clone());
        }
        let subject = state.data_subject();
        if let Some(subject) = &subject {
            // Personal fields are stored encrypted with the subject's key (crypto-shredding).
            for e in &mut new_events {
                crate::personal::protect(
                    db,
                    &mut ring,
                    ctx.workspace_id.as_str(),
                    subject,
                    &e.event_type,
                    &mut e.payload,
                    now,
                )
                .await
                .map_err(CommandError::Append)?;
            }
        }
        let version = loaded.version + events.len() as i64;
        let snapshot = if version / SNAPSHOT_EVERY > loaded.version / SNAPSHOT_EVERY {
            Some((version, serde_json::to_value(&state)?))
        } else {
            None
        };
        let workspace = ctx.workspace_id.to_string();
        let live_subject = subject
            .as_deref()
            .filter(|s| ring.holds_live(&workspace, s));
        let write = StreamWrite {
            aggregate_type: A::TYPE,
            aggregate_id,
            workspace_id: &workspace,
            expected_sequence: loaded.version,
            metadata: &ctx.metadata,
            snapshot,
            live_subject,
        };
        match append_with(db, &write, &new_events, side_writes).await {
            Ok(positions) => {
                store.notify_appended_at(positions.last().copied());
                cache.put(
                    aggregate_id,
                    Loaded {
                        state: state.clone(),
                        version,
                    },
                );
                return Ok(CommandOutcome {
                    state,
                    version,
                    events,
                    position: positions.last().copied(),
                });
            }
            Err(AppendError::SubjectErased) => {
                // Erased since this process read the key: load, and decide
                // on (and seal with) what the database says now.
                tracing::debug!("the data subject was erased meanwhile; loading");
                if let Some(s) = live_subject {
                    keys.forget(&(workspace.clone(), s.to_owned()));
                }
                reload!();
            }
            Err(AppendError::Conflict) if from_cache => {
                tracing::debug!("another process wrote first; loading");
                reload!();
            }
            Err(AppendError::Conflict) => {
                tracing::debug!(attempt, "version conflict; deciding again");
                if attempt < MAX_ATTEMPTS {
                    tokio::time::sleep(conflict_backoff(attempt)).await;
                }
                continue;
            }
            Err(AppendError::Database(e)) => {
                // Whether it was written is unknown: the next command loads.
                cache.forget::<A>(aggregate_id);
                return Err(CommandError::Append(e));
            }
        }
    }
    Err(CommandError::Contended)
}

/// How long to wait before deciding again after the `attempt`-th lost race:
/// growing and jittered (1–2 ms, 2–4 ms, … up to 64–128 ms). Retrying at once,
/// a process that lost to another process keeps losing while the other works
/// through its queue of commands on the same aggregate (its next command is
/// always a round trip ahead), and gives up after [`MAX_ATTEMPTS`].
fn conflict_backoff(attempt: usize) -> std::time::Duration {
    use rand::Rng;
    let base: u64 = 1 << attempt.clamp(1, 7);
    let ms = base / 2 + rand::thread_rng().gen_range(0..=base / 2);
    std::time::Duration::from_millis(ms)
}

async fn append_with(
    db: &crate::db::Db,
    write: &StreamWrite<'_>,
    events: &[NewEvent],
    side_writes: &[SideWrite],
) -> Result<Vec<Position>, AppendError> {
    if side_writes.is_empty() {
        return append(db, write, events).await;
    }
    let mut tx = db.begin().await?;
    let positions = append_in(&mut tx, write, events).await?;
    for w in side_writes {
        tx.execute(&w.sql, w.args.clone()).await?;
    }
    tx.commit().await.map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            AppendError::Conflict
        } else {
            AppendError::Database(e)
        }
    })?;
    Ok(positions)
}
