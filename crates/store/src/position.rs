//! A place in the global log. On Postgres it is (committing transaction id,
//! position): the order the global reader hands events out in. On SQLite the
//! transaction part is always 0 and the position is the rowid.
//! Clients see it as an opaque token (`X-Event-Position`, `consistent_with`,
//! `after`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Position {
    pub transaction_id: i64,
    pub position: i64,
}

impl Position {
    pub const START: Position = Position {
        transaction_id: 0,
        position: 0,
    };

    pub fn new(transaction_id: i64, position: i64) -> Self {
        Self {
            transaction_id,
            position,
        }
    }

    pub fn token(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.transaction_id, self.position)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a position token (expected the value of an X-Event-Position header, like '0-42')")]
pub struct BadPositionToken;

impl FromStr for Position {
    type Err = BadPositionToken;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (tx, pos) = s.split_once('-').ok_or(BadPositionToken)?;
        let tx: i64 = tx.parse().map_err(|_| BadPositionToken)?;
        let pos: i64 = pos.parse().map_err(|_| BadPositionToken)?;
        if tx < 0 || pos < 0 {
            return Err(BadPositionToken);
        }
        Ok(Self::new(tx, pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_order_by_transaction_first() {
        let a = Position::new(7, 100);
        assert_eq!(a.token().parse::<Position>().unwrap(), a);
        assert!(Position::new(8, 1) > Position::new(7, 100));
        assert!("x".parse::<Position>().is_err());
        assert!("1-".parse::<Position>().is_err());
        assert!("-1-2".parse::<Position>().is_err());
    }
}
