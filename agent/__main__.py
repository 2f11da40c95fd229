"""``python -m agent chat``: talk to the agent from a terminal, interactively or from a pipe.
``python -m agent keys generate|status|rotate``: the encryption-at-rest keys (README, "Data at rest").
``python -m agent privacy export|forget|retention``: the customer's rights, LGPD art. 18 (README,
"Your customers' rights (LGPD)").
``python -m agent audit funnel [--by day|config]`` / ``audit export-finetune --out FILE [--allow-small]``: the
journey funnel and the fine-tuning dataset (README, "Audit data").

Each input line is one customer message; piped input is echoed (``cliente: …``) so the output reads
as the conversation. Commands:
  /state          the journey state and captured attributes (CPF masked) as one JSON line
  /audio PATH     send a voice note      /image PATH     send an image
  /burst a || b   several messages answered once (a burst)
  /idle HOURS     simulate idle time, then the re-engagement check
  /handoff        the operator takes over     /operator TEXT  operator reply     /handback
  /trace          the last turn's trace, short: steps, decision, calls (model, temperature), tools
  /trace full     the last turn's whole trace as indented JSON (prompts, outputs, states)
  /cost           tokens and cost so far
  /insights       this conversation's insights as one JSON line: emotion per customer message,
                  satisfaction, objections, summary, assertiveness score with its components
  /help           these commands     /quit
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
    from agent.core.trace import TurnTrace
    from agent.types import Attachment

COMMANDS = ("/state", "/audio", "/image", "/burst", "/idle", "/handoff", "/operator", "/handback", "/trace",
            "/cost", "/insights", "/help", "/quit")


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
    if result.alert:  # the live detractor alert (the pack's insights.yaml says what to do)
        print(f"[alerta] {result.alert['reason']} — ação: {result.alert['action']}", file=sys.stderr)
    if not result.replies and result.step_after == "handoff":
        print("(em atendimento humano: o agente não responde)", file=out)


def _help() -> str:
    return __doc__.split("Commands:\n", 1)[1].rstrip() if __doc__ else ""


def trace_summary(trace: TurnTrace) -> str:
    """The short, readable form of a turn's trace (``/trace``): what changed and why, and each call's model
    and temperature; ``/trace full`` prints everything."""
    turn = "?" if trace.turn is None else trace.turn
    lines = [f"turno {turn} · {trace.step_before or '?'} → {trace.step_after or '?'} · {trace.latency_ms:.0f} ms · "
             f"{trace.total_tokens} tokens · US$ {trace.cost_usd:.6f}"]
    event = trace.event.name if trace.event else trace.system_event
    if event:
        lines.append(f"  evento: {event}")
    if trace.decision:
        d = trace.decision
        attrs = json.dumps(dict(d.attributes), ensure_ascii=False, default=str)
        lines.append(f"  decisão: {d.intent} ({d.confidence:.2f}) {attrs}")
    if trace.message_codes:
        lines.append(f"  mensagens: {list(trace.message_codes)}")
    if trace.calls:
        lines.append("  chamadas:")
        for c in trace.calls:
            temperature = "—" if c.temperature is None else f"{c.temperature:g}"
            problem = f" · erro: {c.error}" if c.error else (" · fallback" if c.fallback_used else "")
            lines.append(f"    {c.role:<12} {c.feature:<28} {c.model} · temperatura {temperature} · "
                         f"{c.input_tokens}+{c.output_tokens} tokens · {c.latency_ms:.0f} ms{problem}")
    for tool in trace.tool_calls:
        lines.append(f"  ferramenta: {tool.name} · {tool.status} · {tool.outcome or '—'} · {tool.latency_ms:.0f} ms")
    if trace.retrieved:
        lines.append("  documentos: " + ", ".join(f"{r.faq_id} ({r.score:.2f})" for r in trace.retrieved))
    lines.extend(f"  aviso: {text}" for text in (*trace.errors, *trace.guard_violations))
    return "\n".join(lines)


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
    from agent.privacy import scrub
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
        print(f"conversa-lab — conversa #{session.chat_id}{local}. /help para os comandos, /quit para sair.")

    def echo(text: str) -> None:
        """Piped input is not on the screen: say what the customer sent before the agent answers — as the
        conversation stores it (personal data masked: the output of a piped run often ends up in a file)."""
        if not interactive:
            print(f"cliente: {scrub(text)}", file=out)
    clock_offset = 0.0
    base_clock = session.clock
    session.clock = lambda: base_clock() + clock_offset
    last: TurnResult | None = None
    for raw in _lines(sys.stdin):
        line = clean_text(raw)  # one bad byte must not crash the chat or stay stuck in the queue
        if not line:
            if raw.strip():  # nothing readable left: still a turn (the agent asks again), never a crash
                echo(raw.strip())
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
                if last is None:
                    print("(nenhum turno ainda)", file=out)
                elif rest.strip() == "full":
                    print(json.dumps(last.trace.to_json(), ensure_ascii=False, default=str, indent=2), file=out)
                else:
                    print(trace_summary(last.trace), file=out)
            elif command == "/insights":
                from agent.insights import session_insights

                print(json.dumps(session_insights(session).to_json(), ensure_ascii=False), file=out)
            elif command == "/help":
                print(_help(), file=out)
            elif command == "/cost":
                usage = session.total_usage
                print(json.dumps({"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                                  "cost_usd": usage.cost_usd}), file=out)
            elif command in ("/audio", "/image"):
                echo(f"[{'áudio' if command == '/audio' else 'imagem'} {Path(rest.strip()).name}]")
                last = session.send("", [_attachment("audio" if command == "/audio" else "image", rest.strip())])
                _print_result(last, out)
            elif command == "/burst":
                parts = [p for p in (clean_text(p) for p in rest.split("||")) if p]
                for part in parts:
                    echo(part)
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
            elif command.startswith("/") and len(command) > 1 and command[1:].isalpha() and command not in COMMANDS:
                print(f"[erro] comando desconhecido: {command} — /help lista os comandos", file=sys.stderr)
            else:
                echo(line)
                last = session.send(line)
                _print_result(last, out)
        except (OSError, ValueError) as exc:
            print(f"[erro] {exc}", file=sys.stderr)
        out.flush()
    return 0


def warn_clear_storage() -> None:
    """One line on stderr when no encryption key is set (what the chat stores stays readable on disk)."""
    from agent.adapters.crypto import KEY_ENV, encryption_status

    state = encryption_status()
    if state.error:
        from agent.adapters.crypto import EncryptionKeyError

        raise EncryptionKeyError(state.error)
    if not state.enabled:
        print(f"[aviso] {KEY_ENV} não definida: mensagens, estado da jornada e traces ficam em claro no banco "
              "(python -m agent keys generate; README, \"Data at rest\").", file=sys.stderr)


def keys(argv: list[str]) -> int:
    """``keys generate`` prints a new key; ``keys status`` counts clear/encrypted rows; ``keys rotate``
    encrypts every value with the first key of CONVERSA_ENCRYPTION_KEY."""
    parser = argparse.ArgumentParser(prog="python -m agent keys",
                                     description="Encryption at rest (CONVERSA_ENCRYPTION_KEY, comma-separated "
                                                 "Fernet keys, the newest first).")
    parser.add_argument("action", choices=("generate", "status", "rotate"))
    parser.add_argument("--database-url", help="default: DATABASE_URL, else data/conversa.db")
    parser.add_argument("--batch", type=int, default=500, help="rows per transaction (rotate)")
    args = parser.parse_args(argv)

    from agent.adapters.crypto import KEY_ENV, generate_key

    if args.action == "generate":
        print(generate_key())
        print(f"# add to .env: {KEY_ENV}=<this key>  (to rotate: the new key first, a comma, the old ones)",
              file=sys.stderr)
        return 0
    from agent.adapters import keys as key_ops
    from agent.adapters.store import Store
    from agent.config import load_settings

    url = args.database_url or load_settings().database_url
    store = Store(url)
    where = url.split("@")[-1]
    configured = f"{store.cipher.count} key(s)" if store.cipher else "no key (values are written in clear)"
    print(f"{where} · {KEY_ENV}: {configured}")
    if args.action == "status":
        counts = key_ops.status(store, batch=max(1, args.batch))
        print(f"{'column':<24} {'clear':>8} {'encrypted':>10} {'old key':>8} {'no key':>8} {'empty':>8}")
        for c in counts:
            print(f"{c.column:<24} {c.clear:>8} {c.current:>10} {c.old:>8} {c.unreadable:>8} {c.empty:>8}")
        return 0

    def progress(c: key_ops.ColumnCount) -> None:
        print(f"{c.column:<24} {c.changed:>8} rewritten ({c.clear} were clear, {c.old} had an older key; "
              f"{c.current} already current, {c.empty} empty)", flush=True)

    counts = key_ops.rotate(store, batch=max(1, args.batch), progress=progress)
    total = sum(c.changed for c in counts)
    print(f"done: {total} value(s) encrypted with the first key; the keys after it can be removed once every "
          "process runs with the new list.")
    return 0


def privacy(argv: list[str]) -> int:
    """``privacy export --cpf`` (JSON on stdout), ``privacy forget --cpf|--chat-id --yes``, ``privacy retention
    [--days N]``: counts on stderr. Exit 0 done, 1 nothing found, 2 a usage error (bad CPF, no --yes, no days)."""
    parser = argparse.ArgumentParser(prog="python -m agent privacy",
                                     description="The customer's rights (LGPD art. 18): export or erase a holder's "
                                                 "data by CPF, enforce the retention period.")
    parser.add_argument("action", choices=("export", "forget", "retention"))
    parser.add_argument("--cpf", help="the holder's CPF (digits, with or without punctuation)")
    parser.add_argument("--chat-id", type=int, help="forget: one conversation instead of a holder")
    parser.add_argument("--days", type=float, help="retention: days kept (default: RETENTION_DAYS)")
    parser.add_argument("--yes", action="store_true", help="forget: really erase (it cannot be undone)")
    parser.add_argument("--operator", help="who runs it, for the access log (default: $USER)")
    parser.add_argument("--database-url", help="default: DATABASE_URL, else data/conversa.db")
    args = parser.parse_args(argv)

    import getpass

    from agent import privacy_rights as rights
    from agent.adapters.store import Store
    from agent.config import load_settings

    settings = load_settings()
    store = Store(args.database_url or settings.database_url)
    try:
        operator = args.operator or getpass.getuser()
    except (KeyError, OSError):
        operator = "cli"

    def report(counts: rights.ForgetCounts, verb: str) -> None:
        ids = ", ".join(map(str, counts.chat_ids[:20])) + (", …" if len(counts.chat_ids) > 20 else "")
        print(f"{verb}: {counts.chats} conversation(s) [{ids}] · {counts.messages} message(s), "
              f"{counts.traces} trace(s) and {counts.reviews} review(s) deleted, {counts.inbox} queued message(s) "
              "emptied · "
              f"{counts.ledger_unlinked} ledger row(s) kept without their chat link", file=sys.stderr)
        if counts.unreadable:
            print(f"[aviso] {len(counts.unreadable)} conversation(s) {counts.unreadable} could not be read (an "
                  "encryption key is missing): put the key back and run again", file=sys.stderr)

    try:
        if args.action == "retention":
            days = args.days if args.days is not None else settings.retention_days
            if days is None:
                print("error: no retention period: set RETENTION_DAYS or pass --days N", file=sys.stderr)
                return 2
            counts = rights.apply_retention(store, days)
            report(counts, f"retention {days:g} days")
            return 0
        if args.action == "forget" and args.chat_id is not None:
            if store.get_chat(args.chat_id) is None:
                print(f"error: no conversation #{args.chat_id}", file=sys.stderr)
                return 1
            if not args.yes:
                print(f"conversation #{args.chat_id} would be erased: add --yes to do it (it cannot be undone)",
                      file=sys.stderr)
                return 2
            counts = rights.forget_chat(store, args.chat_id)
            rights.log_access(store, operator, args.chat_id, "forget")
            report(counts, "forgotten")
            return 0
        if not args.cpf:
            print(f"error: {args.action} needs --cpf" + (" or --chat-id" if args.action == "forget" else ""),
                  file=sys.stderr)
            return 2
        rights.cpf_digits(args.cpf)
        if args.action == "export":
            data = rights.export_holder(store, args.cpf)
            for conversation in data["conversations"]:
                rights.log_access(store, operator, conversation["chat"]["id_chat"], "export")
            print(json.dumps(data, ensure_ascii=False, indent=2))
            found = len(data["conversations"])
            print(f"exported: {found} conversation(s), "
                  f"{sum(len(c['messages']) for c in data['conversations'])} message(s)", file=sys.stderr)
            return 0 if found else 1
        scan = rights.find_holder(store, args.cpf)
        if not scan.chats:
            print("no conversation holds this CPF", file=sys.stderr)
            return 1
        if not args.yes:
            ids = [int(c.chat["id_chat"]) for c in scan.chats]
            print(f"{len(ids)} conversation(s) {ids} would be erased: add --yes to do it (it cannot be undone)",
                  file=sys.stderr)
            return 2
        counts = rights.forget_holder(store, args.cpf, scan)
        for chat_id in counts.chat_ids:
            rights.log_access(store, operator, chat_id, "forget")
        report(counts, "forgotten")
        return 0
    except rights.HolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in {"chat", "keys", "privacy", "audit"}:
        print(__doc__)
        print("usage: python -m agent chat [--chat-id N] [--set KEY=VALUE]\n"
              "       python -m agent keys generate|status|rotate [--database-url URL] [--batch N]\n"
              "       python -m agent privacy export --cpf CPF | forget (--cpf CPF | --chat-id N) --yes | "
              "retention [--days N]\n"
              "       python -m agent audit funnel [--by day|config] | export-finetune --out FILE [--allow-small]")
        return 2
    from agent.errors import ConversaError

    try:
        if argv[0] == "keys":
            return keys(argv[1:])
        if argv[0] == "privacy":
            return privacy(argv[1:])
        if argv[0] == "audit":
            from agent.audit_cli import main as audit

            return audit(argv[1:])
        warn_clear_storage()
        return chat(argv[1:])
    except ConversaError as exc:  # a pack that does not load (e.g. a prompt breaking its contract): say why
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
