#!/usr/bin/env bash
# Re-resolve the lock files from pyproject.toml: run after changing a dependency or its bounds,
# or with --upgrade to take the newest versions within them; commit the result (README,
# "Dependencies"). Without --upgrade the versions already locked are kept where they fit.
#   runtime.lock  what the container image installs (the services' own dependencies)
#   dev.lock      what `python3 tasks.py` installs into .venv (those, plus dev and test extras)
# Every pin carries its hashes; pip installs them with --require-hashes.
set -euo pipefail
cd "$(dirname "$0")/.."
tool="$(mktemp -d)"
trap 'rm -rf "$tool"' EXIT
python3 -m pip install -q --disable-pip-version-check --target "$tool" 'uv>=0.9,<1'
compile() {
    PYTHONPATH="$tool" "$tool/bin/uv" pip compile pyproject.toml --quiet --universal \
        --python-version 3.11 --generate-hashes --no-header "$@"
}
compile "${@}" -o requirements/runtime.lock
compile "${@}" --extra dev --extra test -o requirements/dev.lock
echo "requirements/runtime.lock and requirements/dev.lock written"
