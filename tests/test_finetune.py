"""The fine-tuning dataset (DESAFIO 4): approved conversations as OpenAI chat JSONL — the deck's rules (100
audited, the mix), the format, pseudonyms that fail no validator and hold within a conversation, the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from agent import audit, finetune
from agent.adapters.store import Store
from agent.br import cpf as cpf_rules
from agent.config import Settings, load_settings
from agent.core.session import AgentSession

ROOT = Path(__file__).resolve().parent.parent
CPF_RUN = re.compile(r"(?<!\d)\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?!\d)")
MASKED_CPF = re.compile(r"•••\.(\d{3})\.(\d{3})-••")

SCRIPTS = {
    "happy": ["oi", "sim", "Maria Souza", "200.000.002-99", "meu email é maria.souza@gmail.com", "julho", "sim",
              "sim, quero seguir"],
    "happy_again": ["oi", "sim", "Maria Souza", "200.000.002-99", "julho", "sim", "sim, quero seguir"],
    "ineligible": ["oi", "sim", "Joaquim Barreto", "701.000.001-85", "março", "sim"],
    "optout": ["oi", "não quero passar meus dados"],
    "declined": ["oi", "sim", "Josefa Quintino", "111.444.777-35", "setembro", "sim", "não, obrigado"],
}
RAW = ("Maria", "Souza", "Joaquim", "Barreto", "Josefa", "Quintino", "200.000.002-99", "20000000299", "000.002",
       "701.000.001", "70100000185", "111.444.777", "11144477735", "444.777", "maria.souza@gmail.com")


def settings_for(base_env: dict[str, str], url: str) -> Settings:
    return load_settings(env={**base_env, "DATABASE_URL": url, "BURST_MODE": "false"}, dotenv_path=None)


def seed(settings: Settings, *, approve: bool = True) -> dict[str, int]:
    store = Store.open(settings.database_url)
    ids = {}
    for name, texts in SCRIPTS.items():
        session = AgentSession.new(settings, store=store)
        for text in texts:
            session.send(text)
        ids[name] = session.chat_id
        if approve:
            audit.review(settings, session.chat_id, "approved", reviewer="Júlia")
    return ids


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def cpfs_in(example: dict, roles: tuple[str, ...]) -> set[str]:
    found = set()
    for message in example["messages"]:
        if message["role"] in roles:
            found |= {cpf_rules.digits(m) for m in CPF_RUN.findall(message.get("content") or "")}
    return found


def test_export_is_blocked_under_100_then_valid_pseudonymised_and_corrected(base_env: dict[str, str],
                                                                           database_url: str, tmp_path: Path) -> None:
    settings = settings_for(base_env, database_url)
    ids = seed(settings)
    messages = audit.transcript(settings, ids["happy"])
    agent_at = [m["index"] for m in messages if m["role"] == "agent"]
    corrected = "Prazer, Maria Souza! Agora me diga o seu CPF, por favor."
    original = messages[agent_at[2]]["text"]
    audit.review(settings, ids["happy"], "approved", corrections={agent_at[2]: corrected}, reviewer="Júlia")
    out = tmp_path / "ft.jsonl"

    with pytest.raises(finetune.FinetuneTooSmall, match="at least 100"):
        finetune.export_finetune(settings, out)
    assert not out.exists()

    report = finetune.export_finetune(settings, out, allow_small=True)
    assert finetune.validate_finetune_file(out) == [] and report.problems == ()
    assert report.examples == report.approved == 5 and report.skipped == ()
    assert report.mix == {"completed": 3, "aborted": 0, "refusal": 2, "handoff": 0}
    assert any("aborted" in w for w in report.warnings)
    assert any("under the deck's minimum" in w for w in report.warnings)
    assert report.tokens > 500
    assert report.estimated_cost_usd == Decimal(report.tokens) * 3 * Decimal("3.00") / 1_000_000
    assert report.price.as_of and report.price.source.startswith("https://")
    text = out.read_text(encoding="utf-8")
    for raw in RAW:
        assert raw not in text, raw

    examples = lines(out)
    with_tools = [e for e in examples if any(m.get("tool_calls") for m in e["messages"])]
    assert len(with_tools) == 4 and all(e["tools"][0]["function"]["name"] == "consultar_fgts" for e in with_tools)
    synthetic: list[str] = []
    for example in with_tools:
        said = cpfs_in(example, ("user",))
        assert len(said) == 1, said  # the same real CPF → one synthetic CPF within a conversation
        number = said.pop()
        assert cpf_rules.is_valid(number)  # fails no validator
        call = next(m for m in example["messages"] if m.get("tool_calls"))["tool_calls"][0]
        assert json.loads(call["function"]["arguments"]) == {"cpf": number}  # the tool's argument too
        tool = next(m for m in example["messages"] if m["role"] == "tool")
        assert tool["tool_call_id"] == call["id"] and json.loads(tool["content"])["outcome"]
        shown = {m for msg in example["messages"] if msg["role"] == "assistant"
                 for m in MASKED_CPF.findall(msg.get("content") or "")}
        assert shown == {(number[3:6], number[6:9])}  # the agent's masked CPF is the synthetic one's mask
        chat = example["messages"]
        at = next(i for i, m in enumerate(chat) if m["role"] == "user" and m["content"] not in ("oi", "sim"))
        name = chat[at]["content"]  # the synthetic name where the customer typed theirs…
        assert name.split()[0] in chat[at + 1]["content"]  # …and the agent's reply greets the same one
        synthetic.append(number)
    assert len(set(synthetic)) == 4  # Maria's two conversations got two different synthetic CPFs

    mine = next(e for e in examples if "Agora me diga o seu CPF, por favor." in json.dumps(e, ensure_ascii=False))
    assert original not in json.dumps(mine, ensure_ascii=False)
    assert "cliente." in json.dumps(mine, ensure_ascii=False) or "@gmail.com" not in text  # the e-mail's pseudonym


def test_synthetic_names_keep_the_shape_and_change_with_the_key() -> None:
    from agent.br.synthetic import FEMALE_NAMES, MALE_NAMES, SURNAMES, synthetic_name

    first, second = b"k1" * 16, b"k2" * 16
    maria = synthetic_name("Maria das Dores Souza", first)
    assert maria[0] in FEMALE_NAMES and maria[1] == "das" and {maria[2], maria[3]} <= set(SURNAMES)
    assert synthetic_name("Maria das Dores Souza", first) == maria  # stable under one key
    assert synthetic_name("João Batista", first)[0] in MALE_NAMES
    names = ["Maria Souza", "João Batista", "Ana Paula", "Pedro Alves", "Carla Dias"]
    assert [synthetic_name(n, first) for n in names] != [synthetic_name(n, second) for n in names]


def test_validator_names_each_broken_rule(tmp_path: Path) -> None:
    good = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "oi"},
                         {"role": "assistant", "content": None, "tool_calls": [
                             {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                         {"role": "tool", "tool_call_id": "c1", "content": "{}"},
                         {"role": "assistant", "content": "olá"}]}
    bad = [
        "not json",
        json.dumps({"prompt": "x"}),
        json.dumps({"messages": [{"role": "system", "content": "s"}, {"role": "robot", "content": "x"}]}),
        json.dumps({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                                 {"role": "assistant", "content": "c"}]}),
        json.dumps({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "a"},
                                 {"role": "tool", "tool_call_id": "x", "content": "{}"},
                                 {"role": "assistant", "content": "c"}, {"role": "user", "content": "d"}]}),
    ]
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join([json.dumps(good), *bad]) + "\n", encoding="utf-8")
    problems = finetune.validate_finetune_file(path)
    assert not any(p.startswith("line 1:") for p in problems)
    assert any(p.startswith("line 2: not JSON") for p in problems)
    assert "line 3: no 'messages'" in problems
    assert any(p.startswith("line 4: unknown role") for p in problems)
    assert any(p.startswith("line 5:") and "system prompt" in p for p in problems)
    assert any(p.startswith("line 5:") and "must follow" in p for p in problems)
    assert any(p.startswith("line 6:") and "no pending tool call" in p for p in problems)
    assert any(p.startswith("line 6:") and "last message" in p for p in problems)


def test_cli_funnel_and_export_exit_codes(base_env: dict[str, str], data_dir: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{data_dir / 'cli.db'}"
    settings = settings_for(base_env, url)
    seed(settings)
    env = {**base_env, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "agent", "audit", *args], capture_output=True, text=True,
                              cwd=ROOT, env=env, timeout=180)

    out = tmp_path / "ft.jsonl"
    blocked = run("export-finetune", "--out", str(out))
    assert blocked.returncode == 2 and "blocked" in blocked.stderr and "--allow-small" in blocked.stderr
    assert not out.exists()
    done = run("export-finetune", "--out", str(out), "--allow-small")
    assert done.returncode == 0, done.stderr
    assert "wrote 5 example(s)" in done.stdout and "refusal: 2" in done.stdout and "training cost" in done.stdout
    assert "tokens:" in done.stdout and "[aviso]" in done.stdout and finetune.validate_finetune_file(out) == []
    funnel = run("funnel", "--by", "day")
    assert funnel.returncode == 0, funnel.stderr
    assert "collect_data" in funnel.stdout and "opt-in: 80.0% (4/5)" in funnel.stdout
    assert funnel.stdout.count("== fgts") == 2  # all, and today
    usage = subprocess.run([sys.executable, "-m", "agent"], capture_output=True, text=True, cwd=ROOT, env=env,
                           timeout=60)
    assert "python -m agent audit funnel" in usage.stdout
