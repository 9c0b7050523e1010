//! Personal data and erasure by crypto-shredding. Personal fields of events
//! (a customer's name and username, ticket subjects, message texts and
//! attachment references) are stored encrypted with a key of their data
//! subject (`tg:<telegram user id>`), as strings
//! `enc:v1:<workspace>/<subject>:<base64>`,
//! so the event shapes do not change. Readers get them decrypted; once the
//! subject is erased its key is gone and they read as `[erased]`, while the
//! events themselves, their hash chain and every count stay intact.
//!
//! Snapshots hold decrypted state, so erasure deletes the subject's snapshots
//! (they are only caches). Read models scrub their rows when they see the
//! `CustomerErased` event.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde_json::Value;

use crate::args;
use crate::db::{Backend, Db, SqlError, Tx};
use crate::event::StoredEvent;
use crate::in_list;
use crate::key_cache::{KeyCache, Owner};

pub const ERASED: &str = "[erased]";
const PREFIX: &str = "enc:v1:";
/// Aggregate type of the erasure record.
pub const SUBJECT_AGGREGATE: &str = "data_subject";
pub const ERASED_EVENT: &str = "CustomerErased";

/// The data subject of a Telegram customer.
pub fn subject_for(telegram_user_id: i64) -> String {
    format!("tg:{telegram_user_id}")
}

/// Which string fields of an event's body are personal: paths of object keys;
/// `*` walks every element of an array.
fn personal_paths(event_type: &str) -> &'static [&'static [&'static str]] {
    match event_type {
        "TicketOpened" => &[
            &["subject"],
            &["customer", "name"],
            &["customer", "username"],
        ],
        "MessageAdded" => &[
            &["text"],
            &["attachments", "*", "reference"],
            &["attachments", "*", "file_name"],
        ],
        "MessageEdited" => &[&["text"]],
        _ => &[],
    }
}

fn visit<'a>(value: &'a mut Value, path: &[&str], f: &mut dyn FnMut(&mut Value)) {
    match path.split_first() {
        None => f(value),
        Some((&"*", rest)) => {
            if let Value::Array(items) = value {
                for item in items {
                    visit(item, rest, f);
                }
            }
        }
        Some((key, rest)) => {
            if let Some(v) = value.get_mut(*key) {
                visit(v, rest, f);
            }
        }
    }
}

/// Visit the personal string fields of an externally tagged event payload.
fn for_each_personal(event_type: &str, payload: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    let Some(body) = payload.get_mut(event_type) else {
        return;
    };
    for path in personal_paths(event_type) {
        visit(body, path, f);
    }
}

fn cipher(key_b64: &str) -> Option<ChaCha20Poly1305> {
    let bytes = B64.decode(key_b64).ok()?;
    if bytes.len() != 32 {
        return None;
    }
    Some(ChaCha20Poly1305::new(Key::from_slice(&bytes)))
}

fn seal(cipher: &ChaCha20Poly1305, workspace: &str, subject: &str, plain: &str) -> Option<String> {
    let mut nonce = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
        .ok()?;
    let mut blob = nonce.to_vec();
    blob.extend(ct);
    Some(format!(
        "{PREFIX}{workspace}/{subject}:{}",
        B64.encode(blob)
    ))
}

/// `((workspace, subject), blob)` of an encrypted value.
fn parse(sealed: &str) -> Option<(Owner, &str)> {
    let rest = sealed.strip_prefix(PREFIX)?;
    let cut = rest.rfind(':')?;
    let (owner, blob) = (&rest[..cut], &rest[cut + 1..]);
    let (ws, subject) = owner.split_once('/')?;
    Some(((ws.to_owned(), subject.to_owned()), blob))
}

fn open(cipher: &ChaCha20Poly1305, blob: &str) -> Option<String> {
    let bytes = B64.decode(blob).ok()?;
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, ct) = bytes.split_at(12);
    let plain = cipher.decrypt(Nonce::from_slice(nonce), ct).ok()?;
    String::from_utf8(plain).ok()
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    key: Option<String>,
}

/// The subject's key, created on first use; `None` once erased. Read first:
/// past a customer's first message the key is there, and one statement does.
async fn key_for(
    db: &Db,
    workspace: &str,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, SqlError> {
    const READ: &str = "SELECT key FROM personal_keys WHERE workspace_id = $1 AND subject = $2";
    if let Some(row) = db
        .fetch_optional::<KeyRow>(READ, args![workspace, subject])
        .await?
    {
        return Ok(row.key);
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    // Another writer (or an erasure) may create the row meanwhile: theirs
    // stands, and is what the second read returns.
    db.execute(
        "INSERT INTO personal_keys (workspace_id, subject, key, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (workspace_id, subject) DO NOTHING",
        args![workspace, subject, B64.encode(bytes), now],
    )
    .await?;
    let row: Option<KeyRow> = db.fetch_optional(READ, args![workspace, subject]).await?;
    Ok(row.and_then(|r| r.key))
}

/// The keys one command has read: the ones that revealed its aggregate's
/// history, then the one that seals its new events. A command reads each
/// subject's key once; the ring lives no longer than the command, so an
/// erasure is seen by the next one. A ring made [`KeyRing::with_cache`]
/// takes a live key from the process's [`KeyCache`] instead of reading it,
/// and keeps there the live keys it reads; an append that seals with such a
/// key names the subject as its `live_subject`, which writes nothing once
/// the key is destroyed.
#[derive(Default)]
pub struct KeyRing {
    keys: HashMap<Owner, Option<ChaCha20Poly1305>>,
    cache: Option<KeyCache>,
}

impl KeyRing {
    /// A ring that takes live keys from `cache` and keeps there those it reads.
    pub fn with_cache(cache: &KeyCache) -> Self {
        Self {
            keys: HashMap::new(),
            cache: Some(cache.clone()),
        }
    }

    /// Whether `subject`'s key lives, as far as the ring knows: taken from
    /// the process's cache when kept there, else read (and created on first
    /// use, as sealing would) into the ring for the sealing that follows.
    pub async fn is_live(
        &mut self,
        db: &Db,
        workspace: &str,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, SqlError> {
        Ok(self.cipher(db, workspace, subject, now).await?.is_some())
    }

    /// Whether the ring holds `subject`'s key as live (without reading it).
    pub fn holds_live(&self, workspace: &str, subject: &str) -> bool {
        self.keys
            .get(&(workspace.to_owned(), subject.to_owned()))
            .is_some_and(Option::is_some)
    }

    /// Keys just read from the database: into the ring, and the live ones
    /// into the process's cache.
    fn extend(&mut self, read: HashMap<Owner, Option<ChaCha20Poly1305>>) {
        if let Some(cache) = &self.cache {
            for (owner, key) in &read {
                if let Some(key) = key {
                    cache.put(owner.clone(), key.clone());
                }
            }
        }
        self.keys.extend(read);
    }

    /// The subject's cipher (`None` once erased), read once per ring.
    async fn cipher(
        &mut self,
        db: &Db,
        workspace: &str,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<&ChaCha20Poly1305>, SqlError> {
        let owner = (workspace.to_owned(), subject.to_owned());
        if !self.keys.contains_key(&owner) {
            match self.cache.as_ref().and_then(|c| c.get(&owner)) {
                Some(kept) => {
                    self.keys.insert(owner.clone(), Some(kept));
                }
                None => {
                    let key = key_for(db, workspace, subject, now).await?;
                    let read = key.as_deref().and_then(cipher);
                    self.extend(HashMap::from([(owner.clone(), read)]));
                }
            }
        }
        Ok(self.keys.get(&owner).and_then(Option::as_ref))
    }
}

/// Encrypt the personal fields of `payload` for `subject`. After erasure
/// (no key) the fields are written as `[erased]`: nothing new about an
/// erased subject is ever stored readable.
pub async fn protect(
    db: &Db,
    ring: &mut KeyRing,
    workspace: &str,
    subject: &str,
    event_type: &str,
    payload: &mut Value,
    now: DateTime<Utc>,
) -> Result<(), SqlError> {
    if personal_paths(event_type).is_empty() {
        return Ok(());
    }
    let cipher = ring.cipher(db, workspace, subject, now).await?;
    for_each_personal(event_type, payload, &mut |v| {
        if let Value::String(s) = v
            && !s.starts_with(PREFIX)
        {
            *v = match cipher {
                Some(c) => seal(c, workspace, subject, s)
                    .map(Value::String)
                    .unwrap_or_else(|| Value::String(ERASED.into())),
                None => Value::String(ERASED.into()),
            };
        }
    });
    Ok(())
}

#[derive(sqlx::FromRow)]
struct OwnedKeyRow {
    workspace_id: String,
    subject: String,
    key: Option<String>,
}

async fn ciphers(
    db: &Db,
    owners: &HashSet<Owner>,
) -> Result<HashMap<Owner, Option<ChaCha20Poly1305>>, SqlError> {
    let mut out = HashMap::new();
    // By workspace, then `subject IN (…)`: each subject one probe of the
    // primary key (subject first, see migration 0011), with statement texts
    // few enough to stay prepared.
    let mut by_workspace: HashMap<&str, Vec<&str>> = HashMap::new();
    for (ws, subject) in owners {
        by_workspace.entry(ws).or_default().push(subject);
    }
    for (ws, subjects) in by_workspace {
        let mut rest = subjects.as_slice();
        for n in in_list::chunks(rest.len(), 256) {
            let (now, later) = rest.split_at(n);
            rest = later;
            let sql = keys_statement(n);
            let mut a = vec![crate::db::Arg::from(ws)];
            a.extend(now.iter().map(|s| crate::db::Arg::from(*s)));
            for r in db.fetch_all::<OwnedKeyRow>(&sql, a).await? {
                out.insert(
                    (r.workspace_id, r.subject),
                    r.key.as_deref().and_then(cipher),
                );
            }
        }
    }
    for o in owners {
        out.entry(o.clone()).or_insert(None);
    }
    Ok(out)
}

/// The read of `n` subjects' keys in one workspace (`$1`, then `$2`…).
pub fn keys_statement(n: usize) -> String {
    format!(
        "SELECT workspace_id, subject, key FROM personal_keys \
         WHERE workspace_id = $1 AND subject IN ({})",
        in_list::placeholders(2, n)
    )
}

/// Adds the owners of the sealed fields in `payload` to `found`; whether it has any.
fn owners_in(event_type: &str, payload: &mut Value, found: &mut HashSet<Owner>) -> bool {
    let mut any = false;
    for_each_personal(event_type, payload, &mut |v| {
        if let Some((owner, _)) = v.as_str().and_then(parse) {
            found.insert(owner);
            any = true;
        }
    });
    any
}

fn reveal_with(
    event_type: &str,
    payload: &mut Value,
    keys: &HashMap<Owner, Option<ChaCha20Poly1305>>,
) {
    for_each_personal(event_type, payload, &mut |v| {
        let Some((owner, blob)) = v.as_str().and_then(parse) else {
            return;
        };
        let plain = keys
            .get(&owner)
            .and_then(Option::as_ref)
            .and_then(|c| open(c, blob))
            .unwrap_or_else(|| ERASED.to_owned());
        *v = Value::String(plain);
    });
}

/// Decrypt the personal fields of stored events in place (the stored form is
/// kept in `raw_payload`); erased subjects read as `[erased]`.
pub async fn reveal_events(db: &Db, events: &mut [StoredEvent]) -> Result<(), SqlError> {
    let mut found = HashSet::new();
    // Only events with sealed fields are copied and opened.
    let sealed: Vec<bool> = events
        .iter_mut()
        .map(|e| owners_in(&e.event_type, &mut e.payload, &mut found))
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    let keys = ciphers(db, &found).await?;
    for (e, _) in events.iter_mut().zip(sealed).filter(|(_, s)| *s) {
        let raw = e.payload.clone();
        reveal_with(&e.event_type, &mut e.payload, &keys);
        e.raw_payload = Some(raw);
    }
    Ok(())
}

/// Decrypt `(event_type, payload)` pairs in place.
pub async fn reveal_payloads(db: &Db, payloads: &mut [(String, Value)]) -> Result<(), SqlError> {
    reveal_payloads_keeping(db, payloads, &mut KeyRing::default()).await
}

/// [`reveal_payloads`], reading only the keys `ring` lacks and keeping them there.
pub async fn reveal_payloads_keeping(
    db: &Db,
    payloads: &mut [(String, Value)],
    ring: &mut KeyRing,
) -> Result<(), SqlError> {
    let mut found = HashSet::new();
    for (t, p) in payloads.iter_mut() {
        owners_in(t, p, &mut found);
    }
    found.retain(|o| !ring.keys.contains_key(o));
    if !found.is_empty() {
        ring.extend(ciphers(db, &found).await?);
    }
    for (t, p) in payloads.iter_mut() {
        reveal_with(t, p, &ring.keys);
    }
    Ok(())
}

/// The data subject whose key sealed this stored event's personal fields.
pub fn subject_of(e: &StoredEvent) -> Option<String> {
    let mut raw = e.raw_payload.clone().unwrap_or_else(|| e.payload.clone());
    let mut found = HashSet::new();
    owners_in(&e.event_type, &mut raw, &mut found);
    found.into_iter().next().map(|(_, subject)| subject)
}

/// Destroy the subject's key, drop the snapshots that hold their data
/// decrypted, and record `CustomerErased` in the log, in one transaction.
/// Returns how many snapshots were dropped.
pub async fn erase(
    db: &Db,
    workspace: &str,
    subject: &str,
    telegram_user_id: i64,
    meta: &crate::event::Metadata,
    now: DateTime<Utc>,
) -> Result<u64, crate::append::AppendError> {
    let mut tx = db.begin().await?;
    let dropped = erase_in(&mut tx, workspace, subject, now).await?;
    #[derive(sqlx::FromRow)]
    struct Seq {
        seq: i64,
    }
    let aggregate_id = format!("{workspace}/{subject}");
    let current: Seq = tx
        .fetch_one(
            "SELECT COALESCE(MAX(sequence), 0) AS seq FROM events WHERE aggregate_type = $1 AND aggregate_id = $2",
            args![SUBJECT_AGGREGATE, aggregate_id.as_str()],
        )
        .await?;
    let write = crate::append::StreamWrite {
        aggregate_type: SUBJECT_AGGREGATE,
        aggregate_id: &aggregate_id,
        workspace_id: workspace,
        expected_sequence: current.seq,
        metadata: meta,
        snapshot: None,
        live_subject: None,
    };
    let event = crate::append::NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: ERASED_EVENT.to_owned(),
        event_version: "1.0".to_owned(),
        payload: serde_json::json!({ ERASED_EVENT: {
            "subject": subject, "telegram_user_id": telegram_user_id, "at": now,
        }}),
        occurred_at: now,
    };
    crate::append::append_in(&mut tx, &write, &[event]).await?;
    tx.commit().await?;
    Ok(dropped)
}

/// The subject and Telegram id named by a `CustomerErased` event.
pub fn erased(e: &StoredEvent) -> Option<(String, i64)> {
    if e.event_type != ERASED_EVENT {
        return None;
    }
    let body = e.payload.get(ERASED_EVENT)?;
    Some((
        body.get("subject")?.as_str()?.to_owned(),
        body.get("telegram_user_id")?.as_i64()?,
    ))
}

async fn erase_in(
    tx: &mut Tx,
    workspace: &str,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<u64, SqlError> {
    tx.execute(
        "INSERT INTO personal_keys (workspace_id, subject, key, created_at, erased_at) VALUES ($1, $2, NULL, $3, $3) \
         ON CONFLICT (workspace_id, subject) DO UPDATE SET key = NULL, erased_at = excluded.erased_at",
        args![workspace, subject, now],
    )
    .await?;
    // Snapshots hold decrypted state: drop those of the subject's aggregates.
    let pattern = format!("%{PREFIX}{workspace}/{subject}:%");
    let payload_text = match tx.backend() {
        Backend::Postgres => "payload::text",
        Backend::Sqlite => "payload",
    };
    let sql = format!(
        "DELETE FROM snapshots WHERE (aggregate_type, aggregate_id) IN \
         (SELECT aggregate_type, aggregate_id FROM events WHERE workspace_id = $1 AND {payload_text} LIKE $2)"
    );
    tx.execute(&sql, args![workspace, pattern]).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sealed_fields_open_with_their_key_and_read_as_erased_without() {
        let key = B64.encode([7u8; 32]);
        let c = cipher(&key).unwrap();
        let mut payload = json!({"MessageAdded": {"text": "my card is 1234", "attachments": [{"reference": "file1", "kind": "photo"}]}});
        for_each_personal("MessageAdded", &mut payload, &mut |v| {
            let s = v.as_str().unwrap().to_owned();
            *v = Value::String(seal(&c, "acme", "tg:42", &s).unwrap());
        });
        let sealed = payload.to_string();
        assert!(!sealed.contains("1234") && !sealed.contains("file1"));
        assert_eq!(payload["MessageAdded"]["attachments"][0]["kind"], "photo");
        let mut opened = payload.clone();
        let owner = ("acme".to_owned(), "tg:42".to_owned());
        let keys: HashMap<Owner, Option<ChaCha20Poly1305>> =
            [(owner.clone(), Some(c))].into_iter().collect();
        reveal_with("MessageAdded", &mut opened, &keys);
        assert_eq!(opened["MessageAdded"]["text"], "my card is 1234");
        let mut erased = payload;
        let none: HashMap<Owner, Option<ChaCha20Poly1305>> = [(owner, None)].into_iter().collect();
        reveal_with("MessageAdded", &mut erased, &none);
        assert_eq!(erased["MessageAdded"]["text"], ERASED);
        assert_eq!(
            erased["MessageAdded"]["attachments"][0]["reference"],
            ERASED
        );
    }
}
