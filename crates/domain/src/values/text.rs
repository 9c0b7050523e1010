//! Free text with bounds: ticket subjects, message bodies, notes and reasons.

use serde::{Deserialize, Serialize};

use super::ValueError;

fn bounded(
    field: &str,
    raw: &str,
    max_chars: usize,
    allow_empty: bool,
) -> Result<String, ValueError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() && !allow_empty {
        return Err(ValueError::new(field, "must not be empty"));
    }
    let len = trimmed.chars().count();
    if len > max_chars {
        return Err(ValueError::new(
            field,
            format!("must be at most {max_chars} characters (got {len})"),
        ));
    }
    Ok(trimmed.to_owned())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr, $allow_empty:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, ValueError> {
                bounded($field, raw, $max, $allow_empty).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

text_type!(
    /// A ticket subject: 1–200 characters after trimming.
    Subject, "subject", 200, false
);
text_type!(
    /// A message body: 1–20,000 characters after trimming (may be empty only
    /// when the message carries attachments; see [`MessageText::parse_with_attachments`]).
    MessageText, "text", 20_000, false
);
text_type!(
    /// A short free-text note: a transfer note, a status change reason. Up to 1,000 characters.
    Note, "note", 1_000, false
);

impl MessageText {
    /// Attachments may stand alone (a photo with no caption): then the text may be empty.
    pub fn parse_with_attachments(raw: &str, has_attachments: bool) -> Result<Self, ValueError> {
        bounded("text", raw, Self::MAX_CHARS, has_attachments).map(Self)
    }
}

impl Subject {
    /// A subject taken from the first line of a customer's first message
    /// (intake), shortened to fit.
    pub fn from_first_line(text: &str) -> Result<Self, ValueError> {
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        let short: String = if first.chars().count() > 80 {
            let cut: String = first.chars().take(79).collect();
            format!("{}…", cut.trim_end())
        } else {
            first.to_owned()
        };
        Self::parse(&short)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_trimmed_and_bounded() {
        assert_eq!(Subject::parse("  Hi ").unwrap().as_str(), "Hi");
        assert!(Subject::parse("   ").is_err());
        assert!(Subject::parse(&"x".repeat(201)).is_err());
        assert!(Subject::parse(&"é".repeat(200)).is_ok());
    }

    #[test]
    fn a_subject_from_intake_text_is_its_first_line_shortened() {
        let s = Subject::from_first_line("\n  My order is late  \nmore").unwrap();
        assert_eq!(s.as_str(), "My order is late");
        let long = Subject::from_first_line(&"a".repeat(300)).unwrap();
        assert_eq!(long.as_str().chars().count(), 80);
    }

    #[test]
    fn message_text_may_be_empty_only_with_attachments() {
        assert!(MessageText::parse("").is_err());
        assert!(MessageText::parse_with_attachments("", true).is_ok());
        assert!(MessageText::parse_with_attachments("", false).is_err());
    }
}
