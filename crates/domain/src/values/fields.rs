//! Custom fields: a small map of named JSON scalars (a form's answers, an order
//! number, a plan name).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ValueError;

/// A field name: 1–64 characters of a-z, 0-9 and `_`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldKey(String);

impl FieldKey {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValueError::new(
                format!("fields.{raw}"),
                "field names are 1–64 characters of a-z, 0-9 and '_', starting with a letter",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// At most 50 fields; values are strings (≤ 1,000 characters), numbers or booleans.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fields(BTreeMap<FieldKey, serde_json::Value>);

impl Fields {
    pub const MAX_FIELDS: usize = 50;

    pub fn parse(raw: &serde_json::Map<String, serde_json::Value>) -> Result<Self, ValueError> {
        if raw.len() > Self::MAX_FIELDS {
            return Err(ValueError::new(
                "fields",
                format!("at most {} fields", Self::MAX_FIELDS),
            ));
        }
        let mut out = BTreeMap::new();
        for (k, v) in raw {
            let key = FieldKey::parse(k)?;
            match v {
                serde_json::Value::String(s) if s.chars().count() <= 1_000 => {}
                serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {}
                serde_json::Value::String(_) => {
                    return Err(ValueError::new(
                        format!("fields.{k}"),
                        "must be at most 1,000 characters",
                    ));
                }
                _ => {
                    return Err(ValueError::new(
                        format!("fields.{k}"),
                        "must be a string, a number or a boolean",
                    ));
                }
            }
            out.insert(key, v.clone());
        }
        Ok(Self(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, key: &FieldKey) -> Option<&serde_json::Value> {
        self.0.get(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&FieldKey, &serde_json::Value)> {
        self.0.iter()
    }

    pub fn insert(&mut self, key: FieldKey, value: serde_json::Value) {
        self.0.insert(key, value);
    }

    pub fn remove(&mut self, key: &FieldKey) -> Option<serde_json::Value> {
        self.0.remove(key)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_accept_scalars_only() {
        let ok = json!({"order_no": "A-1", "count": 3, "vip": true});
        assert_eq!(Fields::parse(ok.as_object().unwrap()).unwrap().len(), 3);
        let nested = json!({"x": {"y": 1}});
        assert!(Fields::parse(nested.as_object().unwrap()).is_err());
        let bad_key = json!({"Bad Key": 1});
        assert!(Fields::parse(bad_key.as_object().unwrap()).is_err());
    }
}
