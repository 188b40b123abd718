-- One row per ticket and stage: the provisional decision at creation, the final one at resolution.
CREATE TABLE decisions (
    ticket_id        uuid NOT NULL,
    stage            text NOT NULL CHECK (stage IN ('provisional', 'final')),
    org_id           uuid NOT NULL,
    decision         text NOT NULL CHECK (decision IN ('free', 'paid', 'refused')),
    reasons          jsonb NOT NULL,
    policy_version   text NOT NULL,
    deferred_until   timestamptz,
    decided_at       timestamptz NOT NULL,
    source_event_id  uuid NOT NULL,
    PRIMARY KEY (ticket_id, stage)
);
CREATE INDEX decisions_org ON decisions (org_id, decided_at DESC);
