//! Parsed values of a subscription: its id, target URL, event types and
//! description. Commands are built only from these.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use tgcrm_domain::values::ValueError;
use uuid::Uuid;

use crate::event_types::WebhookEventType;

/// A webhook endpoint (subscription); also the aggregate id of its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EndpointId(Uuid);

impl EndpointId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl Default for EndpointId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for EndpointId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// An http(s) URL with a host, no credentials, at most 2,048 characters.
/// Whether the host may be called (SSRF) is checked where DNS can be asked:
/// see [`crate::ssrf`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub const MAX_CHARS: usize = 2048;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(ValueError::new("url", "must not be empty"));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(ValueError::new(
                "url",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        let url = reqwest::Url::parse(raw)
            .map_err(|e| ValueError::new("url", format!("is not a valid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ValueError::new("url", "must be an http or https URL"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ValueError::new("url", "must name a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            // The URL is kept in the event log; credentials there would be
            // readable by every auditor. Receivers authenticate us by signature.
            return Err(ValueError::new(
                "url",
                "must not carry credentials (user:password@); verify the webhook signature instead",
            ));
        }
        Ok(Self(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn url(&self) -> Option<reqwest::Url> {
        reqwest::Url::parse(&self.0).ok()
    }
}

/// What an endpoint subscribes to: known event types, or `*` for all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct EventTypes(BTreeSet<WebhookEventType>);

impl EventTypes {
    pub const WILDCARD: &'static str = "*";

    /// Parse a list; problems are reported per item (`event_types[2]`).
    pub fn parse(raw: &[String]) -> Result<Self, Vec<ValueError>> {
        if raw.is_empty() {
            return Err(vec![ValueError::new(
                "event_types",
                "name at least one event type, or \"*\" for all",
            )]);
        }
        if raw.len() > 50 {
            return Err(vec![ValueError::new(
                "event_types",
                "at most 50 event types",
            )]);
        }
        let mut set = BTreeSet::new();
        let mut problems = Vec::new();
        for (i, t) in raw.iter().enumerate() {
            match WebhookEventType::parse_filter(t.trim()) {
                Some(t) => {
                    set.insert(t);
                }
                None => problems.push(ValueError::new(
                    format!("event_types[{i}]"),
                    format!(
                        "unknown event type '{t}'; expected \"*\" or one of {}",
                        WebhookEventType::KNOWN
                            .iter()
                            .map(|t| t.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            }
        }
        if problems.is_empty() {
            Ok(Self(set))
        } else {
            Err(problems)
        }
    }

    pub fn all() -> Self {
        Self(BTreeSet::from([WebhookEventType::All]))
    }

    pub fn matches(&self, t: WebhookEventType) -> bool {
        self.0.contains(&WebhookEventType::All) || self.0.contains(&t)
    }

    pub fn iter(&self) -> impl Iterator<Item = &WebhookEventType> {
        self.0.iter()
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|t| t.as_str().to_owned()).collect()
    }
}

impl TryFrom<Vec<String>> for EventTypes {
    type Error = String;
    fn try_from(v: Vec<String>) -> Result<Self, Self::Error> {
        Self::parse(&v).map_err(|e| {
            e.into_iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

impl From<EventTypes> for Vec<String> {
    fn from(v: EventTypes) -> Self {
        v.to_strings()
    }
}

/// A note for admins about what the endpoint is for: up to 500 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let t = raw.trim();
        if t.chars().count() > Self::MAX_CHARS {
            return Err(ValueError::new(
                "description",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self(t.to_owned()))
    }

    /// No description (in an update: clear it).
    pub fn empty() -> Self {
        Self(String::new())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why an endpoint stopped receiving deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisableReason {
    /// An admin switched it off.
    Manual,
    /// The receiver answered 410 Gone.
    Gone,
    /// Every attempt failed for longer than the configured period.
    Failing,
}

impl DisableReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Gone => "gone",
            Self::Failing => "failing",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        assert!(WebhookUrl::parse("https://example.com/hook").is_ok());
        assert!(WebhookUrl::parse("http://10.0.0.1:8080/x?y=1").is_ok());
        assert!(WebhookUrl::parse("ftp://example.com/").is_err());
        assert!(WebhookUrl::parse("file:///etc/passwd").is_err());
        assert!(WebhookUrl::parse("https://user:pw@example.com/").is_err());
        assert!(WebhookUrl::parse("not a url").is_err());
        assert!(WebhookUrl::parse("").is_err());
        assert!(WebhookUrl::parse(&format!("https://e.com/{}", "a".repeat(2100))).is_err());
    }

    #[test]
    fn event_types_are_known_names_or_a_wildcard() {
        let t = EventTypes::parse(&["ticket.created".into(), "message.created".into()]).unwrap();
        assert!(t.matches(WebhookEventType::TicketCreated));
        assert!(!t.matches(WebhookEventType::SlaBreached));
        assert!(
            EventTypes::parse(&["*".into()])
                .unwrap()
                .matches(WebhookEventType::SlaBreached)
        );
        let errs = EventTypes::parse(&["ticket.created".into(), "nope".into()]).unwrap_err();
        assert_eq!(errs[0].field, "event_types[1]");
        assert!(EventTypes::parse(&[]).is_err());
    }
}
