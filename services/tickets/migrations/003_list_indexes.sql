-- Ticket lists at scale: a status filter within an organization reads its own index, and the
-- text search (every word, ILIKE) is served by a trigram index over subject and description.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX tickets_org_status_submitted ON tickets (org_id, status, submitted_at DESC, id DESC);
CREATE INDEX tickets_text_trgm ON tickets USING gin ((subject || ' ' || body) gin_trgm_ops);
