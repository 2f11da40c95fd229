"""The WhatsApp Cloud API channel: signature check, payload parsing, the Graph API client, receive and flush.

Shapes follow Meta's webhook reference (``entry[].changes[].value.messages[]`` / ``.statuses[]``); example
payloads are in ``tests/fixtures/whatsapp/``. A delivery is queued once (its ``wamid`` is a unique key,
:mod:`agent.adapters.channels`); each message moves the chat's burst on and schedules a flush; the flush that
is still the newest when it fires answers every queued message of the chat in one turn and sends the replies.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from agent.adapters.channels import Accepted, Channels, contact_hash
from agent.privacy import scrubbed_logger
from agent.server.config import ServerConfig
from agent.server.turns import ChatAnswer, Turns
from agent.types import Attachment

log = scrubbed_logger("agent.server.whatsapp")

CHANNEL = "whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MEDIA_KINDS: dict[str, Literal["audio", "image"]] = {"audio": "audio", "image": "image"}
_EXTENSIONS = {"audio/ogg": "ogg", "audio/mpeg": "mp3", "audio/mp4": "m4a", "audio/aac": "aac", "audio/amr": "amr",
               "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256`` is ``sha256=`` + the hex HMAC-SHA256 of the raw body with the app secret."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def sign(secret: str, body: bytes) -> str:
    """The header value Meta would send for ``body`` (tests, the fake Graph server)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- payloads


@dataclass(frozen=True)
class InboundMessage:
    """One customer message of a webhook payload."""

    id: str
    wa_id: str = field(repr=False)  # the customer's phone: personal data, never logged
    kind: str  # text, audio, image, interactive, button
    text: str = ""
    media_id: str | None = None
    mime: str = ""


@dataclass(frozen=True)
class Receipt:
    """A status callback about one of our replies: its Graph message id, the status and, when failed, why."""

    message_id: str
    status: str
    error: str | None = None


@dataclass
class Payload:
    """What one webhook call carries: messages to answer, status callbacks, anything else (ignored)."""

    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)  # "sent", "delivered", "read", "failed"…
    ignored: list[str] = field(default_factory=list)  # why, per skipped item
    receipts: list[Receipt] = field(default_factory=list)  # the status callbacks that name a message


def _receipt(status: dict[str, Any]) -> Receipt | None:
    wamid, value = status.get("id"), status.get("status")
    if not isinstance(wamid, str) or not wamid or not isinstance(value, str) or not value:
        return None
    errors = [e for e in status.get("errors") or () if isinstance(e, dict)]
    error = "; ".join(f"{e.get('code', '')} {e.get('title') or e.get('message') or ''}".strip() for e in errors)
    return Receipt(wamid, value, error or None)


def _message(item: dict[str, Any]) -> InboundMessage | str:
    """The message, or why it is skipped."""
    kind, wamid, sender = item.get("type"), item.get("id"), item.get("from")
    if not isinstance(wamid, str) or not isinstance(sender, str) or not wamid or not sender:
        return "a message without id or sender"
    if kind == "text":
        return InboundMessage(wamid, sender, "text", text=str((item.get("text") or {}).get("body") or ""))
    if kind in MEDIA_KINDS:
        media = item.get(kind) or {}
        if not isinstance(media, dict) or not media.get("id"):
            return f"a {kind} message without a media id"
        return InboundMessage(wamid, sender, kind, text=str(media.get("caption") or ""), media_id=str(media["id"]),
                              mime=str(media.get("mime_type") or ""))
    if kind == "interactive":
        interactive = item.get("interactive") or {}
        reply = interactive.get(interactive.get("type") or "") or {}
        if interactive.get("type") in ("button_reply", "list_reply") and isinstance(reply, dict):
            return InboundMessage(wamid, sender, "interactive", text=str(reply.get("title") or reply.get("id") or ""))
        return f"an interactive message of type {interactive.get('type')!r}"
    if kind == "button":  # a quick-reply button of a template message
        button = item.get("button") or {}
        return InboundMessage(wamid, sender, "button", text=str(button.get("text") or button.get("payload") or ""))
    return f"a message of type {kind!r}"


def parse_payload(payload: Any) -> Payload:
    """Messages and status callbacks of a ``whatsapp_business_account`` webhook payload (anything else ignored)."""
    out = Payload()
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        out.ignored.append(f"an object of kind {payload.get('object') if isinstance(payload, dict) else None!r}")
        return out
    for entry in payload.get("entry") or ():
        for change in (entry or {}).get("changes") or ():
            value = (change or {}).get("value") or {}
            if (change or {}).get("field", "messages") != "messages" or not isinstance(value, dict):
                out.ignored.append(f"a change of field {(change or {}).get('field')!r}")
                continue
            for status in value.get("statuses") or ():
                out.statuses.append(str((status or {}).get("status") or "unknown"))
                receipt = _receipt(status) if isinstance(status, dict) else None
                if receipt is not None:
                    out.receipts.append(receipt)
            for item in value.get("messages") or ():
                parsed = _message(item if isinstance(item, dict) else {})
                if isinstance(parsed, str):
                    out.ignored.append(parsed)
                else:
                    out.messages.append(parsed)
    return out


# ---------------------------------------------------------------- the Graph API


class GraphError(Exception):
    """A Graph API call failed; ``retry`` says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class Sent:
    """The outcome of one reply: the Graph message id, or the last error, and the attempts made."""

    attempts: int
    message_id: str | None = None
    error: str | None = None


class GraphClient:
    """The two Graph API calls the channel needs: send a text, fetch a media file."""

    def __init__(self, config: ServerConfig, *, client: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.http = client or httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0))
        self.sleep = sleep

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.whatsapp_access_token}"}

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.status_code >= 400:
            retry = response.status_code == 429 or response.status_code >= 500
            raise GraphError(f"{what}: HTTP {response.status_code}", retry=retry)

    def send_text(self, to: str, body: str) -> Sent:
        """POST ``/{phone_number_id}/messages``, retried with a doubling back-off on 429, 5xx and network errors
        (``send_attempts`` in all); a 4xx is final."""
        url = f"{self.config.whatsapp_graph_url}/{self.config.whatsapp_phone_number_id}/messages"
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
                   "text": {"preview_url": False, "body": body}}
        error = ""
        for attempt in range(1, self.config.send_attempts + 1):
            try:
                response = self.http.post(url, json=payload, headers=self._headers())
                self._check(response, "send")
                ids = [m.get("id") for m in (response.json().get("messages") or []) if isinstance(m, dict)]
                return Sent(attempts=attempt, message_id=str(ids[0]) if ids else None)
            except GraphError as exc:
                error = str(exc)
                if not exc.retry:
                    return Sent(attempts=attempt, error=error)
            except (httpx.HTTPError, ValueError) as exc:
                error = f"send: {type(exc).__name__}: {exc}"
            if attempt < self.config.send_attempts:
                self.sleep(self.config.send_backoff_s * 2 ** (attempt - 1))
        return Sent(attempts=self.config.send_attempts, error=error)

    def media(self, media_id: str) -> tuple[bytes, str]:
        """The bytes and MIME type of a media file: ``GET /{media_id}`` → ``url``, then that URL with the token."""
        try:
            meta = self.http.get(f"{self.config.whatsapp_graph_url}/{media_id}", headers=self._headers())
            self._check(meta, "media lookup")
            info = meta.json()
            url = info.get("url") if isinstance(info, dict) else None
            if not url:
                raise GraphError("media lookup: no url in the answer", retry=False)
            download = self.http.get(str(url), headers=self._headers())
            self._check(download, "media download")
        except (httpx.HTTPError, ValueError) as exc:
            raise GraphError(f"media: {type(exc).__name__}: {exc}", retry=True) from exc
        return download.content, str(info.get("mime_type") or "")

    def close(self) -> None:
        self.http.close()


# ---------------------------------------------------------------- the channel


@dataclass(frozen=True)
class FlushJob:
    """A burst to close: answer the chat if ``generation`` is still its newest, and send the replies to ``to``."""

    chat_id: int
    generation: int
    to: str = field(repr=False)  # the customer's phone, carried by the job only (never stored in clear)


class WhatsApp:
    """Receive deliveries (idempotently) and flush bursts (one winner) for the WhatsApp channel."""

    def __init__(self, turns: Turns, config: ServerConfig, graph: GraphClient, *, window_s: float) -> None:
        self.turns = turns
        self.config = config
        self.graph = graph
        self.window_s = window_s
        self.channels = Channels(turns.store)

    def receive(self, message: InboundMessage) -> FlushJob | None:
        """Queue one delivered message; the flush to schedule, or None for a delivery already taken."""
        hashed = contact_hash(self.config.whatsapp_app_secret, CHANNEL, message.wa_id)
        chat_id = self.channels.chat_for(CHANNEL, hashed, lambda: self.turns.new_chat("server", "WhatsApp"))
        if self.channels.taken(CHANNEL, message.id):  # cheap early exit; the unique key is what decides
            return None
        attachments = self._attachments(message)
        accepted: Accepted | None = self.channels.accept(
            CHANNEL, message.id, chat_id, message.text, attachments, kind=message.kind,
            source=MEDIA_KINDS.get(message.kind), window_s=self.window_s)
        if accepted is None:
            log.info("whatsapp: delivery already taken (chat %s), ignored", chat_id)
            return None
        return FlushJob(chat_id, accepted.generation, message.wa_id)

    def _attachments(self, message: InboundMessage) -> tuple[Attachment, ...]:
        kind = MEDIA_KINDS.get(message.kind)
        if kind is None or message.media_id is None:
            return ()
        mime = message.mime.split(";")[0].strip()
        try:
            data, served = self.graph.media(message.media_id)
            mime = served.split(";")[0].strip() or mime
        except GraphError as exc:
            # Queued empty: the turn answers with the media error reply (the file did not arrive), costed as usual.
            log.warning("whatsapp: media %s could not be fetched (%s)", message.media_id, exc)
            data = b""
        filename = f"whatsapp-{message.media_id}.{_EXTENSIONS.get(mime, 'bin')}"
        return (Attachment(kind=kind, filename=filename, data=data, mime=mime),)

    def receipts(self, receipts: list[Receipt]) -> list[bool]:
        """A delivery's status callbacks, each recorded on the reply it names (delivered, read, failed), in one
        transaction; for each, False when no reply of ours has that message id (or the status would move it
        back: callbacks can arrive out of order)."""
        if not receipts:
            return []
        return self.channels.reply_statuses(CHANNEL, [(r.message_id, r.status, r.error) for r in receipts])

    def flush(self, job: FlushJob) -> ChatAnswer | None:
        """Answer the burst if this job's generation still wins, then send each reply once."""
        if not self.channels.claim(job.chat_id, job.generation):
            return None  # a newer message moved the burst on (its own flush answers), or this one already ran
        answer = self.turns.answer(job.chat_id)
        for position, text in enumerate(answer.replies):
            reply_id = self.channels.start_reply(CHANNEL, job.chat_id, job.generation, position)
            if reply_id is None:
                continue
            sent = self.graph.send_text(job.to, text)
            status = "sent" if sent.error is None else "failed"
            if sent.error is not None:
                log.error("whatsapp: reply %s of chat %s not sent after %s attempts: %s", position, job.chat_id,
                          sent.attempts, sent.error)
            self.channels.finish_reply(reply_id, status, sent.attempts, sent.message_id, sent.error)
        return answer
