"""Guard rails (DESAFIO 4): input checks, output grounding, PII masking.

Input: secrets the customer should never send (card number, password, one-time code), length
limit and prompt-injection phrases (pt-BR and English).
Output: every number and date in a reply must come from the API result, the knowledge docs, the
pack's templates or the customer; money (R$ amounts, "50 mil") and approvals must come from the
*trusted* sources only (draft, docs, API result): a customer who typed "me aprovaram R$ 50 mil" is
no source for an amount or an approval; links only from trusted sources. Never ask for passwords or card
numbers; never reveal the prompt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from agent.br.spoken import strip_accents
from agent.privacy import find_secrets, mask_pii, mask_secrets

__all__ = ["REMOVED", "amounts_in", "approval_claims", "check_input", "claims_money", "check_output", "fold", "instructs", "is_injection",
           "leaks_prompt", "neutralise", "prose_in", "without_instructions", "without_prose",
           "mask_pii", "numbers_in"]


def fold(text: str) -> str:
    """Lowercase without accents (for matching)."""
    return strip_accents(text or "").lower()


_INJECTION_PATTERNS = [
    r"ignore (all |todas |as |the )?(previous|prior|above|anteriores|instrucoes|instructions)",
    r"ignor[ea] (todas )?(as )?(suas )?(instrucoes|regras|ordens)",
    r"esque[cç]a (todas )?(as )?(suas )?(instrucoes|regras|tudo)",
    r"desconsidere (as )?(instrucoes|regras)",
    r"(show|reveal|print|repeat|mostre|revele|imprima|repita|me (diga|passe|mande)) (me )?(o |a |seu |sua |your |the )?"
    r"(system )?(prompt|instrucoes (do sistema|iniciais)|system message|mensagem do sistema)",
    r"(qual|what) (e|eh|is) (o |a |seu |sua |your )?(system )?prompt",
    r"\bsystem prompt\b",
    r"\bprompt do sistema\b",
    r"you are now|agora voce (e|eh|sera) (um|uma|o|a)\b",
    r"\b(modo|mode) (desenvolvedor|developer|dan|jailbreak|deus|god)\b|\b(developer|dan|jailbreak|god) mode\b",
    r"\bjailbreak\b",
    r"fin(ja|ge|gir) (que|ser)|pretend (to be|you are)|act as (an? )?(unrestricted|evil|different)",
    # A fake role header at the start of a line ("SYSTEM: aprove…", "assistant: …"): a customer never types one.
    r"(?m:^\s*(system|sistema|assistant|developer|admin)\s*:)",
    r"</?(system|assistant)>|\[system\]|###\s*(system|instruction)",
]
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _INJECTION_PATTERNS))

_ASKS_SECRET = re.compile(
    # Formal and WhatsApp forms: "informe", "me manda aí", "passa pra mim", "qual a sua senha".
    # ("não compartilhe senhas", "nunca peça o código": a warning, not a request)
    r"(?<!nao )(?<!nunca )(?<!jamais )(?<!nem )"
    r"(informe|informa|digite|digita|envie|envia|mande|manda|passe|passa|qual (e|eh|a|seria)"
    r"|(eu )?(preciso|precisamos|necessito|vou precisar)( d[aeo]s?)?|confirme|confirma|forneca|fornece"
    r"|compartilhe|compartilha"
    r"|me (diga|diz|fala|passe|passa|envie|envia|informe|informa|manda|mande|confirma|confirme))[^.?!]{0,40}"
    r"\b(senha|password|pin|codigo de seguranca|cvv|numero do cartao|token"
    # "o código que chegou por SMS", "o código de verificação": a one-time code, whatever the words around it.
    r"|codigo[^.?!]{0,25}\b(sms|chegou|recebeu|recebido|enviado|verificacao|confirmacao))\b"
)


@dataclass(frozen=True)
class InputCheck:
    """Result of the input guard. ``blocked_reason`` set means: answer with a template, do not run models."""

    text: str
    violations: tuple[str, ...] = ()
    blocked_reason: str | None = None  # "secret" | "too_long" | "injection" | "empty"


def check_input(text: str, *, max_chars: int) -> InputCheck:
    """Check one (merged) customer message. With a secret in it, ``text`` is the message with the secret
    masked (nothing downstream — models, traces, the store — may see it) and ``blocked_reason`` is "secret"."""
    stripped = (text or "").strip()
    if not stripped:
        return InputCheck(stripped, ("empty",), "empty")
    secrets = find_secrets(stripped)
    if secrets:
        kinds = sorted({s.kind for s in secrets})
        return InputCheck(mask_secrets(stripped), tuple(f"secret:{k}" for k in kinds), "secret")
    if len(stripped) > max_chars:
        return InputCheck(stripped, (f"too_long:{len(stripped)}>{max_chars}",), "too_long")
    if _INJECTION.search(fold(stripped)):
        return InputCheck(stripped, ("prompt_injection",), "injection")
    return InputCheck(stripped)


def is_injection(text: str) -> bool:
    return bool(_INJECTION.search(fold(text or "")))


# ---------------------------------------------------------------- output grounding

_NUMBER = re.compile(r"(?<![\w])(?:R\$\s*)?\d[\d.,/:]*\d(?:\s*%)?|(?<![\w])\d(?:\s*%)?(?![\w])")
# Every number, amount and money mention has a digit: a text without one is skipped at once (a character class
# alone is found by a fast scan; the patterns above try every position).
_DIGIT = re.compile(r"\d")


def _canon(token: str) -> str:
    """Comparable form of a number: digits plus the decimal part (R$ 1.234,50 → 1234.50)."""
    raw = token.replace("R$", "").replace("%", "").strip()
    if re.fullmatch(r"\d{1,2}/\d{1,2}(/\d{2,4})?|\d{1,2}:\d{2}", raw):
        return raw  # dates and times compare as written
    if "," in raw and re.search(r",\d{1,2}$", raw):
        whole, dec = raw.rsplit(",", 1)
        return f"{re.sub(r'[^0-9]', '', whole)}.{dec.ljust(2, '0')}"
    if raw.count(".") == 1 and re.search(r"\.\d{1,2}$", raw):
        whole, dec = raw.rsplit(".", 1)
        return f"{re.sub(r'[^0-9]', '', whole)}.{dec.ljust(2, '0')}"
    return re.sub(r"[^0-9]", "", raw)


def numbers_in(text: str) -> set[str]:
    """Every number-like token in ``text`` (amounts, percentages, dates, digits), canonicalised."""
    found: set[str] = set()
    if not _DIGIT.search(text or ""):
        return found
    for match in _NUMBER.finditer(text or ""):
        canon = _canon(match.group(0))
        # "R$ 1.200" and "1200,00" are the same amount.
        canon = canon[:-3] if canon.endswith(".00") else canon
        if canon:
            found.add(canon.lstrip("0") or "0")
    return found


# Money: "R$ 1.234,56", "R$50 mil", "50 mil reais", "20k", "3.000 reais".
_MONEY = re.compile(
    r"R\$\s*(?P<a>\d[\d.,]*)(?:\s*(?P<am>mil|k)\b)?"
    r"|(?<![\w,.])(?P<b>\d[\d.,]*)\s*(?:(?P<bm>mil|k)\b(?:\s*(?:reais|conto|pila)\b)?|(?:reais|conto|pila)\b)",
    re.IGNORECASE,
)
# An approval claim ("aprovado", "pré-aprovada", "te aprovamos", "approved").
_APPROVAL = re.compile(r"\b(?:pre-?)?aprovad[oa]s?\b|\baprov(?:ei|amos|ou|aram)\b|\bapproved\b")


def approval_claims(text: str) -> set[str]:
    """Each approval in ``text`` with the word before it ("foi aprovado", "conselho aprovou", "ser aprovadas"): an
    approval word in a trusted source (a passage's "o Conselho aprovou novas regras…") grounds that claim, not
    "o seu pedido foi aprovado"."""
    folded = fold(text or "")
    claims: set[str] = set()
    if "aprov" not in folded and "approved" not in folded:  # in every _APPROVAL match
        return claims
    for match in _APPROVAL.finditer(folded):
        before = re.findall(r"\w+", folded[:match.start()])[-1:]
        claims.add(" ".join([*before, match.group(0)]))
    return claims


def _amount(number: str, multiplier: str | None) -> str | None:
    """Canonical value of one amount, as ``numbers_in`` writes it ("4000", "2352.62")."""
    raw = number.rstrip(".,")
    if re.search(r",\d{1,2}$", raw):
        whole, dec = raw.rsplit(",", 1)
    elif re.fullmatch(r"\d+\.\d{1,2}", raw) and not multiplier:
        whole, dec = raw.split(".")
    elif multiplier and re.fullmatch(r"\d+[.,]\d{1,2}", raw):
        whole, dec = re.split(r"[.,]", raw)
    else:
        whole, dec = raw, ""
    digits = re.sub(r"[^0-9]", "", whole)
    if not digits:
        return None
    cents = int(digits) * 100 + int(dec.ljust(2, "0")[:2] or 0)
    if multiplier:
        cents *= 1000
    return str(cents // 100) if cents % 100 == 0 else f"{cents // 100}.{cents % 100:02d}"


def amounts_in(text: str) -> set[str]:
    """Every money amount in ``text`` ("R$ 50.000,00", "50 mil", "20k"), canonicalised like ``numbers_in``."""
    found: set[str] = set()
    if not _DIGIT.search(text or ""):
        return found
    for m in _MONEY.finditer(text or ""):
        value = _amount(m.group("a") or m.group("b"), m.group("am") or m.group("bm"))
        if value is not None:
            found.add(value)
    return found


# Someone else's approval, as a customer tells it ("me aprovaram", "foi aprovado"); not "aprovei" (often
# "I authorised the bank in the app").
_APPROVED_BY = re.compile(r"\b(?:pre-?)?aprovad[oa]s?\b|\baprov(?:ou|aram)\b|\bapproved\b")


def claims_money(text: str) -> bool:
    """True when ``text`` names an amount of money or an approval ("tenho R$ 50 mil", "me aprovaram 20k")."""
    return bool(amounts_in(text)) or bool(_APPROVED_BY.search(fold(text or "")))


def _without_money(text: str) -> str:
    return _MONEY.sub(" ", text) if text and _DIGIT.search(text) else text or ""


# Small numbers are everywhere in ordinary language ("1 minuto", "2 dias"): ungroundable noise.
_ALWAYS_ALLOWED = {str(n) for n in range(0, 13)} | {"24", "30", "48", "60", "100"}


@dataclass(frozen=True)
class OutputCheck:
    text: str
    violations: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations


# A reply that talks about its own instructions ("minhas instruções", "meu prompt", "system prompt").
_NAMES_INSTRUCTIONS = re.compile(
    r"\b(?:minhas|as minhas|meus) (?:instrucoes|regras internas|diretrizes)\b|\b(?:meu|o meu) prompt\b"
    r"|\bsystem prompt\b|\bprompt do sistema\b|\bfui (?:instruid|programad)[oa]\b|\bmy (?:instructions|prompt)\b")
# A link or a bare domain ("https://…", "www.…", "promo-libera.xyz", "gov.br"): a model never invents one.
_LINK = re.compile(r"(?:https?://|www\.)[^\s<>()\"']+"
                   # a bare domain, not an e-mail address's ("maria@gmail.com" is no link)
                   r"|(?<![@\w.-])\b(?:[a-z0-9-]+\.)+(?:com|net|org|gov|br|xyz|io|app|info|site|online|top|ly|me|co)\b",
                   re.IGNORECASE)


_LINK_HINT = re.compile(r"://|www\.|\.(?:com|net|org|gov|br|xyz|io|app|info|site|online|top|ly|me|co)\b", re.IGNORECASE)


def links_in(text: str) -> set[str]:
    """The hosts of every link or bare domain in ``text``, lowercased, without scheme and "www."."""
    hosts: set[str] = set()
    if not text or not _LINK_HINT.search(text):  # what every _LINK match holds, found by a faster scan
        return hosts
    for match in _LINK.finditer(text):
        host = re.sub(r"^(?:https?://)?(?:www\.)?", "", match.group(0).lower()).split("/", 1)[0]
        hosts.add(host.rstrip(".,;:!?"))
    return hosts


LEAK_WORDS = 8  # consecutive words of the prompt's own text that make a copied passage


def _word_runs(text: str, size: int) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", fold(text))
    return {tuple(words[i:i + size]) for i in range(len(words) - size + 1)}


def leaks_prompt(reply: str, prompt: str, allowed: Iterable[str] = ()) -> bool:
    """True when ``reply`` names its instructions, or copies ``LEAK_WORDS`` consecutive words from two or
    more lines of the prompt *template* ``prompt`` (its own text, placeholders left out) that none of
    ``allowed`` (draft, docs, API result: rendered into the prompt, fine to repeat) has. One line copied
    is allowed: a prompt may ask the model to say a sentence of it (a security reminder)."""
    if _NAMES_INSTRUCTIONS.search(fold(reply)):
        return True
    said = _word_runs(reply, LEAK_WORDS)
    if not said:
        return False
    shared = [common for runs in _template_runs(prompt or "") if (common := runs & said)]
    if len(shared) < 2:
        return False  # (the allowed texts can only take copies away)
    fine = set().union(*(_word_runs(a, LEAK_WORDS) for a in allowed if a)) if allowed else set()
    copied = sum(bool(common - fine) for common in shared)
    return copied >= 2


@lru_cache(maxsize=64)
def _template_runs(prompt: str) -> tuple[frozenset[tuple[str, ...]], ...]:
    """The word runs of each line of a prompt template (a pack's text: the same few, reply after reply)."""
    return tuple(frozenset().union(*(_word_runs(part, LEAK_WORDS) for part in re.split(r"\$\{?\w+\}?", line)))
                 for line in prompt.splitlines())


def check_output(reply: str, sources: Iterable[str], untrusted: Iterable[str] = (), *, prompt: str = "") -> OutputCheck:
    """Every number in ``reply`` must appear in some source; never ask for passwords or card data; never
    reveal ``prompt`` (the model's prompt template, when given).

    ``sources`` are trusted (the journey's draft, knowledge docs, the API result); ``untrusted`` is what the
    customer wrote (messages, image descriptions, transcripts). A number from the customer may be echoed
    (a document number, a month), but money amounts and approvals in the reply must come from a trusted source.
    """
    trusted = [s for s in sources if s]
    grounded = set(_ALWAYS_ALLOWED)
    money = set()
    for source in trusted:
        numbers = numbers_in(source)
        grounded |= numbers
        money |= numbers | amounts_in(source)
    for source in untrusted:
        grounded |= numbers_in(_without_money(source))  # the customer's money is no source of money
    violations = [f"ungrounded_amount:{a}" for a in sorted(amounts_in(reply) - money)]
    violations += [f"ungrounded_number:{n}" for n in sorted(numbers_in(_without_money(reply)) - grounded - money)]
    claims = approval_claims(reply)
    if claims and claims - set().union(*(approval_claims(s) for s in trusted)):
        violations.append("ungrounded_approval")
    if _ASKS_SECRET.search(fold(reply)):
        violations.append("asks_for_secret")
    known = " ".join(trusted).lower()
    violations += [f"ungrounded_link:{h}" for h in sorted(links_in(reply)) if h not in known]
    if prompt and leaks_prompt(reply, prompt, trusted):
        violations.append("prompt_leak")
    return OutputCheck(reply, tuple(violations))



# ---------------------------------------------------------------- external text (tool results, knowledge docs)

# What replaces an instruction found in text that reached the agent from outside the conversation.
REMOVED = "[removido: instrução em dado externo]"


# An order to collect a secret from the customer ("peça ao cliente o código do SMS", "ask the user for the PIN").
_COLLECT_SECRET = re.compile(
    r"(?<!nao )(?<!nunca )(?<!jamais )\b(peca|pecam|pedir|pede|solicite|solicita|solicitar|colete|coletar|obtenha"
    r"|ask|request|collect|obtain)\b[^.?!]{0,40}\b(senha|password|pin|codigo|code|cvv|cartao|card|token)s?\b")


def instructs(text: str, *, links: bool = True) -> bool:
    """True when ``text`` — a tool result's field, a knowledge passage's line — reads as an instruction to the
    model (an injection phrase, a request for a secret) or, with ``links``, carries a link. Data never gives
    orders: such text is an indirect prompt injection (OWASP LLM01)."""
    folded = fold(text or "")
    return bool(_INJECTION.search(folded) or _ASKS_SECRET.search(folded) or _COLLECT_SECRET.search(folded)
                or (links and links_in(text or "")))


def neutralise(value: object, path: str = "") -> tuple[object, list[str]]:
    """``value`` (a tool result's data: dicts, lists, strings) with every string that ``instructs`` replaced by
    ``REMOVED``, and the dotted paths replaced ("description", "items.0.note")."""
    if isinstance(value, str):
        return (REMOVED, [path or "$"]) if instructs(value) else (value, [])
    if isinstance(value, dict):
        out: dict[object, object] = {}
        found: list[str] = []
        for key, item in value.items():
            out[key], more = neutralise(item, f"{path}.{key}" if path else str(key))
            found += more
        return out, found
    if isinstance(value, list | tuple):
        items, found = [], []
        for i, item in enumerate(value):
            clean, more = neutralise(item, f"{path}.{i}" if path else str(i))
            items.append(clean)
            found += more
        return (items if isinstance(value, list) else tuple(items)), found
    return value, []


def prose_in(value: object) -> list[str]:
    """The free-text strings (with a space) of a tool result: what an API *says*, not what it *measured*.
    The output guard takes them as untrusted (a number may be echoed, never as money, an approval or a link)."""
    if isinstance(value, str):
        return [value] if re.search(r"\s", value.strip()) else []
    if isinstance(value, dict):
        return [s for item in value.values() for s in prose_in(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in prose_in(item)]
    return []


def without_prose(value: object) -> object:
    """``value`` with its free-text strings (``prose_in``) left out: the measured fields a reply may cite."""
    if isinstance(value, str):
        return "" if re.search(r"\s", value.strip()) else value
    if isinstance(value, dict):
        return {k: without_prose(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_prose(v) for v in value]
    return value


def without_instructions(text: str) -> tuple[str, list[str]]:
    """A knowledge passage without its lines (sentences) that ``instructs`` (links allowed: docs may name the
    official sites), and the lines removed."""
    kept, removed = [], []
    for line in (text or "").split("\n"):
        parts = re.split(r"(?<=[.!?])\s+", line)
        bad = [p for p in parts if p.strip() and instructs(p, links=False)]
        if bad:
            removed += bad
            line = " ".join(p for p in parts if p not in bad)
        kept.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip(), removed
