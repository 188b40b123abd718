-- Accounts: passwords, sessions with rotating refresh tokens, password links, throttling, keys.

CREATE UNIQUE INDEX organizations_name ON organizations (lower(name));
ALTER TABLE organizations ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- No hash means no usable password yet (invited or imported users; first login is a reset).
ALTER TABLE users
    ADD COLUMN password_hash        text,
    ADD COLUMN password_changed_at  timestamptz,
    ADD COLUMN version              int NOT NULL DEFAULT 1,
    ADD COLUMN updated_at           timestamptz NOT NULL DEFAULT now();

-- Access-token signing keys. Retired keys stay published until published_until.
CREATE TABLE signing_keys (
    kid              text PRIMARY KEY,
    private_pem      text NOT NULL,
    public_jwk       jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    retired_at       timestamptz,
    published_until  timestamptz
);

-- One row per sign-in; the "family" of its refresh tokens. Revoking it ends them all.
CREATE TABLE sessions (
    id                 uuid PRIMARY KEY,
    user_id            uuid NOT NULL REFERENCES users (id),
    persistent         boolean NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    last_refreshed_at  timestamptz,
    revoked_at         timestamptz,
    revoke_reason      text,
    client_ip          text,
    user_agent         text
);
CREATE INDEX sessions_user_open ON sessions (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens, stored as SHA-256 only. A rotated one presented again revokes its session.
CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sessions (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Password links (reset and first-login invitation), stored as SHA-256 only, single use.
CREATE TABLE password_tokens (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    purpose     text NOT NULL CHECK (purpose IN ('reset', 'invitation')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX password_tokens_user_open ON password_tokens (user_id) WHERE used_at IS NULL;

-- Failed sign-ins per account ("account:<e-mail>", known or not) and per client ("ip:<address>").
CREATE TABLE login_throttle (
    key              text PRIMARY KEY,
    failures         int NOT NULL,
    last_failure_at  timestamptz NOT NULL,
    locked_until     timestamptz
);

-- Every forgot-password request, for audit; written for known and unknown e-mails alike.
CREATE TABLE password_reset_requests (
    id            bigserial PRIMARY KEY,
    email         text NOT NULL,
    matched_user  uuid,
    client_ip     text,
    requested_at  timestamptz NOT NULL DEFAULT now()
);
