"""Reading the configuration file: the policy plus the connected instances."""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adapters.registry import settings_model
from adapters.secrets import SecretRef
from adapters.settings import InstanceSettings
from connector.serve.settings import ServeSettings
from rules.basics import Model
from rules.errors import ConfigError
from rules.loader import Problems, check, load_yaml
from rules.platforms import PlatformName
from rules.policy import Policy, compile_policy
from rules.schema import Duration


class _Platform(Model):
    """First pass: which adapter's settings model checks the rest of the instance."""

    model_config = ConfigDict(extra="allow", frozen=True)

    platform: PlatformName


class RunSettings(Model):
    """The `run:` section: how the connector runs (docs/operations.md). Relative paths are
    relative to the configuration file."""

    max_changes: int = Field(
        default=200,
        ge=0,
        description="Storm guard: an instance with more changes due writes nothing (0: off).",
    )
    concurrency: int = Field(
        default=4, ge=1, le=32, description="Writes in flight at once, per instance."
    )
    jobs: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Instances worked on at once by `run`, `plan` and `serve` (1: one after the"
        " other); `--jobs` overrides it for `run` and `plan`.",
    )
    state_dir: str | None = Field(
        default=None,
        description="Locks, the audit log and run status (default: $ESCALATE_STATE_DIR, else"
        " $XDG_STATE_HOME/escalation-connector, else ~/.local/state/escalation-connector).",
    )
    audit_log: str | None = Field(
        default=None, description="The JSONL audit log (default: <state_dir>/audit.jsonl)."
    )
    metrics_file: str | None = Field(
        default=None,
        description="Prometheus textfile (node_exporter); `{instance}` in the name writes one"
        " file per instance. Off by default.",
    )
    incremental: bool = Field(
        default=False,
        description="Read only the tickets updated since the last run or come due (the due"
        " index in the state store), with a full sweep every `full_sweep` (`run --full`: now).",
    )
    full_sweep: Duration = Field(
        default=3600.0,
        gt=0,
        description="With `incremental`: the longest time between two full sweeps (1h).",
    )
    index_lag: Duration = Field(
        default=300.0,
        ge=0,
        description='With `incremental`: how far back before the last run "updated since"'
        " reads, for the platform's search index lag and clock skew (5m).",
    )


class StateSettings(Model):
    """The `state:` section: where the lock, the owed-comment journal and the history cache
    live. Without `url`: files in `run.state_dir` (one host). With a PostgreSQL `url`: that
    database, for any number of hosts (docs/operations.md, "State")."""

    url: str | None = Field(
        default=None,
        pattern=r"^postgres(ql)?://",
        description="postgresql://USER@HOST:PORT/DATABASE, without the password.",
    )
    password: SecretRef | None = Field(
        default=None, description="The database password: {env: VARIABLE} or {file: PATH}."
    )
    pool_size: int = Field(default=4, ge=1, le=32, description="Connections per process.")

    @model_validator(mode="after")
    def _no_password_in_url(self) -> StateSettings:
        if not self.url:
            return self
        parts = urlsplit(self.url)
        if parts.password or "password" in parse_qs(parts.query):
            raise ValueError(
                "state.url holds a password: remove it and give state.password as"
                " {env: VARIABLE} or {file: PATH}"
            )
        for host in parts.netloc.rsplit("@", 1)[-1].split(","):  # libpq: h1:5432,h2:5433
            port = host.rsplit("]", 1)[-1].rpartition(":")[2] if ":" in host else ""
            if port and not (port.isdigit() and 1 <= int(port) <= 65535):
                raise ValueError(f"state.url: the port of {host!r} is not a number from 1 to 65535")
        return self


@dataclass(frozen=True)
class Config:
    path: str
    policy: Policy
    instances: dict[str, InstanceSettings]
    run: RunSettings = field(default_factory=RunSettings)
    state: StateSettings = field(default_factory=StateSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)

    def _path(self, value: str) -> Path:
        path = Path(os.path.expanduser(value))
        return path if path.is_absolute() else Path(self.path).resolve().parent / path

    @property
    def state_dir(self) -> Path:
        if self.run.state_dir:
            return self._path(self.run.state_dir)
        if os.environ.get("ESCALATE_STATE_DIR"):
            return Path(os.environ["ESCALATE_STATE_DIR"])
        base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
        return Path(base) / "escalation-connector"

    @property
    def audit_log(self) -> Path:
        return (
            self._path(self.run.audit_log) if self.run.audit_log else self.state_dir / "audit.jsonl"
        )

    @property
    def metrics_file(self) -> Path | None:
        return self._path(self.run.metrics_file) if self.run.metrics_file else None


#: Byte order marks of the encodings YAML allows besides UTF-8: named, then refused.
_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def read_text(path: str | Path) -> str:
    """A UTF-8 file's text (a leading byte order mark dropped), or a ConfigError that says
    why it cannot be read, with the line and column of a byte that is not UTF-8."""
    if not str(path):
        raise ConfigError("no file given: the file name is empty")
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a YAML file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    for bom, name in _OTHER_BOMS:
        if data.startswith(bom):
            raise ConfigError(f"{path}: the file is {name}-encoded; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[start : exc.start].decode("utf-8", errors="replace")) + 1
        raise ConfigError(
            f"{path}:{line}:{column}: not valid UTF-8 (byte 0x{data[exc.start]:02X});"
            " save the file as UTF-8"
        ) from None


def load_config(path: str | Path) -> Config:
    """Load and check the whole file offline; raises ConfigError listing every problem."""
    doc = load_yaml(read_text(path), str(path))
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}: expected a mapping of top-level keys (levels, rules, ...)")
    policy = compile_policy(doc)
    problems = Problems(doc)
    instances: dict[str, InstanceSettings] = {}
    names = list(doc.data.get("instances") or {})
    for name in names:
        at = ("instances", name)
        head = check(_Platform, doc, at, problems)
        if head is not None:
            settings = check(settings_model(head.platform), doc, at, problems)
            if settings is not None:
                instances[name] = _anchored(settings, Path(path).resolve().parent)
    _check_owner_instances(policy, set(names), problems)
    run = check(RunSettings, doc, ("run",), problems) if "run" in doc.data else RunSettings()
    state = check(StateSettings, doc, ("state",), problems) if "state" in doc.data else None
    serve = check(ServeSettings, doc, ("serve",), problems) if "serve" in doc.data else None
    if serve is not None:
        _check_webhooks(serve, instances, names, problems)
    problems.raise_if_any()
    assert run is not None
    base = Path(path).resolve().parent
    state = _anchored(state, base) if state else StateSettings()
    serve = _anchored_serve(serve, base) if serve else ServeSettings()
    return Config(str(path), policy, instances, run, state, serve)


def _check_webhooks(
    serve: ServeSettings,
    instances: dict[str, InstanceSettings],
    names: list[str],
    problems: Problems,
) -> None:
    """Each `serve.webhooks` entry names an instance; a JWT mode only a Jira one."""
    for name, hook in serve.webhooks.items():
        if name not in instances and name not in names:
            known = ", ".join(names) or "none configured"
            message = f"unknown instance {name!r} (expected one of: {known})"
            problems.add(("serve", "webhooks", name), message)
        elif hook.verify != "signature" and instances[name].platform != "jira":
            message = f"verify: {hook.verify} is for Jira Cloud instances only"
            problems.add(("serve", "webhooks", name, "verify"), message)


def _anchored_serve(serve: ServeSettings, base: Path) -> ServeSettings:
    """The webhook secrets' relative `{file: PATH}` made relative to the config's folder."""
    hooks = {name: _anchored(hook, base) for name, hook in serve.webhooks.items()}
    return serve.model_copy(update={"webhooks": hooks})


def _anchored(model: BaseModel, base: Path) -> Any:
    """`model` with every relative `{file: PATH}` secret made relative to the config's folder."""
    if isinstance(model, SecretRef):
        if model.file is not None and not Path(model.file).expanduser().is_absolute():
            return model.model_copy(update={"file": str(base / model.file)})
        return model
    updates = {
        name: _anchored(value, base)
        for name in type(model).model_fields
        if isinstance(value := getattr(model, name), BaseModel)
    }
    return model.model_copy(update=updates) if updates else model


def check_secrets(config: Config, names: list[str]) -> None:
    """Read every secret the instances need, before anything is sent anywhere: a missing one
    is a ConfigError (exit 2) with nothing done, not a failure half-way through a run."""
    for name in names:
        for ref in _refs(config.instances[name]):
            ref.resolve(f"instances.{name}: secret from {ref.describe()}")


def _refs(model: BaseModel) -> list[SecretRef]:
    if isinstance(model, SecretRef):
        return [model]
    out: list[SecretRef] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out += _refs(value)
    return out


def _check_owner_instances(policy: Policy, names: set[str], problems: Problems) -> None:
    """Per-instance owner overrides must name a configured instance."""
    known = ", ".join(sorted(names)) or "none configured"
    for level in policy.levels:
        owner = level.model.owner
        for name in owner.instances if owner else ():
            if name not in names:
                problems.add(
                    ("levels", level.index, "owner", "instances", name),
                    f"unknown instance {name!r} (expected one of: {known})",
                )
    for rule in policy.rules:
        assign = rule.actions.assign
        for name in assign.instances if assign else ():
            if name not in names:
                problems.add(
                    ("rules", rule.index, "then", "assign", "instances", name),
                    f"unknown instance {name!r} (expected one of: {known})",
                )
    for (function, level_name), owner in policy.matrix.items():
        for name in owner.instances:
            if name not in names:
                problems.add(
                    ("matrix", function, level_name, "instances", name),
                    f"unknown instance {name!r} (expected one of: {known})",
                )
