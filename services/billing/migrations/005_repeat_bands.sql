-- P-REPEAT finds its candidates through locality-sensitive bands of each text's trigrams
-- (services/billing/similarity.py; docs/decisions.md, "P-REPEAT at scale"): the trigram KNN
-- indexes of 004 walked much of the organization's history for alike texts.
--
-- Every ticket keeps its bands, computed by the service when it is announced (NULL for tickets
-- announced before this migration: the service fills them in the background). A resolved
-- ticket's bands are also rows of `repeat_bands`, where a lookup takes the most recent earlier
-- tickets of the organization in the same band: a fixed number of index probes per ticket, however
-- long the history.
ALTER TABLE tickets ADD COLUMN repeat_bands bigint[];
CREATE INDEX tickets_repeat_bands_missing ON tickets (ticket_id) WHERE repeat_bands IS NULL;

CREATE TABLE repeat_bands (
    ticket_id     uuid NOT NULL REFERENCES tickets (ticket_id),
    band          bigint NOT NULL,
    org_id        uuid NOT NULL,
    submitted_at  timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, band)
);
CREATE INDEX repeat_bands_lookup ON repeat_bands (org_id, band, submitted_at DESC) INCLUDE (ticket_id);

DROP INDEX tickets_resolved_text_knn;
DROP INDEX tickets_resolved_requester_text_knn;
