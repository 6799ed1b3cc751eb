"""The files in deploy/ as the tests read them: the Kubernetes objects and the Dockerfile.

The static checks (tests/unit/test_deploy_manifests.py) and the local run of the pods'
commands (tests/integration/deploy/) both read the manifests through here, so they test
the very files a user applies, not copies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
MANIFESTS_DIR = REPO / "deploy" / "kubernetes"
DOCKERFILE = REPO / "deploy" / "Dockerfile"


def manifest_files() -> list[Path]:
    return sorted(MANIFESTS_DIR.glob("*.yaml"))


def read_manifest(path: Path) -> dict[str, Any]:
    """The one Kubernetes object in ``path`` (one object per file, see deploy/README.md)."""
    documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    assert len(documents) == 1, f"{path.name}: {len(documents)} objects, expected one"
    return documents[0]


@dataclass(frozen=True)
class Manifests:
    """The objects of deploy/kubernetes/, one of each kind."""

    by_kind: dict[str, dict[str, Any]]

    @property
    def service(self) -> dict[str, Any]:
        return self.by_kind["Service"]

    @property
    def workers(self) -> dict[str, Any]:
        return self.by_kind["Deployment"]

    @property
    def job(self) -> dict[str, Any]:
        return self.by_kind["Job"]

    @property
    def worker_container(self) -> dict[str, Any]:
        return _only_container(self.workers)

    @property
    def master_container(self) -> dict[str, Any]:
        return _only_container(self.job)

    @property
    def master_env(self) -> dict[str, str]:
        return {e["name"]: e["value"] for e in self.master_container.get("env", [])}


def manifests() -> Manifests:
    by_kind: dict[str, dict[str, Any]] = {}
    for path in manifest_files():
        obj = read_manifest(path)
        assert obj["kind"] not in by_kind, f"{path.name}: a second {obj['kind']}"
        by_kind[obj["kind"]] = obj
    return Manifests(by_kind)


def _only_container(obj: dict[str, Any]) -> dict[str, Any]:
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{obj['kind']} {obj['metadata']['name']}: one container expected"
    return containers[0]


def with_option(args: list[str], name: str, value: str) -> list[str]:
    """``args`` with the value after ``name`` replaced (``name`` must be there)."""
    assert name in args, f"{name} not in {args}"
    index = args.index(name) + 1
    return [*args[:index], value, *args[index + 1 :]]


@dataclass(frozen=True)
class Dockerfile:
    workdir: str
    copied: list[str]  # COPY sources, relative to the build context (the repository)
    entrypoint: list[str]


def read_dockerfile(path: Path = DOCKERFILE) -> Dockerfile:
    """The few instructions the manifests depend on (a deliberately small reader)."""
    workdir, copied, entrypoint = "/", [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "WORKDIR":
            workdir = words[1]
        elif words[0] == "COPY":
            copied += [w for w in words[1:-1] if not w.startswith("--")]
        elif words[0] == "ENTRYPOINT":
            entrypoint = yaml.safe_load(line.removeprefix("ENTRYPOINT"))  # exec form: a list
    return Dockerfile(workdir, copied, entrypoint)


ENV_NAME = re.compile(r"""["'](HARNESS_[A-Z0-9_]+)["']""")


def harness_env_names() -> set[str]:
    """Every ``HARNESS_*`` name the harness's code spells as a string of its own."""
    return {
        name
        for source in (REPO / "harness").rglob("*.py")
        for name in ENV_NAME.findall(source.read_text(encoding="utf-8"))
    }
