-- The trace an e-mail belongs to (the W3C traceparent of the span that recorded it), so that its
-- SMTP send joins the ticket's trace (services/runtime/tracing.py). NULL while tracing is off.
ALTER TABLE emails ADD COLUMN traceparent text;
