"""deploy/: the Kubernetes manifests are valid objects, and what their pods run is the harness.

No cluster and no Docker here: the objects are validated offline against the Kubernetes
OpenAPI schemas that kubernetes-validate bundles, the pods' ``args`` are parsed by the
harness's own CLI parser, and the values that must agree across the objects, the drill
and the Dockerfile are compared. tests/integration/deploy/ runs the same commands.
"""

from __future__ import annotations

import argparse
import copy
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from harness import cli
from harness.drill.loader import load_drill
from harness.drill.model import Drill
from harness.drill.plan import plan_drill
from harness.drill.target import require_loopback
from harness.load.spec import LoadModel
from tests.deploy_manifests import (
    REPO,
    Manifests,
    harness_env_names,
    manifest_files,
    manifests,
    read_dockerfile,
    read_manifest,
)

K8S_VERSION = "1.37"  # the newest Kubernetes whose schemas kubernetes-validate 1.37 ships


def schema_problem(obj: dict[str, Any]) -> str | None:
    """Why ``obj`` is not a valid Kubernetes object (strict: unknown fields too), or None."""
    try:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path) or "(top)"
        return f"{where}: {exc.message}"
    return None


def parse(args: list[str]) -> argparse.Namespace:
    """``harness <args>`` as the CLI parses it, without running it."""
    try:
        return cli._parse(args)
    except SystemExit:
        pytest.fail(f"`harness {' '.join(args)}` is refused by the CLI (usage on stderr)")


@pytest.fixture(scope="module")
def objects() -> Manifests:
    return manifests()


@pytest.fixture(scope="module")
def job_args(objects: Manifests) -> argparse.Namespace:
    return parse(objects.master_container["args"])


@pytest.fixture(scope="module")
def worker_args(objects: Manifests) -> argparse.Namespace:
    return parse(objects.worker_container["args"])


@pytest.fixture(scope="module")
def drill(job_args: argparse.Namespace) -> Drill:
    return load_drill(REPO / job_args.drill)


def master_port(objects: Manifests) -> int:
    return int(objects.master_env["HARNESS_MASTER_PORT"])


# -- the objects --------------------------------------------------------------------------


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_every_manifest_is_a_valid_kubernetes_object(path: Path) -> None:
    """Each file holds one object that the Kubernetes schema accepts, unknown fields refused."""
    problem = schema_problem(read_manifest(path))
    assert problem is None, f"{path.name}: {problem}"


BREAKAGES = {
    "replicas as a string": lambda d: d["spec"].update(replicas="3"),
    "args misspelled": lambda d: d["spec"]["template"]["spec"]["containers"][0].update(
        arg=d["spec"]["template"]["spec"]["containers"][0].pop("args")
    ),
    "no selector": lambda d: d["spec"].pop("selector"),
    "port as a word": lambda d: d["spec"]["template"]["spec"]["containers"][0].update(
        ports=[{"containerPort": "locust"}]
    ),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_broken_manifest_fails_the_schema(objects: Manifests, breakage: str) -> None:
    """The validation is not vacuous: a broken copy of the worker Deployment is refused."""
    broken = copy.deepcopy(objects.workers)
    BREAKAGES[breakage](broken)
    assert schema_problem(objects.workers) is None
    assert schema_problem(broken) is not None


def test_the_folder_holds_the_objects_the_docs_describe(objects: Manifests) -> None:
    """A Service, the workers' Deployment, the drill's Job, its reports claim and a policy."""
    assert set(objects.by_kind) == {
        "Service",
        "Deployment",
        "Job",
        "PersistentVolumeClaim",
        "NetworkPolicy",
    }


# -- what the pods run --------------------------------------------------------------------


def test_the_worker_pods_run_a_worker_of_a_shipped_scenario(
    worker_args: argparse.Namespace,
) -> None:
    """The Deployment's args are `harness worker` with a locustfile that is in the repository."""
    assert worker_args.command == "worker"
    assert (REPO / worker_args.scenario).is_file(), worker_args.scenario


def test_the_job_runs_a_shipped_drill_with_the_same_scenario(
    job_args: argparse.Namespace, worker_args: argparse.Namespace, drill: Drill
) -> None:
    """The Job's args are `harness run` of a drill in the repository whose scenario is the
    very file the workers load."""
    assert job_args.command == "run"
    assert (REPO / job_args.drill).is_file(), job_args.drill
    plan = plan_drill(drill, drill_file=REPO / job_args.drill, allow_remote=job_args.allow_remote)
    assert plan.scenario_path == (REPO / worker_args.scenario).resolve()
    assert not worker_args.user_classes and not drill.load.user_classes  # both: every class


def test_the_target_passes_the_loopback_rules(job_args: argparse.Namespace, drill: Drill) -> None:
    """The Job's --target-url is a cluster name, which --allow-remote lets preflight accept."""
    assert job_args.target_url, "the Job must name the system under test (--target-url)"
    require_loopback(
        job_args.target_url,
        what="target",
        allow_hosts=drill.target.allow_hosts,
        allow_remote=job_args.allow_remote,
    )


def test_the_job_sets_only_variables_the_harness_reads(objects: Manifests) -> None:
    """Each env name is one the harness's code reads; the master listens on every interface."""
    env = objects.master_env
    assert set(env) <= harness_env_names(), set(env) - harness_env_names()
    assert env["HARNESS_MASTER_BIND_HOST"] in ("*", "0.0.0.0")  # not loopback, the default
    assert float(env["HARNESS_WORKER_WAIT_S"]) > 0


def test_the_master_port_agrees_everywhere(
    objects: Manifests, worker_args: argparse.Namespace
) -> None:
    """HARNESS_MASTER_PORT = the Job's containerPort = the Service's port and target port =
    the workers' --master-port, and the workers' --master-host is the Service."""
    port = master_port(objects)
    (service_port,) = objects.service["spec"]["ports"]
    (container_port,) = objects.master_container["ports"]
    target = service_port["targetPort"]
    if isinstance(target, str):  # a named port: the container's port of that name
        assert container_port.get("name") == target, (target, container_port)
        target = container_port["containerPort"]
    assert port == container_port["containerPort"] == service_port["port"] == target
    assert worker_args.master_port == port
    assert worker_args.master_host == objects.service["metadata"]["name"]


def test_the_service_and_the_policy_select_the_master_pod_only(objects: Manifests) -> None:
    """The Service and the NetworkPolicy pick the Job's pod, never a worker; the policy
    admits the workers on the master's port."""
    master_labels = objects.job["spec"]["template"]["metadata"]["labels"]
    worker_labels = objects.workers["spec"]["template"]["metadata"]["labels"]
    selector = objects.service["spec"]["selector"]
    assert selector.items() <= master_labels.items()
    assert not selector.items() <= worker_labels.items()
    assert objects.workers["spec"]["selector"]["matchLabels"].items() <= worker_labels.items()

    policy = objects.by_kind["NetworkPolicy"]["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= master_labels.items()
    (rule,) = policy["ingress"]
    (source,) = rule["from"]
    assert source["podSelector"]["matchLabels"].items() <= worker_labels.items()
    assert [p["port"] for p in rule["ports"]] == [master_port(objects)]


def test_expected_workers_are_the_replicas_plus_the_drills_own(
    objects: Manifests, drill: Drill
) -> None:
    """HARNESS_EXPECT_WORKERS = the Deployment's replicas + load.workers, which must be at
    least 1 (distributed mode); an open-model drill has a user for each of them."""
    expected = int(objects.master_env["HARNESS_EXPECT_WORKERS"])
    assert drill.load.workers >= 1
    assert expected == objects.workers["spec"]["replicas"] + drill.load.workers
    if drill.load.model is LoadModel.OPEN:
        assert drill.load.max_concurrency >= expected


def test_both_pods_run_one_image(objects: Manifests) -> None:
    """The master and the workers are the same program: one image, same harness, same Locust."""
    assert objects.master_container["image"] == objects.worker_container["image"]


def test_the_reports_land_on_the_shipped_claim(
    objects: Manifests, job_args: argparse.Namespace
) -> None:
    """--reports-dir is the mount of a volume backed by the PersistentVolumeClaim shipped."""
    (mount,) = objects.master_container["volumeMounts"]
    assert str(job_args.reports_dir) == mount["mountPath"]
    (volume,) = objects.job["spec"]["template"]["spec"]["volumes"]
    assert volume["name"] == mount["name"]
    claim = objects.by_kind["PersistentVolumeClaim"]["metadata"]["name"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim


# -- the image ----------------------------------------------------------------------------


def test_the_image_holds_what_the_pods_name(
    job_args: argparse.Namespace, worker_args: argparse.Namespace
) -> None:
    """The Dockerfile copies files that exist, the packages pyproject.toml installs, and the
    folders of the drill and the scenario into its WORKDIR; its entry point is `harness`,
    so a container's args are a harness command."""
    image = read_dockerfile()
    assert image.entrypoint == ["harness"]
    for source in image.copied:
        assert (REPO / source).exists(), source
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    packages = project["tool"]["setuptools"]["packages"]["find"]["include"]
    needed = {project["project"]["readme"], "pyproject.toml"}
    needed |= {f"{p.rstrip('*')}/" for p in packages}
    needed |= {f"{Path(p).parts[0]}/" for p in (job_args.drill, worker_args.scenario)}
    assert needed <= set(image.copied), needed - set(image.copied)
    assert image.workdir.startswith("/")  # the relative paths in args resolve from here
