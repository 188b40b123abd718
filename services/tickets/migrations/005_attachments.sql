-- Files attached to the correspondence (services/tickets/README.md, "Attachments"). The files
-- live in the content service; this is what it announced (AttachmentUploaded, content.events),
-- so a message can be checked to name only its author's uploads to its ticket, and listed with
-- them, without asking content. A row goes when content says the file expired unused.
CREATE TABLE attachments (
    id           uuid PRIMARY KEY,
    ticket_id    uuid,            -- NULL: uploaded by a vendor admin for the old portal's import
    uploaded_by  uuid NOT NULL,
    name         text NOT NULL,
    media_type   text NOT NULL,
    size         bigint NOT NULL,
    sha256       text NOT NULL,
    uploaded_at  timestamptz NOT NULL,
    message_id   uuid REFERENCES ticket_messages (id),   -- the message it is attached to
    archived_id  uuid REFERENCES archived_tickets (id),  -- or the imported archive entry
    CHECK (num_nonnulls(message_id, archived_id) <= 1)
);
CREATE INDEX attachments_of_message ON attachments (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX attachments_for_import ON attachments (uploaded_by, sha256)
    WHERE ticket_id IS NULL AND message_id IS NULL AND archived_id IS NULL;
