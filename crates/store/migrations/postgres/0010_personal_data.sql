-- Crypto-shredding: personal fields of events are encrypted with a key per
-- data subject (a customer); erasing the customer destroys the key, so the
-- events stay in place (and the hash chain stays valid) but cannot be read.
CREATE TABLE personal_keys
(
    workspace_id TEXT        NOT NULL,
    subject      TEXT        NOT NULL,
    key          TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    erased_at    TIMESTAMPTZ,
    PRIMARY KEY (workspace_id, subject)
);
