//! Standard Webhooks signatures. A secret is `whsec_` + base64 of 32 random
//! bytes; the signature of a delivery is `v1,` + base64(HMAC-SHA256(key,
//! "{webhook-id}.{webhook-timestamp}.{body}")). During a rotation's grace
//! period a delivery carries one signature per live key, space-separated.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

pub const SECRET_PREFIX: &str = "whsec_";
const KEY_BYTES: usize = 32;

/// A signing secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(String);

impl SigningSecret {
    /// A new random secret.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_BYTES];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// A stored or presented `whsec_…` secret.
    pub fn parse(raw: &str) -> Result<Self, SignatureError> {
        key_bytes(raw)?;
        Ok(Self(raw.to_owned()))
    }

    /// The `whsec_…` text: shown once to the admin, stored in `webhook_secrets`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A short public fingerprint (SHA-256 of the key), safe for the log.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(key_bytes(&self.0).unwrap_or_default());
        format!("sha256:{}", &hex::encode(digest)[..16])
    }

    /// `v1,<base64 signature>` of one delivery.
    pub fn sign(
        &self,
        msg_id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Result<String, SignatureError> {
        let key = key_bytes(&self.0)?;
        let mut mac = HmacSha256::new_from_slice(&key).map_err(|_| SignatureError::BadSecret)?;
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        Ok(format!(
            "v1,{}",
            STANDARD.encode(mac.finalize().into_bytes())
        ))
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(****)")
    }
}

fn key_bytes(secret: &str) -> Result<Vec<u8>, SignatureError> {
    let b64 = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or(SignatureError::BadSecret)?;
    let key = STANDARD
        .decode(b64)
        .map_err(|_| SignatureError::BadSecret)?;
    if key.len() < 24 {
        return Err(SignatureError::BadSecret);
    }
    Ok(key)
}

/// The `webhook-signature` header for a delivery signed with every live key.
pub fn signature_header(
    secrets: &[SigningSecret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SignatureError> {
    let mut parts = Vec::with_capacity(secrets.len());
    for s in secrets {
        parts.push(s.sign(msg_id, timestamp, body)?);
    }
    Ok(parts.join(" "))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the secret is not a whsec_ secret of at least 24 bytes")]
    BadSecret,
    #[error("no signature matches")]
    NoMatch,
    #[error("the timestamp is too far from now")]
    TimestampOutOfTolerance,
    #[error("the webhook-timestamp header is not a number")]
    BadTimestamp,
}

/// Verify a delivery as a receiver would (Standard Webhooks): one of the
/// space-separated `v1,` signatures matches, and the timestamp is within
/// `tolerance_secs` of `now_unix`. Comparison is constant-time.
pub fn verify(
    secret: &SigningSecret,
    msg_id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if (now_unix - ts).abs() > tolerance_secs {
        return Err(SignatureError::TimestampOutOfTolerance);
    }
    let key = key_bytes(secret.expose())?;
    for sig in signatures.split(' ') {
        let Some(b64) = sig.strip_prefix("v1,") else {
            continue;
        };
        let Ok(raw) = STANDARD.decode(b64) else {
            continue;
        };
        let mut mac = HmacSha256::new_from_slice(&key).map_err(|_| SignatureError::BadSecret)?;
        mac.update(format!("{msg_id}.{ts}.").as_bytes());
        mac.update(body);
        if mac.verify_slice(&raw).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::NoMatch)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_standard_webhooks_test_vector_signs_as_specified() {
        // From the Standard Webhooks reference libraries.
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = secret
            .sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#,
            )
            .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn verification_accepts_any_live_key_and_refuses_tampering() {
        let old = SigningSecret::generate();
        let new = SigningSecret::generate();
        let header = signature_header(&[new.clone(), old.clone()], "m1", 100, b"{}").unwrap();
        assert_eq!(header.split(' ').count(), 2);
        assert!(verify(&old, "m1", "100", &header, b"{}", 100, 300).is_ok());
        assert!(verify(&new, "m1", "100", &header, b"{}", 100, 300).is_ok());
        assert_eq!(
            verify(&new, "m1", "100", &header, b"{ }", 100, 300),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(&new, "m1", "100", &header, b"{}", 1000, 300),
            Err(SignatureError::TimestampOutOfTolerance)
        );
        let other = SigningSecret::generate();
        assert!(verify(&other, "m1", "100", &header, b"{}", 100, 300).is_err());
    }

    #[test]
    fn secrets_never_print_and_have_enough_entropy() {
        let s = SigningSecret::generate();
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(format!("{s:?}"), "SigningSecret(****)");
        assert!(SigningSecret::parse("whsec_AAAA").is_err());
        assert!(SigningSecret::parse("nope").is_err());
        assert!(s.fingerprint().starts_with("sha256:"));
    }
}
