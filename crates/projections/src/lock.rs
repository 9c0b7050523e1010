//! Leader locks: one runner per projector across processes. They live in the
//! store (one shared session per process); re-exported here for runners.

pub use tgcrm_store::leader::{LeaderLock, lock_key, try_acquire};
