-- The W3C traceparent of the span that stored the row, sent as the record's `traceparent` header on
-- every attempt, so a consumer continues the trace (services/runtime/tracing.py). NULL while
-- tracing is off.
ALTER TABLE outbox ADD COLUMN traceparent text;
