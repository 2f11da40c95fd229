"""``python -m agent chat``: talk to the agent from a terminal, interactively or from a pipe.

Each input line is one customer message. Commands:
  /state          the journey state and captured attributes (CPF masked) as one JSON line
  /audio PATH     send a voice note      /image PATH     send an image
  /burst a || b   several messages answered once (a burst)
  /idle HOURS     simulate idle time, then the re-engagement check
  /handoff        the operator takes over     /operator TEXT  operator reply     /handback
  /trace          the last turn's trace as JSON     /cost  tokens and cost so far
  /quit
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

if TYPE_CHECKING:
    from agent.core.session import TurnResult
    from agent.types import Attachment


def _attachment(kind: Literal["audio", "image"], path: str) -> Attachment:
    from agent.types import Attachment

    file = Path(path).expanduser()
    return Attachment(kind=kind, filename=file.name, data=file.read_bytes())


def _print_result(result: TurnResult | None, out: TextIO) -> None:
    if result is None:
        return
    for error in result.errors:
        print(f"[aviso] {error}", file=sys.stderr)
    for reply in result.replies:
        print(f"agente: {reply.text}", file=out)
    if not result.replies and result.step_after == "handoff":
        print("(em atendimento humano: o agente não responde)", file=out)


def _lines(stream: TextIO) -> Iterator[str]:
    """The input's lines as text whatever the bytes: invalid UTF-8 never raises (strict locales) and
    is cleaned by ``clean_text`` like every other entry."""
    from agent.text import decode_bytes

    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # a StringIO in tests
        yield from stream
        return
    for raw in buffer:
        yield decode_bytes(raw).rstrip("\r\n")


def chat(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent chat", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chat-id", type=int, help="continue a saved conversation")
    parser.add_argument("--burst-window", type=float, default=None,
                        help="seconds; default 0 (each line is a turn) — use /burst for bursts")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting, e.g. --set CONVERSATION_MODEL=gpt-4o")
    args = parser.parse_args(argv)

    import os

    from agent.config import load_settings
    from agent.core.session import AgentSession
    from agent.text import clean_text
    from agent.types import Message

    env = dict(os.environ)
    env.update(dict(item.split("=", 1) for item in args.set))
    env["BURST_WINDOW_SECONDS"] = str(args.burst_window if args.burst_window is not None else 0)
    settings = load_settings(env=env)
    session = (AgentSession.load(settings, args.chat_id) if args.chat_id else AgentSession.new(settings, source="cli"))
    interactive = sys.stdin.isatty()
    out = sys.stdout
    if interactive:
        local = " (local/rules, offline)" if settings.all_local else ""
        print(f"conversa-lab — conversa #{session.chat_id}{local}. /quit para sair, /state para o estado.")
    clock_offset = 0.0
    base_clock = session.clock
    session.clock = lambda: base_clock() + clock_offset
    last: TurnResult | None = None
    for raw in _lines(sys.stdin):
        line = clean_text(raw)  # one bad byte must not crash the chat or stay stuck in the queue
        if not line:
            if raw.strip():  # nothing readable left: still a turn (the agent asks again), never a crash
                _print_result(session.send(raw), out)
                out.flush()
            continue
        command, _, rest = line.strip().partition(" ")
        try:
            if command == "/quit":
                break
            if command == "/state":
                print(json.dumps(session.state_view(), ensure_ascii=False), file=out)
            elif command == "/trace":
                print(json.dumps(last.trace.to_json() if last else {}, ensure_ascii=False, default=str), file=out)
            elif command == "/cost":
                usage = session.total_usage
                print(json.dumps({"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                                  "cost_usd": usage.cost_usd}), file=out)
            elif command in ("/audio", "/image"):
                last = session.send("", [_attachment("audio" if command == "/audio" else "image", rest.strip())])
                _print_result(last, out)
            elif command == "/burst":
                parts = [p for p in (clean_text(p) for p in rest.split("||")) if p]
                for part in parts:
                    session.pending.append(Message("customer", part, created_at=session.clock()))
                last = session.flush(force=True)
                _print_result(last, out)
            elif command == "/idle":
                clock_offset += float(rest or 24) * 3600
                last = session.reengage()
                _print_result(last, out)
                if last is None:
                    print("(sem follow-up: ainda dentro do prazo ou conversa em atendimento humano)", file=out)
            elif command == "/handoff":
                last = session.request_handoff()
                _print_result(last, out)
            elif command == "/operator":
                message = session.operator_reply(rest)
                print(f"atendente: {message.text}", file=out)
            elif command == "/handback":
                last = session.hand_back()
                _print_result(last, out)
            else:
                last = session.send(line)
                _print_result(last, out)
        except (OSError, ValueError) as exc:
            print(f"[erro] {exc}", file=sys.stderr)
        out.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in {"chat"}:
        print(__doc__)
        print("usage: python -m agent chat [--chat-id N] [--set KEY=VALUE]")
        return 2
    return chat(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
