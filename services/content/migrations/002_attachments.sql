-- Attachments on tickets' messages (services/content/README.md, "Attachments"): the tickets this
-- service has heard of, and for each attached file its ticket, uploader and message.

-- Tickets from TicketCreated (tickets.events), so an upload is authorized without asking the
-- tickets service; the old portal's archive entries from TicketAttachmentsImported.
CREATE TABLE known_tickets (
    ticket_id    uuid PRIMARY KEY,
    org_id       uuid NOT NULL,
    archived     boolean NOT NULL DEFAULT false,
    recorded_at  timestamptz NOT NULL
);

-- The file of an attachment belongs to no release or recording.
ALTER TABLE files ADD COLUMN attachment boolean NOT NULL DEFAULT false;
ALTER TABLE files DROP CONSTRAINT files_check;
ALTER TABLE files ADD CONSTRAINT files_one_owner
    CHECK (num_nonnulls(release_id, recording_id) = CASE WHEN attachment THEN 0 ELSE 1 END);

-- 'pending' from the upload until a message names it ('bound'); 'expired' when no message
-- named it in time (its file is then 'deleted'). The row goes with its file while the file is
-- still 'receiving' (a broken-off upload).
CREATE TABLE attachments (
    file_id      uuid PRIMARY KEY REFERENCES files ON DELETE CASCADE,
    ticket_id    uuid,            -- NULL: uploaded for the old portal's import, until imported
    org_id       uuid,            -- the ticket's organization
    uploaded_by  uuid NOT NULL,
    state        text NOT NULL CHECK (state IN ('pending', 'bound', 'expired')),
    message_id   uuid,            -- the message it is attached to (NULL on an archive entry)
    internal     boolean NOT NULL DEFAULT false,
    bound_at     timestamptz,
    CHECK ((ticket_id IS NULL) = (org_id IS NULL)),
    CHECK (state <> 'bound' OR (ticket_id IS NOT NULL AND bound_at IS NOT NULL))
);
CREATE INDEX attachments_pending ON attachments (file_id) WHERE state = 'pending';
