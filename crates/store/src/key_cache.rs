//! The data subjects' keys this process has read lately, so that a command
//! seals its new events without reading the key again. Only live keys are
//! kept, and none is trusted on its own: an append that used one carries a
//! guard (see [`crate::append::StreamWrite::live_subject`]) that writes
//! nothing unless the key still lives in the database, in the same
//! statement. An erasure by any process therefore stops the next append on
//! the spot; the command forgets the key, loads again and reads the subject
//! as erased. A subject's key is made once and is only ever destroyed (set
//! to `NULL`, never replaced), so "still there" is "the same key".

use chacha20poly1305::ChaCha20Poly1305;

use crate::shared_lru::SharedLru;

/// How many subjects' keys a process keeps (a key is 32 bytes, its name about
/// fifty): well under a megabyte.
pub const CAPACITY: usize = 16_384;

/// A subject's key is named by its workspace and the subject.
pub type Owner = (String, String);

#[derive(Clone, Debug)]
pub struct KeyCache {
    keys: SharedLru<Owner, ChaCha20Poly1305>,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl KeyCache {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            keys: SharedLru::with_capacity(capacity),
        }
    }

    /// The subject's key, if this process read it live lately.
    pub fn get(&self, owner: &Owner) -> Option<ChaCha20Poly1305> {
        self.keys.get(owner)
    }

    /// Keep a key just read live from the database.
    pub fn put(&self, owner: Owner, cipher: ChaCha20Poly1305) {
        self.keys.put(owner, cipher);
    }

    /// Drop the subject's key (an append found it destroyed).
    pub fn forget(&self, owner: &Owner) {
        self.keys.pop(owner);
    }

    /// Drop every key (after an erasure in this process).
    pub fn clear(&self) {
        self.keys.clear();
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
