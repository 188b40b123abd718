CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind IN ('customer', 'vendor')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organizations (id),
    email         text NOT NULL CHECK (email = lower(email) AND length(email) <= 254),
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    language      text NOT NULL DEFAULT 'sl' CHECK (language IN ('sl', 'en')),
    roles         text[] NOT NULL CHECK (roles <@ ARRAY['customer', 'customer_admin', 'consultant', 'vendor_admin']),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_org ON users (org_id);
