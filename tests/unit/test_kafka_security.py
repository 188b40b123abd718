"""How a service signs in to Kafka, from its settings (Strimzi SCRAM users, optional TLS)."""

from __future__ import annotations

import certifi
from faststream.security import BaseSecurity, SASLScram512

from services.runtime.kafka import kafka_security
from services.tickets.settings import TicketsSettings

DSN = "postgresql://t@localhost/t"


def test_a_local_broker_needs_no_security() -> None:
    assert kafka_security(TicketsSettings(database_url=DSN)) is None


def test_a_user_name_means_scram_sha_512_over_plain_tcp() -> None:
    settings = TicketsSettings(
        database_url=DSN, kafka_sasl_username="tickets", kafka_sasl_password="s3cret"
    )
    security = kafka_security(settings)

    assert isinstance(security, SASLScram512)
    assert (security.username, security.password) == ("tickets", "s3cret")
    assert not security.use_ssl


def test_a_ca_file_means_tls_verified_against_it() -> None:
    ca = certifi.where()  # any readable CA bundle
    settings = TicketsSettings(
        database_url=DSN,
        kafka_sasl_username="tickets",
        kafka_sasl_password="s3cret",
        kafka_tls_ca_file=ca,
    )
    security = kafka_security(settings)

    assert isinstance(security, BaseSecurity)
    assert security.use_ssl and security.ssl_context is not None
