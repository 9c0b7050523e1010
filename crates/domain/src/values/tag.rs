//! Tags: lowercase labels used for filtering and routing.

use serde::{Deserialize, Serialize};

use super::ValueError;

/// 1–50 characters of lowercase letters, digits, `-`, `_`, `:` and `.`;
/// input is trimmed and lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let t = raw.trim().to_lowercase();
        let ok = !t.is_empty()
            && t.chars().count() <= 50
            && t.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'));
        if ok {
            Ok(Self(t))
        } else {
            Err(ValueError::new(
                "tags",
                format!("'{raw}' is not a valid tag: 1–50 letters, digits, '-', '_', ':' or '.'"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
