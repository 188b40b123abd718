-- Access tokens refused before they expire (services/runtime/revocation.py): written from
-- auth's UserTokensRevoked and SessionEnded (by auth itself in the transaction that ended the
-- access), read into memory by every replica every second, and forgotten once every token a row
-- concerns has expired.

-- Tokens of the user issued at or before revoked_before are refused.
CREATE TABLE revoked_users (
    user_id         uuid PRIMARY KEY,
    revoked_before  timestamptz NOT NULL,
    forget_after    timestamptz NOT NULL
);
CREATE INDEX revoked_users_forget_after ON revoked_users (forget_after);

-- Every token of the session is refused.
CREATE TABLE ended_sessions (
    session_id    uuid PRIMARY KEY,
    user_id       uuid NOT NULL,
    forget_after  timestamptz NOT NULL
);
CREATE INDEX ended_sessions_forget_after ON ended_sessions (forget_after);
