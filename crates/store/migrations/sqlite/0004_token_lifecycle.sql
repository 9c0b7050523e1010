-- Token lifecycle: expiry, and rotation with a grace period for the old secret.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE api_tokens ADD COLUMN previous_valid_until TEXT;
ALTER TABLE api_tokens ADD COLUMN rotated_at TEXT;
CREATE INDEX api_tokens_previous_secret ON api_tokens (previous_secret_hash);
