-- The full policy: what billing knows of tickets, the policy inputs with their history, the
-- decisions with the inputs they were made from, overrides and statements.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Tickets as announced by TicketCreated (for the rules, P-REPEAT and statements).
CREATE TABLE tickets (
    ticket_id     uuid PRIMARY KEY,
    org_id        uuid NOT NULL,
    number        bigint NOT NULL,
    requester_id  uuid NOT NULL,
    channel       text NOT NULL,
    topic         text NOT NULL,
    program       text,
    subject       text NOT NULL,
    body          text NOT NULL,
    submitted_at  timestamptz NOT NULL,
    search_text   text GENERATED ALWAYS AS (lower(subject || ' ' || body)) STORED
);
CREATE INDEX tickets_org_submitted ON tickets (org_id, submitted_at);
CREATE INDEX tickets_search_trgm ON tickets USING gin (search_text gin_trgm_ops);

-- Every resolution (a reopened ticket can be resolved again; minutes add up).
CREATE TABLE resolutions (
    source_event_id       uuid PRIMARY KEY,
    ticket_id             uuid NOT NULL REFERENCES tickets (ticket_id),
    resolved_at           timestamptz NOT NULL,
    minutes               int NOT NULL,
    remote_session        boolean NOT NULL,
    data_correction       boolean NOT NULL,
    training              boolean NOT NULL,
    doc_reference         text,
    other_remote_service  boolean NOT NULL
);
CREATE INDEX resolutions_ticket ON resolutions (ticket_id, resolved_at);

-- Policy inputs, append-only: the row in force at a moment is the latest recorded before it.
CREATE TABLE standing_history (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id                  uuid NOT NULL,
    has_unpaid_obligations  boolean NOT NULL,
    as_of                   timestamptz NOT NULL,
    recorded_at             timestamptz NOT NULL DEFAULT now(),
    source                  text NOT NULL,          -- 'erp' (event) or 'admin:<user id>'
    source_event_id         uuid UNIQUE
);
CREATE INDEX standing_history_org ON standing_history (org_id, recorded_at DESC);

CREATE TABLE onboarding_records (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id                   uuid NOT NULL,
    user_id                  uuid NOT NULL,
    program                  text NOT NULL,
    kind                     text NOT NULL CHECK (kind IN ('onboarding', 'seminar')),
    completed_on             date NOT NULL,
    organization_setup_done  boolean NOT NULL,
    recorded_at              timestamptz NOT NULL DEFAULT now(),
    source                   text NOT NULL,
    source_event_id          uuid UNIQUE
);
CREATE INDEX onboarding_records_org ON onboarding_records (org_id, recorded_at);

CREATE TABLE arrangements (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       uuid NOT NULL,
    valid_from   timestamptz NOT NULL,
    valid_until  timestamptz NOT NULL CHECK (valid_until > valid_from),
    agreed_by    text NOT NULL,
    note         text,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    recorded_by  uuid NOT NULL
);
CREATE INDEX arrangements_org ON arrangements (org_id, valid_from);

-- Decisions become a history per ticket: version 1 provisional, then one per resolution and
-- per override; each keeps the inputs it was made from.
ALTER TABLE decisions DROP CONSTRAINT decisions_pkey;
ALTER TABLE decisions ADD COLUMN version int NOT NULL DEFAULT 1;
ALTER TABLE decisions ADD PRIMARY KEY (ticket_id, version);
ALTER TABLE decisions ADD CONSTRAINT decisions_source_event UNIQUE (source_event_id);
ALTER TABLE decisions ADD COLUMN inputs jsonb NOT NULL DEFAULT '{}';
ALTER TABLE decisions ADD COLUMN overridden_by uuid;
ALTER TABLE decisions ADD COLUMN justification text;

CREATE TABLE statements_issued (
    org_id     uuid NOT NULL,
    month      date NOT NULL,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    issued_by  uuid NOT NULL,
    PRIMARY KEY (org_id, month)
);
