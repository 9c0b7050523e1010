//! Agents' commands inside a ticket topic.

use tgcrm_domain::values::{Priority, Status};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicCommand {
    Note(String),
    AssignMe,
    Assign(String),
    Status(Result<Status, String>),
    Priority(Result<Priority, String>),
    Resolve,
    Close,
    Canned(String),
    Help,
    Unknown(String),
}

/// `None` when the text is not a command.
pub fn parse(text: &str) -> Option<TopicCommand> {
    let text = text.trim();
    let rest = text.strip_prefix('/')?;
    let (head, arg) = match rest.split_once(char::is_whitespace) {
        Some((h, a)) => (h, a.trim()),
        None => (rest, ""),
    };
    // `/note@acme_support_bot` addresses this bot explicitly.
    let name = head.split('@').next().unwrap_or(head).to_ascii_lowercase();
    Some(match name.as_str() {
        "note" => TopicCommand::Note(arg.to_owned()),
        "assign" if arg.eq_ignore_ascii_case("me") => TopicCommand::AssignMe,
        "assign" => TopicCommand::Assign(arg.trim_start_matches('@').to_owned()),
        "status" => TopicCommand::Status(
            arg.parse()
                .map_err(|e: tgcrm_domain::values::ValueError| e.reason),
        ),
        "priority" => TopicCommand::Priority(
            arg.parse()
                .map_err(|e: tgcrm_domain::values::ValueError| e.reason),
        ),
        "resolve" => TopicCommand::Resolve,
        "close" => TopicCommand::Close,
        "canned" => TopicCommand::Canned(arg.to_owned()),
        "help" | "start" => TopicCommand::Help,
        other => TopicCommand::Unknown(other.to_owned()),
    })
}

pub const HELP: &str = "Commands: /note <text> (internal), /assign me | /assign @username, /status <status>, \
/priority <low|normal|high|urgent>, /resolve, /close, /canned <name> (send a canned response). Anything else you write here goes to the customer.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_and_without_the_bot_suffix() {
        assert_eq!(
            parse("/note@acme_support_bot call back"),
            Some(TopicCommand::Note("call back".into()))
        );
        assert_eq!(parse("/assign me"), Some(TopicCommand::AssignMe));
        assert_eq!(
            parse("/assign @maria"),
            Some(TopicCommand::Assign("maria".into()))
        );
        assert_eq!(
            parse("/status resolved"),
            Some(TopicCommand::Status(Ok(Status::Resolved)))
        );
        assert!(matches!(
            parse("/status nope"),
            Some(TopicCommand::Status(Err(_)))
        ));
        assert_eq!(parse("/resolve"), Some(TopicCommand::Resolve));
        assert_eq!(parse("hello"), None);
    }
}
