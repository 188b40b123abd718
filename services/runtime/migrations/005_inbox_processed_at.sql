-- The inbox is pruned by age (services/runtime/inbox.py; docs/reliability.md, "Idempotent
-- consumers").
CREATE INDEX inbox_processed_at ON inbox (processed_at);
