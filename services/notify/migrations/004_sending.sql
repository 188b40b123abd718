-- The sender records that it is sending an e-mail (and since when) in a transaction of its own
-- before it talks to the SMTP server, and marks the outcome afterwards. An e-mail left
-- `sending` by a sender that died goes back to `pending` after the lease (sender.py).
ALTER TABLE emails DROP CONSTRAINT emails_status_check;
ALTER TABLE emails ADD CONSTRAINT emails_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed'));
ALTER TABLE emails ADD COLUMN sending_since timestamptz;
CREATE INDEX emails_sending ON emails (sending_since) WHERE status = 'sending';
