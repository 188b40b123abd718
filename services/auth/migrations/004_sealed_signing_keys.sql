-- Signing keys are kept sealed with a key-encryption key from configuration
-- (services/auth/sealing.py). Keys stored in the clear before this migration are sealed, and
-- their plain text removed, by the first auth replica that starts after it.
ALTER TABLE signing_keys
    ALTER COLUMN private_pem DROP NOT NULL,
    ADD COLUMN sealed_private_key text,
    ADD COLUMN sealed_with text,
    ADD CONSTRAINT signing_keys_sealed_or_legacy CHECK (
        (private_pem IS NULL AND sealed_private_key IS NOT NULL AND sealed_with IS NOT NULL)
        OR (private_pem IS NOT NULL AND sealed_private_key IS NULL AND sealed_with IS NULL)
    );
