"""environment.yml (conda) and pyproject.toml (pip) list the same packages and version ranges."""

from __future__ import annotations

import re
import tomllib

import yaml
from packaging.specifiers import SpecifierSet

from conftest import ROOT


def _norm(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    assert m, spec
    name = re.sub(r"[-_.]+", "-", m.group(1)).lower()
    version = ",".join(sorted(p.strip() for p in m.group(2).split(",") if p.strip()))
    return name, version


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return dict(_norm(s) for s in specs)


def _environment() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    specs: list[str] = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            specs += [s for s in dep["pip"] if not s.startswith("-")]
        elif not dep.startswith(("python", "pip")) or dep.startswith("python-"):
            specs.append(dep)
    return dict(_norm(s) for s in specs)


def test_environment_yml_matches_pyproject() -> None:
    assert _environment() == _pyproject()


def test_environment_installs_the_package_itself() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip


def test_lock_pins_every_declared_package() -> None:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_norm(name)[0]] = version
    for name, spec in _pyproject().items():
        assert name in pins, f"{name} is declared in pyproject.toml but not pinned in requirements.lock (run `make lock`)"
        assert SpecifierSet(spec).contains(pins[name]), f"{name}=={pins[name]} in the lock violates {spec!r}"


def test_license_is_an_spdx_string_and_setuptools_can_read_it() -> None:
    # A TOML table (`license = {text = ...}`) makes setuptools >= 77 warn at every install.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "Apache-2.0"
    setuptools = [r for r in pyproject["build-system"]["requires"] if _norm(r)[0] == "setuptools"]
    assert len(setuptools) == 1 and "77.0" in SpecifierSet(_norm(setuptools[0])[1])  # PEP 639 support
    assert "76.0" not in SpecifierSet(_norm(setuptools[0])[1])
