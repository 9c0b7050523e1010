//! Bodies of the service-level endpoints: SLA and escalation policies, the
//! breach list, metric reports, and the `sla` part of a ticket. Requests are
//! strict and raw; `parse_*` turns them into domain values, collecting every
//! field problem for one 422 answer.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tgcrm_domain::escalation::{Action, Condition, EscalationRule};
use tgcrm_domain::sla::policy::{Segment, SlaConditions, SlaPolicyDefinition};
use tgcrm_domain::sla::{
    BusinessHours, Calendar, Day, DayTime, Metric, SlaTargets, TicketSla, WeeklyInterval,
};
use tgcrm_domain::ticket::{Channel, Ticket};
use tgcrm_domain::values::{MessageText, Priority, ResourceName, Tag, ValueError};
use tgcrm_domain::{AgentId, EscalationRuleId, TeamId};
use utoipa::ToSchema;

use crate::dto::Problems;

fn at(prefix: &str, e: ValueError) -> ValueError {
    let field = if e.field.is_empty() {
        prefix.to_owned()
    } else if prefix.is_empty() {
        e.field
    } else {
        format!("{prefix}.{}", e.field)
    };
    ValueError::new(field, e.reason)
}

// ---------------------------------------------------------------------------
// Calendars and targets
// ---------------------------------------------------------------------------

/// Open hours on one day of the week.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeeklyIntervalDto {
    /// mon, tue, wed, thu, fri, sat or sun.
    pub day: String,
    /// Local time `HH:MM`.
    pub start: String,
    /// Local time `HH:MM` after `start`; `24:00` is the end of the day.
    pub end: String,
}

/// When the SLA clock runs: `always_open`, or `business_hours` with weekly
/// intervals in an IANA time zone and holidays (local dates).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarDto {
    /// always_open or business_hours.
    pub kind: String,
    /// An IANA time zone, e.g. `Europe/Berlin` (business_hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly: Option<Vec<WeeklyIntervalDto>>,
    /// Closed local dates, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holidays: Option<Vec<String>>,
}

impl CalendarDto {
    pub fn parse(&self, p: &mut Problems) -> Option<Calendar> {
        match self.kind.as_str() {
            "always_open" => Some(Calendar::AlwaysOpen),
            "business_hours" => {
                let Some(tz) = &self.time_zone else {
                    p.push("calendar.time_zone", "required for business_hours");
                    return None;
                };
                let mut weekly = Vec::new();
                for (i, w) in self.weekly.as_deref().unwrap_or(&[]).iter().enumerate() {
                    let field = format!("calendar.weekly[{i}]");
                    let day = p.take(w.day.parse::<Day>().map_err(|e| at(&field, e)));
                    let start = p.take(
                        DayTime::parse(&w.start)
                            .map_err(|e| ValueError::new(format!("{field}.start"), e.reason)),
                    );
                    let end = p.take(
                        DayTime::parse(&w.end)
                            .map_err(|e| ValueError::new(format!("{field}.end"), e.reason)),
                    );
                    if let (Some(day), Some(start), Some(end)) = (day, start, end) {
                        weekly.push(WeeklyInterval { day, start, end });
                    }
                }
                let mut holidays = BTreeSet::new();
                for (i, h) in self.holidays.as_deref().unwrap_or(&[]).iter().enumerate() {
                    match h.parse::<NaiveDate>() {
                        Ok(d) => {
                            holidays.insert(d);
                        }
                        Err(_) => p.push(
                            &format!("calendar.holidays[{i}]"),
                            format!("'{h}' is not a date like 2026-12-25"),
                        ),
                    }
                }
                p.take(
                    BusinessHours::new(tz, weekly, holidays)
                        .map(Calendar::BusinessHours)
                        .map_err(|e| at("calendar", e)),
                )
            }
            other => {
                p.push(
                    "calendar.kind",
                    format!(
                        "unknown calendar kind '{other}'; expected always_open or business_hours"
                    ),
                );
                None
            }
        }
    }

    pub fn of(c: &Calendar) -> Self {
        match c {
            Calendar::AlwaysOpen => Self {
                kind: "always_open".into(),
                time_zone: None,
                weekly: None,
                holidays: None,
            },
            Calendar::BusinessHours(b) => Self {
                kind: "business_hours".into(),
                time_zone: Some(b.time_zone().name().to_owned()),
                weekly: Some(
                    b.weekly()
                        .iter()
                        .map(|w| WeeklyIntervalDto {
                            day: w.day.as_str().to_owned(),
                            start: w.start.to_string(),
                            end: w.end.to_string(),
                        })
                        .collect(),
                ),
                holidays: Some(b.holidays().iter().map(|d| d.to_string()).collect()),
            },
        }
    }
}

/// Targets in seconds (business seconds under a business-hours calendar).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetsDto {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_response: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<i64>,
}

/// Which tickets a policy covers; an empty or absent list matches anything.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaConditionsDto {
    #[serde(default)]
    pub priorities: Vec<String>,
    /// Any one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Customer segments (the ticket's `segment` custom field).
    #[serde(default)]
    pub segments: Vec<String>,
    /// api or telegram.
    #[serde(default)]
    pub channels: Vec<String>,
}

fn parse_channel(s: &str) -> Result<Channel, ValueError> {
    match s {
        "api" => Ok(Channel::Api),
        "telegram" => Ok(Channel::Telegram),
        other => Err(ValueError::new(
            "channels",
            format!("unknown channel '{other}'; expected api or telegram"),
        )),
    }
}

impl SlaConditionsDto {
    pub fn parse(&self, p: &mut Problems) -> SlaConditions {
        let field = |name: &'static str| {
            move |e: ValueError| ValueError::new(format!("conditions.{name}"), e.reason)
        };
        let mut channels = Vec::new();
        for c in &self.channels {
            if let Some(c) = p.take(parse_channel(c).map_err(field("channels")))
                && !channels.contains(&c)
            {
                channels.push(c);
            }
        }
        SlaConditions {
            priorities: self
                .priorities
                .iter()
                .filter_map(|s| p.take(s.parse::<Priority>().map_err(field("priorities"))))
                .collect(),
            tags: self
                .tags
                .iter()
                .filter_map(|s| p.take(Tag::parse(s).map_err(field("tags"))))
                .collect(),
            segments: self
                .segments
                .iter()
                .filter_map(|s| p.take(Segment::parse(s).map_err(field("segments"))))
                .collect(),
            channels,
        }
    }

    pub fn of(c: &SlaConditions) -> Self {
        Self {
            priorities: c.priorities.iter().map(|p| p.as_str().to_owned()).collect(),
            tags: c.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            segments: c.segments.iter().map(|s| s.as_str().to_owned()).collect(),
            channels: c.channels.iter().map(|c| c.as_str().to_owned()).collect(),
        }
    }
}

fn parse_targets(
    raw: &BTreeMap<String, TargetsDto>,
    p: &mut Problems,
) -> BTreeMap<Priority, SlaTargets> {
    let mut out = BTreeMap::new();
    for (priority, t) in raw {
        let field = format!("targets.{priority}");
        let Some(prio) = p.take(
            priority
                .parse::<Priority>()
                .map_err(|e| ValueError::new(field.clone(), e.reason)),
        ) else {
            continue;
        };
        if let Some(t) = p.take(
            SlaTargets::parse(t.first_response, t.next_response, t.resolution)
                .map_err(|e| at(&field, e)),
        ) {
            out.insert(prio, t);
        }
    }
    out
}

fn targets_view(t: &BTreeMap<Priority, SlaTargets>) -> BTreeMap<String, TargetsDto> {
    t.iter()
        .map(|(p, t)| {
            (
                p.as_str().to_owned(),
                TargetsDto {
                    first_response: t.first_response,
                    next_response: t.next_response,
                    resolution: t.resolution,
                },
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------
// SLA policies
// ---------------------------------------------------------------------------

/// A new SLA policy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSlaPolicyBody {
    /// 1–100 characters.
    pub name: String,
    pub description: Option<String>,
    /// Policies are tried by ascending rank; the first matching one applies (default 100).
    pub rank: Option<i64>,
    /// Default true.
    pub enabled: Option<bool>,
    pub conditions: Option<SlaConditionsDto>,
    /// Default: always open.
    pub calendar: Option<CalendarDto>,
    /// Warn when this share of a target has passed, 0–99 (0: never; default 80).
    pub warning_percent: Option<u8>,
    /// Targets per priority (`low`, `normal`, `high`, `urgent`), in seconds.
    pub targets: BTreeMap<String, TargetsDto>,
}

impl CreateSlaPolicyBody {
    pub fn parse(&self, p: &mut Problems) -> Option<SlaPolicyDefinition> {
        let name = p.take(ResourceName::parse(&self.name));
        let conditions = self
            .conditions
            .as_ref()
            .map(|c| c.parse(p))
            .unwrap_or_default();
        let calendar = match &self.calendar {
            Some(c) => c.parse(p),
            None => Some(Calendar::AlwaysOpen),
        };
        let targets = parse_targets(&self.targets, p);
        let (name, calendar) = (name?, calendar?);
        p.take(SlaPolicyDefinition::new(
            name,
            self.description.clone(),
            self.rank.unwrap_or(100),
            self.enabled.unwrap_or(true),
            conditions,
            calendar,
            self.warning_percent.unwrap_or(80),
            targets,
        ))
    }
}

/// Changes to an SLA policy: what is given replaces what was (lists and
/// maps whole). Every change is a new version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSlaPolicyBody {
    pub name: Option<String>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "crate::dto_writing::double_option")]
    #[schema(value_type = Option<String>, nullable = true)]
    pub description: Option<Option<String>>,
    pub rank: Option<i64>,
    pub enabled: Option<bool>,
    pub conditions: Option<SlaConditionsDto>,
    pub calendar: Option<CalendarDto>,
    pub warning_percent: Option<u8>,
    pub targets: Option<BTreeMap<String, TargetsDto>>,
}

impl UpdateSlaPolicyBody {
    pub fn apply(
        &self,
        current: &SlaPolicyDefinition,
        p: &mut Problems,
    ) -> Option<SlaPolicyDefinition> {
        let name = match &self.name {
            Some(n) => p.take(ResourceName::parse(n)),
            None => Some(current.name.clone()),
        };
        let conditions = match &self.conditions {
            Some(c) => c.parse(p),
            None => current.conditions.clone(),
        };
        let calendar = match &self.calendar {
            Some(c) => c.parse(p),
            None => Some(current.calendar.clone()),
        };
        let targets = match &self.targets {
            Some(t) => parse_targets(t, p),
            None => current.targets.clone(),
        };
        let description = match &self.description {
            Some(d) => d.clone(),
            None => current.description.clone(),
        };
        let (name, calendar) = (name?, calendar?);
        p.take(SlaPolicyDefinition::new(
            name,
            description,
            self.rank.unwrap_or(current.rank),
            self.enabled.unwrap_or(current.enabled),
            conditions,
            calendar,
            self.warning_percent.unwrap_or(current.warning_percent),
            targets,
        ))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlaPolicyView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub rank: i64,
    pub enabled: bool,
    pub conditions: SlaConditionsDto,
    pub calendar: CalendarDto,
    pub warning_percent: u8,
    /// Targets per priority, in seconds.
    pub targets: BTreeMap<String, TargetsDto>,
    /// Each change is a new version; tickets record the version applied to them.
    pub version: i64,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl SlaPolicyView {
    pub fn of(
        id: &str,
        d: &SlaPolicyDefinition,
        version: i64,
        created_at: Option<DateTime<Utc>>,
        updated_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            id: id.to_owned(),
            name: d.name.as_str().to_owned(),
            description: d.description.clone(),
            rank: d.rank,
            enabled: d.enabled,
            conditions: SlaConditionsDto::of(&d.conditions),
            calendar: CalendarDto::of(&d.calendar),
            warning_percent: d.warning_percent,
            targets: targets_view(&d.targets),
            version,
            created_at,
            updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlaPolicyPageView {
    pub items: Vec<SlaPolicyView>,
    pub next_cursor: Option<String>,
}

// ---------------------------------------------------------------------------
// Escalation policies
// ---------------------------------------------------------------------------

/// A condition of a rule; `type` says which fields apply.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionDto {
    /// ticket_age (`seconds`), priority (`priorities`), segment (`segments`),
    /// sla_warning (`metric`?), sla_breach (`metric`?) or no_agent_reply (`seconds`).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priorities: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<Vec<String>>,
    /// first_response, next_response or resolution; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
}

/// An action of a rule; `type` says which fields apply.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionDto {
    /// move_to_team (`team_id`), raise_priority (`to`?: one step when absent),
    /// assign_agent (`agent_id`), assign_team_lead (`team_id`), add_tag (`tag`),
    /// internal_note (`text`) or emit_webhook (`label`?).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A rule; its tier is its position in the list (1 = first).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDto {
    /// Keep a rule's id when changing it, or it counts as a new rule (and may
    /// fire again on tickets the old one fired on). New rules get one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    /// All must hold.
    pub conditions: Vec<ConditionDto>,
    /// Done in order.
    pub actions: Vec<ActionDto>,
    /// 1-based position (answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<u32>,
}

fn uuid_field<T: std::str::FromStr>(
    raw: &Option<String>,
    field: &str,
    p: &mut Problems,
) -> Option<T> {
    match raw {
        None => {
            p.push(field, "required for this type");
            None
        }
        Some(s) => match s.parse() {
            Ok(v) => Some(v),
            Err(_) => {
                p.push(field, "must be a UUID");
                None
            }
        },
    }
}

impl ConditionDto {
    fn parse(&self, field: &str, p: &mut Problems) -> Option<Condition> {
        let metric = |p: &mut Problems| -> Result<Option<Metric>, ()> {
            match &self.metric {
                None => Ok(None),
                Some(m) => p
                    .take(
                        m.parse::<Metric>()
                            .map_err(|e| ValueError::new(format!("{field}.metric"), e.reason)),
                    )
                    .map(Some)
                    .ok_or(()),
            }
        };
        match self.kind.as_str() {
            "ticket_age" | "no_agent_reply" => {
                let Some(s) = self.seconds else {
                    p.push(&format!("{field}.seconds"), "required for this type");
                    return None;
                };
                Some(if self.kind == "ticket_age" {
                    Condition::TicketAge { seconds: s }
                } else {
                    Condition::NoAgentReply { seconds: s }
                })
            }
            "priority" => {
                let priorities: BTreeSet<Priority> =
                    self.priorities
                        .as_deref()
                        .unwrap_or(&[])
                        .iter()
                        .filter_map(|s| {
                            p.take(s.parse::<Priority>().map_err(|e| {
                                ValueError::new(format!("{field}.priorities"), e.reason)
                            }))
                        })
                        .collect();
                Some(Condition::Priority { priorities })
            }
            "segment" => {
                let segments: BTreeSet<Segment> =
                    self.segments
                        .as_deref()
                        .unwrap_or(&[])
                        .iter()
                        .filter_map(|s| {
                            p.take(Segment::parse(s).map_err(|e| {
                                ValueError::new(format!("{field}.segments"), e.reason)
                            }))
                        })
                        .collect();
                Some(Condition::Segment { segments })
            }
            "sla_warning" => metric(p)
                .ok()
                .map(|metric| Condition::SlaWarning { metric }),
            "sla_breach" => metric(p).ok().map(|metric| Condition::SlaBreach { metric }),
            other => {
                p.push(
                    &format!("{field}.type"),
                    format!("unknown condition '{other}'; expected ticket_age, priority, segment, sla_warning, sla_breach or no_agent_reply"),
                );
                None
            }
        }
    }

    pub fn of(c: &Condition) -> Self {
        let mut d = Self {
            kind: c.kind().to_owned(),
            seconds: None,
            priorities: None,
            segments: None,
            metric: None,
        };
        match c {
            Condition::TicketAge { seconds } | Condition::NoAgentReply { seconds } => {
                d.seconds = Some(*seconds)
            }
            Condition::Priority { priorities } => {
                d.priorities = Some(priorities.iter().map(|p| p.as_str().to_owned()).collect())
            }
            Condition::Segment { segments } => {
                d.segments = Some(segments.iter().map(|s| s.as_str().to_owned()).collect())
            }
            Condition::SlaWarning { metric } | Condition::SlaBreach { metric } => {
                d.metric = metric.map(|m| m.as_str().to_owned())
            }
        }
        d
    }
}

impl ActionDto {
    fn parse(&self, field: &str, p: &mut Problems) -> Option<Action> {
        let f = |name: &str| format!("{field}.{name}");
        match self.kind.as_str() {
            "move_to_team" => Some(Action::MoveToTeam {
                team_id: uuid_field::<TeamId>(&self.team_id, &f("team_id"), p)?,
            }),
            "raise_priority" => {
                let to = match &self.to {
                    None => None,
                    Some(t) => Some(
                        p.take(
                            t.parse::<Priority>()
                                .map_err(|e| ValueError::new(f("to"), e.reason)),
                        )?,
                    ),
                };
                Some(Action::RaisePriority { to })
            }
            "assign_agent" => Some(Action::AssignAgent {
                agent_id: uuid_field::<AgentId>(&self.agent_id, &f("agent_id"), p)?,
            }),
            "assign_team_lead" => Some(Action::AssignTeamLead {
                team_id: uuid_field::<TeamId>(&self.team_id, &f("team_id"), p)?,
                agent_id: None,
            }),
            "add_tag" => {
                let Some(t) = &self.tag else {
                    p.push(&f("tag"), "required for this type");
                    return None;
                };
                Some(Action::AddTag {
                    tag: p.take(Tag::parse(t).map_err(|e| ValueError::new(f("tag"), e.reason)))?,
                })
            }
            "internal_note" => {
                let Some(t) = &self.text else {
                    p.push(&f("text"), "required for this type");
                    return None;
                };
                Some(Action::InternalNote {
                    text: p.take(
                        MessageText::parse(t).map_err(|e| ValueError::new(f("text"), e.reason)),
                    )?,
                })
            }
            "emit_webhook" => Some(Action::EmitWebhook {
                label: self.label.clone(),
            }),
            other => {
                p.push(
                    &f("type"),
                    format!("unknown action '{other}'; expected move_to_team, raise_priority, assign_agent, assign_team_lead, add_tag, internal_note or emit_webhook"),
                );
                None
            }
        }
    }

    pub fn of(a: &Action) -> Self {
        let mut d = Self {
            kind: a.kind().to_owned(),
            team_id: None,
            agent_id: None,
            to: None,
            tag: None,
            text: None,
            label: None,
        };
        match a {
            Action::MoveToTeam { team_id } => d.team_id = Some(team_id.to_string()),
            Action::RaisePriority { to } => d.to = to.map(|p| p.as_str().to_owned()),
            Action::AssignAgent { agent_id } => d.agent_id = Some(agent_id.to_string()),
            Action::AssignTeamLead { team_id, agent_id } => {
                d.team_id = Some(team_id.to_string());
                d.agent_id = agent_id.map(|a| a.to_string());
            }
            Action::AddTag { tag } => d.tag = Some(tag.as_str().to_owned()),
            Action::InternalNote { text } => d.text = Some(text.as_str().to_owned()),
            Action::EmitWebhook { label } => d.label = label.clone(),
        }
        d
    }
}

impl RuleDto {
    fn parse(&self, i: usize, p: &mut Problems) -> Option<EscalationRule> {
        let field = format!("rules[{i}]");
        let id = match &self.id {
            None => Some(EscalationRuleId::new()),
            Some(raw) => match raw.parse() {
                Ok(id) => Some(id),
                Err(_) => {
                    p.push(&format!("{field}.id"), "must be a UUID");
                    None
                }
            },
        };
        let name = p.take(ResourceName::parse(&self.name).map_err(|e| at(&field, e)));
        let conditions: Vec<Option<Condition>> = self
            .conditions
            .iter()
            .enumerate()
            .map(|(j, c)| c.parse(&format!("{field}.conditions[{j}]"), p))
            .collect();
        let actions: Vec<Option<Action>> = self
            .actions
            .iter()
            .enumerate()
            .map(|(j, a)| a.parse(&format!("{field}.actions[{j}]"), p))
            .collect();
        let conditions: Option<Vec<Condition>> = conditions.into_iter().collect();
        let actions: Option<Vec<Action>> = actions.into_iter().collect();
        p.take(EscalationRule::new(id?, name?, conditions?, actions?).map_err(|e| at(&field, e)))
    }

    pub fn of(r: &EscalationRule, tier: usize) -> Self {
        Self {
            id: Some(r.id.to_string()),
            name: r.name.as_str().to_owned(),
            conditions: r.conditions.iter().map(ConditionDto::of).collect(),
            actions: r.actions.iter().map(ActionDto::of).collect(),
            tier: u32::try_from(tier).ok(),
        }
    }
}

/// Parse a list of rules.
pub fn parse_rules(rules: &[RuleDto], p: &mut Problems) -> Option<Vec<EscalationRule>> {
    let parsed: Vec<Option<EscalationRule>> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| r.parse(i, p))
        .collect();
    parsed.into_iter().collect()
}

/// A new escalation policy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEscalationPolicyBody {
    pub name: String,
    pub description: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
    /// In order; a rule's tier is its position. Each fires at most once per ticket.
    pub rules: Vec<RuleDto>,
}

/// Changes to an escalation policy: what is given replaces what was.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEscalationPolicyBody {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::dto_writing::double_option")]
    #[schema(value_type = Option<String>, nullable = true)]
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub rules: Option<Vec<RuleDto>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationPolicyView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub rules: Vec<RuleDto>,
    pub version: i64,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl EscalationPolicyView {
    pub fn of(
        id: &str,
        d: &tgcrm_domain::escalation::EscalationPolicyDefinition,
        version: i64,
        created_at: Option<DateTime<Utc>>,
        updated_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            id: id.to_owned(),
            name: d.name.as_str().to_owned(),
            description: d.description.clone(),
            enabled: d.enabled,
            rules: d
                .rules
                .iter()
                .enumerate()
                .map(|(i, r)| RuleDto::of(r, i + 1))
                .collect(),
            version,
            created_at,
            updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationPolicyPageView {
    pub items: Vec<EscalationPolicyView>,
    pub next_cursor: Option<String>,
}

// ---------------------------------------------------------------------------
// A ticket's service levels, breaches, metrics
// ---------------------------------------------------------------------------

/// One target of a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaTargetView {
    /// first_response, next_response or resolution.
    pub metric: String,
    /// 1 for the first cycle; resolution restarts on reopening, next response
    /// on each unanswered customer message.
    pub cycle: u32,
    pub target_seconds: i64,
    pub started_at: DateTime<Utc>,
    /// When the warning threshold is reached (absent while paused).
    pub warn_at: Option<DateTime<Utc>>,
    /// When the target falls due (absent while paused).
    pub due_at: Option<DateTime<Utc>>,
    pub met_at: Option<DateTime<Utc>>,
    /// ok, warning, breached, met, paused or stopped.
    pub state: String,
    /// True once a breach was recorded (also when met late).
    pub breached: bool,
}

/// The SLA policy version a ticket is measured against, and each target.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketSlaView {
    pub policy_id: String,
    pub policy_version: i64,
    pub policy_name: String,
    pub applied_at: DateTime<Utc>,
    pub targets: Vec<SlaTargetView>,
}

impl TicketSlaView {
    /// The view of a ticket's service levels, if a policy applies.
    pub fn of(t: &Ticket) -> Option<Self> {
        Self::from_sla(&t.sla)
    }

    pub fn from_sla(sla: &TicketSla) -> Option<Self> {
        let applied = sla.applied.as_ref()?;
        Some(Self {
            policy_id: applied.policy_id.to_string(),
            policy_version: applied.policy_version,
            policy_name: applied.policy_name.clone(),
            applied_at: applied.applied_at,
            targets: sla
                .deadlines()
                .into_iter()
                .map(|d| SlaTargetView {
                    metric: d.metric.as_str().to_owned(),
                    cycle: d.cycle,
                    target_seconds: d.target_seconds,
                    started_at: d.started_at,
                    warn_at: d.warn_at,
                    due_at: d.due_at,
                    met_at: d.met_at,
                    state: d.state.as_str().to_owned(),
                    breached: d.breached,
                })
                .collect(),
        })
    }
}

/// A breached or at-risk target.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreachView {
    pub ticket_id: String,
    pub metric: String,
    /// breached or warning (at risk).
    pub state: String,
    pub cycle: i64,
    pub target_seconds: i64,
    pub started_at: DateTime<Utc>,
    pub warn_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub policy_id: String,
    pub policy_version: i64,
    pub team_id: Option<String>,
    pub agent_id: Option<String>,
    pub priority: String,
}

impl From<tgcrm_projections::sla::deadlines::DeadlineRow> for BreachView {
    fn from(r: tgcrm_projections::sla::deadlines::DeadlineRow) -> Self {
        Self {
            ticket_id: r.ticket_id,
            metric: r.metric,
            state: r.state,
            cycle: r.cycle,
            target_seconds: r.target_seconds,
            started_at: r.started_at,
            warn_at: r.warn_at,
            due_at: r.due_at,
            policy_id: r.policy_id,
            policy_version: r.policy_version,
            team_id: r.team_id,
            agent_id: r.agent_id,
            priority: r.priority,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BreachPageView {
    pub items: Vec<BreachView>,
    pub next_cursor: Option<String>,
}

/// count, mean, median and p90, in seconds.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    pub count: i64,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

impl From<tgcrm_projections::sla::metrics::Stats> for StatsView {
    fn from(s: tgcrm_projections::sla::metrics::Stats) -> Self {
        Self {
            count: s.count,
            mean: s.mean,
            median: s.median,
            p90: s.p90,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MetricGroupView {
    /// The agent or team id, day (`2026-03-02`), ISO week (`2026-W10`) or
    /// priority; `all` without `group_by`; `null` for rows without one.
    pub key: Option<String>,
    /// Wall-clock seconds.
    pub calendar: StatsView,
    /// Seconds within the open hours of the calendar of the ticket's SLA policy.
    pub business: StatsView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MetricReportView {
    /// first_response or resolution.
    pub metric: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The instant the report is as of (`as_of`), when one was asked for.
    pub as_of: Option<DateTime<Utc>>,
    pub group_by: Option<String>,
    pub groups: Vec<MetricGroupView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlaGroupView {
    pub key: Option<String>,
    /// Targets settled in the period (met, or breached).
    pub count: i64,
    pub met: i64,
    pub breached: i64,
    /// met / count.
    pub met_share: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlaReportView {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The instant the report is as of (`as_of`), when one was asked for.
    pub as_of: Option<DateTime<Utc>>,
    pub group_by: Option<String>,
    pub metric: Option<String>,
    pub groups: Vec<SlaGroupView>,
}
