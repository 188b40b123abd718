-- Portal content (services/content/README.md): who may see what, the releases and recordings,
-- their files in object storage, and every download.

-- Licences from the ERP (or an admin): the change with the latest valid_from on or before a day
-- holds on that day; among changes of the same day the one recorded last.
CREATE TABLE licence_changes (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id           uuid NOT NULL,
    program          text NOT NULL,
    licensed         boolean NOT NULL,
    valid_from       date NOT NULL,
    source           text NOT NULL,        -- 'erp' or 'admin:<user id>'
    recorded_at      timestamptz NOT NULL,
    source_event_id  uuid UNIQUE
);
CREATE INDEX licence_changes_in_force ON licence_changes (org_id, program, valid_from DESC, id DESC);

-- Training orders from the training system (or an admin): the change with the latest as_of holds.
CREATE TABLE training_order_changes (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id           uuid NOT NULL,
    training_id      text NOT NULL,
    ordered          boolean NOT NULL,
    as_of            timestamptz NOT NULL,
    source           text NOT NULL,
    recorded_at      timestamptz NOT NULL,
    source_event_id  uuid UNIQUE
);
CREATE INDEX training_orders_in_force ON training_order_changes (org_id, training_id, as_of DESC, id DESC);

-- A release is a draft until published; customers see only published ones.
CREATE TABLE releases (
    id            uuid PRIMARY KEY,
    program       text NOT NULL,
    version       text NOT NULL,
    released_on   date NOT NULL,
    notes_sl      text NOT NULL,
    notes_en      text NOT NULL,
    created_at    timestamptz NOT NULL,
    created_by    uuid NOT NULL,
    published_at  timestamptz,
    published_by  uuid,
    UNIQUE (program, version)
);
CREATE INDEX releases_listed ON releases (released_on DESC, id DESC) WHERE published_at IS NOT NULL;

CREATE TABLE recordings (
    id            uuid PRIMARY KEY,
    training_id   text NOT NULL,
    title         text NOT NULL,
    program       text NOT NULL,
    held_on       date NOT NULL,
    duration_s    integer NOT NULL CHECK (duration_s > 0),
    description   text NOT NULL,
    created_at    timestamptz NOT NULL,
    created_by    uuid NOT NULL,
    published_at  timestamptz,
    published_by  uuid
);
CREATE INDEX recordings_listed ON recordings (held_on DESC, id DESC) WHERE published_at IS NOT NULL;
CREATE INDEX recordings_of_training ON recordings (training_id);

-- One row per file: 'receiving' while its bytes stream in (a row left so by a dead process is
-- swept: bytes deleted, row removed), 'stored' once complete, 'deleted' when an admin removed
-- it from a draft (the row stays for the download records).
CREATE TABLE files (
    id            uuid PRIMARY KEY,
    release_id    uuid REFERENCES releases,
    recording_id  uuid REFERENCES recordings,
    name          text NOT NULL,
    media_type    text NOT NULL,
    storage_key   text NOT NULL UNIQUE,
    status        text NOT NULL CHECK (status IN ('receiving', 'stored', 'deleted')),
    size          bigint,
    sha256        text,
    created_at    timestamptz NOT NULL,
    created_by    uuid NOT NULL,
    stored_at     timestamptz,
    CHECK (num_nonnulls(release_id, recording_id) = 1),
    CHECK (status <> 'stored' OR (size IS NOT NULL AND sha256 IS NOT NULL AND stored_at IS NOT NULL))
);
CREATE UNIQUE INDEX files_name_per_release ON files (release_id, name) WHERE status <> 'deleted';
CREATE UNIQUE INDEX files_one_video ON files (recording_id) WHERE status <> 'deleted';
CREATE INDEX files_receiving ON files (created_at) WHERE status = 'receiving';

-- Every download (a range request of a video is one too): who, what, when.
CREATE TABLE downloads (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_id        uuid NOT NULL REFERENCES files,
    user_id        uuid NOT NULL,
    org_id         uuid NOT NULL,
    downloaded_at  timestamptz NOT NULL,
    range_start    bigint,
    range_end      bigint,
    correlation_id text
);
CREATE INDEX downloads_newest ON downloads (downloaded_at DESC, id DESC);
CREATE INDEX downloads_of_file ON downloads (file_id, downloaded_at DESC, id DESC);
CREATE INDEX downloads_of_org ON downloads (org_id, downloaded_at DESC, id DESC);
