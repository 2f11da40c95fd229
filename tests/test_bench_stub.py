"""bench/stub_llm.py: the benchmark's OpenAI-compatible stub, in its own process (behaviour only, no timing)."""

from __future__ import annotations

import json

import httpx
import pytest

from bench.stub_llm import StubProcess


@pytest.fixture(scope="module")
def stub():
    with StubProcess(latency_s=0.0) as running:
        yield running


def test_stub_answers_a_chat_completion_and_counts_it(stub: StubProcess) -> None:
    before = stub.stats()["total"]
    with httpx.Client(base_url=stub.url, timeout=10) as client:  # one keep-alive connection, two requests
        text = client.post("/chat/completions", json={
            "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "quero antecipar"}]}).json()
        decision = client.post("/chat/completions", json={
            "model": "gpt-4o-mini", "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": "decida"}, {"role": "user", "content": "oi"}]}).json()

    assert text["object"] == "chat.completion"
    assert text["choices"][0]["message"] == {"role": "assistant", "content": "eco: quero antecipar"}
    assert text["choices"][0]["finish_reason"] == "stop"
    assert text["usage"]["total_tokens"] == text["usage"]["prompt_tokens"] + text["usage"]["completion_tokens"] > 0
    assert json.loads(decision["choices"][0]["message"]["content"]) == {"intent": "greeting", "confidence": 0.9}

    stats = stub.stats()
    assert stats["total"] == before + 2
    assert stats["calls"]["gpt-4o-mini"] >= 2
    assert stats["bytes_in"] > 0 and stats["cpu_s"] >= 0


def test_stub_serves_the_openai_sdk(stub: StubProcess) -> None:
    openai = pytest.importorskip("openai")
    before = stub.stats()["calls"].get("json", 0)

    reply = openai.OpenAI(base_url=stub.url, api_key="sk-test", max_retries=0).chat.completions.create(
        model="json", messages=[{"role": "user", "content": "oi"}])

    assert json.loads(reply.choices[0].message.content or "") == {"intent": "greeting", "confidence": 0.9}
    assert stub.stats()["calls"]["json"] == before + 1


def test_stub_rejects_unknown_routes_and_bad_bodies(stub: StubProcess) -> None:
    with httpx.Client(base_url=stub.root, timeout=10) as client:
        assert client.get("/nothing").status_code == 404
        assert client.post("/v1/chat/completions", content=b"not json").status_code == 400
        assert client.get("/v1/models").json()["data"][0]["id"] == "ok"


def test_stopping_the_stub_ends_its_process() -> None:
    running = StubProcess(latency_s=0.0)
    running.stop()
    assert running.process.poll() is not None
