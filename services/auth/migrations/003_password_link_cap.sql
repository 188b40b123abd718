-- Password links e-mailed to one address are capped per window (services/auth/README.md,
-- "Password links"): they are counted by user and moment of creation.
CREATE INDEX password_tokens_user_created ON password_tokens (user_id, created_at);

-- Whether a forgot-password request had a link e-mailed: false for an unknown or inactive
-- address and when the address's cap was reached; null for requests recorded before.
ALTER TABLE password_reset_requests ADD COLUMN link_sent boolean;
