"""What may depend on what: the shared runtime knows no service, and the production command line
(what the container image runs) needs none of the development tools."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from services.cli import COMMANDS, production_parser

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "services" / "runtime"


def _named_modules(path: Path) -> set[str]:
    """The modules a file imports anywhere (in functions too) or names in a string."""
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            named.add(node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            named.add(node.value)
    return named


def test_the_shared_runtime_imports_no_service() -> None:
    files = sorted(RUNTIME.glob("*.py"))
    assert files
    for path in files:
        services = {
            name
            for name in _named_modules(path)
            if name.startswith("services.") and not name.startswith("services.runtime")
        }
        assert services == set(), path.name


def test_the_production_command_line_loads_no_development_tool() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, services.cli; print(*sorted(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.split()

    assert "services.cli" in loaded
    assert [name for name in loaded if name.split(".")[0] == "devstack"] == []


def test_the_production_command_line_has_the_production_commands() -> None:
    parser = production_parser()

    assert parser.parse_args(["migrate", "tickets"]).command == "migrate"
    assert parser.parse_args(["serve", "billing", "--port", "9000"]).port == 9000
    commands = {
        name
        for action in parser._actions  # argparse keeps its subcommands here
        if action.dest == "command"
        for name in action.choices or ()
    }
    assert commands == set(COMMANDS)
