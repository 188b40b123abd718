-- P-REPEAT finds the nearest earlier resolved tickets through a trigram KNN index (ORDER BY
-- distance LIMIT 1) instead of scoring every ticket of the organization that passes the
-- similarity threshold, so its cost does not grow with the organization's history.
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE tickets ADD COLUMN resolved boolean NOT NULL DEFAULT false;
UPDATE tickets t SET resolved = true
 WHERE EXISTS (SELECT 1 FROM resolutions r WHERE r.ticket_id = t.ticket_id);
CREATE INDEX tickets_resolved_text_knn ON tickets
    USING gist (org_id, search_text gist_trgm_ops) WHERE resolved;
CREATE INDEX tickets_resolved_requester_text_knn ON tickets
    USING gist (org_id, requester_id, search_text gist_trgm_ops) WHERE resolved;
DROP INDEX tickets_search_trgm;
