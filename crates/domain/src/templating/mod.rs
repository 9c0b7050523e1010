//! Response text with variables and conditions, shared by canned responses and
//! response templates. Rendering is pure: what it needs about the ticket and
//! the agent is gathered by the caller into a [`RenderContext`].
//!
//! The syntax (see [`syntax`]) is Handlebars-style and is translated into
//! [MiniJinja](https://docs.rs/minijinja), which evaluates it with these rules:
//! - a variable that is not in [`VARIABLES`] (or `fields.<key>`) is refused
//!   when the text is saved and when it is rendered, by name;
//! - a known variable without a value on this ticket (an unset custom field,
//!   no agent name) is an error when printed, naming it, and false in
//!   conditions, so `{{#if fields.order_no}}…{{/if}}` guards it;
//! - evaluation is bounded (fuel), so no text can make rendering run away.
//!
//! Derived variables: `type`/`ticket.type` is the custom field `ticket_type`
//! (or `type`); `segment`/`customer.segment` is the custom field
//! `customer_segment` (or `segment`).

mod syntax;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use minijinja::value::{Object, ObjectRepr, Value};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde::{Deserialize, Serialize};

use crate::ticket::Ticket;
use crate::values::FieldKey;

/// Every variable a text may use, besides `fields.<key>` (a custom field).
pub const VARIABLES: &[&str] = &[
    "customer_name",
    "ticket_id",
    "agent_name",
    "priority",
    "status",
    "channel",
    "type",
    "tags",
    "segment",
    "ticket.id",
    "ticket.subject",
    "ticket.status",
    "ticket.priority",
    "ticket.channel",
    "ticket.type",
    "ticket.tags",
    "customer.name",
    "customer.username",
    "customer.telegram_user_id",
    "customer.segment",
    "agent.id",
    "agent.name",
];

/// Why a text cannot be saved or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the text must not be empty")]
    Empty,
    #[error("the text must be at most {max} characters (got {got})")]
    TooLong { max: usize, got: usize },
    #[error("{}", syntax_message(*line, message))]
    Syntax {
        line: Option<usize>,
        message: String,
    },
    #[error("unknown variable{} {}; known variables are {} and fields.<key>", plural(names), names.join(", "), VARIABLES.join(", "))]
    UnknownVariables { names: Vec<String> },
    #[error("no value on this ticket for {}", names.join(", "))]
    MissingValues { names: Vec<String> },
    #[error("the text could not be rendered: {0}")]
    Failed(String),
}

fn plural(names: &[String]) -> &'static str {
    if names.len() == 1 { "" } else { "s" }
}

fn syntax_message(line: Option<usize>, message: &str) -> String {
    match line {
        Some(l) => format!("template syntax error on line {l}: {message}"),
        None => format!("template syntax error: {message}"),
    }
}

/// A text in our template syntax that compiles and names only known variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateBody {
    source: String,
    engine: String,
}

impl TemplateBody {
    pub const MAX_CHARS: usize = 10_000;

    pub fn parse(raw: &str) -> Result<Self, TemplateError> {
        let source = raw.trim();
        if source.is_empty() {
            return Err(TemplateError::Empty);
        }
        let got = source.chars().count();
        if got > Self::MAX_CHARS {
            return Err(TemplateError::TooLong {
                max: Self::MAX_CHARS,
                got,
            });
        }
        if source.contains('\0') {
            return Err(TemplateError::Syntax {
                line: None,
                message: "the text contains a NUL character".into(),
            });
        }
        let engine = syntax::to_engine(source)?;
        let body = Self {
            source: source.to_owned(),
            engine,
        };
        let unknown: Vec<String> = body
            .referenced()?
            .into_iter()
            .filter(|v| !is_known(v))
            .collect();
        if !unknown.is_empty() {
            return Err(TemplateError::UnknownVariables { names: unknown });
        }
        Ok(body)
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The variables the text uses, sorted.
    pub fn variables(&self) -> BTreeSet<String> {
        self.referenced().unwrap_or_default()
    }

    fn referenced(&self) -> Result<BTreeSet<String>, TemplateError> {
        let template = ENV.template_from_str(&self.engine).map_err(engine_error)?;
        Ok(template.undeclared_variables(true).into_iter().collect())
    }
}

fn is_known(name: &str) -> bool {
    if VARIABLES.contains(&name) {
        return true;
    }
    name.strip_prefix("fields.")
        .is_some_and(|k| FieldKey::parse(k).is_ok())
}

fn engine_error(e: minijinja::Error) -> TemplateError {
    let message = e
        .detail()
        .map(str::to_owned)
        .unwrap_or_else(|| e.kind().to_string());
    match e.kind() {
        ErrorKind::SyntaxError | ErrorKind::BadEscape => TemplateError::Syntax {
            line: e.line(),
            message,
        },
        ErrorKind::OutOfFuel => {
            TemplateError::Failed("the text takes too much work to render".into())
        }
        _ => TemplateError::Failed(match e.line() {
            Some(l) => format!("{message} (line {l})"),
            None => message,
        }),
    }
}

/// Marks a value the text may ask for that this ticket does not have.
const MISSING_MARK: char = '\0';

#[derive(Debug)]
struct Missing(String);

impl Object for Missing {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn is_true(self: &Arc<Self>) -> bool {
        false
    }

    // Used when a missing value is converted to text indirectly (`~`, filters):
    // the mark is found in the output and reported by name.
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result
    where
        Self: Sized + 'static,
    {
        write!(f, "{MISSING_MARK}{}{MISSING_MARK}", self.0)
    }
}

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_fuel(Some(50_000));
    env.set_recursion_limit(64);
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    // No escaping (these are chat messages, not HTML); a missing value is an
    // error naming the variable.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_formatter(|out, state, value| {
        if let Some(m) = value.downcast_object_ref::<Missing>() {
            return Err(minijinja::Error::new(
                ErrorKind::UndefinedError,
                format!("{MISSING_MARK}{}{MISSING_MARK}", m.0),
            ));
        }
        minijinja::escape_formatter(out, state, value)
    });
    env
});

/// The agent who sends the text, when known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentInfo {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// What a text may refer to: the ticket and the agent sending it.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderContext {
    pub ticket_id: String,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub channel: String,
    pub tags: Vec<String>,
    pub fields: BTreeMap<String, serde_json::Value>,
    pub customer_name: String,
    pub customer_username: Option<String>,
    pub customer_telegram_user_id: i64,
    pub agent: AgentInfo,
}

impl RenderContext {
    /// The context of an existing ticket; `None` if the ticket does not exist.
    pub fn from_ticket(ticket: &Ticket, agent: AgentInfo) -> Option<Self> {
        let id = ticket.id?;
        let customer = ticket.customer.as_ref()?;
        Some(Self {
            ticket_id: id.to_string(),
            subject: ticket
                .subject
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            status: ticket.status.as_str().to_owned(),
            priority: ticket.priority.as_str().to_owned(),
            channel: ticket
                .channel
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
            tags: ticket.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            fields: ticket
                .fields
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                .collect(),
            customer_name: customer.name.as_str().to_owned(),
            customer_username: customer.username.as_ref().map(|u| u.as_str().to_owned()),
            customer_telegram_user_id: customer.telegram_user_id.get(),
            agent,
        })
    }

    fn field(&self, names: &[&str]) -> Option<Value> {
        names
            .iter()
            .find_map(|n| self.fields.get(*n))
            .map(json_value)
    }

    /// The engine's context for a text that uses `used` variables.
    fn to_value(&self, used: &BTreeSet<String>) -> Value {
        let or_missing = |v: Option<Value>, name: &str| {
            v.unwrap_or_else(|| Value::from_object(Missing(name.to_owned())))
        };
        let ticket_type = self.field(&["ticket_type", "type"]);
        let segment = self.field(&["customer_segment", "segment"]);
        let agent_name = self.agent.name.clone().map(Value::from);
        let mut fields: BTreeMap<String, Value> = self
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), json_value(v)))
            .collect();
        for name in used {
            if let Some(key) = name.strip_prefix("fields.") {
                fields
                    .entry(key.to_owned())
                    .or_insert_with(|| Value::from_object(Missing(name.clone())));
            }
        }
        let ticket = Value::from_pairs([
            ("id", Value::from(self.ticket_id.clone())),
            ("subject", Value::from(self.subject.clone())),
            ("status", Value::from(self.status.clone())),
            ("priority", Value::from(self.priority.clone())),
            ("channel", Value::from(self.channel.clone())),
            ("type", or_missing(ticket_type.clone(), "ticket.type")),
            ("tags", Value::from(self.tags.clone())),
        ]);
        let customer = Value::from_pairs([
            ("name", Value::from(self.customer_name.clone())),
            (
                "username",
                or_missing(
                    self.customer_username.clone().map(Value::from),
                    "customer.username",
                ),
            ),
            (
                "telegram_user_id",
                Value::from(self.customer_telegram_user_id),
            ),
            ("segment", or_missing(segment.clone(), "customer.segment")),
        ]);
        let agent = Value::from_pairs([
            (
                "id",
                or_missing(self.agent.id.clone().map(Value::from), "agent.id"),
            ),
            ("name", or_missing(agent_name.clone(), "agent.name")),
        ]);
        Value::from_pairs([
            ("customer_name", Value::from(self.customer_name.clone())),
            ("ticket_id", Value::from(self.ticket_id.clone())),
            ("agent_name", or_missing(agent_name, "agent_name")),
            ("priority", Value::from(self.priority.clone())),
            ("status", Value::from(self.status.clone())),
            ("channel", Value::from(self.channel.clone())),
            ("type", or_missing(ticket_type, "type")),
            ("tags", Value::from(self.tags.clone())),
            ("segment", or_missing(segment, "segment")),
            ("ticket", ticket),
            ("customer", customer),
            ("agent", agent),
            ("fields", Value::from_pairs(fields)),
        ])
    }
}

fn json_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::from(i),
            (None, Some(u), _) => Value::from(u),
            (None, None, Some(f)) => Value::from(f),
            _ => Value::from(n.to_string()),
        },
        serde_json::Value::String(s) => Value::from(s.clone()),
        serde_json::Value::Array(items) => items.iter().map(json_value).collect(),
        serde_json::Value::Object(map) => {
            Value::from_pairs(map.iter().map(|(k, v)| (k.clone(), json_value(v))))
        }
    }
}

/// Names of missing values between marks in `text`.
fn marked(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .split(MISSING_MARK)
        .skip(1)
        .step_by(2)
        .map(|n| n.to_lowercase())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Render `body` for a ticket. The result is the text as it would be sent.
pub fn render(body: &TemplateBody, ctx: &RenderContext) -> Result<String, TemplateError> {
    let used = body.referenced()?;
    let unknown: Vec<String> = used.iter().filter(|v| !is_known(v)).cloned().collect();
    if !unknown.is_empty() {
        return Err(TemplateError::UnknownVariables { names: unknown });
    }
    let template = ENV.template_from_str(&body.engine).map_err(engine_error)?;
    match template.render(ctx.to_value(&used)) {
        Ok(text) => {
            let missing = marked(&text);
            if missing.is_empty() {
                Ok(text.trim().to_owned())
            } else {
                Err(TemplateError::MissingValues { names: missing })
            }
        }
        Err(e) => {
            let from_mark = e.detail().map(marked).unwrap_or_default();
            if !from_mark.is_empty() {
                return Err(TemplateError::MissingValues { names: from_mark });
            }
            Err(engine_error(e))
        }
    }
}

/// Which saved text a message was written from: recorded on the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRef {
    pub kind: TemplateKind,
    /// The canned response's or template's id.
    pub id: String,
    /// Its version when it was used.
    pub version: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    CannedResponse,
    ResponseTemplate,
}

impl TemplateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CannedResponse => "canned_response",
            Self::ResponseTemplate => "response_template",
        }
    }
}

#[cfg(test)]
mod tests;
