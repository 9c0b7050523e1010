//! Exactly one runner per projector across processes: a Postgres session
//! advisory lock held on a dedicated connection for as long as the projector
//! runs. When the process dies, its connection closes and the lock passes on.
//! SQLite is single-process; there the lock is a no-op.

use sqlx::pool::PoolConnection;
use sqlx::{Postgres, Row};
use tgcrm_store::Db;

pub struct LeaderLock {
    _conn: Option<PoolConnection<Postgres>>,
}

/// A stable 64-bit key for a name (FNV-1a; must not change between releases).
pub fn lock_key(name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("tgcrm:{name}").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// Try to become the one runner of `name`. `Ok(None)`: another process holds it.
pub async fn try_acquire(db: &Db, name: &str) -> Result<Option<LeaderLock>, sqlx::Error> {
    let Some(pool) = db.pg() else {
        return Ok(Some(LeaderLock { _conn: None }));
    };
    let mut conn = pool.acquire().await?;
    let got: bool = sqlx::query("SELECT pg_try_advisory_lock($1)")
        .bind(lock_key(name))
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if got {
        Ok(Some(LeaderLock { _conn: Some(conn) }))
    } else {
        Ok(None)
    }
}

impl Drop for LeaderLock {
    fn drop(&mut self) {
        // Detach the connection so the session (and its lock) ends instead of
        // going back to the pool still holding the lock.
        if let Some(conn) = self._conn.take() {
            drop(conn.detach());
        }
    }
}
