//! A link between a ticket and a knowledge base article ("this article answers
//! this ticket"). Each pair has its own small stream, keyed by both ids, so
//! linking twice is a no-op and neither the ticket nor the article changes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{ArticleId, TicketId, WorkspaceId};

/// Frozen aggregate type name.
pub const LINK_AGGREGATE_TYPE: &str = "kb_link";
pub const EVENT_VERSION: &str = "1.0";

/// Frozen: the id of a ticket–article pair.
const LINK_NAMESPACE: Uuid = Uuid::from_u128(0x5d0c_8e3a_1f47_4b92_a6e8_93c1_7b20_4e6d);

pub fn link_id(ticket: &TicketId, article: &ArticleId) -> String {
    Uuid::new_v5(&LINK_NAMESPACE, format!("{ticket}/{article}").as_bytes()).to_string()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkCommand {
    Link {
        workspace_id: WorkspaceId,
        ticket_id: TicketId,
        article_id: ArticleId,
    },
    Unlink,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkEvent {
    #[serde(rename = "TicketArticleLinked")]
    Linked {
        workspace_id: WorkspaceId,
        ticket_id: TicketId,
        article_id: ArticleId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "TicketArticleUnlinked")]
    Unlinked {
        ticket_id: TicketId,
        article_id: ArticleId,
        at: DateTime<Utc>,
    },
}

impl LinkEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Linked { .. } => "TicketArticleLinked",
            Self::Unlinked { .. } => "TicketArticleUnlinked",
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Linked { at, .. } | Self::Unlinked { at, .. } => *at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the ticket is not linked to that article")]
    NotLinked,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KbLink {
    pub workspace_id: Option<WorkspaceId>,
    pub ticket_id: Option<TicketId>,
    pub article_id: Option<ArticleId>,
    pub linked: bool,
}

impl KbLink {
    pub fn decide(
        &self,
        command: LinkCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<LinkEvent>, LinkError> {
        match command {
            LinkCommand::Link {
                workspace_id,
                ticket_id,
                article_id,
            } => {
                if self.linked {
                    return Ok(vec![]);
                }
                Ok(vec![LinkEvent::Linked {
                    workspace_id,
                    ticket_id,
                    article_id,
                    at: now,
                }])
            }
            LinkCommand::Unlink => match (self.linked, self.ticket_id, self.article_id) {
                (true, Some(ticket_id), Some(article_id)) => Ok(vec![LinkEvent::Unlinked {
                    ticket_id,
                    article_id,
                    at: now,
                }]),
                _ => Err(LinkError::NotLinked),
            },
        }
    }

    pub fn apply(&mut self, event: LinkEvent) {
        match event {
            LinkEvent::Linked {
                workspace_id,
                ticket_id,
                article_id,
                ..
            } => {
                self.workspace_id = Some(workspace_id);
                self.ticket_id = Some(ticket_id);
                self.article_id = Some(article_id);
                self.linked = true;
            }
            LinkEvent::Unlinked { .. } => self.linked = false,
        }
    }
}

impl cqrs_es::DomainEvent for LinkEvent {
    fn event_type(&self) -> String {
        self.type_name().to_owned()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_owned()
    }
}

impl crate::decider::DomainFact for LinkEvent {
    fn at(&self) -> DateTime<Utc> {
        LinkEvent::at(self)
    }
}

impl crate::decider::Refusal for LinkError {
    fn is_not_found(&self) -> bool {
        true
    }
}

crate::cqrs_aggregate!(
    KbLink,
    LINK_AGGREGATE_TYPE,
    LinkCommand,
    LinkEvent,
    LinkError
);

impl crate::decider::Decider for KbLink {
    type Fact = LinkEvent;
    type Cmd = LinkCommand;
    type Refused = LinkError;

    fn decide(
        &self,
        command: LinkCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<LinkEvent>, LinkError> {
        KbLink::decide(self, command, now)
    }

    fn evolve(&mut self, event: LinkEvent) {
        KbLink::apply(self, event);
    }

    fn workspace(&self) -> Option<&WorkspaceId> {
        self.workspace_id.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 11, 0, 0).unwrap()
    }

    fn link() -> LinkCommand {
        LinkCommand::Link {
            workspace_id: WorkspaceId::parse("acme").unwrap(),
            ticket_id: TicketId::from_uuid(Uuid::from_u128(1)),
            article_id: ArticleId::from_uuid(Uuid::from_u128(2)),
        }
    }

    #[test]
    fn linking_twice_is_one_link_and_unlinking_needs_a_link() {
        let mut l = KbLink::default();
        assert_eq!(
            l.decide(LinkCommand::Unlink, now()),
            Err(LinkError::NotLinked)
        );
        for e in l.decide(link(), now()).unwrap() {
            l.apply(e);
        }
        assert_eq!(l.decide(link(), now()).unwrap(), vec![]);
        let unlinked = l.decide(LinkCommand::Unlink, now()).unwrap();
        assert_eq!(unlinked.len(), 1);
        for e in unlinked {
            l.apply(e);
        }
        assert_eq!(l.decide(link(), now()).unwrap().len(), 1);
    }

    #[test]
    fn a_pair_has_one_stream() {
        let t = TicketId::from_uuid(Uuid::from_u128(1));
        let a = ArticleId::from_uuid(Uuid::from_u128(2));
        assert_eq!(link_id(&t, &a), link_id(&t, &a));
        assert_ne!(
            link_id(&t, &a),
            link_id(&t, &ArticleId::from_uuid(Uuid::from_u128(3)))
        );
    }
}
