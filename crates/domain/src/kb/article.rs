//! A knowledge base article. Its version is its stream's sequence: creation,
//! revisions and status changes each make a new version; deletion ends it.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ArticleId, WorkspaceId};
use crate::values::{ArticleBody, ArticleTitle, Tag, ValueError};

/// Frozen aggregate type name.
pub const ARTICLE_AGGREGATE_TYPE: &str = "kb_article";
pub const EVENT_VERSION: &str = "1.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    #[default]
    Draft,
    Published,
}

impl ArticleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
        }
    }
}

impl fmt::Display for ArticleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ArticleStatus {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "draft" => Ok(Self::Draft),
            "published" => Ok(Self::Published),
            other => Err(ValueError::new(
                "status",
                format!("unknown status '{other}'; expected draft or published"),
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArticleCommand {
    Create(CreateArticle),
    Revise(ReviseArticle),
    SetStatus(ArticleStatus),
    Delete,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateArticle {
    pub id: ArticleId,
    pub workspace_id: WorkspaceId,
    pub title: ArticleTitle,
    pub body: ArticleBody,
    pub tags: BTreeSet<Tag>,
    pub status: ArticleStatus,
    /// Where an imported article came from (its path in the export).
    pub source: Option<String>,
}

/// Change what is given.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReviseArticle {
    pub title: Option<ArticleTitle>,
    pub body: Option<ArticleBody>,
    pub tags: Option<BTreeSet<Tag>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ArticleEvent {
    #[serde(rename = "ArticleCreated")]
    Created {
        article_id: ArticleId,
        workspace_id: WorkspaceId,
        title: ArticleTitle,
        body: ArticleBody,
        #[serde(default)]
        tags: BTreeSet<Tag>,
        status: ArticleStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<String>,
        at: DateTime<Utc>,
    },
    /// The whole content after the revision.
    #[serde(rename = "ArticleRevised")]
    Revised {
        title: ArticleTitle,
        body: ArticleBody,
        #[serde(default)]
        tags: BTreeSet<Tag>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "ArticleStatusChanged")]
    StatusChanged {
        from: ArticleStatus,
        to: ArticleStatus,
        at: DateTime<Utc>,
    },
    #[serde(rename = "ArticleDeleted")]
    Deleted { at: DateTime<Utc> },
}

impl ArticleEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Created { .. } => "ArticleCreated",
            Self::Revised { .. } => "ArticleRevised",
            Self::StatusChanged { .. } => "ArticleStatusChanged",
            Self::Deleted { .. } => "ArticleDeleted",
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Created { at, .. }
            | Self::Revised { at, .. }
            | Self::StatusChanged { at, .. }
            | Self::Deleted { at } => *at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArticleError {
    #[error("the article does not exist")]
    NotFound,
    #[error(
        "an article created with this id was deleted; create it again without the same Idempotency-Key"
    )]
    Deleted,
    #[error("nothing to change: give a title, a body or tags")]
    NothingToChange,
    #[error("an article has at most {max} tags")]
    TooManyTags { max: usize },
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Article {
    pub id: Option<ArticleId>,
    pub workspace_id: Option<WorkspaceId>,
    pub title: Option<ArticleTitle>,
    pub body: Option<ArticleBody>,
    pub tags: BTreeSet<Tag>,
    pub status: ArticleStatus,
    pub source: Option<String>,
    pub deleted: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Article {
    pub const MAX_TAGS: usize = 30;

    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    pub fn is_live(&self) -> bool {
        self.exists() && !self.deleted
    }

    pub fn decide(
        &self,
        command: ArticleCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<ArticleEvent>, ArticleError> {
        if let ArticleCommand::Create(c) = command {
            if self.deleted {
                return Err(ArticleError::Deleted);
            }
            if self.exists() {
                return Ok(vec![]);
            }
            if c.tags.len() > Self::MAX_TAGS {
                return Err(ArticleError::TooManyTags {
                    max: Self::MAX_TAGS,
                });
            }
            return Ok(vec![ArticleEvent::Created {
                article_id: c.id,
                workspace_id: c.workspace_id,
                title: c.title,
                body: c.body,
                tags: c.tags,
                status: c.status,
                source: c.source,
                at: now,
            }]);
        }
        let (Some(title), Some(body)) = (
            self.title.as_ref().filter(|_| self.is_live()),
            self.body.as_ref(),
        ) else {
            return Err(ArticleError::NotFound);
        };
        match command {
            ArticleCommand::Create(_) => Ok(vec![]),
            ArticleCommand::Revise(r) => {
                if r.title.is_none() && r.body.is_none() && r.tags.is_none() {
                    return Err(ArticleError::NothingToChange);
                }
                let new_title = r.title.unwrap_or_else(|| title.clone());
                let new_body = r.body.unwrap_or_else(|| body.clone());
                let new_tags = r.tags.unwrap_or_else(|| self.tags.clone());
                if new_tags.len() > Self::MAX_TAGS {
                    return Err(ArticleError::TooManyTags {
                        max: Self::MAX_TAGS,
                    });
                }
                if &new_title == title && &new_body == body && new_tags == self.tags {
                    return Ok(vec![]);
                }
                Ok(vec![ArticleEvent::Revised {
                    title: new_title,
                    body: new_body,
                    tags: new_tags,
                    at: now,
                }])
            }
            ArticleCommand::SetStatus(to) => {
                if to == self.status {
                    return Ok(vec![]);
                }
                Ok(vec![ArticleEvent::StatusChanged {
                    from: self.status,
                    to,
                    at: now,
                }])
            }
            ArticleCommand::Delete => Ok(vec![ArticleEvent::Deleted { at: now }]),
        }
    }

    pub fn apply(&mut self, event: ArticleEvent) {
        self.updated_at = Some(event.at());
        match event {
            ArticleEvent::Created {
                article_id,
                workspace_id,
                title,
                body,
                tags,
                status,
                source,
                at,
            } => {
                self.id = Some(article_id);
                self.workspace_id = Some(workspace_id);
                self.title = Some(title);
                self.body = Some(body);
                self.tags = tags;
                self.status = status;
                self.source = source;
                self.created_at = Some(at);
            }
            ArticleEvent::Revised {
                title, body, tags, ..
            } => {
                self.title = Some(title);
                self.body = Some(body);
                self.tags = tags;
            }
            ArticleEvent::StatusChanged { to, .. } => self.status = to,
            ArticleEvent::Deleted { .. } => self.deleted = true,
        }
    }
}

impl cqrs_es::DomainEvent for ArticleEvent {
    fn event_type(&self) -> String {
        self.type_name().to_owned()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_owned()
    }
}

impl crate::decider::DomainFact for ArticleEvent {
    fn at(&self) -> DateTime<Utc> {
        ArticleEvent::at(self)
    }
}

impl crate::decider::Refusal for ArticleError {
    fn is_not_found(&self) -> bool {
        matches!(self, ArticleError::NotFound)
    }
}

crate::cqrs_aggregate!(
    Article,
    ARTICLE_AGGREGATE_TYPE,
    ArticleCommand,
    ArticleEvent,
    ArticleError
);

impl crate::decider::Decider for Article {
    type Fact = ArticleEvent;
    type Cmd = ArticleCommand;
    type Refused = ArticleError;

    fn decide(
        &self,
        command: ArticleCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<ArticleEvent>, ArticleError> {
        Article::decide(self, command, now)
    }

    fn evolve(&mut self, event: ArticleEvent) {
        Article::apply(self, event);
    }

    fn workspace(&self) -> Option<&WorkspaceId> {
        self.workspace_id.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 11, 0, 0).unwrap()
    }

    fn created() -> ArticleEvent {
        ArticleEvent::Created {
            article_id: ArticleId::from_uuid(Uuid::from_u128(0xab01)),
            workspace_id: WorkspaceId::parse("acme").unwrap(),
            title: ArticleTitle::parse("Reset your password").unwrap(),
            body: ArticleBody::parse("Open settings.").unwrap(),
            tags: BTreeSet::new(),
            status: ArticleStatus::Draft,
            source: None,
            at: now(),
        }
    }

    fn given(history: Vec<ArticleEvent>) -> Article {
        let mut a = Article::default();
        for e in history {
            a.apply(e);
        }
        a
    }

    #[test]
    fn a_revision_carries_the_whole_content() {
        let events = given(vec![created()])
            .decide(
                ArticleCommand::Revise(ReviseArticle {
                    body: Some(ArticleBody::parse("Open settings, then Security.").unwrap()),
                    ..Default::default()
                }),
                now(),
            )
            .unwrap();
        assert_eq!(
            events,
            vec![ArticleEvent::Revised {
                title: ArticleTitle::parse("Reset your password").unwrap(),
                body: ArticleBody::parse("Open settings, then Security.").unwrap(),
                tags: BTreeSet::new(),
                at: now(),
            }]
        );
    }

    #[test]
    fn publishing_is_a_status_change_and_repeating_it_changes_nothing() {
        let a = given(vec![created()]);
        assert_eq!(
            a.decide(ArticleCommand::SetStatus(ArticleStatus::Published), now())
                .unwrap(),
            vec![ArticleEvent::StatusChanged {
                from: ArticleStatus::Draft,
                to: ArticleStatus::Published,
                at: now(),
            }]
        );
        assert_eq!(
            a.decide(ArticleCommand::SetStatus(ArticleStatus::Draft), now())
                .unwrap(),
            vec![]
        );
    }

    #[test]
    fn a_revision_to_the_same_content_changes_nothing() {
        let same = ArticleCommand::Revise(ReviseArticle {
            title: Some(ArticleTitle::parse("Reset your password").unwrap()),
            ..Default::default()
        });
        assert_eq!(given(vec![created()]).decide(same, now()).unwrap(), vec![]);
    }

    #[test]
    fn a_deleted_article_is_gone() {
        let a = given(vec![created(), ArticleEvent::Deleted { at: now() }]);
        assert_eq!(
            a.decide(ArticleCommand::SetStatus(ArticleStatus::Published), now())
                .unwrap_err(),
            ArticleError::NotFound
        );
        assert_eq!(
            a.decide(ArticleCommand::Delete, now()).unwrap_err(),
            ArticleError::NotFound
        );
    }

    #[test]
    fn too_many_tags_are_refused() {
        let tags: BTreeSet<Tag> = (0..31)
            .map(|i| Tag::parse(&format!("t{i}")).unwrap())
            .collect();
        assert_eq!(
            given(vec![created()])
                .decide(
                    ArticleCommand::Revise(ReviseArticle {
                        tags: Some(tags),
                        ..Default::default()
                    }),
                    now()
                )
                .unwrap_err(),
            ArticleError::TooManyTags { max: 30 }
        );
    }
}
