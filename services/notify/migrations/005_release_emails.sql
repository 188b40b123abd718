-- E-mails about new program releases go to every user of a licensed organization who has not
-- turned them off: the directory learns each user's organization (from UserCreated), and each
-- user's choice is kept apart from the directory (a user may choose before notify heard of them).
ALTER TABLE recipients ADD COLUMN org_id uuid;
CREATE INDEX recipients_of_org ON recipients (org_id) WHERE active;

CREATE TABLE preferences (
    user_id         uuid PRIMARY KEY,
    release_emails  boolean NOT NULL,
    updated_at      timestamptz NOT NULL
);
