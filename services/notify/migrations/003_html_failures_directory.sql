-- Every e-mail has an HTML part beside the plain text; an e-mail the SMTP server refuses for good
-- (5xx), or that still fails after the last attempt, is recorded as failed and not tried again.
ALTER TABLE emails ADD COLUMN html_body text NOT NULL DEFAULT '';
ALTER TABLE emails DROP CONSTRAINT emails_status_check;
ALTER TABLE emails ADD CONSTRAINT emails_status_check
    CHECK (status IN ('pending', 'sent', 'failed'));
ALTER TABLE emails ADD COLUMN failed_at timestamptz;

-- What notify knows of portal users, from accounts.events: the language they chose now (it may
-- differ from the snapshot in a ticket event) and whether they are still active.
CREATE TABLE recipients (
    user_id   uuid PRIMARY KEY,
    email     text NOT NULL,
    language  text NOT NULL CHECK (language IN ('sl', 'en')),
    active    boolean NOT NULL DEFAULT true,
    version   int NOT NULL
);
