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
use std::sync::Arc;

use tgcrm_domain::Decider;

use crate::load::Loaded;
use crate::shared_lru::SharedLru;

/// How many aggregates a process keeps (a ticket's state is a few kilobytes).
pub const CAPACITY: usize = 4096;

type Key = (&'static str, String);

#[derive(Clone, Debug)]
pub struct AggregateCache {
    entries: SharedLru<Key, Arc<dyn Any + Send + Sync>>,
}

impl Default for AggregateCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl AggregateCache {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: SharedLru::with_capacity(capacity),
        }
    }

    /// The state of `A` `id` as this process last wrote it, if kept.
    pub fn get<A: Decider>(&self, id: &str) -> Option<Loaded<A>> {
        let entry = self.entries.get(&(A::TYPE, id.to_owned()))?;
        entry.downcast_ref::<Loaded<A>>().cloned()
    }

    /// Keep `loaded` as the state of `A` `id`.
    pub fn put<A: Decider>(&self, id: &str, loaded: Loaded<A>) {
        self.entries.put((A::TYPE, id.to_owned()), Arc::new(loaded));
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
        self.entries.pop(&(A::TYPE, id.to_owned()));
    }

    /// Drop everything (after an erasure in this process).
    pub fn clear(&self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
