"""What a run is made of: its configurations and its results.

:class:`RunConfig` (one configuration of the matrix), :class:`CaseResult` (one case under one
configuration) and :class:`RunResult` (the whole run). The runner makes them; the reports, the
history and the pages read them. They live here, not in the runner, so that reading a run never
needs the module that runs one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.config import ROLES, RoleConfig, Settings
from agent.privacy import scrub_deep
from evals.cases import PROJECT_ROOT

# ---------------------------------------------------------------- configurations


@dataclass(frozen=True)
class RunConfig:
    """One configuration of the matrix: a model (and temperature) per role, optionally a prompt pack."""

    label: str
    roles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    pack: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)

    def apply(self, base: Settings) -> Settings:
        settings = base
        for role, changes in self.roles.items():
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r} in config {self.label!r}; roles: {', '.join(ROLES)}")
            allowed = {k: v for k, v in changes.items() if k in RoleConfig.__dataclass_fields__}
            settings = settings.with_role(role, **allowed)
        if self.pack:
            pack = Path(self.pack)
            if not pack.is_absolute():
                pack = (PROJECT_ROOT / pack) if (PROJECT_ROOT / pack).exists() else base.pack_dir.parent / pack
            settings = settings.with_changes(pack_dir=pack)
        return with_overrides(settings, self.settings)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "roles": {r: dict(c) for r, c in self.roles.items()}, "pack": self.pack,
                "settings": dict(self.settings)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        roles = {}
        for role, value in (data.get("roles") or {}).items():
            roles[role] = {"model": value} if isinstance(value, str) else dict(value)
        label = data.get("label") or describe_roles(roles) or "default"
        return cls(label=str(label), roles=roles, pack=data.get("pack"), settings=dict(data.get("settings") or {}))

    @classmethod
    def parse(cls, spec: str) -> RunConfig:
        """``"label:decision=gpt-4o-mini,conversation=gpt-4o@0.3"`` (label and @temperature optional)."""
        label, _, body = spec.rpartition(":") if ":" in spec.split("=", 1)[0] else ("", "", spec)
        roles: dict[str, dict[str, Any]] = {}
        pack = None
        for part in filter(None, (p.strip() for p in body.split(","))):
            if "=" not in part:
                raise ValueError(f"config part {part!r} is not role=model")
            role, model = (x.strip() for x in part.split("=", 1))
            if role == "pack":
                pack = model
                continue
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
            entry: dict[str, Any] = {"model": model}
            if "@" in model:
                name, temp = model.rsplit("@", 1)
                entry = {"model": name, "temperature": float(temp)}
            roles[role] = entry
        return cls(label=label or describe_roles(roles) or "default", roles=roles, pack=pack)


def describe_roles(roles: Mapping[str, Mapping[str, Any]]) -> str:
    return " · ".join(f"{r}={c.get('model')}" + (f"@{c['temperature']}" if "temperature" in c else "")
                      for r, c in roles.items())


def budget_pair(config: RunConfig) -> list[RunConfig]:
    """``config`` twice, with the pack's prompt budget on and off, to compare pass rate, cost and tokens."""
    return [RunConfig(label=f"{config.label} · budget {state}", roles=config.roles, pack=config.pack,
                      settings={**config.settings, "prompt_budget": on})
            for state, on in (("on", True), ("off", False))]


def with_overrides(settings: Settings, overrides: Mapping[str, Any]) -> Settings:
    """``settings`` with some values changed: Settings fields by name, anything else is a pack setting."""
    fields = {k: v for k, v in overrides.items() if k in Settings.__dataclass_fields__}
    pack = {k: v for k, v in overrides.items() if k not in fields}
    settings = settings.with_changes(**fields) if fields else settings
    return settings.with_pack_settings(**pack) if pack else settings


# ---------------------------------------------------------------- results


@dataclass
class CaseResult:
    """One case under one configuration."""

    case_id: str
    config: str
    passed: bool
    score: float
    turns: list[dict[str, Any]] = field(default_factory=list)  # {"observation": …, "scores": […], "label", "line"}
    conversation_scores: list[dict[str, Any]] = field(default_factory=list)
    cost_usd: float = 0.0
    eval_cost_usd: float = 0.0
    tokens: int = 0
    latency_ms: float = 0.0
    turn_latencies_ms: list[float] = field(default_factory=list)
    chat_id: int | None = None
    error: str | None = None
    attempts: int = 1
    rate_limited: bool = False
    tags: list[str] = field(default_factory=list)
    description: str = ""
    path: str = ""
    final_step: str = ""
    models: list[str] = field(default_factory=list)
    # The prompt diet: was the pack's prompt budget applied (None: a run stored before it was recorded),
    # how many model calls the agent made and their input (prompt) tokens.
    prompt_budget: bool | None = None
    model_calls: int = 0
    prompt_tokens: int = 0

    @property
    def failures(self) -> list[dict[str, Any]]:
        """Every failing expectation, with its turn index (None = conversation level)."""
        out = [dict(s, turn=t["index"]) for t in self.turns for s in t["scores"] if not s["passed"]]
        out.extend(dict(s, turn=None) for s in self.conversation_scores if not s["passed"])
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, every text scrubbed (agent.privacy): the form the JSON report, the HTML and JUnit
        reports (:meth:`RunResult.scrubbed`) and the ``eval_result`` rows are written from."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return scrub_deep(json.loads(json.dumps(data, default=str)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaseResult:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass
class RunResult:
    """A whole run: every case × config, plus what is needed to reproduce and compare it."""

    results: list[CaseResult]
    configs: list[RunConfig]
    run_id: int | None = None
    name: str = ""
    suite: str = ""
    git_commit: str | None = None
    prompt_versions: dict[str, dict[str, str]] = field(default_factory=dict)
    started_at: float = 0.0
    finished_at: float = 0.0
    concurrency: int = 1
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def wall_s(self) -> float:
        return max(0.0, self.finished_at - self.started_at)

    def scrubbed(self) -> RunResult:
        """This run with every text scrubbed, as every report writes it."""
        return RunResult.from_dict(self.to_dict())

    def by_config(self) -> dict[str, list[CaseResult]]:
        out: dict[str, list[CaseResult]] = {c.label: [] for c in self.configs}
        for r in self.results:
            out.setdefault(r.config, []).append(r)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "name": self.name, "suite": self.suite, "git_commit": self.git_commit,
                "prompt_versions": self.prompt_versions, "started_at": self.started_at,
                "finished_at": self.finished_at, "concurrency": self.concurrency, "stats": self.stats,
                "configs": [c.to_dict() for c in self.configs], "results": [r.to_dict() for r in self.results]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        return cls(results=[CaseResult.from_dict(r) for r in data.get("results") or []],
                   configs=[RunConfig.from_dict(c) for c in data.get("configs") or []],
                   run_id=data.get("run_id"), name=data.get("name") or "", suite=data.get("suite") or "",
                   git_commit=data.get("git_commit"), prompt_versions=dict(data.get("prompt_versions") or {}),
                   started_at=float(data.get("started_at") or 0), finished_at=float(data.get("finished_at") or 0),
                   concurrency=int(data.get("concurrency") or 1), stats=dict(data.get("stats") or {}))
