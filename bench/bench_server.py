"""``POST /chat`` under load on local/rules, against ``python -m agent.server`` in its own process on loopback.

- requests/second and p50/p99 latency at 1, 10 and 50 concurrent chats (an asyncio load generator: httpx's async
  client, each virtual customer walking the journey script, a new chat after the last message);
- the per-request overhead against calling ``AgentSession`` directly, in this process, on the same script, the two
  alternated message by message (the server's p50 minus the direct turn's p50: HTTP, JSON, the inbox, the chat's
  session, the worker; also the median of the paired differences and the CPU time per request of each). The
  requests go through a plain keep-alive ``http.client`` connection, so the figure is the server's, not a heavy
  client's (httpx's async client alone costs ≈ 0.5 ms more per round trip here; both floors are printed);
- webhook to reply: a signed WhatsApp delivery to the fake Graph server's recorded send, 0 s burst window.

Bounded runs (a few seconds each). Prints figures and writes ``bench/results/server.json`` (what
``bench/bench_aws_cost.py`` prices); never fails on time. ``--seconds N`` per level (default 4); ``--only overhead``:
the paired overhead and the floors alone (nothing written).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import agent.adapters.offline  # noqa: E402,F401
import httpx  # noqa: E402

from agent.config import load_settings  # noqa: E402
from agent.core.session import AgentSession  # noqa: E402
from agent.server.whatsapp import sign  # noqa: E402
from sandbox.graph_stub import GraphStub  # noqa: E402

SCRIPT = ["oi", "aceito", "quanto tempo demora o crédito?", "Maria Souza", "200.000.002-99", "julho", "sim",
          "sim, quero", "tchau"]
LEVELS = (1, 10, 50)
SECRET, TOKEN, PHONE_ID = "bench-secret", "bench-token", "100000000000001"
RESULTS = ROOT / "bench" / "results" / "server.json"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident memory (Linux ``VmHWM``), or None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def start_server(data_dir: Path, graph_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "TIKTOKEN_CACHE_DIR",
                                                          "LITELLM_LOCAL_MODEL_COST_MAP"}}
    env = {**keep, "CONVERSA_DATA_DIR": str(data_dir), "BURST_WINDOW_SECONDS": "0", "WHATSAPP_APP_SECRET": SECRET,
           "WHATSAPP_ACCESS_TOKEN": TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID, "WHATSAPP_GRAPH_URL": graph_url}
    process = subprocess.Popen([sys.executable, "-m", "agent.server", "--port", str(port), "--log-level", "error"],
                               cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).json().get("warm"):
                return process, url
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("the server did not start")


async def load(url: str, chats: int, seconds: float) -> dict[str, Any]:
    """``chats`` customers at once for ``seconds``: latencies of every answered request."""
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=chats, max_keepalive_connections=chats)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def customer() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                chat_id = None
                for text in SCRIPT:
                    body: dict[str, Any] = {"messages": [text]}
                    if chat_id is not None:
                        body["chat_id"] = chat_id
                    started = time.perf_counter()
                    response = await client.post("/chat", json=body)
                    if response.status_code != 200:
                        errors += 1
                        break
                    latencies.append((time.perf_counter() - started) * 1000)
                    chat_id = response.json()["chat_id"]
                    if time.perf_counter() >= stop:
                        return

        started = time.perf_counter()
        await asyncio.gather(*(customer() for _ in range(chats)))
        wall = time.perf_counter() - started
    return {"chats": chats, "requests": len(latencies), "errors": errors, "wall_s": round(wall, 2),
            "rps": round(len(latencies) / wall, 1), "p50_ms": round(pct(latencies, 0.5), 2),
            "p99_ms": round(pct(latencies, 0.99), 2)}


async def floor(url: str, requests: int = 300) -> float:
    """p50 of ``GET /health`` one at a time through httpx's async client (the load generator's)."""
    latencies = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for _ in range(requests):
            started = time.perf_counter()
            await client.get("/health")
            latencies.append((time.perf_counter() - started) * 1000)
    return round(pct(latencies, 0.5), 2)


class Plain:
    """One keep-alive HTTP/1.1 connection through ``http.client``: the lightest client the standard library has,
    so a round trip measures the server more than the client."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        response = self.conn.getresponse()
        return response.status, json.loads(response.read())

    def close(self) -> None:
        self.conn.close()


def plain_floor(url: str, requests: int = 300) -> float:
    """p50 of ``GET /health`` one at a time through :class:`Plain`: the HTTP round trip alone (client, loopback,
    uvicorn, Starlette), with the client the paired overhead uses."""
    client = Plain(url)
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        client.request("GET", "/health")
        latencies.append((time.perf_counter() - started) * 1000)
    client.close()
    return round(pct(latencies, 0.5), 2)


def cpu_seconds(pid: int) -> float | None:
    """The process's CPU time so far, user + system (Linux ``/proc``), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def paired(url: str, seconds: float, server_pid: int) -> dict[str, Any]:
    """The journey script alternately through ``POST /chat`` (one chat at a time) and on ``AgentSession`` directly
    in this process (its own SQLite file, one turn per message), message by message — which of the two goes first
    alternates —, so both see the same machine load: their p50s and the difference, the server's overhead; the median of the paired differences
    (each message's server time minus the same message's direct time, taken next to each other); and the CPU time
    per request of the server process against the direct turn's (a figure a loaded machine hardly moves)."""
    settings = load_settings(env={"CONVERSA_DATA_DIR": tempfile.mkdtemp(), "BURST_MODE": "false"}, dotenv_path=None)
    session = AgentSession.new(settings)
    for text in SCRIPT:  # warm-up
        session.send(text)
    served: list[float] = []
    direct: list[float] = []
    direct_cpu = 0.0
    stop = time.perf_counter() + seconds
    cpu_before = cpu_seconds(server_pid)
    client = Plain(url)
    chat_id: int | None = None

    def serve(text: str) -> None:
        nonlocal chat_id
        body: dict[str, Any] = {"messages": [text], **({"chat_id": chat_id} if chat_id else {})}
        started = time.perf_counter()
        status, answer = client.request("POST", "/chat", body)
        served.append((time.perf_counter() - started) * 1000)
        assert status == 200, answer
        chat_id = answer["chat_id"]

    def send(text: str) -> None:
        nonlocal direct_cpu
        started, cpu = time.perf_counter(), time.process_time()
        session.send(text)
        direct.append((time.perf_counter() - started) * 1000)
        direct_cpu += time.process_time() - cpu

    while time.perf_counter() < stop:
        chat_id = None
        session = AgentSession.new(settings, engine=session.engine)
        for text in SCRIPT:
            # Which goes first alternates: the second of a pair runs on caches the first warmed.
            for step in ((serve, send) if len(served) % 2 == 0 else (send, serve)):
                step(text)
    client.close()
    cpu_after = cpu_seconds(server_pid)
    figures: dict[str, Any] = {
        "requests": len(served), "server_p50_ms": round(pct(served, 0.5), 2),
        "direct_p50_ms": round(pct(direct, 0.5), 2), "direct_p99_ms": round(pct(direct, 0.99), 2),
        "overhead_p50_ms": round(pct(served, 0.5) - pct(direct, 0.5), 2),
        "paired_overhead_p50_ms": round(pct([a - b for a, b in zip(served, direct, strict=True)], 0.5), 2)}
    if cpu_before is not None and cpu_after is not None and served:
        server_cpu = (cpu_after - cpu_before) * 1000 / len(served)
        figures.update(server_cpu_ms=round(server_cpu, 2), direct_cpu_ms=round(direct_cpu * 1000 / len(direct), 2),
                       cpu_overhead_ms=round(server_cpu - direct_cpu * 1000 / len(direct), 2))
    return figures


def webhook(url: str, graph: GraphStub, deliveries: int) -> dict[str, Any]:
    """Signed deliveries one at a time (a new customer each): the time until Graph is asked to send the reply."""
    fixture = json.loads((ROOT / "tests" / "fixtures" / "whatsapp" / "text.json").read_text(encoding="utf-8"))
    latencies: list[float] = []
    acks: list[float] = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for i in range(deliveries):
            payload = json.loads(json.dumps(fixture))
            message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
            message.update({"id": f"wamid.bench{i}", "from": f"55119{i:08d}", "text": {"body": "oi"}})
            body = json.dumps(payload).encode()
            before = len(graph.sent)
            started = time.perf_counter()
            response = client.post("/webhook/whatsapp", content=body,
                                   headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(SECRET, body)})
            assert response.status_code == 200, response.text
            acks.append((time.perf_counter() - started) * 1000)
            deadline = started + 30
            while len(graph.sent) == before and time.perf_counter() < deadline:
                time.sleep(0.0005)
            latencies.append((time.perf_counter() - started) * 1000)
    return {"deliveries": deliveries, "p50_ms": round(pct(latencies, 0.5), 2), "p99_ms": round(pct(latencies, 0.99), 2),
            "ack_p50_ms": round(pct(acks, 0.5), 2)}


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def overhead_figures(url: str, seconds: float, pid: int) -> tuple[dict[str, Any], float, float]:
    """The paired overhead and the two HTTP floors, printed."""
    same = paired(url, seconds, pid)
    plain, async_floor = plain_floor(url), asyncio.run(floor(url))
    print(f"  the same script alternately, message by message: POST /chat p50 "
          f"{same['server_p50_ms']:.2f} ms, AgentSession.send directly p50 {same['direct_p50_ms']:.2f} ms "
          f"({same['requests']} requests each)")
    print(f"  per-request overhead of the server at p50: {same['overhead_p50_ms']:+.2f} ms (goal ≤ 1.5 ms; paired "
          f"differences' median {same['paired_overhead_p50_ms']:+.2f} ms); the HTTP round trip alone (GET /health "
          f"p50): {plain:.2f} ms through http.client (the paired client), {async_floor:.2f} ms through httpx async")
    if "cpu_overhead_ms" in same:
        print(f"  CPU per request: server process {same['server_cpu_ms']:.2f} ms, the direct turn "
              f"{same['direct_cpu_ms']:.2f} ms: {same['cpu_overhead_ms']:+.2f} ms (HTTP, JSON, the inbox, the "
              "worker; what a loaded machine hardly moves)")
    return same, plain, async_floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per concurrency level")
    parser.add_argument("--only", choices=("all", "overhead"), default="all",
                        help="overhead: the paired overhead and the floors alone (nothing written)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"bench_server: local/rules, SQLite, loopback; {cores} core(s), load average {load_average()}"
          + (" — a shared machine: figures are noisy, compare within one run" if cores <= 2 else ""))
    with tempfile.TemporaryDirectory() as data, GraphStub(token=TOKEN) as graph:
        process, url = start_server(Path(data), graph.url)
        try:
            asyncio.run(load(url, 1, 1.0))  # warm-up: the first chats, the connection pool
            if args.only == "overhead":
                overhead_figures(url, args.seconds, process.pid)
                print(f"  load average after: {load_average()}")
                return
            levels = []
            for chats in LEVELS:
                figures = asyncio.run(load(url, chats, args.seconds))
                levels.append(figures)
                print(f"  POST /chat  {chats:>3} concurrent chats: {figures['rps']:>7.1f} req/s  "
                      f"p50 {figures['p50_ms']:>7.2f} ms  p99 {figures['p99_ms']:>8.2f} ms  "
                      f"({figures['requests']} requests, {figures['errors']} errors)")
            same, http_floor, async_floor = overhead_figures(url, args.seconds, process.pid)
            hook = webhook(url, graph, 30)
            print(f"  WhatsApp webhook → Graph send (0 s window): p50 {hook['p50_ms']:.2f} ms  "
                  f"p99 {hook['p99_ms']:.2f} ms ({hook['deliveries']} deliveries; the 200 itself: p50 "
                  f"{hook['ack_p50_ms']:.2f} ms)")
            rss = peak_rss_mb(process.pid)
            if rss is not None:
                print(f"  server peak memory (VmHWM): {rss:.0f} MB")
            print(f"  load average after: {load_average()}")
        finally:
            process.terminate()
            process.wait(20)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cores": cores,
                                   "load_average": load_average(), "levels": levels, "direct": same,
                                   "overhead_p50_ms": same["overhead_p50_ms"], "http_floor_p50_ms": http_floor,
                                   "httpx_floor_p50_ms": async_floor, "webhook": hook, "peak_rss_mb": rss},
                                  indent=2), encoding="utf-8")
    print(f"  wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
