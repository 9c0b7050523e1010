//! Text for Telegram: plain text (no parse mode, so nothing needs escaping),
//! split to the Bot API limits.

use tgcrm_domain::values::Status;

/// Telegram's limits, in characters.
pub const TEXT_LIMIT: usize = 4096;
pub const TOPIC_NAME_LIMIT: usize = 128;

/// Split `text` into pieces of at most `limit` characters, preferring line
/// breaks, then spaces.
pub fn split(text: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > limit {
        let window = &rest[..limit];
        let cut = window
            .iter()
            .rposition(|c| *c == '\n')
            .or_else(|| window.iter().rposition(|c| *c == ' '))
            .filter(|i| *i > limit / 2)
            .map(|i| i + 1)
            .unwrap_or(limit);
        out.push(rest[..cut].iter().collect::<String>().trim_end().to_owned());
        rest = rest[cut..].to_vec();
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest.into_iter().collect());
    }
    out
}

pub fn status_mark(status: Status) -> &'static str {
    match status {
        Status::Open => "🟢",
        Status::InProgress => "🔵",
        Status::WaitingOnCustomer => "🟡",
        Status::Resolved => "✅",
        Status::Closed => "⚫",
    }
}

/// The topic name from the template: `{status}`, `{id}`, `{subject}`, `{customer}`.
pub fn topic_name(
    template: &str,
    status: Status,
    ticket_id: &str,
    subject: &str,
    customer: &str,
) -> String {
    let short: String = ticket_id
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let name = template
        .replace("{status}", status_mark(status))
        .replace("{id}", &format!("#{short}"))
        .replace("{subject}", subject)
        .replace("{customer}", customer);
    let name = name.trim();
    if name.chars().count() > TOPIC_NAME_LIMIT {
        let cut: String = name.chars().take(TOPIC_NAME_LIMIT - 1).collect();
        format!("{}…", cut.trim_end())
    } else if name.is_empty() {
        format!("#{short}")
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_split_at_line_breaks_within_the_limit() {
        let text = format!("{}\n{}", "a".repeat(3000), "b".repeat(3000));
        let parts = split(&text, TEXT_LIMIT);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.chars().count() <= TEXT_LIMIT));
        assert_eq!(parts[0], "a".repeat(3000));
    }

    #[test]
    fn text_without_breaks_is_cut_hard() {
        let parts = split(&"x".repeat(9000), TEXT_LIMIT);
        assert_eq!(parts.iter().map(|p| p.chars().count()).sum::<usize>(), 9000);
        assert!(parts.iter().all(|p| p.chars().count() <= TEXT_LIMIT));
    }

    #[test]
    fn topic_names_fit_telegram() {
        let n = topic_name(
            "{status} {id} {subject} · {customer}",
            Status::Open,
            "0190-abcdef123456",
            &"s".repeat(300),
            "Ann",
        );
        assert!(n.chars().count() <= TOPIC_NAME_LIMIT);
        assert!(n.starts_with("🟢 #123456 "));
    }
}
