-- Records a handler cannot apply yet because something they depend on has not arrived (a
-- decision about a ticket not yet seen): parked here instead of holding up their partition,
-- applied by the consumer's parked-record worker when the dependency is there, in key order,
-- or dead-lettered after a bounded time (services/runtime/parking.py).
CREATE TABLE parked (
    id               bigserial PRIMARY KEY,
    consumer         text NOT NULL,
    message_key      text NOT NULL,
    event_id         uuid NOT NULL,
    topic            text NOT NULL,
    kafka_partition  int NOT NULL,
    kafka_offset     bigint NOT NULL,
    value            bytea NOT NULL,
    headers          jsonb NOT NULL,
    reason           text NOT NULL,
    attempts         int NOT NULL DEFAULT 1,
    parked_at        timestamptz NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz NOT NULL DEFAULT now() + interval '1 second',
    UNIQUE (consumer, event_id)
);
CREATE INDEX parked_consumer_key ON parked (consumer, message_key, id);
