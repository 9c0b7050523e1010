//! An event as stored in the log, with its position and metadata.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::position::Position;

/// Where a command came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Api,
    Telegram,
    System,
    Cli,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Telegram => "telegram",
            Self::System => "system",
            Self::Cli => "cli",
        }
    }
}

/// Who did it and why: stored on every event, read by auditors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// A token id, `agent:<id>`, `customer:<telegram id>` or `system:<reactor>`.
    pub actor: String,
    pub source: Source,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub request_id: Option<String>,
}

impl Metadata {
    pub fn new(actor: impl Into<String>, source: Source) -> Self {
        Self {
            actor: actor.into(),
            source,
            correlation_id: None,
            causation_id: None,
            request_id: None,
        }
    }

    /// The cqrs-es view of the metadata (a string map), kept in the `metadata` column.
    pub fn to_json(&self, workspace_id: &str) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("actor".into(), self.actor.clone().into());
        m.insert("source".into(), self.source.as_str().into());
        m.insert("workspace_id".into(), workspace_id.into());
        for (k, v) in [
            ("correlation_id", &self.correlation_id),
            ("causation_id", &self.causation_id),
            ("request_id", &self.request_id),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), v.clone().into());
            }
        }
        serde_json::Value::Object(m)
    }
}

/// A row of the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    pub position: Position,
    pub event_id: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: serde_json::Value,
    pub workspace_id: String,
    pub actor: String,
    pub source: String,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub request_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    /// The payload as stored, when personal fields were decrypted for reading
    /// (the hash chain covers the stored form).
    #[serde(skip)]
    pub raw_payload: Option<serde_json::Value>,
    /// The ticket event, decoded once however many projectors ask (a
    /// replay hands the same events to all of them). The store finishes an
    /// event (upcasting, decryption) before handing it out; an event is
    /// read, not edited, after that.
    #[serde(skip)]
    decoded: DecodedTicketEvent,
}

/// A cache that takes no part in comparing or printing events.
#[derive(Clone, Default)]
struct DecodedTicketEvent(
    std::sync::OnceLock<Option<Result<tgcrm_domain::ticket::TicketEvent, String>>>,
);

impl PartialEq for DecodedTicketEvent {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for DecodedTicketEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

/// The columns of [`StoredEvent`] as both databases return them.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub transaction_id: i64,
    pub position: i64,
    pub event_id: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: serde_json::Value,
    pub workspace_id: String,
    pub actor: String,
    pub source: String,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub request_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

impl From<EventRow> for StoredEvent {
    fn from(r: EventRow) -> Self {
        Self {
            position: Position::new(r.transaction_id, r.position),
            event_id: r.event_id,
            aggregate_type: r.aggregate_type,
            aggregate_id: r.aggregate_id,
            sequence: r.sequence,
            event_type: r.event_type,
            event_version: r.event_version,
            payload: r.payload,
            workspace_id: r.workspace_id,
            actor: r.actor,
            source: r.source,
            correlation_id: r.correlation_id,
            causation_id: r.causation_id,
            request_id: r.request_id,
            occurred_at: r.occurred_at,
            recorded_at: r.recorded_at,
            raw_payload: None,
            decoded: DecodedTicketEvent::default(),
        }
    }
}

/// The select list for [`EventRow`], per backend.
pub(crate) fn event_columns(backend: crate::db::Backend) -> &'static str {
    match backend {
        crate::db::Backend::Postgres => {
            "transaction_id::text::bigint AS transaction_id, position, event_id, aggregate_type, aggregate_id, \
             sequence, event_type, event_version, payload, workspace_id, actor, source, correlation_id, \
             causation_id, request_id, occurred_at, recorded_at"
        }
        crate::db::Backend::Sqlite => {
            "0 AS transaction_id, position, event_id, aggregate_type, aggregate_id, \
             sequence, event_type, event_version, payload, workspace_id, actor, source, correlation_id, \
             causation_id, request_id, occurred_at, recorded_at"
        }
    }
}

impl StoredEvent {
    /// The domain event, upcast to the current version, if this is a ticket event.
    pub fn ticket_event(
        &self,
    ) -> Option<Result<tgcrm_domain::ticket::TicketEvent, serde_json::Error>> {
        if self.aggregate_type != tgcrm_domain::ticket::AGGREGATE_TYPE {
            return None;
        }
        let decoded = self.decoded.0.get_or_init(|| {
            self.decode::<tgcrm_domain::ticket::Ticket>()
                .map(|r| r.map_err(|e| e.to_string()))
        });
        decoded.as_ref().map(|r| {
            r.clone()
                .map_err(<serde_json::Error as serde::de::Error>::custom)
        })
    }

    /// The domain event of aggregate `A`, upcast to the current version, if this is one of `A`'s.
    pub fn decode<A: tgcrm_domain::Decider>(&self) -> Option<Result<A::Fact, serde_json::Error>> {
        if self.aggregate_type != A::TYPE {
            return None;
        }
        let upcasters = crate::upcast::for_type(&self.aggregate_type);
        if !upcasters
            .iter()
            .any(|u| u.can_upcast(&self.event_type, &self.event_version))
        {
            // Current already (nearly always): read it where it lies.
            return Some(<A::Fact as serde::Deserialize>::deserialize(&self.payload));
        }
        let serialized = cqrs_es::persist::SerializedEvent::new(
            self.aggregate_id.clone(),
            usize::try_from(self.sequence).unwrap_or(0),
            self.aggregate_type.clone(),
            self.event_type.clone(),
            self.event_version.clone(),
            self.payload.clone(),
            serde_json::Value::Null,
        );
        let upcast = crate::upcast::upcast(serialized, upcasters);
        Some(serde_json::from_value(upcast.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tgcrm_domain::ticket::{MessageVisibility, TicketEvent};

    fn message_added(version: &str, payload: serde_json::Value) -> StoredEvent {
        StoredEvent {
            position: Position::new(1, 1),
            event_id: "e".into(),
            aggregate_type: "ticket".into(),
            aggregate_id: "t".into(),
            sequence: 2,
            event_type: "MessageAdded".into(),
            event_version: version.into(),
            payload,
            workspace_id: "acme".into(),
            actor: "token:test".into(),
            source: "api".into(),
            correlation_id: None,
            causation_id: None,
            request_id: None,
            occurred_at: Utc::now(),
            recorded_at: Utc::now(),
            raw_payload: None,
            decoded: DecodedTicketEvent::default(),
        }
    }

    fn visibility(e: &StoredEvent) -> MessageVisibility {
        match e.ticket_event().unwrap().unwrap() {
            TicketEvent::MessageAdded { visibility, .. } => visibility,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn current_and_old_versions_decode_and_other_aggregates_do_not() {
        let body = |extra: serde_json::Value| {
            let mut m = json!({
                "message_id": "0190a5a4-0000-7000-8000-000000000001",
                "author": {"kind": "customer"},
                "text": "hi",
                "at": "2026-01-01T00:00:00Z"
            });
            m.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            json!({ "MessageAdded": m })
        };
        let current = message_added(
            tgcrm_domain::ticket::EVENT_VERSION,
            body(json!({"visibility": "internal"})),
        );
        assert_eq!(visibility(&current), MessageVisibility::Internal);
        // 0.9 had no visibility: the upcaster makes it public.
        let old = message_added("0.9", body(json!({})));
        assert_eq!(visibility(&old), MessageVisibility::Public);
        let mut agent = current.clone();
        agent.aggregate_type = "agent".into();
        assert!(agent.ticket_event().is_none());
    }
}
