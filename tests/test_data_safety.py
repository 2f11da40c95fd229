"""Data safety under concurrency and crashes (issue 13), on SQLite (a WAL file) and on PostgreSQL.

20 sessions at once — threads of one process, then 20 processes — each play a scripted conversation on
``local/rules``; every message, trace and ledger row a session acknowledged is in the database exactly
once. A process SIGKILLed in the middle of a turn (held by the sandbox API's ``timeout`` fault) leaves
every acknowledged turn and nothing of the interrupted one; the chat reloads and goes on, and a queued
message (``chat_inbox``) is answered by the next worker, once. A turn whose write fails leaves nothing
either (its ledger rows included), and a provider fault keeps the customer's message and one ledger row
per call. ``-s`` prints the figures.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from agent.adapters import adversary
from agent.adapters.inbox import Inbox
from agent.adapters.schema import llm_cost, messages, traces
from agent.adapters.store import Store
from agent.config import Settings, load_settings
from agent.core.session import AgentSession
from agent.errors import StoreError
from agent.worker import Workers
from data_safety_child import SCRIPT, run_process
from sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[1]
SESSIONS = 20


def figures(label: str, **values: Any) -> None:
    """One line of figures for the report (shown with ``-s``)."""
    print(f"\n[data safety] {label}: " + ", ".join(f"{k}={v}" for k, v in values.items()))


@pytest.fixture
def db_settings(settings: Settings, database_url: str) -> Settings:
    return settings.with_changes(database_url=database_url)


def stored(store: Store, chat_id: int) -> tuple[list[tuple[str, str]], list[str], int]:
    """The chat as written: its messages (role, text), its ledger request ids, its trace count."""
    with store.engine.connect() as conn:
        rows = [(r.role, r.text) for r in conn.execute(
            select(messages.c.role, messages.c.text).where(messages.c.fk_id_chat == chat_id)
            .order_by(messages.c.id_message))]
        ledger = sorted(str(r[0]) for r in conn.execute(
            select(llm_cost.c.feat_request_id).where(llm_cost.c.fk_id_chat == chat_id)))
        n_traces = int(conn.execute(select(func.count()).select_from(traces)
                                    .where(traces.c.fk_id_chat == chat_id)).scalar() or 0)
    return rows, ledger, n_traces


def totals(store: Store) -> tuple[int, int]:
    """Every message and ledger row in the database."""
    with store.engine.connect() as conn:
        n_messages = int(conn.execute(select(func.count()).select_from(messages)).scalar() or 0)
        n_ledger = int(conn.execute(select(func.count()).select_from(llm_cost)).scalar() or 0)
    return n_messages, n_ledger


def step_of(store: Store, chat_id: int) -> str:
    chat = store.get_chat(chat_id)
    assert chat is not None
    return str(chat["state"]["step"])


PLAIN = frozenset(line for line in SCRIPT if not any(c.isdigit() for c in line) and line[:1].islower())


def plain(line: str) -> str:
    """A script line as compared: personal data ("Maria Souza", the CPF) may be stored masked."""
    return line if line in PLAIN else "<personal>"


def customer_texts(rows: list[tuple[str, str]]) -> list[str]:
    """The customer's lines as written, personal ones as ``<personal>`` (see :func:`plain`)."""
    return [plain(t) for role, t in rows if role == "customer"]


def script(lines: tuple[str, ...] | list[str]) -> list[str]:
    return [plain(line) for line in lines]


# ---------------------------------------------------------------- the store's settings


def test_sqlite_store_runs_in_wal_with_a_busy_timeout(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'wal.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


# ---------------------------------------------------------------- 20 threads


def test_twenty_threads_lose_and_duplicate_nothing(db_settings: Settings) -> None:
    store = Store.open(db_settings.database_url)
    AgentSession.new(db_settings, store=store, source="simulation")  # build the engine once, outside the race
    start = threading.Barrier(SESSIONS)
    acked: dict[int, tuple[list[tuple[str, str]], list[str], str]] = {}
    failures: list[str] = []

    def play() -> None:
        try:
            session = AgentSession.new(db_settings, store=store, source="simulation")
            start.wait(30)
            for line in SCRIPT:
                result = session.send(line)
                assert result is not None and session.save_error is None, session.save_error
            acked[session.chat_id] = ([(m.role, m.text) for m in session.messages],
                                      [c.request_id for t in session.traces for c in t.calls], session.state.step)
        except BaseException as exc:  # noqa: BLE001  (reported by the test thread)
            failures.append(f"{type(exc).__name__}: {exc}")

    before = totals(store)
    started = time.perf_counter()
    threads = [threading.Thread(target=play) for _ in range(SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    seconds = time.perf_counter() - started
    assert not failures, failures
    assert len(acked) == SESSIONS
    for chat_id, (rows, request_ids, step) in acked.items():
        got_rows, got_ledger, n_traces = stored(store, chat_id)
        # Every acknowledged message, once, in order (texts may be stored masked: roles and counts here).
        assert [r for r, _ in got_rows] == [r for r, _ in rows] and len(got_rows) == len(rows)
        assert sorted(got_ledger) == sorted(request_ids) and len(set(got_ledger)) == len(got_ledger)
        assert n_traces == len(SCRIPT) and customer_texts(got_rows) == script(SCRIPT)
        assert step_of(store, chat_id) == step == "offer"
    after = totals(store)
    written = (sum(len(r) for r, _, _ in acked.values()), sum(len(i) for _, i, _ in acked.values()))
    counted = (after[0] - before[0], after[1] - before[1])
    assert counted == written
    figures(f"threads {store.engine.dialect.name}", sessions=SESSIONS, turns=SESSIONS * len(SCRIPT),
            messages_written=written[0], messages_counted=counted[0], ledger_written=written[1],
            ledger_counted=counted[1], seconds=f"{seconds:.2f}")


# ---------------------------------------------------------------- 20 processes


@pytest.fixture(scope="module")
def forkserver() -> multiprocessing.context.BaseContext:
    """Processes forked from a server that imported LiteLLM and warmed the agent once (seconds per
    process otherwise, on two shared cores); each child opens its own engine and database connections."""
    from multiprocessing import forkserver as server

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["data_safety_forkserver"])
    previous = os.environ.get("PYTHONPATH")
    # The server imports its preload from PYTHONPATH (Python 3.11 ignores the parent's sys.path there).
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "tests"), str(ROOT), previous) if p)
    try:
        server.ensure_running()
    finally:
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous
    return context


@pytest.mark.xdist_group("data_safety_processes")
@pytest.mark.slow
def test_twenty_processes_lose_and_duplicate_nothing(db_settings: Settings, data_dir: Path,
                                                      forkserver: multiprocessing.context.BaseContext) -> None:
    store = Store.open(db_settings.database_url)  # migrated before the race
    events: Any = forkserver.Queue()
    before = totals(store)
    started = time.perf_counter()
    processes = [forkserver.Process(target=run_process,  # type: ignore[attr-defined]
                                    args=(db_settings.database_url, str(data_dir), events))
                 for _ in range(SESSIONS)]
    for process in processes:
        process.start()
    last: dict[int, dict[str, Any]] = {}
    done = 0
    while done < SESSIONS:
        event = events.get(timeout=180)
        assert event["event"] != "error", event
        if event["event"] == "ack":
            last[event["chat"]] = event
        done += event["event"] == "done"
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    seconds = time.perf_counter() - started
    assert len(last) == SESSIONS and len({e["pid"] for e in last.values()}) == SESSIONS
    for chat_id, ack in last.items():
        rows, ledger, n_traces = stored(store, chat_id)
        assert (len(rows), len(ledger), n_traces) == (ack["messages"], ack["ledger"], len(SCRIPT))
        assert customer_texts(rows) == script(SCRIPT) and len(set(ledger)) == len(ledger)
        assert ack["step"] == "offer"
    after = totals(store)
    written = (sum(e["messages"] for e in last.values()), sum(e["ledger"] for e in last.values()))
    counted = (after[0] - before[0], after[1] - before[1])
    assert counted == written
    figures(f"processes {store.engine.dialect.name}", processes=SESSIONS, turns=SESSIONS * len(SCRIPT),
            messages_written=written[0], messages_counted=counted[0], ledger_written=written[1],
            ledger_counted=counted[1], seconds=f"{seconds:.2f}")


# ---------------------------------------------------------------- SIGKILL in the middle of a turn


@pytest.fixture
def hanging_api() -> Iterator[SandboxServer]:
    """The FGTS API holding every consultation (its ``timeout`` fault), logged as soon as it arrives."""
    with SandboxServer(fail="timeout", hang_s=120) as server:
        yield server


API_ENV = {"TOOL_TIMEOUT_SECONDS": "120"}  # the child waits for the held consultation until it is killed


def kill_mid_turn(forkserver: multiprocessing.context.BaseContext, database_url: str, data_dir: Path,
                  api: SandboxServer, *, worker: bool = False) -> tuple[int, dict[str, Any] | None]:
    """Run the script in a separate process until its consultation reaches the API (the last turn is
    under way), then SIGKILL it; returns the chat id and the last turn it acknowledged."""
    events: Any = forkserver.Queue()
    child = forkserver.Process(target=run_process, args=(database_url, str(data_dir), events),  # type: ignore[attr-defined]
                               kwargs={"worker": worker, "env": {**API_ENV, "FGTS_API_URL": api.url}})
    child.start()
    try:
        deadline = time.monotonic() + 120
        while not api.consultas():
            assert child.is_alive(), "the child ended before its consultation"
            assert time.monotonic() < deadline, "the consultation never reached the API"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
        assert child.exitcode == -signal.SIGKILL
    finally:
        if child.is_alive():
            child.kill()
    received = []
    while True:
        try:
            received.append(events.get(timeout=1))
        except queue.Empty:
            break
    assert not any(e["event"] in ("done", "error") for e in received), received
    chat_id = next(e["chat"] for e in received if e["event"] == "chat")
    acks = [e for e in received if e["event"] == "ack"]
    return chat_id, (acks[-1] if acks else None)


@pytest.mark.xdist_group("data_safety_processes")
def test_sigkill_mid_turn_keeps_every_acknowledged_turn_and_nothing_of_the_interrupted_one(
        db_settings: Settings, data_dir: Path, hanging_api: SandboxServer,
        forkserver: multiprocessing.context.BaseContext) -> None:
    started = time.perf_counter()
    chat_id, ack = kill_mid_turn(forkserver, db_settings.database_url, data_dir, hanging_api)
    killed_at = time.perf_counter() - started
    assert ack is not None and ack["turn"] == len(SCRIPT) - 2  # killed in the last turn ("sim": the consultation)
    store = Store.open(db_settings.database_url)
    rows, ledger, n_traces = stored(store, chat_id)
    # Every acknowledged message, trace and ledger row; the interrupted turn not at all (all or nothing).
    assert (len(rows), len(ledger), n_traces) == (ack["messages"], ack["ledger"], len(SCRIPT) - 1)
    assert customer_texts(rows) == script(SCRIPT[:-1]) and len(set(ledger)) == len(ledger)
    session = AgentSession.load(db_settings, chat_id)
    assert session.state.step == ack["step"] == "confirm_data" and len(session.messages) == ack["messages"]
    # The conversation goes on: the customer's "sim" again, on a working API this time.
    result = session.send(SCRIPT[-1])
    assert result is not None and result.step_after == "offer" and session.save_error is None
    rows, ledger, n_traces = stored(store, chat_id)
    assert customer_texts(rows) == script(SCRIPT) and n_traces == len(SCRIPT)
    assert len(ledger) == ack["ledger"] + len(result.trace.calls)
    figures(f"sigkill {store.engine.dialect.name}", acknowledged_turns=ack["turn"] + 1,
            messages_counted=len(rows), ledger_counted=len(ledger), seconds_to_kill=f"{killed_at:.2f}")


@pytest.mark.xdist_group("data_safety_processes")
def test_sigkill_of_the_worker_leaves_the_message_queued_and_the_next_worker_answers_it_once(
        db_settings: Settings, data_dir: Path, hanging_api: SandboxServer,
        forkserver: multiprocessing.context.BaseContext) -> None:
    chat_id, _ = kill_mid_turn(forkserver, db_settings.database_url, data_dir, hanging_api, worker=True)
    store = Store.open(db_settings.database_url)
    inbox = Inbox(store)
    assert [r.text for r in inbox.queued(chat_id)] == [SCRIPT[-1]]  # only the interrupted turn's message
    rows, ledger, n_traces = stored(store, chat_id)
    assert customer_texts(rows) == script(SCRIPT[:-1]) and n_traces == len(SCRIPT) - 1
    workers = Workers()
    try:
        worker = workers.get(db_settings, chat_id)
        assert worker.wait_idle(60)
    finally:
        workers.shutdown()
    rows, ledger, n_traces = stored(store, chat_id)
    assert customer_texts(rows) == script(SCRIPT) and n_traces == len(SCRIPT)  # retried, answered once
    assert inbox.queued(chat_id) == [] and {r.status for r in inbox.all(chat_id)} == {"done"}
    assert step_of(store, chat_id) == "offer"
    figures(f"sigkill worker {store.engine.dialect.name}", messages_counted=len(rows), ledger_counted=len(ledger),
            traces=n_traces)


@pytest.mark.xdist_group("data_safety_processes")
def test_sigkill_inside_the_turns_commit_leaves_no_ledger_row_of_it(
        db_settings: Settings, data_dir: Path, forkserver: multiprocessing.context.BaseContext) -> None:
    """The narrowest window: the process dies while the turn's transaction is being written (a trigger
    holds the INSERT of the customer's last message). Its ledger rows go with it — they were a separate,
    earlier commit before a turn became one transaction. PostgreSQL only: SQLite has no sleep in SQL."""
    if not db_settings.database_url.startswith("postgresql"):
        pytest.skip("needs pg_sleep in a trigger (PostgreSQL)")
    store = Store.open(db_settings.database_url)
    with store.begin() as conn:
        conn.execute(text("CREATE FUNCTION ds_slow() RETURNS trigger LANGUAGE plpgsql AS "
                          "$$ BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$"))
        conn.execute(text(f"CREATE TRIGGER ds_slow BEFORE INSERT ON messages FOR EACH ROW "
                          f"WHEN (NEW.text = '{SCRIPT[-1]}') EXECUTE FUNCTION ds_slow()"))
    events: Any = forkserver.Queue()
    child = forkserver.Process(target=run_process, args=(db_settings.database_url, str(data_dir), events))  # type: ignore[attr-defined]
    child.start()
    sleeping: int | None = None
    try:
        deadline = time.monotonic() + 120
        while sleeping is None:
            assert child.is_alive() and time.monotonic() < deadline, "the turn never reached its commit"
            with store.engine.connect() as conn:
                sleeping = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
                                             "AND query LIKE '%INSERT INTO messages%'")).scalar()
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
    finally:
        if child.is_alive():
            child.kill()
        with store.begin() as conn:
            if sleeping is not None:  # the server notices its client is gone only when the sleep ends
                conn.execute(text(f"SELECT pg_terminate_backend({sleeping})"))
            conn.execute(text("DROP TRIGGER ds_slow ON messages"))
            conn.execute(text("DROP FUNCTION ds_slow()"))
    received = []
    while True:
        try:
            received.append(events.get(timeout=1))
        except queue.Empty:
            break
    ack = [e for e in received if e["event"] == "ack"][-1]
    assert ack["turn"] == len(SCRIPT) - 2
    rows, ledger, n_traces = stored(store, ack["chat"])
    assert (len(rows), len(ledger), n_traces) == (ack["messages"], ack["ledger"], len(SCRIPT) - 1)
    figures("sigkill inside the commit postgresql", messages_counted=len(rows), ledger_counted=len(ledger))


# ---------------------------------------------------------------- a turn whose write fails


def inject_fault(store: Store, chat_id: int, table: str = "traces", operation: str = "INSERT") -> None:
    """A real database fault: the chat's next ``operation`` on ``table`` aborts its transaction."""
    with store.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            conn.execute(text(f"CREATE TRIGGER ds_fail BEFORE {operation} ON {table} WHEN NEW.fk_id_chat = "
                              f"{chat_id} BEGIN SELECT RAISE(ABORT, 'injected fault'); END"))
        else:
            conn.execute(text("CREATE FUNCTION ds_fail() RETURNS trigger LANGUAGE plpgsql AS "
                              "$$ BEGIN RAISE EXCEPTION 'injected fault'; END $$"))
            conn.execute(text(f"CREATE TRIGGER ds_fail BEFORE {operation} ON {table} FOR EACH ROW "
                              f"WHEN (NEW.fk_id_chat = {chat_id}) EXECUTE FUNCTION ds_fail()"))


def heal(store: Store, table: str = "traces") -> None:
    with store.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER ds_fail"))
        else:
            conn.execute(text(f"DROP TRIGGER ds_fail ON {table}"))
            conn.execute(text("DROP FUNCTION ds_fail()"))


def test_a_turn_whose_write_fails_leaves_nothing_then_is_written_whole(db_settings: Settings) -> None:
    session = AgentSession.new(db_settings, source="simulation")
    store = session.store
    first = session.send(SCRIPT[0])
    assert first is not None and session.save_error is None
    written = stored(store, session.chat_id)
    inject_fault(store, session.chat_id)
    try:
        second = session.send(SCRIPT[1])
        assert second is not None and session.save_error  # said, and kept for the next write
        # Nothing of the turn: no message, no trace, no ledger row, the state of the turn before.
        assert stored(store, session.chat_id) == written
        assert step_of(store, session.chat_id) == first.step_after
    finally:
        heal(store)
    third = session.send(SCRIPT[2])
    assert third is not None and session.save_error is None
    rows, ledger, n_traces = stored(store, session.chat_id)
    assert [r for r, _ in rows] == [m.role for m in session.messages] and n_traces == 3
    assert sorted(ledger) == sorted(c.request_id for t in session.traces for c in t.calls)
    assert step_of(store, session.chat_id) == third.step_after


def test_a_queued_message_is_answered_once_when_its_turn_or_its_done_mark_fails(db_settings: Settings) -> None:
    """The turn and its inbox rows' ``done`` are one transaction: a process that dies after writing the
    turn can never leave its message queued (answered twice by the next worker), nor the reverse."""
    first = Workers()
    chat_id = first.new_chat(db_settings, source="simulation")
    store = Store.open(db_settings.database_url)
    first.enqueue(db_settings, chat_id, SCRIPT[0])
    assert first.get(db_settings, chat_id).wait_idle(60)
    inject_fault(store, chat_id, "chat_inbox", "UPDATE")
    try:
        first.enqueue(db_settings, chat_id, SCRIPT[1])
        assert first.get(db_settings, chat_id).wait_idle(60)
    finally:
        first.shutdown()  # the process dies: whatever it kept in memory is gone
        heal(store, "chat_inbox")
    assert [r.text for r in Inbox(store).queued(chat_id)] == [SCRIPT[1]]
    assert customer_texts(stored(store, chat_id)[0]) == script([SCRIPT[0]])  # nothing of the turn
    second = Workers()
    try:
        assert second.get(db_settings, chat_id).wait_idle(60)
    finally:
        second.shutdown()
    rows, ledger, n_traces = stored(store, chat_id)
    assert customer_texts(rows) == script(SCRIPT[:2]) and n_traces == 2  # retried, answered once
    assert Inbox(store).queued(chat_id) == [] and step_of(store, chat_id) == "collect_data"


def test_a_turn_that_raises_leaves_the_state_keeps_the_message_and_the_rows_of_its_calls(
        db_settings: Settings) -> None:
    """A turn that raises after a model call (the gateway's ``on_call`` hook fails): the worker keeps the
    customer's message with the error, the journey state is the one before, the call has its one ledger
    row, the inbox row is ``failed``; the customer's next message runs normally."""
    from agent.adapters.gateway import Gateway
    from agent.core.engine import Engine

    settings = db_settings.with_changes(burst_mode=False)
    store = Store.open(settings.database_url)
    armed = {"on": False}

    def explode(_: object) -> None:
        if armed["on"]:
            raise RuntimeError("the turn broke after its first model call")

    engine = Engine(settings, Gateway(settings, store, on_call=explode))
    session = AgentSession.new(settings, store=store, engine=engine, source="simulation")
    assert session.send(SCRIPT[0]) is not None
    _, ledger_before, traces_before = stored(store, session.chat_id)
    armed["on"] = True
    workers = Workers()
    try:
        worker = workers.get(settings, session.chat_id, session=session)
        workers.enqueue(settings, session.chat_id, SCRIPT[1])
        assert worker.wait_idle(60)
        rows, ledger, n_traces = stored(store, session.chat_id)
        assert customer_texts(rows) == script(SCRIPT[:2]) and rows[-1][0] == "system"  # kept, with the error
        assert step_of(store, session.chat_id) == "optin" == session.state.step  # the state before the turn
        assert n_traces == traces_before and len(ledger) == len(ledger_before) + 1  # its one call, its one row
        assert [r.status for r in Inbox(store).all(session.chat_id)] == ["failed"]
        armed["on"] = False
        workers.enqueue(settings, session.chat_id, SCRIPT[1])  # the customer sends it again
        assert worker.wait_idle(60)
    finally:
        workers.shutdown()
    assert step_of(store, session.chat_id) == "collect_data"
    assert [r.status for r in Inbox(store).all(session.chat_id)] == ["failed", "done"]


# ---------------------------------------------------------------- provider faults


@pytest.mark.parametrize("fault", [{"error": 500}, {"timeout": True}])
def test_a_provider_fault_keeps_the_message_and_one_ledger_row_per_call(base_env: dict[str, str], database_url: str,
                                                                         fault: dict[str, Any]) -> None:
    env = {**base_env, "DATABASE_URL": database_url, "MAX_RETRIES": "1", "RETRY_BACKOFF_SECONDS": "0"}
    roles = {"DECISION_MODEL": "local/adversary", "CONVERSATION_MODEL": "local/adversary",
             "INSIGHTS_MODEL": "local/adversary"}
    faulty = AgentSession.new(load_settings(env={**env, **roles}, dotenv_path=None), source="simulation")
    reference = AgentSession.new(load_settings(env=env, dotenv_path=None), source="simulation")
    for line in SCRIPT[:3]:
        faulty.send(line)
        reference.send(line)
    store = faulty.store
    _, ledger_before, _ = stored(store, faulty.chat_id)
    with adversary.scripted(faulty.chat_id, {"decision": fault, "conversation": fault, "insights": fault}):
        result = faulty.send(SCRIPT[3])
    expected = reference.send(SCRIPT[3])
    assert result is not None and expected is not None and faulty.save_error is None
    assert result.errors  # said in plain words
    # The journey moves exactly as the deterministic fallback decides: as local/rules would.
    assert (result.step_after, faulty.state.attributes) == (expected.step_after, reference.state.attributes)
    rows, ledger, n_traces = stored(store, faulty.chat_id)
    assert customer_texts(rows) == script(SCRIPT[:4]) and n_traces == 4  # the customer's message is kept
    failed = [r for r in store.cost_rows(chat_id=faulty.chat_id, limit=100) if r["status"] != "ok"]
    assert len(ledger) - len(ledger_before) == len(result.trace.calls)  # one row per call…
    assert len(failed) == sum(1 for c in result.trace.calls if c.error)  # …a failed one too,
    assert all("after 2 attempts" in r["error"] for r in failed)  # its retries in that one row
    figures("provider fault", fault=fault, calls=len(result.trace.calls), failed_rows=len(failed),
            counts=dict(Counter(r["status"] for r in failed)))
    again = faulty.send(SCRIPT[4])  # the provider is back: the journey goes on
    assert again is not None and again.step_after == "confirm_data"


# ---------------------------------------------------------------- stores of separate processes


def test_a_new_model_registered_by_twenty_stores_at_once_is_one_row(database_url: str) -> None:
    """Twenty Store objects (their own connections, as twenty processes have) meet a new model at once."""
    stores = [Store(database_url) for _ in range(SESSIONS)]
    start = threading.Barrier(SESSIONS)
    ids: list[int] = []
    failures: list[str] = []

    def register(store: Store) -> None:
        try:
            start.wait(30)
            ids.append(store.model_id("acme/brand-new-model"))
        except BaseException as exc:  # noqa: BLE001  (reported by the test thread)
            failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=register, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    assert len(set(ids)) == 1 and len(ids) == SESSIONS
    assert [m["name"] for m in stores[0].models()].count("acme/brand-new-model") == 1
    for store in stores:
        store.engine.dispose()


def test_a_turn_that_raises_still_writes_its_ledger_rows(db_settings: Settings) -> None:
    session = AgentSession.new(db_settings, source="simulation")
    gateway = session.engine.gateway
    with pytest.raises(RuntimeError), gateway.deferred_ledger() as rows:
        gateway.complete("conversation", "Conversa", [{"role": "user", "content": "oi"}], session.chat_id)
        assert len(rows) == 1 and stored(session.store, session.chat_id)[1] == []  # held for the turn's write
        raise RuntimeError("the turn failed after its model call")
    assert len(stored(session.store, session.chat_id)[1]) == 1  # written on its own: the call was paid for


def test_ledger_rows_kept_after_a_failed_write_are_written_once_by_concurrent_writers(database_url: str) -> None:
    """Rows kept in ``pending_costs`` (a write failed) go out with the next write — one writer's, not
    every thread's that writes at the same moment."""
    from decimal import Decimal

    from agent.adapters.store import CostRow

    store = Store(database_url)
    chat_id = store.create_chat("ledger", source="simulation")
    inject_fault(store, chat_id, "llm_cost", "INSERT")
    try:
        with pytest.raises(StoreError):
            store.record_cost(CostRow("Conversa", "local/rules", 1, 1, Decimal(0), fk_id_chat=chat_id,
                                      feat_request_id="kept"))
    finally:
        heal(store, "llm_cost")
    assert [r.feat_request_id for r in store.pending_costs] == ["kept"]
    start = threading.Barrier(SESSIONS)
    failures: list[str] = []

    def write(i: int) -> None:
        try:
            start.wait(30)
            store.record_cost(CostRow("Conversa", "local/rules", 1, 1, Decimal(0), fk_id_chat=chat_id,
                                      feat_request_id=f"row-{i}"))
        except BaseException as exc:  # noqa: BLE001  (reported by the test thread)
            failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    ledger = stored(store, chat_id)[1]
    assert Counter(ledger) == Counter(["kept", *(f"row-{i}" for i in range(SESSIONS))])
    assert store.pending_costs == []
    store.engine.dispose()


@pytest.mark.parametrize("fault", ["500", "timeout"])
def test_a_tool_fault_keeps_the_message_and_the_data_and_the_retry_goes_on(base_env: dict[str, str], database_url: str,
                                                                           fault: str) -> None:
    """The consultation API fails (HTTP 500, or no answer within the tool timeout): the journey goes to its
    own error step with every captured datum kept, the customer's message is written, one ledger row per
    call; once the API is back, the customer's "sim" runs the consultation again."""
    with SandboxServer(fail=fault, hang_s=5) as api:
        env = {**base_env, "DATABASE_URL": database_url, "FGTS_API_URL": api.url, "TOOL_TIMEOUT_SECONDS": "0.5"}
        session = AgentSession.new(load_settings(env=env, dotenv_path=None), source="simulation")
        for line in SCRIPT[:-1]:
            session.send(line)
        before = dict(session.state.attributes)
        result = session.send(SCRIPT[-1])
        assert result is not None and result.step_after == "api_unavailable" and session.save_error is None
        assert dict(session.state.attributes) == before  # nothing captured is lost
        store = session.store
        rows, ledger, n_traces = stored(store, session.chat_id)
        assert customer_texts(rows) == script(SCRIPT) and n_traces == len(SCRIPT)
        assert len(ledger) == sum(len(t.calls) for t in session.traces) and len(set(ledger)) == len(ledger)
        api.config.fail = None  # the API is back
        again = session.send("sim")
    assert again is not None and again.step_after == "offer" and session.save_error is None
    assert step_of(store, session.chat_id) == "offer"


def test_a_request_id_shaped_like_a_cpf_still_links_the_trace_to_its_ledger_row(
        db_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Request ids are random hex: some have 11 digits in a row. The trace keeps them as they are (the PII
    scrub masked them as CPFs, and the trace's calls no longer matched their ledger rows)."""
    import itertools
    import uuid

    from agent.adapters import gateway

    counter = itertools.count(1)
    # 11 digits first (a valid CPF's shape), then hex: like a random id that happens to start so.
    monkeypatch.setattr(gateway.uuid, "uuid4",
                        lambda: uuid.UUID(hex=f"{next(counter) * 10**9 + 52998224725:011d}abcde{0:016d}"))
    session = AgentSession.new(db_settings, source="simulation")
    result = session.send(SCRIPT[0])
    assert result is not None
    ids = [c.request_id for c in result.trace.calls]
    assert all(i[:11].isdigit() for i in ids)
    assert stored(session.store, session.chat_id)[1] == sorted(ids)
    assert [c.request_id for c in AgentSession.load(db_settings, session.chat_id).traces[0].calls] == ids
