"""FGTS consultation API simulator, and the contrato pack's contract endpoints (stdlib only). See sandbox/README.md."""

from sandbox.contrato import CONTRACT_FIXTURES, Contract, ccb_body, contract_for, contrato_body, quitacao_body
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
    "CONTRACT_FIXTURES",
    "Contract",
    "DESCRIPTIONS",
    "FAULTS",
    "FIXTURES",
    "Profile",
    "RequestRecord",
    "SandboxConfig",
    "SandboxServer",
    "ccb_body",
    "consulta_body",
    "contract_for",
    "contrato_body",
    "profile_for",
    "quitacao_body",
    "shared_sandbox_url",
    "start_sandbox",
]
