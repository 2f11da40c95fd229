"""agent/server: POST /chat and GET /health over the ASGI app (in process and on a real uvicorn)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from agent.adapters.inbox import Inbox
from agent.adapters.store import Store
from agent.config import Settings
from agent.core.session import AgentSession
from agent.server import ServerConfig, create_app

SCRIPTS = [
    ["oi"],
    ["oi", "sim, aceito", "Maria Souza, CPF 073.602.846-35, nasci em março", "sim"],
    ["olá", "quero antecipar meu FGTS", "quanto custa?"],
]


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, warm=False)) as test_client:
        yield test_client


def post(client: TestClient, body: object) -> Any:
    return client.post("/chat", json=body)


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["pack"]


def test_a_new_chat_is_a_server_chat_and_continues(client: TestClient, settings: Settings) -> None:
    first = post(client, {"messages": ["oi"]}).json()
    assert first["replies"] and first["chat_id"] > 0 and first["errors"] == []
    store = Store.open(settings.database_url)
    chat = store.get_chat(first["chat_id"])
    assert chat is not None and chat["source"] == "server"
    second = post(client, {"chat_id": first["chat_id"], "messages": [{"text": "sim, aceito"}]}).json()
    assert second["chat_id"] == first["chat_id"] and second["replies"]
    # Nothing waited in the chat's inbox: each request's messages were answered within it, written by the turn
    # itself with their replies — never queued.
    assert Inbox(store).all(first["chat_id"]) == []
    customer = [m.text for m in AgentSession.load(settings, first["chat_id"]).messages if m.role == "customer"]
    assert customer == ["oi", "sim, aceito"]


def test_several_messages_are_one_burst(client: TestClient, settings: Settings) -> None:
    body = post(client, {"messages": ["oi", "tudo bem?", "queria uma informação"]}).json()
    session = AgentSession.load(settings, body["chat_id"])
    assert len(session.traces) == 1  # one turn for the three messages
    assert [m.meta.get("burst_size") for m in session.messages if m.role == "customer"] == [3, 3, 3]


def test_the_state_is_masked(client: TestClient) -> None:
    body = post(client, {"messages": ["oi", "sim, aceito", "Maria Souza, CPF 073.602.846-35, nasci em março"]}).json()
    assert "073.602.846-35" not in str(body)
    assert body["step"] == body["state"]["step"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_chat_replies_equal_the_session_s(client: TestClient, settings: Settings, script: list[str]) -> None:
    direct = AgentSession.new(settings.with_changes(burst_mode=False), source="cli")
    chat_id = None
    for text in script:
        expected = direct.send(text)
        assert expected is not None
        body = post(client, {"chat_id": chat_id, "messages": [text]} if chat_id else {"messages": [text]}).json()
        chat_id = body["chat_id"]
        assert body["replies"] == [m.text for m in expected.replies]
        assert body["message_codes"] == expected.message_codes
        assert body["step"] == expected.step_after
        assert body["state"] == direct.state_view()


@pytest.mark.parametrize(("body", "status", "code"), [
    (b"{not json", 400, "malformed_json"),
    (b"\xff\xfe", 400, "malformed_json"),
    (b"[]", 422, "invalid_request"),
    (b'{"messages": []}', 422, "invalid_request"),
    (b'{"messages": [3]}', 422, "invalid_request"),
    (b'{"messages": ["oi"], "chat_id": "7"}', 422, "invalid_request"),
    (b'{"messages": ["oi"], "source": "nowhere"}', 422, "invalid_request"),
    (b'{"messages": ["oi"], "chat_id": 999999}', 404, "unknown_chat"),
])
def test_bad_requests_get_a_clear_error(client: TestClient, body: bytes, status: int, code: str) -> None:
    response = client.post("/chat", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]


def test_a_body_over_the_limit_is_refused(settings: Settings) -> None:
    app = create_app(settings, config=ServerConfig(max_body_bytes=100), warm=False)
    with TestClient(app) as small:
        response = small.post("/chat", json={"messages": ["x" * 200]})
        assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
        # Announced or not: a chunked body is counted as it arrives.
        chunked = small.post("/chat", content=iter([b'{"messages": ["', b"x" * 200, b'"]}']))
        assert chunked.status_code == 413
    assert Store.open(settings.database_url).list_chats(10, None) == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def live_server(settings: Settings, config: Any = None) -> Iterator[str]:
    """The app on a real uvicorn (its own event loop, in a thread), on a free loopback port; ``config``: a
    ``ServerConfig`` (default: the environment's)."""
    import uvicorn

    port = free_port()
    app = create_app(settings, config=config, warm=False) if config is not None else create_app(settings, warm=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_real_uvicorn_serves_chats(database_url: str, settings: Settings) -> None:
    settings = settings.with_changes(database_url=database_url)
    with live_server(settings) as url, httpx.Client(base_url=url, timeout=60) as http:
        assert http.get("/health").json()["status"] == "ok"
        first = http.post("/chat", json={"messages": ["oi", "tudo bem?"]}).json()
        assert first["replies"]
        again = http.post("/chat", json={"chat_id": first["chat_id"], "messages": ["sim, aceito"]}).json()
        assert again["replies"] and again["chat_id"] == first["chat_id"]
    chat = Store.open(database_url).get_chat(first["chat_id"])
    assert chat is not None and chat["source"] == "server"


def test_two_servers_never_answer_the_same_messages(settings: Settings, database_url: str) -> None:
    """Two servers (two stores, two sets of locks) flushing one chat at once: one turn answers the queued
    messages, the other finds nothing left (PostgreSQL: an advisory lock for the turn; SQLite: a file lock)."""
    from agent.server import Turns

    settings = settings.with_changes(database_url=database_url)
    first, second = Turns(settings, Store(database_url)), Turns(settings, Store(database_url))
    chat_id = first.new_chat()
    Inbox(first.store).put(chat_id, "oi")
    Inbox(first.store).put(chat_id, "tudo bem?")
    answers: list[int] = []
    start = threading.Barrier(2)

    def flush(turns: Turns) -> None:
        start.wait()
        answers.append(turns.answer(chat_id).answered)

    threads = [threading.Thread(target=flush, args=(t,)) for t in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(answers) == [0, 2]
    assert len(AgentSession.load(settings, chat_id).traces) == 1


@pytest.mark.parametrize("created_by", ["this server", "elsewhere"])
def test_a_kept_session_answers_the_chat_s_next_request(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                                        created_by: str) -> None:
    """The server keeps a chat's session: a chat it created is never read back from the database, one created
    elsewhere is read once, not per request; and a turn reads the chat's erasure time once, before its write
    (the stamp or the load, under the turn lock, had it just before the turn)."""
    from agent.server import Turns
    from agent.server.turns import Incoming

    turns = Turns(settings)
    chat_id = turns.new_chat() if created_by == "this server" else AgentSession.new(settings).chat_id
    loads: list[int] = []
    erasure_reads: list[int] = []
    real, real_forgotten_at = AgentSession.load, Store.forgotten_at

    def counted(*args: Any, **kwargs: Any) -> AgentSession:
        loads.append(1)
        return real(*args, **kwargs)

    def forgotten_at(store: Store, chat: int) -> Any:
        erasure_reads.append(chat)
        return real_forgotten_at(store, chat)

    monkeypatch.setattr(AgentSession, "load", counted)
    monkeypatch.setattr(Store, "forgotten_at", forgotten_at)
    for text in SCRIPTS[1]:
        assert turns.post(chat_id, [Incoming(text)]).replies
    assert len(loads) == (0 if created_by == "this server" else 1)
    assert len(erasure_reads) == len(SCRIPTS[1])  # one a turn: its write's
    fresh = AgentSession.load(settings, chat_id)
    assert [t.turn for t in fresh.traces] == list(range(len(SCRIPTS[1])))


@pytest.mark.parametrize("other_writer", ["server", "session"])
def test_a_chat_written_elsewhere_is_read_again(database_url: str, settings: Settings, other_writer: str) -> None:
    """Another process (a second server, the playground) answers the chat between two requests of this one: this
    server's next turn builds on that turn (its kept session is not reused), as one process alone would."""
    from agent.server import Turns
    from agent.server.turns import Incoming

    settings = settings.with_changes(database_url=database_url)
    here, there = Turns(settings, Store(database_url, keys="")), Turns(settings, Store(database_url, keys=""))
    alone = Turns(settings, Store(database_url, keys=""))
    script = SCRIPTS[1]
    chat_id, reference = here.new_chat(), alone.new_chat()
    expected = [alone.post(reference, [Incoming(text)]) for text in script]
    answers = [here.post(chat_id, [Incoming(script[0])])]
    if other_writer == "server":
        answers.append(there.post(chat_id, [Incoming(script[1])]))
    else:  # the playground's own session, in another process
        session = AgentSession.load(settings, chat_id, store=there.store)
        result = session.send(script[1], now=time.time())
        assert result is not None and session.save_error is None
    answers += [here.post(chat_id, [Incoming(text)]) for text in script[2:]]
    assert [a.step for a in answers if a] == [e.step for i, e in enumerate(expected)
                                              if other_writer == "server" or i != 1]
    assert answers[-1].replies == expected[-1].replies
    written = AgentSession.load(settings, chat_id, store=there.store)
    assert [t.turn for t in written.traces] == list(range(len(script)))


def test_an_unknown_chat_queues_nothing(client: TestClient, settings: Settings) -> None:
    response = post(client, {"chat_id": 987654, "messages": ["oi"]})
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_chat"
    assert Inbox(Store.open(settings.database_url)).all(987654) == []


def _flush_in_a_process(env: dict[str, str], database_url: str, chat_id: int, start: Any, answers: Any) -> None:
    """A second server process: build the engine, wait for the others, flush the chat, report how many it answered."""
    import agent.adapters.offline  # noqa: F401
    from agent.config import load_settings
    from agent.server import Turns

    settings = load_settings(env={**env, "DATABASE_URL": database_url}, dotenv_path=None)
    turns = Turns(settings, Store(database_url))
    AgentSession.new(settings, store=turns.store)  # the engine built before the race starts
    start.wait(120)
    answers.put(turns.answer(chat_id).answered)


@pytest.mark.slow
def test_two_server_processes_never_answer_the_same_messages(base_env: dict[str, str], settings: Settings,
                                                             database_url: str) -> None:
    """The same race between two real processes (spawned): one answers both queued messages, the other none, and
    the chat has one turn."""
    import multiprocessing

    from agent.server import Turns

    settings = settings.with_changes(database_url=database_url)
    turns = Turns(settings, Store(database_url))
    chat_id = turns.new_chat()
    Inbox(turns.store).put(chat_id, "oi")
    Inbox(turns.store).put(chat_id, "tudo bem?")
    context = multiprocessing.get_context("spawn")
    start, answers = context.Barrier(3), context.Queue()
    env = {k: v for k, v in base_env.items() if k != "DATABASE_URL"}
    children = [context.Process(target=_flush_in_a_process, args=(env, database_url, chat_id, start, answers))
                for _ in range(2)]
    for child in children:
        child.start()
    try:
        start.wait(180)
        counted = sorted(answers.get(timeout=120) for _ in children)
    finally:
        for child in children:
            child.join(30)
            if child.is_alive():
                child.kill()
    assert counted == [0, 2]
    assert len(AgentSession.load(settings, chat_id, store=turns.store).traces) == 1


def test_a_message_already_waiting_is_answered_with_the_posted_one(settings: Settings) -> None:
    """A message queued before (another channel's, a failed request's) joins the posted one's burst, in order."""
    from agent.server import Turns
    from agent.server.turns import Incoming

    turns = Turns(settings)
    chat_id = turns.new_chat()
    assert turns.post(chat_id, [Incoming("oi")]).answered == 1
    Inbox(turns.store).put(chat_id, "tudo bem?")
    answer = turns.post(chat_id, [Incoming("queria uma informação")])
    assert answer.answered == 2
    customer = [m.text for m in AgentSession.load(settings, chat_id).messages if m.role == "customer"]
    assert customer == ["oi", "tudo bem?", "queria uma informação"]
    # The first request found nothing waiting (answered within it, never queued); the second joined the waiting one.
    assert [r.status for r in Inbox(turns.store).all(chat_id)] == ["done"] * 2


def test_a_posted_message_whose_turn_is_not_written_is_queued_for_later(settings: Settings,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Answered within the request, a message is written by its turn; when that write fails, it is queued
    then, so the next request answers it again — never lost."""
    from agent.errors import StoreError
    from agent.server import Turns
    from agent.server.turns import Incoming

    turns = Turns(settings)
    chat_id = turns.new_chat()
    real = turns.store.record_turn

    def down(*args: Any, **kwargs: Any) -> Any:
        raise StoreError("the database is away")

    monkeypatch.setattr(turns.store, "record_turn", down)
    answer = turns.post(chat_id, [Incoming("oi")])
    assert any("database is away" in e for e in answer.errors)
    assert [(r.text, r.status) for r in Inbox(turns.store).all(chat_id)] == [("oi", "queued")]
    monkeypatch.setattr(turns.store, "record_turn", real)
    turns.post(chat_id, [Incoming("sim, aceito")])
    customer = [m.text for m in AgentSession.load(settings, chat_id).messages if m.role == "customer"]
    assert customer == ["oi", "sim, aceito"]  # the waiting one joined the next request's burst, through the inbox
    assert [r.status for r in Inbox(turns.store).all(chat_id)] == ["done", "done"]
