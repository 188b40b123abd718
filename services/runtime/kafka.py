"""Kafka plumbing: the broker every service uses, explicit topic creation, raw publishing."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterable

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLScram512

from services.runtime.settings import ServiceSettings

log = structlog.get_logger(__name__)


def create_broker(settings: ServiceSettings) -> KafkaBroker:
    """A broker that never auto-creates topics, waits for acks=all and never relies on
    idempotent-producer support (the embedded broker has none)."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=kafka_security(settings),
        client_id=settings.service_name,
        acks="all",
        enable_idempotence=False,
        allow_auto_create_topics=False,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        graceful_timeout=settings.shutdown_grace_s,
        logger=logging.getLogger("faststream"),
        log_level=logging.DEBUG,
    )


def kafka_security(settings: ServiceSettings) -> BaseSecurity | None:
    """SCRAM-SHA-512 sign-in and/or TLS, as configured; None for a plain local broker."""
    context = (
        ssl.create_default_context(cafile=settings.kafka_tls_ca_file)
        if settings.kafka_tls_ca_file
        else None
    )
    if settings.kafka_sasl_username:
        password = settings.kafka_sasl_password
        return SASLScram512(
            settings.kafka_sasl_username,
            password.get_secret_value() if password else "",
            ssl_context=context,
            use_ssl=context is not None,
        )
    if context is not None:
        return BaseSecurity(ssl_context=context, use_ssl=True)
    return None


async def ensure_topics(
    bootstrap_servers: str, topics: Iterable[str], *, partitions: int = 6, replication: int = 1
) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="ticketing-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                response = await admin.create_topics(
                    [
                        NewTopic(t, num_partitions=partitions, replication_factor=replication)
                        for t in missing
                    ]
                )
            except TopicAlreadyExistsError:
                log.info("topics created concurrently by someone else", topics=missing)
            else:
                # Per-topic failures come back in the response, not as exceptions.
                failed = {
                    error[0]: error[1]
                    for error in response.topic_errors
                    if error[1] not in (0, TopicAlreadyExistsError.errno)
                }
                if failed:
                    raise RuntimeError(f"topics not created (topic: Kafka error code): {failed}")
            log.info("topics created", topics=missing, partitions=partitions)
        return missing
    finally:
        await admin.close()
