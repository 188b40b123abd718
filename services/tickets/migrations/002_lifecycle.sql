-- The life cycle, the correspondence, the old portal's archive, and the accounts directory.

ALTER TABLE tickets
    ADD COLUMN topic text NOT NULL DEFAULT 'other'
        CHECK (topic IN ('program_usage', 'legislation', 'business_organization',
                         'data_correction', 'other')),
    ADD COLUMN legacy_reference text UNIQUE,
    ADD COLUMN assignee jsonb,            -- the consultant who accepted it (a Person)
    ADD COLUMN accepted_at timestamptz,
    ADD COLUMN resolution jsonb,          -- text, minutes, what the work involved
    ADD COLUMN resolved_at timestamptz,
    ADD COLUMN resolved_by uuid,
    ADD COLUMN closed_at timestamptz,
    ADD COLUMN refused_at timestamptz,
    ADD COLUMN reopen_count int NOT NULL DEFAULT 0;

-- The waiting list: waiting tickets by when they may be taken (next working period), then age.
CREATE INDEX tickets_waiting ON tickets ((coalesce(deferred_until, submitted_at)), number)
    WHERE status = 'waiting';
CREATE INDEX tickets_resolved_at ON tickets (resolved_at) WHERE status = 'resolved';

CREATE TABLE ticket_transitions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id    uuid NOT NULL REFERENCES tickets (id),
    kind         text NOT NULL CHECK (kind IN ('submitted', 'imported', 'accepted', 'resolved',
                                               'reopened', 'closed', 'refused')),
    from_status  text,
    to_status    text NOT NULL,
    at           timestamptz NOT NULL,
    actor_id     uuid,
    actor_name   text,
    note         text
);
CREATE INDEX ticket_transitions_ticket ON ticket_transitions (ticket_id, id);

CREATE TABLE ticket_messages (
    id           uuid PRIMARY KEY,
    seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    ticket_id    uuid NOT NULL REFERENCES tickets (id),
    author_id    uuid,                    -- NULL for messages moved from the old portal
    author_name  text NOT NULL,
    author_role  text NOT NULL CHECK (author_role IN ('customer', 'consultant')),
    internal     boolean NOT NULL DEFAULT false,
    body         text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    posted_at    timestamptz NOT NULL
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id, posted_at, seq);

-- Resolved tickets of the old portal: read-only, never changed after the import.
CREATE TABLE archived_tickets (
    id                uuid PRIMARY KEY,
    legacy_reference  text NOT NULL UNIQUE,
    org_id            uuid NOT NULL,
    requester         jsonb NOT NULL,
    channel           text NOT NULL,
    topic             text NOT NULL,
    subject           text NOT NULL,
    body              text NOT NULL,
    program           text,
    submitted_at      timestamptz NOT NULL,
    accepted_at       timestamptz,
    resolved_at       timestamptz NOT NULL,
    resolution        text NOT NULL,
    consultant_name   text,
    messages          jsonb NOT NULL DEFAULT '[]',
    imported_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX archived_tickets_org ON archived_tickets (org_id, submitted_at DESC, id DESC);

-- What the tickets service knows of accounts, from `accounts.events`.
CREATE TABLE directory_organizations (
    id    uuid PRIMARY KEY,
    name  text NOT NULL,
    kind  text NOT NULL
);

CREATE TABLE directory_users (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL,
    email         text NOT NULL UNIQUE,
    display_name  text NOT NULL,
    language      text NOT NULL,
    roles         text[] NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    version       int NOT NULL
);
