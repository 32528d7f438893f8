"""The Kubernetes recipes (deploy/kubernetes/) as a cluster would take them.

Every document is valid against the Kubernetes API schemas (kubernetes-validate, offline,
strict: an unknown or misspelt key fails), and each recipe keeps the docs' promises: CronJobs
that never overlap, a pinned image from a registry, a non-root container on a read-only root
with a writable /tmp, requests and limits, no volume claim where the state is in PostgreSQL,
every Secret (and key), ConfigMap, claim and Service it names defined in the recipe's files,
and a configuration in its ConfigMap that loads, names only instances that a job runs and only
secrets that the job is given.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from connector.config import load_config
from tests.deploy.recipes import DEPLOY

KUBE = DEPLOY / "kubernetes"
#: The oldest Kubernetes the manifests are checked against (kubernetes-validate's schemas).
VERSION = "1.30.0"
#: The files applied together (docs/operations.md#kubernetes).
RECIPES = {
    "postgresql": ("secret.yaml", "config.yaml", "cronjob.yaml", "postgres.yaml"),
    "single-host": ("secret.yaml", "single-host/config.yaml", "single-host/cronjob.yaml"),
    "service": ("secret.yaml", "service/config.yaml", "service/deployment.yaml", "postgres.yaml"),
}
CRON = ("postgresql", "single-host")
#: registry host / path : tag, optionally @sha256:digest; never :latest.
PINNED = re.compile(
    r"(?P<registry>[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?)/[a-z0-9._/-]+"
    r":(?P<tag>\w[\w.-]{0,127})(@sha256:[0-9a-f]{64})?"
)

Doc = dict[str, Any]


def documents(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def recipe(name: str) -> list[Doc]:
    return [doc for file in RECIPES[name] for doc in documents(KUBE / file)]


def defined(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_specs(docs: list[Doc]) -> Iterator[tuple[Doc, Doc]]:
    """(workload, pod spec) of every CronJob, StatefulSet and Deployment."""
    for doc in docs:
        if doc["kind"] == "CronJob":
            yield doc, doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        elif doc["kind"] in ("StatefulSet", "Deployment"):
            yield doc, doc["spec"]["template"]["spec"]


def secret_keys(secret: Doc) -> set[str]:
    return set(secret.get("stringData", {})) | set(secret.get("data", {}))


def manifest_files() -> list[Path]:
    return sorted(KUBE.rglob("*.yaml"))


def test_every_manifest_belongs_to_a_recipe() -> None:
    listed = {KUBE / file for files in RECIPES.values() for file in files}
    assert set(manifest_files()) == listed


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(KUBE)))
def test_every_document_is_valid_for_kubernetes(path: Path) -> None:
    docs = documents(path)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_the_schemas_catch_a_misspelt_key() -> None:
    cronjob = next(d for d in documents(KUBE / "cronjob.yaml") if d["kind"] == "CronJob")
    cronjob["spec"]["concurrencyPolicyy"] = cronjob["spec"].pop("concurrencyPolicy")
    with pytest.raises(kubernetes_validate.ValidationError, match="concurrencyPolicyy"):
        kubernetes_validate.validate(cronjob, VERSION, strict=True)


@pytest.mark.parametrize("name", CRON)
def test_jobs_never_overlap_and_every_image_is_pinned(name: str) -> None:
    docs = recipe(name)
    cronjobs = defined(docs, "CronJob")
    assert cronjobs
    assert {c["spec"]["concurrencyPolicy"] for c in cronjobs.values()} == {"Forbid"}
    for workload, pod in pod_specs(docs):
        for container in pod["containers"]:
            image = container["image"]
            found = PINNED.fullmatch(image)
            assert found, f"{workload['metadata']['name']}: {image} is not registry/path:tag"
            assert found["tag"] != "latest"


@pytest.mark.parametrize("name", RECIPES)
def test_containers_run_as_non_root_on_a_read_only_root(name: str) -> None:
    for workload, pod in pod_specs(recipe(name)):
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], workload["metadata"]["name"]
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"])
            assert {"cpu", "memory"} <= set(resources["limits"])


def test_with_postgresql_no_job_needs_a_volume() -> None:
    docs = recipe("postgresql")
    assert not defined(docs, "PersistentVolumeClaim")
    for cronjob in defined(docs, "CronJob").values():
        pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        kinds = {key for volume in pod["volumes"] for key in volume if key != "name"}
        assert kinds == {"configMap", "emptyDir"}


@pytest.mark.parametrize("name", RECIPES)
def test_everything_a_recipe_names_it_defines(name: str) -> None:
    docs = recipe(name)
    secrets, maps = defined(docs, "Secret"), defined(docs, "ConfigMap")
    claims, services = defined(docs, "PersistentVolumeClaim"), defined(docs, "Service")
    for workload, pod in pod_specs(docs):
        claim_templates = workload["spec"].get("volumeClaimTemplates", [])
        templates = {t["metadata"]["name"] for t in claim_templates}
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in pod["containers"]:
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secret_keys(secrets[ref["name"]]), ref
            for mount in container["volumeMounts"]:
                assert mount["name"] in volumes or mount["name"] in templates, mount
        for volume in volumes.values():
            if "configMap" in volume:
                assert volume["configMap"]["name"] in maps
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims
        if workload["kind"] == "StatefulSet":
            service = services[workload["spec"]["serviceName"]]
            labels = workload["spec"]["template"]["metadata"]["labels"]
            assert service["spec"]["selector"].items() <= labels.items()
    for ingress in defined(docs, "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] in services


def job_config(docs: list[Doc], cronjob: Doc) -> tuple[Doc, Doc]:
    """(the container, its configuration as YAML) of a CronJob: the file `run -c` names, from
    the ConfigMap mounted there."""
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = container["args"]
    assert args[:2] == ["run", "-c"]
    folder, file = args[2].rsplit("/", 1)
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == folder]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    text = defined(docs, "ConfigMap")[volume["configMap"]["name"]]["data"][file]
    return container, yaml.safe_load(text)


def env_refs(value: object) -> Iterator[str]:
    """Every {env: VAR} secret in a piece of configuration."""
    if isinstance(value, dict):
        if set(value) == {"env"}:
            yield value["env"]
        for item in value.values():
            yield from env_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from env_refs(item)


def loads(config: Doc, tmp_path: Path) -> None:
    """The configuration passes `escalate validate`'s checks, its `state:` section included."""
    path = tmp_path / "escalate.yaml"
    path.write_text(yaml.safe_dump(config))
    load_config(path)


@pytest.mark.parametrize("name", CRON)
def test_each_job_runs_instances_of_its_config_with_their_secrets(
    name: str, tmp_path: Path
) -> None:
    docs = recipe(name)
    ran: list[str] = []
    for cronjob in defined(docs, "CronJob").values():
        container, config = job_config(docs, cronjob)
        loads(config, tmp_path)
        args = container["args"]
        names = [args[i + 1] for i, a in enumerate(args) if a == "--instance"]
        names = names or list(config["instances"])
        given = {e["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})}
        needed = {v for n in names for v in env_refs(config["instances"][n])}
        needed |= set(env_refs(config.get("state", {})))
        assert needed == given, cronjob["metadata"]["name"]
        ran += names
    assert sorted(ran) == sorted(config["instances"])  # each instance in exactly one job


def test_with_postgresql_the_state_url_names_the_example_database() -> None:
    docs = recipe("postgresql")
    cronjob = next(iter(defined(docs, "CronJob").values()))
    container, config = job_config(docs, cronjob)
    url = urlsplit(config["state"]["url"])
    assert url.scheme == "postgresql" and url.password is None  # no password in the URL
    assert set(config["state"]) == {"url", "password"}
    (variable,) = env_refs(config["state"])
    (database,) = defined(docs, "StatefulSet").values()
    server = {e["name"]: e for e in database["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert url.hostname == database["spec"]["serviceName"]
    service = defined(docs, "Service")[url.hostname]
    assert url.port in {p["port"] for p in service["spec"]["ports"]}
    assert url.username == server["POSTGRES_USER"]["value"]
    assert url.path == "/" + server["POSTGRES_DB"]["value"]
    client = {e["name"]: e for e in container["env"]}
    assert client[variable]["valueFrom"] == server["POSTGRES_PASSWORD"]["valueFrom"]


def test_the_single_host_recipe_is_one_job_on_one_claim() -> None:
    docs = recipe("single-host")
    (cronjob,) = defined(docs, "CronJob").values()
    (claim,) = defined(docs, "PersistentVolumeClaim").values()
    assert set(claim["spec"]["accessModes"]) <= {"ReadWriteOnce", "ReadWriteOncePod"}
    container, config = job_config(docs, cronjob)
    assert "state" not in config and "--instance" not in container["args"]
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert config["run"]["state_dir"] == mount["mountPath"]
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsUser"]


def test_the_service_is_probed_served_behind_tls_and_given_its_secrets(tmp_path: Path) -> None:
    docs = recipe("service")
    (deployment,) = defined(docs, "Deployment").values()
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = container["args"]
    assert args[:2] == ["serve", "-c"]
    folder, file = args[2].rsplit("/", 1)
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == folder]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    config = yaml.safe_load(defined(docs, "ConfigMap")[volume["configMap"]["name"]]["data"][file])
    loads(config, tmp_path)
    # Several replicas only with the lock in PostgreSQL; no volume to share.
    assert deployment["spec"]["replicas"] == 1 or "url" in config["state"]
    assert {k for v in pod["volumes"] for k in v if k != "name"} == {"configMap", "emptyDir"}
    # Probes on the port the service listens on: alive at /healthz, ready at /readyz.
    port = int(config["serve"]["listen"].rsplit(":", 1)[1])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == port
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert config["serve"]["listen"].startswith("0.0.0.0:")  # reachable from the Service
    # SIGTERM lets the write batch in flight finish: more than Kubernetes' default 30 s.
    assert pod["terminationGracePeriodSeconds"] >= 60
    # Every secret the config names, the webhooks' included, comes from a Secret.
    given = {e["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert set(env_refs(config)) == given
    assert set(config["serve"]["webhooks"]) == set(config["instances"])
    # TLS ends at the Ingress, for the host the platforms are told (serve.public_url).
    public = urlsplit(config["serve"]["public_url"])
    assert public.scheme == "https"
    (ingress,) = defined(docs, "Ingress").values()
    (tls,) = ingress["spec"]["tls"]
    (rule,) = ingress["spec"]["rules"]
    assert public.hostname in tls["hosts"] and rule["host"] == public.hostname
    assert [p["path"] for p in rule["http"]["paths"]] == ["/webhooks/"]  # not /metrics
    (service,) = [
        s
        for s in defined(docs, "Service").values()
        if s["metadata"]["name"] == rule["http"]["paths"][0]["backend"]["service"]["name"]
    ]
    assert (
        service["spec"]["selector"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    assert service["spec"]["ports"][0]["targetPort"] == "http"
