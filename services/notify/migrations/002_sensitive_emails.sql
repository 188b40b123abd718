-- E-mails that carry a password link: the body is never shown by the API and is erased once sent.
ALTER TABLE emails ADD COLUMN sensitive boolean NOT NULL DEFAULT false;
