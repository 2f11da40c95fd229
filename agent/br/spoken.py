"""Text as Brazilians dictate and type it: accents stripped, spelled-out digits turned into digits."""

from __future__ import annotations

import re
import unicodedata

NUMBER_WORDS = {
    "zero": "0", "um": "1", "uma": "1", "dois": "2", "duas": "2", "tres": "3", "quatro": "4",
    "cinco": "5", "seis": "6", "meia": "6", "sete": "7", "oito": "8", "nove": "9",
}


class _NoCombining(dict[int, int | None]):
    """``str.translate`` table that drops combining marks, filled one character at a time."""

    def __missing__(self, code: int) -> int | None:
        kept = self[code] = None if unicodedata.combining(chr(code)) else code
        return kept


_NO_COMBINING = _NoCombining()


def strip_accents(text: str) -> str:
    """Remove diacritics ("três" → "tres")."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).translate(_NO_COMBINING)


def words_to_digits(text: str) -> str:
    """Turn runs of spelled-out digits ("zero sete três …") into digits; lone words stay words."""
    tokens = re.split(r"(\s+|,)", text)
    out: list[str] = []
    run: list[int] = []  # indexes in `out` of the current run of digit words/digits

    def close_run() -> None:
        # Fewer than 3 in a row ("um nome", "duas vezes") are ordinary words, not dictated digits.
        if len(run) >= 3:
            for i in run:
                word = out[i].rstrip(".;!?")
                if not word.isdigit():
                    out[i] = NUMBER_WORDS[strip_accents(word.lower())] + out[i][len(word):]
        run.clear()

    for token in tokens:
        # A transcript punctuates dictated digits ("zero, sete, três. Seis…"): the dot is a pause.
        key = strip_accents(token.lower()).rstrip(".;!?")
        if key in NUMBER_WORDS or key.isdigit():
            out.append(token)
            run.append(len(out) - 1)
        elif token.strip(", ") == "" and run:
            out.append(token)
        else:
            if run:
                close_run()
            out.append(token)
    if run:
        close_run()
    return "".join(out)
