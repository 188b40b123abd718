"""The Kubernetes base in `deploy/base/`, generated from what the code says.

`ticketing manifests` rewrites the files; a test fails when the committed ones differ, so topics,
consumer groups and ACLs cannot drift from the services. Overlays (`deploy/overlays/*`) are
hand-written kustomize patches on top.

Targets: Strimzi 0.48+ (`kafka.strimzi.io/v1beta2`, KRaft with node pools, Kafka 4.1) and
CloudNativePG 1.27+ (`postgresql.cnpg.io/v1`), ingress-nginx with cert-manager.

Longer than most modules (~680 lines): it is the whole base as data, one function per kind of
object; the monitoring objects are in devstack/monitoring.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from contracts.topics import (
    ACCOUNTS_EVENTS,
    ALL_TOPICS,
    BILLING_EVENTS,
    DEAD_LETTER,
    TICKETS_EVENTS,
    TOPICS,
    produced_by,
)
from devstack.monitoring import monitoring, scrape_ingress
from services.catalog import CATALOG, consumed_topics
from services.gateway.cors import ALLOW_HEADERS, ALLOW_METHODS, DEFAULT_MAX_AGE_S, EXPOSE_HEADERS
from services.runtime.settings import ServiceSettings

PART_OF = {"app.kubernetes.io/part-of": "ticketing"}
KAFKA_CLUSTER = "ticketing-kafka"
IMAGE = "ticketing"
PORT = 8080
DAY_MS = 24 * 3600 * 1000
PORTAL_URL = "https://portal.example.com"
"""The portal's address: the base of e-mailed links, and the one origin allowed to call the API
from a browser (the API is on api.portal.example.com, another origin)."""

# How long each topic keeps its records. accounts.events is kept for ever: the tickets and notify
# services rebuild their directories of users from it.
RETENTION_MS = {
    ACCOUNTS_EVENTS: -1,
    TICKETS_EVENTS: 30 * DAY_MS,
    BILLING_EVENTS: 30 * DAY_MS,
    DEAD_LETTER: 14 * DAY_MS,
}
PRODUCES = {name: produced_by(name) for name in CATALOG if produced_by(name)}
"""Service -> the topics it publishes to (contracts/topics.py)."""
EXTRA_CONFIG = {
    "auth": {"AUTH_PORTAL_URL": PORTAL_URL, "AUTH_COOKIE_SECURE": "true"},
    "notify": {
        "NOTIFY_SMTP_HOST": "smtp.example.com",
        "NOTIFY_SMTP_PORT": "587",
        "NOTIFY_SMTP_SECURITY": "starttls",
        "NOTIFY_SMTP_USERNAME": "podpora@example.com",
        "NOTIFY_MAIL_FROM": "Podpora <podpora@example.com>",
        "NOTIFY_PORTAL_URL": PORTAL_URL,
    },
    # Files in an S3 bucket (docs/operations.md, "Content files"); the keys come from a Secret.
    "content": {
        "CONTENT_STORAGE_BACKEND": "s3",
        "CONTENT_S3_BUCKET": "ticketing-content",
        "CONTENT_S3_REGION": "eu-central-1",
    },
}
SECRET_ENV = {
    "auth": {"AUTH_KEY_ENCRYPTION_KEYS": ("auth-key-encryption", "keys")},
    "notify": {"NOTIFY_SMTP_PASSWORD": ("notify-smtp", "password")},
    "content": {
        "CONTENT_S3_ACCESS_KEY_ID": ("content-s3", "access-key-id"),
        "CONTENT_S3_SECRET_ACCESS_KEY": ("content-s3", "secret-access-key"),
    },
}
"""Environment variables read from Secrets (name -> (Secret, key)), beyond database and Kafka."""
RESOURCES = {
    # Argon2id needs 64 MiB per hash, at most four at once.
    "auth": {
        "requests": {"cpu": "200m", "memory": "384Mi"},
        "limits": {"cpu": "2", "memory": "768Mi"},
    },
    "default": {
        "requests": {"cpu": "100m", "memory": "192Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    },
}


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    consumes: list[str]
    produces: list[str]

    @property
    def prefix(self) -> str:
        return self.name.upper()

    @property
    def labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.name, **PART_OF}

    @property
    def selector(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.name}


def specs() -> list[ServiceSpec]:
    consumed = consumed_topics()
    return [ServiceSpec(name, consumed.get(name, []), PRODUCES.get(name, [])) for name in CATALOG]


def _meta(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "labels": labels}


def _env(spec: ServiceSpec) -> list[dict[str, Any]]:
    return [
        {
            "name": f"{spec.prefix}_DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": f"{spec.name}-db-app", "key": "uri"}},
        },
        {
            "name": f"{spec.prefix}_KAFKA_SASL_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": spec.name, "key": "password"}},
        },
    ]


def _config(spec: ServiceSpec) -> dict[str, Any]:
    p = spec.prefix
    data = {
        f"{p}_KAFKA_BOOTSTRAP_SERVERS": f"{KAFKA_CLUSTER}-kafka-bootstrap:9092",
        f"{p}_KAFKA_SASL_USERNAME": spec.name,
        f"{p}_ENVIRONMENT": "production",  # refuses a controlled clock (docs/time.md)
        f"{p}_LOG_FORMAT": "json",
        f"{p}_MIGRATE_ON_START": "false",
        f"{p}_AUTH_JWKS_URL": "http://auth/api/auth/.well-known/jwks.json",
        # Only the ingress controller reaches the services (NetworkPolicy), so its
        # X-Forwarded-For is trusted.
        "FORWARDED_ALLOW_IPS": "*",
        **EXTRA_CONFIG.get(spec.name, {}),
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(f"{spec.name}-config", spec.labels),
        "data": data,
    }


def _probe(path: str, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def _deployment(spec: ServiceSpec) -> dict[str, Any]:
    container_security = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    env_from = [{"configMapRef": {"name": f"{spec.name}-config"}}]
    extra_env = [
        {"name": env, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
        for env, (secret, key) in SECRET_ENV.get(spec.name, {}).items()
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(spec.name, spec.labels),
        "spec": {
            "replicas": 2,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": spec.selector},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": spec.labels},
                "spec": {
                    "serviceAccountName": spec.name,
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 45,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "fsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    # Migrations run once per rollout: each new pod's init container applies
                    # what is pending under a Postgres advisory lock, so replicas never race.
                    "initContainers": [
                        {
                            "name": "migrate",
                            "image": IMAGE,
                            "args": ["migrate", spec.name],
                            "envFrom": env_from,
                            "env": _env(spec)[:1],
                            "resources": RESOURCES["default"],
                            "securityContext": container_security,
                        }
                    ],
                    "containers": [
                        {
                            "name": spec.name,
                            "image": IMAGE,
                            "args": ["serve", spec.name, "--port", str(PORT)],
                            "ports": [{"name": "http", "containerPort": PORT}],
                            "envFrom": env_from,
                            "env": _env(spec) + extra_env,
                            "resources": RESOURCES.get(spec.name, RESOURCES["default"]),
                            "startupProbe": _probe("/healthz", period=2, failures=30),
                            "livenessProbe": _probe("/healthz", period=10, failures=3),
                            "readinessProbe": _probe("/readyz", period=5, failures=2),
                            "securityContext": container_security,
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def _service(spec: ServiceSpec) -> list[dict[str, Any]]:
    name, labels = spec.name, spec.labels
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(name, labels),
            "automountServiceAccountToken": False,
        },
        _config(spec),
        _deployment(spec),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(name, labels),
            "spec": {
                "selector": spec.selector,
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(name, labels),
            "spec": {"minAvailable": 1, "selector": {"matchLabels": spec.selector}},
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": _meta(name, labels),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": 2,
                "maxReplicas": 6,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
            },
        },
        _app_network_policy(spec),
        _database(spec),
        _database_network_policy(spec),
        _kafka_user(spec),
    ]


def _app_network_policy(spec: ServiceSpec) -> dict[str, Any]:
    """Who may reach the service, and what it may reach: its own database, Kafka, DNS (and the
    auth service's keys; notify: SMTP; content: object storage over HTTPS)."""
    ingress: list[dict[str, Any]] = [
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                    }
                }
            ],
            "ports": [{"port": PORT, "protocol": "TCP"}],
        },
        scrape_ingress(PORT),
    ]
    if spec.name == "auth":  # the other services fetch the token keys (JWKS)
        ingress.append(
            {"from": [{"podSelector": {"matchLabels": PART_OF}}], "ports": [{"port": PORT}]}
        )
    egress: list[dict[str, Any]] = [
        {
            "to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": f"{spec.name}-db"}}}],
            "ports": [{"port": 5432, "protocol": "TCP"}],
        },
        {
            "to": [{"podSelector": {"matchLabels": {"strimzi.io/cluster": KAFKA_CLUSTER}}}],
            "ports": [{"port": 9092, "protocol": "TCP"}],
        },
        {
            "to": [
                {"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
            ],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        },
    ]
    if spec.name != "auth":
        egress.append(
            {
                "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "auth"}}}],
                "ports": [{"port": PORT, "protocol": "TCP"}],
            }
        )
    if spec.name == "notify":
        egress.append(
            {
                "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                "ports": [{"port": p, "protocol": "TCP"} for p in (25, 465, 587)],
            }
        )
    if spec.name == "content":
        egress.append(
            {
                "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                "ports": [{"port": 443, "protocol": "TCP"}],
            }
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(spec.name, spec.labels),
        "spec": {
            "podSelector": {"matchLabels": spec.selector},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }


def _database(spec: ServiceSpec) -> dict[str, Any]:
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": _meta(f"{spec.name}-db", spec.labels),
        "spec": {
            "instances": 3,
            "imageName": "ghcr.io/cloudnative-pg/postgresql:17",
            "primaryUpdateStrategy": "unsupervised",
            "storage": {"size": "10Gi"},
            # CNPG creates the `<name>-db-app` Secret (user, password, uri) the service reads.
            "bootstrap": {"initdb": {"database": spec.name, "owner": spec.name}},
            "postgresql": {"parameters": {"idle_in_transaction_session_timeout": "60s"}},
            "resources": {
                "requests": {"cpu": "250m", "memory": "512Mi"},
                "limits": {"memory": "1Gi"},
            },
        },
    }


def _database_network_policy(spec: ServiceSpec) -> dict[str, Any]:
    """A service's database is reachable only by that service (and its own instances and the
    CloudNativePG operator)."""
    cluster = {"cnpg.io/cluster": f"{spec.name}-db"}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(f"{spec.name}-db", spec.labels),
        "spec": {
            "podSelector": {"matchLabels": cluster},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": spec.selector}}],
                    "ports": [{"port": 5432, "protocol": "TCP"}],
                },
                {"from": [{"podSelector": {"matchLabels": cluster}}]},
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "cnpg-system"}
                            }
                        }
                    ],
                    "ports": [{"port": 8000, "protocol": "TCP"}, {"port": 5432, "protocol": "TCP"}],
                },
            ],
        },
    }


def _acl(resource_type: str, name: str, operations: list[str]) -> dict[str, Any]:
    return {
        "resource": {"type": resource_type, "name": name, "patternType": "literal"},
        "operations": operations,
        "host": "*",
    }


def _kafka_user(spec: ServiceSpec) -> dict[str, Any]:
    """SCRAM user with exactly the topics the service reads and writes (and its group)."""
    acls = [_acl("topic", t, ["Write", "Describe"]) for t in spec.produces]
    acls += [_acl("topic", t, ["Read", "Describe"]) for t in spec.consumes]
    if spec.consumes:
        acls.append(_acl("group", spec.name, ["Read"]))
        acls.append(_acl("topic", DEAD_LETTER, ["Write", "Describe"]))
    return {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaUser",
        "metadata": _meta(spec.name, {**spec.labels, "strimzi.io/cluster": KAFKA_CLUSTER}),
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"type": "simple", "acls": acls},
        },
    }


def kafka() -> list[dict[str, Any]]:
    """The Kafka cluster (KRaft, one dual-role node pool) and every topic."""
    cluster_labels = {**PART_OF, "strimzi.io/cluster": KAFKA_CLUSTER}
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaNodePool",
            "metadata": _meta("dual-role", cluster_labels),
            "spec": {
                "replicas": 3,
                "roles": ["controller", "broker"],
                "storage": {
                    "type": "jbod",
                    "volumes": [
                        {
                            "id": 0,
                            "type": "persistent-claim",
                            "size": "20Gi",
                            "deleteClaim": False,
                            "kraftMetadata": "shared",
                        }
                    ],
                },
                "resources": {
                    "requests": {"cpu": "500m", "memory": "2Gi"},
                    "limits": {"memory": "2Gi"},
                },
            },
        },
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "Kafka",
            "metadata": {
                "name": KAFKA_CLUSTER,
                "labels": PART_OF,
                "annotations": {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"},
            },
            "spec": {
                "kafka": {
                    "version": "4.1.0",
                    "metadataVersion": "4.1-IV1",
                    "listeners": [
                        {
                            "name": "plain",
                            "port": 9092,
                            "type": "internal",
                            "tls": False,
                            "authentication": {"type": "scram-sha-512"},
                            "networkPolicyPeers": [{"podSelector": {"matchLabels": PART_OF}}],
                        }
                    ],
                    "authorization": {"type": "simple"},
                    "config": {
                        "auto.create.topics.enable": False,
                        "default.replication.factor": 3,
                        "min.insync.replicas": 2,
                        "offsets.topic.replication.factor": 3,
                        "transaction.state.log.replication.factor": 3,
                        "transaction.state.log.min.isr": 2,
                    },
                },
                "entityOperator": {"topicOperator": {}, "userOperator": {}},
            },
        },
    ]
    for outside in TOPICS:
        if outside.outside_system is None or outside.producer is None:
            continue
        # The other internal systems that publish policy inputs: their topic only.
        documents.append(
            {
                "apiVersion": "kafka.strimzi.io/v1beta2",
                "kind": "KafkaUser",
                "metadata": _meta(outside.producer, cluster_labels),
                "spec": {
                    "authentication": {"type": "scram-sha-512"},
                    "authorization": {
                        "type": "simple",
                        "acls": [_acl("topic", outside.name, ["Write", "Describe"])],
                    },
                },
            }
        )
    for topic in ALL_TOPICS:
        documents.append(
            {
                "apiVersion": "kafka.strimzi.io/v1beta2",
                "kind": "KafkaTopic",
                "metadata": _meta(topic, cluster_labels),
                "spec": {
                    "partitions": 6,
                    "replicas": 3,
                    "config": {
                        "retention.ms": RETENTION_MS.get(topic, 30 * DAY_MS),
                        "min.insync.replicas": 2,
                    },
                },
            }
        )
    return documents


def _mebibytes(setting: str) -> str:
    """A services' body limit (its default) as ingress-nginx's `proxy-body-size`, so that the
    ingress and the services refuse the same bodies."""
    default = ServiceSettings.model_fields[setting].default
    assert isinstance(default, int) and default % (1 << 20) == 0, setting
    return f"{default >> 20}m"


def cors_annotations(origins: str) -> dict[str, str]:
    """ingress-nginx's CORS for the portal's origins, with the gateway's methods, headers and
    max-age (services/gateway/cors.py), so that the cluster answers as `ticketing dev` does.
    ingress-nginx adds the headers only for a listed origin."""
    prefix = "nginx.ingress.kubernetes.io"
    return {
        f"{prefix}/enable-cors": "true",
        f"{prefix}/cors-allow-origin": origins,
        f"{prefix}/cors-allow-methods": ", ".join(ALLOW_METHODS),
        f"{prefix}/cors-allow-headers": ", ".join(ALLOW_HEADERS),
        f"{prefix}/cors-expose-headers": ", ".join(EXPOSE_HEADERS),
        f"{prefix}/cors-allow-credentials": "true",
        f"{prefix}/cors-max-age": str(DEFAULT_MAX_AGE_S),
    }


def ingress() -> list[dict[str, Any]]:
    """The gateway's routes (`/api/<service>/...` to each service) with TLS, body limits and
    CORS for the portal; the two import endpoints take larger files, and the content service's
    files stream both ways unbuffered (uploads of up to 8 GiB, a video's range requests)."""

    def rule(paths: list[dict[str, Any]]) -> dict[str, Any]:
        return {"host": "api.portal.example.com", "http": {"paths": paths}}

    def path(prefix: str, service: str, kind: str = "Prefix") -> dict[str, Any]:
        return {
            "path": prefix,
            "pathType": kind,
            "backend": {"service": {"name": service, "port": {"name": "http"}}},
        }

    def document(
        name: str,
        body_size: str,
        paths: list[dict[str, Any]],
        annotations: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": name,
                "labels": PART_OF,
                "annotations": {
                    "cert-manager.io/cluster-issuer": "letsencrypt",
                    "nginx.ingress.kubernetes.io/proxy-body-size": body_size,
                    "nginx.ingress.kubernetes.io/ssl-redirect": "true",
                    "nginx.ingress.kubernetes.io/proxy-read-timeout": "60",
                    **cors_annotations(PORTAL_URL),
                    **(annotations or {}),
                },
            },
            "spec": {
                "ingressClassName": "nginx",
                "tls": [{"hosts": ["api.portal.example.com"], "secretName": "ticketing-tls"}],
                "rules": [rule(paths)],
            },
        }

    return [
        document(
            "ticketing", _mebibytes("body_max_bytes"), [path(f"/api/{n}", n) for n in CATALOG]
        ),
        document(
            "ticketing-imports",
            _mebibytes("import_body_max_bytes"),
            [
                path("/api/tickets/import", "tickets", "Exact"),
                path("/api/auth/users/import", "auth", "Exact"),
            ],
        ),
        document(
            "ticketing-content-files",
            "8g",
            [
                path("/api/content/releases", "content"),
                path("/api/content/recordings", "content"),
                path("/api/content/files", "content"),
                path("/api/content/tickets", "content"),
                path("/api/content/attachments", "content"),
            ],
            {
                "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
                "nginx.ingress.kubernetes.io/proxy-buffering": "off",
                "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
                "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
            },
        ),
    ]


def render() -> dict[str, str]:
    """File name -> YAML of every file in `deploy/base/`."""
    files: dict[str, list[dict[str, Any]]] = {
        "namespace.yaml": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta("ticketing", PART_OF)}
        ],
        "kafka.yaml": kafka(),
        "ingress.yaml": ingress(),
        "monitoring.yaml": monitoring([spec.name for spec in specs()]),
    }
    for spec in specs():
        files[f"{spec.name}.yaml"] = _service(spec)
    header = (
        "# Generated by `ticketing manifests` from the code; do not edit (patch in overlays).\n"
    )
    rendered = {
        name: header + yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)
        for name, docs in files.items()
    }
    rendered["kustomization.yaml"] = header + yaml.safe_dump(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "namespace": "ticketing",
            "resources": sorted(files),
            "images": [
                {"name": IMAGE, "newName": "registry.example.com/ticketing", "newTag": "0.1.0"}
            ],
        },
        sort_keys=False,
    )
    return rendered
