-- One row per e-mail the service means to send: the intent is recorded (in the consuming
-- transaction) before sending, and marked sent after the SMTP server accepted it.
CREATE TABLE emails (
    id               uuid PRIMARY KEY,
    dedupe_key       text NOT NULL UNIQUE,      -- "<event id>:<recipient>": one e-mail per event and recipient
    event_id         uuid NOT NULL,
    event_type       text NOT NULL,
    org_id           uuid,
    ticket_id        uuid,
    recipient_id     uuid,
    recipient        text NOT NULL,
    language         text NOT NULL CHECK (language IN ('sl', 'en')),
    subject          text NOT NULL,
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
    attempts         int NOT NULL DEFAULT 0,
    last_error       text,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
CREATE INDEX emails_pending ON emails (next_attempt_at) WHERE status = 'pending';
CREATE INDEX emails_recipient ON emails (recipient_id, created_at DESC);
CREATE INDEX emails_ticket ON emails (ticket_id);
