CREATE TABLE tickets (
    id                  uuid PRIMARY KEY,
    number              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    org_id              uuid NOT NULL,
    requester_id        uuid NOT NULL,
    requester_email     text NOT NULL,
    requester_name      text NOT NULL,
    requester_language  text NOT NULL CHECK (requester_language IN ('sl', 'en')),
    channel             text NOT NULL CHECK (channel IN ('portal', 'phone', 'email')),
    subject             text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    body                text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    program             text,
    status              text NOT NULL DEFAULT 'waiting'
                        CHECK (status IN ('waiting', 'in_progress', 'resolved', 'closed', 'refused')),
    submitted_at        timestamptz NOT NULL,
    recorded_by         uuid,
    version             int NOT NULL DEFAULT 1,
    -- the latest policy decision billing made, as recorded here
    decision            text CHECK (decision IN ('free', 'paid', 'refused')),
    decision_stage      text CHECK (decision_stage IN ('provisional', 'final')),
    decision_version    int NOT NULL DEFAULT 0,
    decision_reasons    jsonb NOT NULL DEFAULT '[]',
    policy_version      text,
    deferred_until      timestamptz,
    decided_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tickets_org_submitted ON tickets (org_id, submitted_at DESC, id DESC);
CREATE INDEX tickets_submitted ON tickets (submitted_at DESC, id DESC);
