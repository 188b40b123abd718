#!/usr/bin/env python3
"""The project's two entry points, usable on a fresh machine with only Python 3.11+.

    python3 tasks.py dev     start the whole system (embedded Postgres and broker by default)
    python3 tasks.py test    run every test
    python3 tasks.py lint    ruff and mypy

Each creates `.venv` and installs the project into it when pyproject.toml changed since the last
install, then runs the command inside that environment.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-pyproject.sha256"


def ensure_environment() -> None:
    """Create the virtual environment and install the project when its requirements changed."""
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11+ is required, this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing the project and its dependencies into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[dev,test]"], check=True)
    STAMP.write_text(wanted)


def main() -> int:
    commands = {
        "dev": [[str(BIN / "ticketing"), "dev"]],
        "test": [[str(BIN / "python"), "-m", "pytest"]],
        "lint": [
            [str(BIN / "ruff"), "check", "."],
            [str(BIN / "ruff"), "format", "--check", "."],
            [str(BIN / "mypy")],
        ],
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    ensure_environment()
    extra = sys.argv[2:]
    steps = commands[sys.argv[1]]
    if len(steps) == 1 and os.name == "posix":
        # Become the command, so Ctrl-C reaches it alone and it can shut down in order.
        os.chdir(ROOT)
        os.execv(steps[0][0], [*steps[0], *extra])
    for argv in steps:
        try:
            code = subprocess.run([*argv, *extra], cwd=ROOT, check=False).returncode
        except KeyboardInterrupt:
            return 130
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
