"""The WhatsApp Cloud API webhook: handshake, signatures, payload shapes, idempotent deliveries, bursts across
calls, media, and replies through a fake Graph API (sandbox/graph_stub.py) — SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import String, Text, func, select
from starlette.testclient import TestClient

from agent.adapters.channels import Channels
from agent.adapters.media import EmptyMediaError
from agent.adapters.schema import channel_message, chat_inbox, metadata
from agent.adapters.store import Store
from agent.config import Settings
from agent.core.session import AgentSession
from agent.server import ServerConfig, create_app
from agent.server.queue import Handler, InProcessQueue
from agent.server.whatsapp import FlushJob, parse_payload, sign
from sandbox.graph_stub import GraphStub

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"
MEDIA = Path(__file__).parent / "fixtures" / "media"
SECRET = "app-secret-for-tests"
VERIFY = "verify-me"
TOKEN = "graph-token"
WA_ID = "5511900000001"


def fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8")))


def text_payload(text: str, wamid: str, wa_id: str = WA_ID) -> dict[str, Any]:
    payload = copy.deepcopy(fixture("text"))
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update({"id": wamid, "from": wa_id, "text": {"body": text}})
    return payload


class ManualQueue:
    """A flush queue the test drives: jobs wait until ``run()``, in the order they were scheduled."""

    def __init__(self) -> None:
        self.jobs: list[tuple[FlushJob, float]] = []
        self.handler: Handler | None = None

    def bind(self, handler: Handler) -> None:
        self.handler = handler

    def schedule(self, job: FlushJob, delay_s: float) -> None:
        self.jobs.append((job, delay_s))

    def run(self) -> list[Any]:
        assert self.handler is not None
        jobs, self.jobs = self.jobs, []
        return [self.handler(job) for job, _ in jobs]

    async def aclose(self) -> None:
        return None


@pytest.fixture
def graph() -> Iterator[GraphStub]:
    with GraphStub(token=TOKEN) as stub:
        yield stub


def config(graph: GraphStub, **changes: Any) -> ServerConfig:
    values: dict[str, Any] = {"whatsapp_app_secret": SECRET, "whatsapp_verify_token": VERIFY,
                              "whatsapp_access_token": TOKEN, "whatsapp_phone_number_id": "106540352242922",
                              "whatsapp_graph_url": graph.url, "send_backoff_s": 0.0, **changes}
    return ServerConfig(**values)


class Harness:
    """The app in process with a manual flush queue, the fake Graph API and the database."""

    def __init__(self, settings: Settings, graph: GraphStub, **changes: Any) -> None:
        self.settings = settings
        self.graph = graph
        self.queue = ManualQueue()
        self.app = create_app(settings, config=config(graph, **changes), warm=False, queue=self.queue)
        self.client = TestClient(self.app)
        self.store = Store.open(settings.database_url)

    def post(self, payload: dict[str, Any] | bytes, signature: str | None = "good") -> Any:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "good":
            headers["X-Hub-Signature-256"] = sign(SECRET, body)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return self.client.post("/webhook/whatsapp", content=body, headers=headers)

    def chat_ids(self) -> list[int]:
        return [int(c["id_chat"]) for c in self.store.list_chats(100, None)]

    def session(self) -> AgentSession:
        (chat_id,) = self.chat_ids()
        return AgentSession.load(self.settings, chat_id)

    def count(self, table: Any) -> int:
        with self.store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def harness(settings: Settings, graph: GraphStub) -> Iterator[Harness]:
    h = Harness(settings.with_changes(burst_window_s=2.0), graph)
    with h.client:
        yield h


@pytest.fixture
def db_harness(settings: Settings, graph: GraphStub, database_url: str) -> Iterator[Harness]:
    h = Harness(settings.with_changes(database_url=database_url, burst_window_s=2.0), graph)
    with h.client:
        yield h


# ---------------------------------------------------------------- handshake and signatures


def test_verification_handshake(harness: Harness) -> None:
    ok = harness.client.get("/webhook/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY,
                                                         "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = harness.client.get("/webhook/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "nope",
                                                            "hub.challenge": "1158201444"})
    assert wrong.status_code == 403 and "1158201444" not in wrong.text
    mode = harness.client.get("/webhook/whatsapp", params={"hub.mode": "unsubscribe", "hub.verify_token": VERIFY,
                                                           "hub.challenge": "1"})
    assert mode.status_code == 403


def test_no_verify_token_configured_refuses_the_handshake(settings: Settings, graph: GraphStub) -> None:
    h = Harness(settings, graph, whatsapp_verify_token="")
    with h.client:
        response = h.client.get("/webhook/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "",
                                                             "hub.challenge": "1"})
    assert response.status_code == 403


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", sign("another-secret", b"{}")])
def test_a_missing_or_bad_signature_is_refused_and_nothing_stored(db_harness: Harness, signature: str | None) -> None:
    response = db_harness.post(fixture("text"), signature=signature)
    assert response.status_code == 401 and response.json()["error"]["code"] == "bad_signature"
    assert db_harness.queue.jobs == [] and db_harness.chat_ids() == []
    assert db_harness.count(channel_message) == 0 and db_harness.count(chat_inbox) == 0


def test_no_app_secret_refuses_every_post_and_says_why(settings: Settings, graph: GraphStub,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    h = Harness(settings, graph, whatsapp_app_secret="")
    with h.client, caplog.at_level(logging.ERROR, logger="agent.server"):
        response = h.post(fixture("text"))
    assert response.status_code == 401 and response.json()["error"]["code"] == "no_app_secret"
    assert any("WHATSAPP_APP_SECRET is not set" in r.getMessage() for r in caplog.records)
    assert h.chat_ids() == []


def test_malformed_json_and_oversized_bodies(settings: Settings, graph: GraphStub) -> None:
    h = Harness(settings, graph, max_body_bytes=2000)
    with h.client:
        assert h.post(b"{not json").status_code == 400
        big = text_payload("x" * 3000, "wamid.big")
        assert h.post(big).status_code == 413
    assert h.chat_ids() == []


# ---------------------------------------------------------------- payload shapes


@pytest.mark.parametrize(("name", "typed"), [
    ("text", "oi"),
    ("interactive_button_reply", "sim, aceito"),
    ("interactive_list_reply", "quero antecipar meu FGTS"),
    ("button", "sim"),
])
def test_each_text_like_payload_is_answered(harness: Harness, name: str, typed: str) -> None:
    response = harness.post(fixture(name))
    assert response.status_code == 200 and response.json()["accepted"] == 1
    harness.queue.run()
    session = harness.session()
    assert [m.text for m in session.messages if m.role == "customer"] == [typed]
    replies = [m.text for m in session.messages if m.role == "agent"]
    assert replies and harness.graph.texts() == replies
    assert {m["to"] for m in harness.graph.sent} == {WA_ID}
    assert all(m["messaging_product"] == "whatsapp" and m["type"] == "text" for m in harness.graph.sent)


def test_an_image_is_fetched_from_graph_and_read(harness: Harness) -> None:
    harness.graph.add_media("1479537139650973", (MEDIA / "cpf_document.jpg").read_bytes(), "image/jpeg")
    assert harness.post(fixture("image")).json()["accepted"] == 1
    harness.queue.run()
    session = harness.session()
    (customer,) = [m for m in session.messages if m.role == "customer"]
    assert customer.source == "image" and customer.meta["media"][0]["kind"] == "image"
    assert "error" not in customer.meta["media"][0]
    assert harness.graph.sent
    # The media was fetched the Graph way: metadata first, then the URL it gave, both with the token.
    assert [path for method, path in harness.graph.requests if method == "GET"] == [
        "/v23.0/1479537139650973", "/media/1479537139650973"]


def test_a_voice_note_is_fetched_and_transcribed(harness: Harness) -> None:
    harness.graph.add_media("1003383421387256", (MEDIA / "cpf.ogg").read_bytes(), "audio/ogg")
    assert harness.post(fixture("audio")).json()["accepted"] == 1
    harness.queue.run()
    (customer,) = [m for m in harness.session().messages if m.role == "customer"]
    assert customer.source == "audio" and customer.text  # the transcript (scrubbed)
    assert harness.graph.sent


def test_a_media_download_failure_gets_the_media_error_reply(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="agent.server"):
        assert harness.post(fixture("image")).json()["accepted"] == 1  # the stub has no such media: 404
    harness.queue.run()
    assert any(EmptyMediaError.default_customer_message in text for text in harness.graph.texts())
    assert any("could not be fetched" in r.getMessage() for r in caplog.records)


def test_status_callbacks_and_unknown_types_are_ignored_but_logged(harness: Harness,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="agent.server"):
        status = harness.post(fixture("status_delivered"))
        reaction = harness.post(fixture("reaction"))
        other = harness.post({"object": "page", "entry": []})
    assert status.status_code == reaction.status_code == other.status_code == 200
    assert status.json()["statuses"] == 1 and reaction.json()["ignored"] == 1
    assert harness.queue.jobs == [] and harness.chat_ids() == [] and harness.graph.sent == []
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "status callback 'delivered' ignored" in logged and "'reaction'" in logged
    assert WA_ID not in logged


def test_parse_payload_reads_several_entries_and_skips_broken_items() -> None:
    payload = fixture("text")
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"].append({"type": "text", "text": {"body": "sem id"}})
    value["statuses"] = fixture("status_delivered")["entry"][0]["changes"][0]["value"]["statuses"]
    payload["entry"].append(fixture("interactive_list_reply")["entry"][0])
    parsed = parse_payload(payload)
    assert [(m.kind, m.text) for m in parsed.messages] == [("text", "oi"), ("interactive", "quero antecipar meu FGTS")]
    assert parsed.statuses == ["delivered"] and parsed.ignored == ["a message without id or sender"]


# ---------------------------------------------------------------- idempotency


def _ledger(h: Harness, chat_id: int) -> int:
    return len(h.store.cost_rows(chat_id=chat_id, limit=10_000))


def test_a_retried_delivery_changes_nothing(db_harness: Harness) -> None:
    h = db_harness
    payload = fixture("text")
    assert h.post(payload).json()["accepted"] == 1
    h.queue.run()
    (chat_id,) = h.chat_ids()
    sent, ledger, traces = list(h.graph.sent), _ledger(h, chat_id), len(h.session().traces)
    again = h.post(payload)
    assert again.status_code == 200 and again.json()["accepted"] == 0
    h.queue.run()
    assert h.graph.sent == sent and _ledger(h, chat_id) == ledger and len(h.session().traces) == traces
    assert h.count(channel_message) == 1 and h.count(chat_inbox) == 1


def test_the_same_delivery_twice_at_once_is_taken_once(db_harness: Harness) -> None:
    h = db_harness
    body = json.dumps(text_payload("oi", "wamid.concurrent")).encode()
    results: list[int] = []
    start = threading.Barrier(4)

    def deliver() -> None:
        start.wait()
        results.append(h.post(body).json()["accepted"])

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [0, 0, 0, 1]
    h.queue.run()
    assert len(h.chat_ids()) == 1 and h.count(channel_message) == 1 and h.count(chat_inbox) == 1
    assert len(h.session().traces) == 1 and len(h.graph.sent) == len(
        [m for m in h.session().messages if m.role == "agent"])


def test_the_phone_number_is_never_stored_in_clear(db_harness: Harness) -> None:
    h = db_harness
    h.post(text_payload("oi", "wamid.p1"))
    h.queue.run()
    found = []
    with h.store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            text_columns = [c for c in table.columns if isinstance(c.type, String | Text) or "JSON" in str(c.type)]
            for row in conn.execute(select(*text_columns)) if text_columns else ():
                found += [table.name for value in row if value is not None and WA_ID in str(value)]
    assert found == []


# ---------------------------------------------------------------- bursts across calls


def test_three_calls_in_a_window_are_one_turn_and_a_later_one_another(db_harness: Harness) -> None:
    h = db_harness
    for i, text in enumerate(["oi", "tudo bem?", "queria uma informação"]):
        assert h.post(text_payload(text, f"wamid.burst{i}")).json()["accepted"] == 1
    # Each call scheduled its flush after the window; only the newest one answers.
    assert [(job.generation, delay) for job, delay in h.queue.jobs] == [(1, 2.0), (2, 2.0), (3, 2.0)]
    answers = h.queue.run()
    assert [a is not None for a in answers] == [False, False, True]
    session = h.session()
    assert len(session.traces) == 1
    assert [m.meta.get("burst_size") for m in session.messages if m.role == "customer"] == [3, 3, 3]
    first = len(h.graph.sent)
    assert first == len([m for m in session.messages if m.role == "agent"]) > 0
    h.post(text_payload("sim, aceito", "wamid.burst3"))
    h.queue.run()
    assert len(h.session().traces) == 2 and len(h.graph.sent) > first
    # A flush delivered again (a queue may) answers nothing and sends nothing.
    (chat_id,) = h.chat_ids()
    assert h.app.state.server.whatsapp.flush(FlushJob(chat_id, 4, WA_ID)) is None
    assert len(h.session().traces) == 2


def test_a_real_uvicorn_with_asyncio_timers(settings: Settings, graph: GraphStub) -> None:
    """The default in-process queue on a real server: three quick calls, one turn; a later message, a second."""
    import uvicorn

    from tests.test_server import free_port

    queue = InProcessQueue()
    app = create_app(settings.with_changes(burst_window_s=3.0), config=config(graph), warm=False, queue=queue)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def post(payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        response = http.post("/webhook/whatsapp", content=body, headers={"X-Hub-Signature-256": sign(SECRET, body)})
        assert response.status_code == 200

    def settled(turns: int) -> AgentSession:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            chats = Store.open(settings.database_url).list_chats(5, None)
            if chats and not queue.busy:
                session = AgentSession.load(settings, int(chats[0]["id_chat"]))
                if len(session.traces) >= turns:
                    return session
            time.sleep(0.05)
        raise AssertionError("no answer")

    try:
        while not server.started:
            time.sleep(0.02)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            for i, text in enumerate(["oi", "tudo bem?", "queria uma informação"]):
                post(text_payload(text, f"wamid.live{i}"))
            session = settled(1)
            assert len(session.traces) == 1 and len(graph.sent) == len(
                [m for m in session.messages if m.role == "agent"])
            post(text_payload("sim, aceito", "wamid.live3"))
            assert len(settled(2).traces) == 2
    finally:
        server.should_exit = True
        thread.join(10)


# ---------------------------------------------------------------- replies through Graph


def test_a_failed_send_is_retried_and_recorded(harness: Harness) -> None:
    h = harness
    h.graph.fail_sends = 2
    h.post(fixture("text"))
    h.queue.run()
    (chat_id,) = h.chat_ids()
    replies = Channels(h.store).replies(chat_id)
    assert replies[0]["status"] == "sent" and replies[0]["attempts"] == 3 and replies[0]["external_id"]
    assert len(h.graph.failed) == 2 and len(h.graph.sent) == len(replies)


def test_a_send_that_keeps_failing_is_recorded_and_never_sent_twice(harness: Harness) -> None:
    h = harness
    h.graph.fail_sends = 100
    h.post(fixture("text"))
    h.queue.run()
    (chat_id,) = h.chat_ids()
    replies = Channels(h.store).replies(chat_id)
    assert replies and all(r["status"] == "failed" and r["attempts"] == 4 and r["error"] for r in replies)
    assert h.graph.sent == []
    h.graph.fail_sends = 0
    # The same flush again (a redelivered queue message) neither answers again nor sends.
    assert h.app.state.server.whatsapp.flush(FlushJob(chat_id, 1, WA_ID)) is None
    assert h.graph.sent == [] and len(Channels(h.store).replies(chat_id)) == len(replies)


def test_a_whatsapp_chat_is_a_server_chat(harness: Harness) -> None:
    harness.post(fixture("text"))
    harness.queue.run()
    (chat,) = harness.store.list_chats(10, None)
    assert chat["source"] == "server"
    # The same customer again: the same chat.
    harness.post(text_payload("sim, aceito", "wamid.second"))
    harness.queue.run()
    assert len(harness.chat_ids()) == 1
    harness.post(text_payload("oi", "wamid.other", wa_id="5511900000002"))
    harness.queue.run()
    assert len(harness.chat_ids()) == 2


def test_with_an_encryption_key_the_queued_text_is_sealed(settings: Settings, graph: GraphStub,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.adapters.crypto import generate_key, is_sealed

    monkeypatch.setenv("CONVERSA_ENCRYPTION_KEY", generate_key())
    h = Harness(settings, graph)
    with h.client:
        h.post(text_payload("meu CPF é 073.602.846-35", "wamid.sealed"))
        with h.store.engine.connect() as conn:
            (stored,) = conn.execute(select(chat_inbox.c.text)).scalars()
        assert is_sealed(stored)
        h.queue.run()
    assert h.graph.sent and len(h.session().traces) == 1


def test_an_erased_conversation_loses_its_phone_link(harness: Harness) -> None:
    from agent import privacy_rights

    harness.post(fixture("text"))
    harness.queue.run()
    (first,) = harness.chat_ids()
    privacy_rights.forget_chat(harness.store, first)
    harness.post(text_payload("oi", "wamid.after-forget"))
    harness.queue.run()
    ids = harness.chat_ids()
    assert len(ids) == 2 and first in ids  # the customer writes again: a new conversation


# ---------------------------------------------------------------- status callbacks on the replies


def status_payload(wamid: str, status: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    payload = copy.deepcopy(fixture("status_delivered"))
    item = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    item.update({"id": wamid, "status": status})
    if errors is not None:
        item["errors"] = errors
    return payload


def test_status_callbacks_are_recorded_on_the_replies_they_name(harness: Harness) -> None:
    harness.post(fixture("text"))
    harness.queue.run()
    harness.post(text_payload("sim, aceito", "wamid.second"))
    harness.queue.run()
    (chat_id,) = harness.chat_ids()
    first, *middle, last = Channels(harness.store).replies(chat_id)
    wamid = str(first["external_id"])

    def row(reply: dict[str, Any]) -> dict[str, Any]:
        return next(r for r in Channels(harness.store).replies(chat_id)
                    if r["id_channel_reply"] == reply["id_channel_reply"])

    assert harness.post(status_payload(wamid, "delivered")).json()["linked"] == 1
    assert row(first)["status"] == "delivered"
    assert harness.post(status_payload(wamid, "read")).json()["linked"] == 1
    # Out of order (a late "delivered") or someone else's message: nothing moves back, nothing else changes.
    assert harness.post(status_payload(wamid, "delivered")).json()["linked"] == 0
    assert harness.post(status_payload("wamid.not-ours", "read")).json()["linked"] == 0
    assert row(first)["status"] == "read"
    assert all(row(r)["status"] == "sent" for r in [*middle, last])
    errors = [{"code": 131047, "title": "Re-engagement message", "message": "More than 24 hours"}]
    assert harness.post(status_payload(str(last["external_id"]), "failed", errors)).json()["linked"] == 1
    assert row(last)["status"] == "failed" and "131047" in str(row(last)["error"])
    assert harness.queue.jobs == [] and len(harness.chat_ids()) == 1  # a callback is never a customer message


def test_a_delivery_s_status_callbacks_are_recorded_together_in_order(db_harness: Harness,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Meta batches callbacks: one delivery with delivered, read, a late delivered and someone else's — recorded
    in one transaction, in order (the late one moves nothing back)."""
    harness = db_harness
    harness.post(fixture("text"))
    harness.queue.run()
    (chat_id,) = harness.chat_ids()
    first = Channels(harness.store).replies(chat_id)[0]
    wamid = str(first["external_id"])
    payload = status_payload(wamid, "delivered")
    value = payload["entry"][0]["changes"][0]["value"]
    template = value["statuses"][0]
    value["statuses"] = [{**template, "status": status, "id": message_id} for status, message_id in
                         [("delivered", wamid), ("read", wamid), ("delivered", wamid), ("read", "wamid.not-ours")]]
    transactions: list[int] = []
    real_begin = type(harness.store).begin

    def counted(store: Any) -> Any:
        transactions.append(1)
        return real_begin(store)

    monkeypatch.setattr(type(harness.store), "begin", counted)
    assert harness.post(payload).json()["linked"] == 2
    assert len(transactions) == 1
    row = next(r for r in Channels(harness.store).replies(chat_id) if r["id_channel_reply"] == first["id_channel_reply"])
    assert row["status"] == "read"
