//! Commands on aggregates whose name is unique in the workspace (canned
//! responses, response templates). The aggregate's events and the changes to
//! the claims on its old and new names are appended in one transaction, each
//! stream with its own optimistic check, so two writers can never both end up
//! holding a name, and a claim never outlives the name it stands for.

use tgcrm_domain::name_claim::{
    NameClaim, NameClaimCommand, NameClaimError, Named, claim_id, normalize,
};
use tgcrm_domain::{Clock, DomainFact, WorkspaceId};

use crate::append::{AppendError, NewEvent, StreamWrite, append_in};
use crate::commands::{CommandContext, CommandError, CommandOutcome, MAX_ATTEMPTS};
use crate::load::{load, load_keeping_keys};
use crate::notify::EventStore;
use crate::reader::stream_head;

#[derive(Debug, thiserror::Error)]
pub enum NamedError<E: tgcrm_domain::Refusal> {
    #[error(transparent)]
    Command(#[from] CommandError<E>),
    /// Another live resource of the same kind has this name.
    #[error("the name '{name}' is already used by {owner}")]
    NameTaken { name: String, owner: String },
}

fn to_new_events<F: DomainFact>(events: &[F]) -> Result<Vec<NewEvent>, serde_json::Error> {
    events
        .iter()
        .map(|e| {
            Ok(NewEvent {
                event_id: uuid::Uuid::now_v7(),
                event_type: cqrs_es::DomainEvent::event_type(e),
                event_version: cqrs_es::DomainEvent::event_version(e),
                payload: serde_json::to_value(e)?,
                occurred_at: e.at(),
            })
        })
        .collect()
}

/// One claim stream's part of the transaction.
struct ClaimWrite {
    id: String,
    expected: i64,
    events: Vec<NewEvent>,
}

/// The id of the resource that holds `name` now, if any (read from the log).
pub async fn owner_of<A: Named>(
    store: &EventStore,
    workspace: &WorkspaceId,
    name: &str,
) -> Result<Option<String>, crate::load::LoadError> {
    let claim = load::<NameClaim>(store.db(), &claim_id(workspace, A::NAME_SCOPE, name)).await?;
    Ok(claim
        .state
        .owner
        .filter(|_| claim.state.workspace_id.as_ref() == Some(workspace)))
}

/// Decide `command` on the named aggregate `aggregate_id`, moving its name
/// claim along when the name changes.
#[tracing::instrument(skip_all, fields(aggregate = A::TYPE, id = %aggregate_id))]
pub async fn execute_named<A: Named>(
    store: &EventStore,
    clock: &dyn Clock,
    aggregate_id: &str,
    ctx: &CommandContext,
    command: A::Cmd,
) -> Result<CommandOutcome<A>, NamedError<A::Refused>> {
    let db = store.db();
    let workspace = ctx.workspace_id.to_string();
    for attempt in 1..=MAX_ATTEMPTS {
        let mut ring = crate::personal::KeyRing::default();
        let loaded = load_keeping_keys::<A>(db, aggregate_id, &mut ring)
            .await
            .map_err(CommandError::Load)?;
        let mut state = loaded.state;
        if let Some(ws) = state.workspace()
            && ws != &ctx.workspace_id
        {
            return Err(CommandError::NotFound.into());
        }
        if let Some(expected) = ctx.expected_version
            && expected != loaded.version
        {
            if state.workspace().is_none() {
                return Err(CommandError::NotFound.into());
            }
            return Err(CommandError::VersionMismatch {
                expected,
                current: loaded.version,
            }
            .into());
        }
        let now = clock.now();
        let events = match state.decide(command.clone(), now) {
            Ok(events) => events,
            Err(e) if tgcrm_domain::Refusal::is_not_found(&e) => {
                return Err(CommandError::NotFound.into());
            }
            Err(e) => return Err(CommandError::Refused(e).into()),
        };
        if events.is_empty() {
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
        let before = state.claimed_name().map(str::to_owned);
        for e in &events {
            state.evolve(e.clone());
        }
        let after = state.claimed_name().map(str::to_owned);
        let mut claims = Vec::new();
        if before.as_deref().map(normalize) != after.as_deref().map(normalize) {
            if let Some(name) = &after {
                let id = claim_id(&ctx.workspace_id, A::NAME_SCOPE, name);
                let claim = load::<NameClaim>(db, &id)
                    .await
                    .map_err(CommandError::Load)?;
                let decided = claim.state.decide(
                    NameClaimCommand::Claim {
                        workspace_id: ctx.workspace_id.clone(),
                        scope: A::NAME_SCOPE.to_owned(),
                        name: name.clone(),
                        owner: aggregate_id.to_owned(),
                    },
                    now,
                );
                match decided {
                    Ok(events) => claims.push(ClaimWrite {
                        id,
                        expected: claim.version,
                        events: to_new_events(&events).map_err(CommandError::Serialize)?,
                    }),
                    Err(NameClaimError::Taken { owner }) => {
                        return Err(NamedError::NameTaken {
                            name: name.clone(),
                            owner,
                        });
                    }
                }
            }
            if let Some(name) = &before {
                let id = claim_id(&ctx.workspace_id, A::NAME_SCOPE, name);
                let claim = load::<NameClaim>(db, &id)
                    .await
                    .map_err(CommandError::Load)?;
                let released = claim
                    .state
                    .decide(
                        NameClaimCommand::Release {
                            owner: aggregate_id.to_owned(),
                        },
                        now,
                    )
                    .unwrap_or_default();
                claims.push(ClaimWrite {
                    id,
                    expected: claim.version,
                    events: to_new_events(&released).map_err(CommandError::Serialize)?,
                });
            }
        }
        let mut new_events = to_new_events(&events).map_err(CommandError::Serialize)?;
        if let Some(subject) = state.data_subject() {
            // Personal fields are stored encrypted with the subject's key.
            for e in &mut new_events {
                crate::personal::protect(
                    db,
                    &mut ring,
                    &workspace,
                    &subject,
                    &e.event_type,
                    &mut e.payload,
                    now,
                )
                .await
                .map_err(CommandError::Append)?;
            }
        }
        let version = loaded.version + events.len() as i64;
        let result = async {
            let mut tx = db.begin().await?;
            let positions = append_in(
                &mut tx,
                &StreamWrite {
                    aggregate_type: A::TYPE,
                    aggregate_id,
                    workspace_id: &workspace,
                    expected_sequence: loaded.version,
                    metadata: &ctx.metadata,
                    snapshot: None,
                    live_subject: None,
                },
                &new_events,
            )
            .await?;
            let mut last = positions.last().copied();
            for c in claims.iter().filter(|c| !c.events.is_empty()) {
                let p = append_in(
                    &mut tx,
                    &StreamWrite {
                        aggregate_type: tgcrm_domain::name_claim::AGGREGATE_TYPE,
                        aggregate_id: &c.id,
                        workspace_id: &workspace,
                        expected_sequence: c.expected,
                        metadata: &ctx.metadata,
                        snapshot: None,
                        live_subject: None,
                    },
                    &c.events,
                )
                .await?;
                last = p.last().copied().or(last);
            }
            tx.commit().await.map_err(|e| {
                if crate::db::is_unique_violation(&e) {
                    AppendError::Conflict
                } else {
                    AppendError::Database(e)
                }
            })?;
            Ok::<_, AppendError>(last)
        }
        .await;
        match result {
            Ok(position) => {
                store.notify_appended_at(position);
                // The last position of the transaction: waiting for it covers
                // the resource and its claims.
                return Ok(CommandOutcome {
                    state,
                    version,
                    events,
                    position,
                });
            }
            // Erased meanwhile (a resource with a data subject): the next
            // try loads and reads the key again, as after a lost race.
            Err(AppendError::Conflict | AppendError::SubjectErased) => {
                tracing::debug!(attempt, "version conflict; deciding again");
                continue;
            }
            Err(AppendError::Database(e)) => return Err(CommandError::Append(e).into()),
        }
    }
    Err(CommandError::Contended.into())
}

/// An aggregate as it stood at `version` (its first `version` events), read
/// from the log: an old version of a template stays exactly what was saved.
/// `None` when the stream is shorter than that.
pub async fn load_version<A: tgcrm_domain::Decider>(
    db: &crate::db::Db,
    aggregate_id: &str,
    version: i64,
) -> Result<Option<A>, crate::load::LoadError> {
    if version < 1 {
        return Ok(None);
    }
    let events = crate::reader::read_stream(db, A::TYPE, aggregate_id, 0, version).await?;
    if (events.len() as i64) < version {
        return Ok(None);
    }
    let mut state = A::default();
    for e in &events {
        if let Some(decoded) = e.decode::<A>() {
            state.evolve(decoded?);
        }
    }
    Ok(Some(state))
}
