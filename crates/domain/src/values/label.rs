//! Names and texts of the agents' writing tools: canned response and template
//! names, categories, knowledge base titles and bodies.

use serde::{Deserialize, Serialize};

use super::ValueError;

fn clean(field: &str, raw: &str, max: usize, single_line: bool) -> Result<String, ValueError> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(ValueError::new(field, "must not be empty"));
    }
    let len = t.chars().count();
    if len > max {
        return Err(ValueError::new(
            field,
            format!("must be at most {max} characters (got {len})"),
        ));
    }
    if t.chars()
        .any(|c| c == '\0' || (single_line && c.is_control()))
    {
        return Err(ValueError::new(
            field,
            "must be one line without control characters",
        ));
    }
    Ok(t.to_owned())
}

macro_rules! label {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr, $single:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, ValueError> {
                clean($field, raw, $max, $single).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

label!(
    /// A canned response's or template's name: one line, 1–100 characters;
    /// unique per workspace (compared without case and extra spaces).
    ResourceName, "name", 100, true
);
label!(
    /// A category (topic) grouping canned responses and templates: 1–64 characters.
    Category, "category", 64, true
);
label!(
    /// A knowledge base article title: one line, 1–200 characters.
    ArticleTitle, "title", 200, true
);
label!(
    /// A knowledge base article body in Markdown: 1–100,000 characters.
    ArticleBody, "body", 100_000, false
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_trimmed_line() {
        assert_eq!(ResourceName::parse("  Refund ").unwrap().as_str(), "Refund");
        assert!(ResourceName::parse("").is_err());
        assert!(ResourceName::parse("a\nb").is_err());
        assert!(ResourceName::parse(&"x".repeat(101)).is_err());
        assert!(ArticleBody::parse("# Title\n\nText").is_ok());
    }
}
