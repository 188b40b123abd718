"""The Grafana dashboard of the chain (its ConfigMap is in devstack/monitoring.py): one panel per
question an operator asks first, each a PromQL query of metrics the code exports
(docs/metrics.md; tests/deploy/test_monitoring.py checks them)."""

from __future__ import annotations

from typing import Any

# A partition moves between replicas on a rebalance, and the old holder's series stays until it
# is refreshed: the largest value per partition is the honest one.
LAG = (
    "sum by (namespace, consumer) (max by (namespace, consumer, topic, partition) "
    "(ticketing_consumer_lag_records))"
)


def _panel(
    panel_id: int,
    title: str,
    exprs: list[tuple[str, str]],
    *,
    x: int,
    y: int,
    unit: str = "short",
    kind: str = "timeseries",
) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": kind,
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"x": x, "y": y, "w": 12 if kind == "timeseries" else 6, "h": 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(exprs)
        ],
    }


def dashboard() -> dict[str, Any]:
    """The chain at a glance: is anything waiting, failing or slow, and where."""
    rows: list[tuple[str, list[tuple[str, str]], str, str]] = [
        ("Broker reachable (min over pods)", [("min(ticketing_broker_up)", "")], "short", "stat"),
        (
            "Oldest unpublished event",
            [("max(ticketing_outbox_oldest_waiting_age_seconds)", "")],
            "s",
            "stat",
        ),
        ("Consumer lag (records)", [(f"sum({LAG})", "")], "short", "stat"),
        (
            "Dead letters (last hour)",
            [('sum(increase(ticketing_consumer_events_total{outcome="dead_lettered"}[1h]))', "")],
            "short",
            "stat",
        ),
        (
            "Outbox: oldest waiting row",
            [
                (
                    "max by (service) (ticketing_outbox_oldest_waiting_age_seconds)",
                    "{{service}}",
                )
            ],
            "s",
            "timeseries",
        ),
        (
            "Outbox: rows waiting, publishes and failures",
            [
                ("sum by (service) (ticketing_outbox_waiting_events)", "{{service}} waiting"),
                (
                    "sum by (service) (rate(ticketing_outbox_published_events_total[5m]))",
                    "{{service}} published/s",
                ),
                (
                    "sum by (service) (rate(ticketing_outbox_publish_failures_total[5m]))",
                    "{{service}} failures/s",
                ),
            ],
            "short",
            "timeseries",
        ),
        ("Consumer lag by consumer", [(LAG, "{{consumer}}")], "short", "timeseries"),
        (
            "Records by consumer and outcome (/s)",
            [
                (
                    "sum by (consumer, outcome) (rate(ticketing_consumer_events_total[5m]))",
                    "{{consumer}} {{outcome}}",
                )
            ],
            "ops",
            "timeseries",
        ),
        (
            "Handler time p95",
            [
                (
                    "histogram_quantile(0.95, sum by (consumer, le) "
                    "(rate(ticketing_consumer_handler_duration_seconds_bucket[5m])))",
                    "{{consumer}}",
                )
            ],
            "s",
            "timeseries",
        ),
        (
            "E-mails: pending, oldest, sent and failed",
            [
                ("sum(ticketing_emails_pending)", "pending"),
                ("max(ticketing_emails_oldest_pending_age_seconds)", "oldest pending (s)"),
                ("sum(rate(ticketing_emails_sent_total[5m])) * 60", "sent/min"),
                (
                    "sum by (kind) (rate(ticketing_emails_send_failures_total[5m])) * 60",
                    "failed/min ({{kind}})",
                ),
            ],
            "short",
            "timeseries",
        ),
        (
            "HTTP requests by service and status (/s)",
            [
                (
                    "sum by (service, status) (rate(ticketing_http_requests_total[5m]))",
                    "{{service}} {{status}}",
                )
            ],
            "reqps",
            "timeseries",
        ),
        (
            "HTTP p95 by service",
            [
                (
                    "histogram_quantile(0.95, sum by (service, le) "
                    "(rate(ticketing_http_request_duration_seconds_bucket[5m])))",
                    "{{service}}",
                )
            ],
            "s",
            "timeseries",
        ),
        (
            "Sign-in refusals and throttling (/min)",
            [
                (
                    "sum by (reason) (rate(ticketing_signin_failures_total[5m])) * 60",
                    "refused: {{reason}}",
                ),
                (
                    "sum by (scope) (rate(ticketing_signin_throttled_total[5m])) * 60",
                    "throttled: {{scope}}",
                ),
            ],
            "short",
            "timeseries",
        ),
        (
            "Database pool in use",
            [
                ("max by (service) (ticketing_db_pool_connections_in_use)", "{{service}}"),
                ("max by (service) (ticketing_db_pool_connections_max)", "{{service}} max"),
            ],
            "short",
            "timeseries",
        ),
    ]
    panels, x, y = [], 0, 0
    for i, (title, exprs, unit, kind) in enumerate(rows, start=1):
        width = 12 if kind == "timeseries" else 6
        if x + width > 24:
            x, y = 0, y + 8
        panels.append(_panel(i, title, exprs, x=x, y=y, unit=unit, kind=kind))
        x += width
    return {
        "uid": "ticketing-chain",
        "title": "Ticketing: the chain at a glance",
        "tags": ["ticketing"],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Prometheus",
                }
            ]
        },
        "panels": panels,
    }
