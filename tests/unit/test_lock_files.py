"""The lock files (requirements/*.lock) hold a version of every dependency pyproject.toml asks
for, within its bounds: a bound changed without re-running requirements/compile.sh fails here
rather than in the image build."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


@pytest.mark.parametrize(("lock", "groups"), [("runtime.lock", ()), ("dev.lock", ("dev", "test"))])
def test_every_requirement_is_locked_within_its_bounds(lock: str, groups: tuple[str, ...]) -> None:
    locked = pins(lock)
    wanted = [*PYPROJECT["dependencies"]]
    for group in groups:
        wanted += PYPROJECT["optional-dependencies"][group]
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in requirements/{lock}"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements/{lock} pins {name}=={locked[name]}, outside {requirement.specifier}"
        )


def test_every_pin_carries_hashes() -> None:
    for lock in ("runtime.lock", "dev.lock"):
        text = (ROOT / "requirements" / lock).read_text()
        blocks = re.split(r"\n(?=[A-Za-z0-9._-]+==)", text)
        for block in blocks:
            if PIN.match(block):
                assert "--hash=sha256:" in block, f"{block.split()[0]} has no hash in {lock}"
