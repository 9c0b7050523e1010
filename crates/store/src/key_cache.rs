//! The data subjects' keys this process has read lately, so that a command
//! seals its new events without reading the key again. Only live keys are
//! kept, and none is trusted on its own: an append that used one carries a
//! guard (see [`crate::append::StreamWrite::live_subject`]) that writes
//! nothing unless the key still lives in the database, in the same
//! statement. An erasure by any process therefore stops the next append on
//! the spot; the command forgets the key, loads again and reads the subject
//! as erased. A subject's key is made once and is only ever destroyed (set
//! to `NULL`, never replaced), so "still there" is "the same key".

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use chacha20poly1305::ChaCha20Poly1305;

/// How many subjects' keys a process keeps (a key is 32 bytes, its name about
/// fifty): well under a megabyte.
pub const CAPACITY: usize = 16_384;

/// A subject's key is named by its workspace and the subject.
pub type Owner = (String, String);

#[derive(Clone)]
pub struct KeyCache {
    keys: Arc<Mutex<lru::LruCache<Owner, ChaCha20Poly1305>>>,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys themselves.
        f.debug_struct("KeyCache")
            .field("len", &self.lock().len())
            .finish()
    }
}

impl KeyCache {
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            keys: Arc::new(Mutex::new(lru::LruCache::new(capacity))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, lru::LruCache<Owner, ChaCha20Poly1305>> {
        // A panic while holding the lock leaves nothing half-written behind.
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The subject's key, if this process read it live lately.
    pub fn get(&self, owner: &Owner) -> Option<ChaCha20Poly1305> {
        self.lock().get(owner).cloned()
    }

    /// Keep a key just read live from the database.
    pub fn put(&self, owner: Owner, cipher: ChaCha20Poly1305) {
        self.lock().put(owner, cipher);
    }

    /// Drop the subject's key (an append found it destroyed).
    pub fn forget(&self, owner: &Owner) {
        self.lock().pop(owner);
    }

    /// Drop every key (after an erasure in this process).
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
