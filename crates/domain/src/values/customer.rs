//! The customer a ticket belongs to, identified by their Telegram user id.

use serde::{Deserialize, Serialize};

use super::ValueError;

/// A Telegram user id: a positive integer (Telegram guarantees it fits in 52 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TelegramUserId(i64);

impl TelegramUserId {
    pub fn parse(raw: i64) -> Result<Self, ValueError> {
        if raw > 0 && raw < (1_i64 << 52) {
            Ok(Self(raw))
        } else {
            Err(ValueError::new(
                "telegram_user_id",
                "must be a positive Telegram user id",
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A display name: 1–128 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustomerName(String);

impl CustomerName {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let t = raw.trim();
        if t.is_empty() {
            return Err(ValueError::new("name", "must not be empty"));
        }
        if t.chars().count() > 128 {
            return Err(ValueError::new("name", "must be at most 128 characters"));
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Telegram username without the `@`: 5–32 characters of a-z, 0-9 and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TelegramUsername(String);

impl TelegramUsername {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let t = raw.trim().trim_start_matches('@');
        let ok =
            (4..=32).contains(&t.len()) && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok {
            Ok(Self(t.to_owned()))
        } else {
            Err(ValueError::new(
                "username",
                "must be a Telegram username: 4–32 characters of letters, digits and '_'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub telegram_user_id: TelegramUserId,
    pub name: CustomerName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<TelegramUsername>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_ids_are_positive() {
        assert!(TelegramUserId::parse(42).is_ok());
        assert!(TelegramUserId::parse(0).is_err());
        assert!(TelegramUserId::parse(-5).is_err());
    }

    #[test]
    fn usernames_lose_their_at_sign() {
        assert_eq!(
            TelegramUsername::parse("@alice_1").unwrap().as_str(),
            "alice_1"
        );
        assert!(TelegramUsername::parse("a b c d").is_err());
    }
}
