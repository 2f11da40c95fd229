"""FGTS consultation API simulator (stdlib only). See sandbox/README.md."""

from sandbox.fixtures import DESCRIPTIONS, FAULTS, FIXTURES, Profile, profile_for
from sandbox.server import (
    RequestRecord,
    SandboxConfig,
    SandboxServer,
    consulta_body,
    shared_sandbox_url,
    start_sandbox,
)

__all__ = [
    "DESCRIPTIONS",
    "FAULTS",
    "FIXTURES",
    "Profile",
    "RequestRecord",
    "SandboxConfig",
    "SandboxServer",
    "consulta_body",
    "profile_for",
    "shared_sandbox_url",
    "start_sandbox",
]
