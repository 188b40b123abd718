"""Plumbing shared by the services: settings base, logging, database pool and migrations,
transactional outbox and its relay, idempotent consumers with dead-lettering, HTTP health and
correlation ids. No business logic lives here."""
