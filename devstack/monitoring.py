"""`deploy/base/monitoring.yaml`: what the Prometheus Operator and Grafana need to watch the chain.

A `ServiceMonitor` per service, one `PrometheusRule` with the alerts deploy/README.md's runbook
explains (one paragraph per alert, same names), and the dashboard as a `ConfigMap` that Grafana's
dashboard sidecar picks up by its `grafana_dashboard` label. Every metric named here is one the
code exports (docs/metrics.md; tests/deploy/test_monitoring.py checks both, and runs
`promtool check rules` on the rules). The dashboard's panels are in devstack/dashboard.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from devstack.dashboard import LAG, dashboard

SCRAPE_INTERVAL = "30s"
MONITORING_NAMESPACE = "monitoring"
"""Where Prometheus runs; the services' NetworkPolicy lets it in to scrape `/metrics`."""
RUNBOOK = "deploy/README.md"  # the runbook: one paragraph per alert, under its name


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str

    def rule(self) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": f"{RUNBOOK}#{self.name.lower()}",
            },
        }


ALERTS: tuple[Alert, ...] = (
    Alert(
        "TicketingOutboxStuck",
        "max by (namespace, service) (ticketing_outbox_oldest_waiting_age_seconds) > 300",
        "2m",
        "critical",
        "{{ $labels.service }}: an event has waited over 5 minutes to be published",
        "The oldest unpublished outbox row of {{ $labels.service }} is"
        " {{ $value | humanizeDuration }} old: the work is stored, but no other service hears"
        " of it.",
    ),
    Alert(
        "TicketingBrokerUnreachable",
        "max by (namespace, service) (1 - ticketing_broker_up) == 1",
        "3m",
        "warning",
        "{{ $labels.service }} cannot reach Kafka",
        "A pod of {{ $labels.service }} has not reached the broker for 3 minutes. The HTTP API"
        " goes on (outbox); events wait.",
    ),
    Alert(
        "TicketingConsumerLagGrowing",
        f"({LAG} > 100) and (sum by (namespace, consumer) (max by (namespace, consumer, topic,"
        " partition) (delta(ticketing_consumer_lag_records[10m]))) > 0)",
        "10m",
        "warning",
        "Consumer {{ $labels.consumer }} is falling behind",
        "{{ $value }} records more are waiting than 10 minutes ago, and over 100 wait.",
    ),
    Alert(
        "TicketingConsumerWedged",
        "max by (namespace, service, consumer) (ticketing_consumer_batch_in_progress_seconds)"
        " > 120",
        "1m",
        "warning",
        "Consumer {{ $labels.consumer }} has been on one batch for over 2 minutes",
        "A handler hangs (a lock, a call without a timeout). At 10 minutes the liveness probe"
        " restarts the pod.",
    ),
    Alert(
        "TicketingDeadLetters",
        "sum by (namespace, consumer, event_type) (increase(ticketing_consumer_events_total"
        '{outcome="dead_lettered"}[15m])) > 0',
        "0m",
        "warning",
        "{{ $labels.consumer }} dead-lettered {{ $labels.event_type }} records",
        "Records went to ticketing.dead-letter; each carries its reason in its headers.",
    ),
    Alert(
        "TicketingEmailsFailing",
        'sum by (namespace) (increase(ticketing_emails_send_failures_total{kind="permanent"}'
        "[30m])) > 0",
        "0m",
        "warning",
        "E-mails were given up on",
        "{{ $value }} e-mails in the last 30 minutes will not be sent (refused for good or out"
        " of attempts).",
    ),
    Alert(
        "TicketingEmailsStuck",
        "max by (namespace) (ticketing_emails_oldest_pending_age_seconds) > 900",
        "5m",
        "critical",
        "An e-mail has waited over 15 minutes to be sent",
        "The oldest pending e-mail is {{ $value | humanizeDuration }} old: SMTP refuses or"
        " cannot be reached.",
    ),
    Alert(
        "TicketingHttpErrors",
        'sum by (namespace, service) (rate(ticketing_http_requests_total{status=~"5.."}[5m]))'
        " / sum by (namespace, service) (rate(ticketing_http_requests_total[5m])) > 0.05",
        "5m",
        "critical",
        "{{ $labels.service }} answers over 5 % of requests with 5xx",
        "{{ $value | humanizePercentage }} of {{ $labels.service }}'s answers are server errors.",
    ),
    Alert(
        "TicketingSigninThrottling",
        "sum by (namespace) (rate(ticketing_signin_throttled_total[5m])) * 60 > 20",
        "10m",
        "warning",
        "Many sign-ins are throttled",
        "{{ $value }} throttled sign-ins a minute: password guessing, or a client retrying"
        " wrong credentials.",
    ),
    Alert(
        "TicketingDatabasePoolExhausted",
        "max by (namespace, service) (ticketing_db_pool_connections_in_use"
        " / ticketing_db_pool_connections_max) >= 1",
        "5m",
        "warning",
        "{{ $labels.service }} uses every connection of its pool",
        "Requests and handlers wait for a connection of {{ $labels.service }}'s pool.",
    ),
)


def _labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "ticketing"}


def service_monitor(service: str) -> dict[str, Any]:
    """Scrape the service's pods through its Service's `http` port."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": service, "labels": _labels(service)},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": service}},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": SCRAPE_INTERVAL}],
        },
    }


def prometheus_rule() -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "ticketing", "labels": _labels("ticketing")},
        "spec": {"groups": [{"name": "ticketing", "rules": [a.rule() for a in ALERTS]}]},
    }


def dashboard_config_map() -> dict[str, Any]:
    """The dashboard for Grafana's sidecar (kube-prometheus-stack: label `grafana_dashboard`)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "ticketing-dashboard",
            "labels": {**_labels("ticketing"), "grafana_dashboard": "1"},
        },
        "data": {"ticketing.json": json.dumps(dashboard(), indent=1, ensure_ascii=False)},
    }


def monitoring(services: list[str]) -> list[dict[str, Any]]:
    """Every document of `deploy/base/monitoring.yaml`."""
    return [
        *(service_monitor(s) for s in services),
        prometheus_rule(),
        dashboard_config_map(),
    ]


def scrape_ingress(port: int) -> dict[str, Any]:
    """The NetworkPolicy rule that lets Prometheus in to scrape a service's pods."""
    return {
        "from": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}
                }
            }
        ],
        "ports": [{"port": port, "protocol": "TCP"}],
    }


def queries() -> list[str]:
    """Every PromQL expression of the rules and the dashboard (for the tests)."""
    panels = dashboard()["panels"]
    return [a.expr for a in ALERTS] + [t["expr"] for p in panels for t in p["targets"]]
