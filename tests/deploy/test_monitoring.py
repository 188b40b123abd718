"""The monitoring manifests: every metric an alert or a panel uses is exported by the code and
listed in docs/metrics.md, every alert has its runbook paragraph, and promtool accepts the rules."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from devstack.monitoring import ALERTS, prometheus_rule, queries
from services.catalog import CATALOG

ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}
NOT_OURS = {"up"}  # Prometheus's own series of a scrape target


def _exported() -> dict[str, str]:
    """Every `ticketing_*` sample name the services register -> its metric family."""
    for name in [*CATALOG, "gateway"]:
        importlib.import_module(f"services.{name}.app")
    names: dict[str, str] = {}
    for family in REGISTRY.collect():
        if family.name.startswith("ticketing_"):
            for suffix in SUFFIXES[family.type]:
                names[family.name + suffix] = family.name
    return names


def _used(expr: str) -> set[str]:
    return set(re.findall(r"\b(ticketing_[a-z_]+|up)\b", expr)) - NOT_OURS


def test_every_metric_an_alert_or_a_panel_uses_is_exported_by_the_code() -> None:
    exported = _exported()
    for expr in queries():
        assert _used(expr) <= set(exported), expr
    used = {name for expr in queries() for name in _used(expr)}
    assert len(used) >= 15  # the dashboard covers the chain, not a token metric


def test_docs_list_exactly_the_exported_metrics() -> None:
    documented = set(re.findall(r"^\| `(ticketing_[a-z_]+)`", _read("docs/metrics.md"), re.M))
    families = set(_exported().values())  # a counter's family name has no `_total`
    assert {name.removesuffix("_total") for name in documented} == families


def test_every_alert_has_a_runbook_paragraph() -> None:
    readme = _read("deploy/README.md")
    for alert in ALERTS:
        assert re.search(rf"^### {alert.name}\n\n\S", readme, re.M), alert.name


def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("REQUIRE_PROMTOOL"):
            pytest.fail("promtool is required here: `python3 tasks.py rules` installs it")
        pytest.skip("promtool (Debian's prometheus package) is not installed")
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(prometheus_rule()["spec"]))
    result = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


def _read(path: str) -> str:
    return (ROOT / path).read_text(encoding="utf-8")
