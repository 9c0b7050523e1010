//! Exactly one runner per projector, reactor or poller across processes:
//! Postgres session advisory locks. All the locks a process holds live on one
//! dedicated connection of its own (outside the request pool), so a node
//! costs one connection for leadership however many runners it has. When the
//! process dies, that connection closes and every lock it held passes on.
//!
//! Within a process the same name is never handed out twice either (Postgres
//! advisory locks are re-entrant per session, so the session alone would not
//! refuse a second runner of the same name here). SQLite is single-process:
//! there only the in-process rule applies.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{Connection, Row};

use crate::Db;

/// The one connection on which a process holds its leader locks, and which
/// names it holds. Shared by every clone of a [`Db`].
#[derive(Debug, Default)]
pub struct LockSession {
    conn: tokio::sync::Mutex<Option<PgConnection>>,
    held: Mutex<HashSet<i64>>,
}

/// Leadership of one name; released when dropped.
#[derive(Debug)]
pub struct LeaderLock {
    key: i64,
    session: Arc<LockSession>,
    /// Held on the Postgres session too (not only in this process).
    on_postgres: bool,
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

/// Try to become the one runner of `name`. `Ok(None)`: another runner, in
/// this process or another, holds it.
pub async fn try_acquire(db: &Db, name: &str) -> Result<Option<LeaderLock>, sqlx::Error> {
    let key = lock_key(name);
    let session = db.lock_session();
    if !session.claim(key) {
        return Ok(None);
    }
    let Some(pool) = db.pg() else {
        return Ok(Some(LeaderLock {
            key,
            session,
            on_postgres: false,
        }));
    };
    match session.pg_try_lock(pool, key).await {
        Ok(true) => Ok(Some(LeaderLock {
            key,
            session,
            on_postgres: true,
        })),
        Ok(false) => {
            session.unclaim(key);
            Ok(None)
        }
        Err(e) => {
            session.unclaim(key);
            Err(e)
        }
    }
}

impl LockSession {
    fn held(&self) -> std::sync::MutexGuard<'_, HashSet<i64>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn claim(&self, key: i64) -> bool {
        self.held().insert(key)
    }

    fn unclaim(&self, key: i64) {
        self.held().remove(&key);
    }

    async fn pg_try_lock(&self, pool: &PgPool, key: i64) -> Result<bool, sqlx::Error> {
        let mut slot = self.conn.lock().await;
        if slot.is_none() {
            let options = pool.connect_options();
            *slot = Some(PgConnection::connect_with(&options).await?);
        }
        let Some(conn) = slot.as_mut() else {
            return Ok(false);
        };
        let got = sqlx::query("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut *conn)
            .await
            .and_then(|row| row.try_get::<bool, _>(0));
        if got.is_err() {
            // A broken session holds nothing any more; start afresh next time.
            *slot = None;
        }
        got
    }

    async fn pg_unlock(&self, key: i64) {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_mut() {
            let released = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(key)
                .execute(&mut *conn)
                .await;
            if released.is_err() {
                // Closing the session is the only sure way to let go.
                *slot = None;
            }
        }
    }
}

impl Drop for LeaderLock {
    fn drop(&mut self) {
        let session = self.session.clone();
        let key = self.key;
        if !self.on_postgres {
            session.unclaim(key);
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    session.pg_unlock(key).await;
                    session.unclaim(key);
                });
            }
            // No runtime left: the process is ending and its session with it.
            Err(_) => session.unclaim(key),
        }
    }
}
