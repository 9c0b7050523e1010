//! The aggregates this process last wrote, as it wrote them: a command on one
//! of them decides on that state instead of loading it again. Nothing here
//! is trusted on its own. The append's primary key re-checks the version (a
//! write by another process makes it fail, and the command loads and
//! decides again), and a command that would answer from the cached state
//! alone (a refusal, a repeat that changes nothing, a version mismatch)
//! loads the aggregate first and decides again on what the log says. A
//! cached state holds personal fields in the clear, so it is only used while
//! the subject's key lives (see [`crate::commands`]).

use std::any::Any;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use tgcrm_domain::Decider;

use crate::load::Loaded;

/// How many aggregates a process keeps (a ticket's state is a few kilobytes).
pub const CAPACITY: usize = 4096;

type Key = (&'static str, String);

#[derive(Clone)]
pub struct AggregateCache {
    entries: Arc<Mutex<lru::LruCache<Key, Arc<dyn Any + Send + Sync>>>>,
}

impl Default for AggregateCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl std::fmt::Debug for AggregateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AggregateCache")
            .field("len", &self.lock().len())
            .finish()
    }
}

impl AggregateCache {
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            entries: Arc::new(Mutex::new(lru::LruCache::new(capacity))),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, lru::LruCache<Key, Arc<dyn Any + Send + Sync>>> {
        // A panic while holding the lock leaves nothing half-written behind.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state of `A` `id` as this process last wrote it, if kept.
    pub fn get<A: Decider>(&self, id: &str) -> Option<Loaded<A>> {
        let entry = self.lock().get(&(A::TYPE, id.to_owned()))?.clone();
        entry.downcast_ref::<Loaded<A>>().cloned()
    }

    /// Keep `loaded` as the state of `A` `id`.
    pub fn put<A: Decider>(&self, id: &str, loaded: Loaded<A>) {
        self.lock().put((A::TYPE, id.to_owned()), Arc::new(loaded));
    }

    /// Keep the not yet created state of `A` `id`, an id the caller has just
    /// made (no stream can have it): the command that creates it decides
    /// without loading. Were the id taken after all, the append's primary
    /// key would refuse it and the command load as after any lost race.
    pub fn put_new<A: Decider>(&self, id: &str) {
        self.put::<A>(
            id,
            Loaded {
                state: A::default(),
                version: 0,
            },
        );
    }

    /// Drop what is kept of `A` `id`.
    pub fn forget<A: Decider>(&self, id: &str) {
        self.lock().pop(&(A::TYPE, id.to_owned()));
    }

    /// Drop everything (after an erasure in this process).
    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
