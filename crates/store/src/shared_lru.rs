//! A least-recently-used map that a process's tasks share (behind a mutex):
//! the storage of the caches of what this process last wrote or read
//! ([`crate::aggregate_cache`], [`crate::key_cache`]).

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};

pub struct SharedLru<K, V> {
    entries: Arc<Mutex<lru::LruCache<K, V>>>,
}

impl<K, V> Clone for SharedLru<K, V> {
    fn clone(&self) -> Self {
        Self {
            entries: self.entries.clone(),
        }
    }
}

impl<K: Hash + Eq, V: Clone> std::fmt::Debug for SharedLru<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The size only: what is kept may be secret (keys, personal fields).
        f.debug_struct("SharedLru")
            .field("len", &self.len())
            .finish()
    }
}

impl<K: Hash + Eq, V: Clone> SharedLru<K, V> {
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            entries: Arc::new(Mutex::new(lru::LruCache::new(capacity))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, lru::LruCache<K, V>> {
        // A panic while holding the lock leaves nothing half-written behind.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &K) -> Option<V> {
        self.lock().get(key).cloned()
    }

    pub fn put(&self, key: K, value: V) {
        self.lock().put(key, value);
    }

    pub fn pop(&self, key: &K) {
        self.lock().pop(key);
    }

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
