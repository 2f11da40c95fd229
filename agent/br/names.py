"""Is this a person's name? Cleaning and a sanity check for names typed on WhatsApp.

``clean`` strips what people wrap around a name ("“Maria”", "Maria Souza 😊", "maria!!");
``problem`` says why a cleaned text is not a name: digits, length, or a word that no Brazilian name
has — pronouns, insults, verbs and other function words ("Vocês!", "vocês são uns ladrões",
"sou de agosto"). A sentence with a verb is not a name. Used by the offline NLU and by packs'
validators, so a value a model extracts goes through the same rule.
"""

from __future__ import annotations

import re
import unicodedata

from agent.br.spoken import strip_accents

# Connectors inside Brazilian names: "Maria da Silva", "João dos Santos", "Ana e Silva".
PARTICLES = frozenset({"da", "de", "do", "das", "dos", "e", "d"})

# Words that are never part of a name (accent-free, lowercase). Kept short and generic: pronouns
# and forms of address, articles and function words, common verbs, and insults/complaint words.
_PRONOUNS = {
    "eu", "tu", "voce", "voces", "vc", "vcs", "ele", "ela", "eles", "elas", "nos", "gente", "senhor",
    "senhora", "sr", "sra", "moca", "moco", "meu", "minha", "meus", "minhas", "seu", "sua", "seus",
    "suas", "nosso", "nossa", "dele", "dela", "isso", "isto", "esse", "essa", "este", "esta", "aquilo",
    "aquele", "aquela", "alguem", "ninguem", "todo", "todos", "tudo", "nada", "cara", "mano", "mana",
    "amigo", "amiga", "querida", "querido", "robo", "bot", "atendente",
}
_FUNCTION = {
    "o", "a", "os", "as", "um", "uma", "uns", "umas", "que", "qual", "quem", "como", "quando", "onde",
    "porque", "pq", "por", "para", "pra", "pro", "com", "sem", "em", "no", "na", "nos", "nas", "ao",
    "mas", "ou", "se", "nao", "sim", "ja", "so", "mais", "muito", "pouco", "aqui", "ali", "la", "ai",
    "entao", "tambem", "tbm", "agora", "hoje", "ontem", "amanha", "depois", "antes", "sempre", "nunca",
    "oi", "ola", "ok", "obrigado", "obrigada", "tchau", "bom", "boa", "dia", "tarde", "noite", "beleza",
    "blz", "valeu", "vlw", "kkk", "kkkk", "rs", "rsrs", "haha", "nome", "cpf", "fgts", "saque", "banco",
    "dinheiro", "mes", "errado", "certo", "correto", "verdade", "vdd", "serio", "mentira", "claro", "exato",
}
_VERBS = {
    "e", "eh", "sou", "somos", "sao", "es", "esta", "estao", "estou", "ta", "tao", "to", "foi", "foram",
    "era", "eram", "ser", "estar", "vai", "vao", "vou", "ir", "fui", "tem", "tenho", "temos", "ter",
    "quero", "quer", "queria", "querem", "pode", "posso", "podem", "sei", "sabe", "faz", "fazer", "fiz",
    "fez", "fazem", "fica", "ficar", "chamo", "chama", "nasci", "moro", "roubar", "roubam", "roubaram",
    "roubando", "enganar", "enganam", "enganando", "pagar", "paga", "paguei", "recebi", "receber",
    "devolve", "devolvam", "cancela", "cancelar", "desisto", "ajuda", "ajudar", "preciso", "precisa",
    "acho", "achei", "vem", "veio", "da", "dao", "deu", "dar", "ve", "ver", "vi", "olha", "escuta",
    "responde", "responder", "manda", "mandar", "mandei", "falo", "falei", "fala", "falar", "vamos",
    "bora", "processar", "processo", "denunciar", "reclamar", "aceito", "autorizo", "confirmo",
}
_INSULTS = {
    "ladrao", "ladroes", "ladra", "ladras", "golpe", "golpista", "golpistas", "bandido", "bandidos",
    "safado", "safados", "safada", "safadas", "lixo", "lixos", "merda", "porra", "caralho", "droga",
    "idiota", "idiotas", "burro", "burra", "burros", "otario", "otaria", "otarios", "vagabundo",
    "vagabundos", "vagabunda", "picareta", "picaretas", "pilantra", "pilantras", "fdp", "pqp", "vsf",
    "vtnc", "tnc", "palhaco", "palhacos", "palhacada", "corno", "mentiroso", "mentirosos", "mentirosa",
    "absurdo", "ridiculo", "ridicula", "vergonha", "fraude", "estelionato", "estelionatario",
    "estelionatarios", "procon", "reclame", "raiva", "odeio", "inferno", "desgraca", "desgracado",
    "desgracados", "lixeira", "nojo", "nojento", "nojentos", "incompetente", "incompetentes",
}
_INTERJECTIONS = {
    "aff", "affe", "afe", "ue", "hein", "hum", "hmm", "eita", "oxe", "oxi", "vixe", "puts", "putz", "opa",
    "ops", "ah", "oh", "ih", "ahn", "uai", "poxa", "po", "mds", "credo", "sei", "teste", "testando",
    "hehe", "kk", "kkkkk", "rsrsrs", "hahaha", "ta", "tá", "uhum", "aham", "blz", "pera", "peraí", "perai",
}
NOT_NAME_WORDS = frozenset(_INTERJECTIONS | _PRONOUNS | _FUNCTION | _VERBS | _INSULTS) - {"da", "de", "do", "e"}

_QUOTES = "\"“”‘«»`´*_~"  # and WhatsApp's bold/italic/strike marks
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]+(?:['’][A-Za-zÀ-ÖØ-öø-ÿ]+)?\.?")
MAX_WORDS = 8


def _key(word: str) -> str:
    return re.sub(r"(.)\1{2,}", r"\1", strip_accents(word.lower().strip(".'’")))


def strip_decoration(text: str) -> str:
    """``text`` without quotes, emojis, symbols and control characters (punctuation stays)."""
    text = unicodedata.normalize("NFKC", str(text))
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in _QUOTES or category.startswith(("S", "C")) or char in "\u200d\ufe0f":
            kept.append(" ")  # emojis, symbols, control characters, quotes
        else:
            kept.append(char)
    # An apostrophe inside a name stays ("D'Ávila", "Sant'Anna"); around it, it is a quote.
    return re.sub(r"(?<![A-Za-zÀ-ÖØ-öø-ÿ])['’]|['’](?![A-Za-zÀ-ÖØ-öø-ÿ])", " ", "".join(kept))


def clean(text: str) -> str:
    """The name as typed, without quotes, emojis, stray punctuation or extra spaces."""
    text = strip_decoration(text)
    text = re.sub(r"[!?,;:()\[\]{}*_~\"]+", " ", text)
    text = re.sub(r"(?<![A-Za-zÀ-ÿ])\.|\.(?=\.)", " ", text)  # dots that are not an initial's
    text = re.sub(r"\s+", " ", text).strip(" .-")
    return text


def problem(text: str) -> str | None:
    """Why the (cleaned) ``text`` is not a person's name, or None when it can be one.

    Reasons: ``digits``, ``length``, ``not_a_name`` (a pronoun, insult, verb or function word:
    a sentence or a complaint, not a name).
    """
    if any(c.isdigit() for c in text):
        return "digits"
    words = text.split()
    if not words or not 2 <= len(text) <= 120 or len(words) > MAX_WORDS:
        return "length"
    if any(not _WORD.fullmatch(w) for w in words):
        return "not_a_name"
    if any(w.lower() in {"é", "eh", "ê"} for w in words):  # "Maria é linda": a sentence
        return "not_a_name"
    keys = [_key(w) for w in words]
    if keys[0] in PARTICLES or keys[-1] in PARTICLES or len(keys[0]) < 2:
        return "not_a_name"
    if any(k in NOT_NAME_WORDS for k in keys if k not in PARTICLES):
        return "not_a_name"
    if any(k.endswith("mente") and len(k) > 6 for k in keys):  # adverbs: "absolutamente"
        return "not_a_name"
    if any(_KEYBOARD_MASH.search(k) or not re.search(r"[aeiouy]", k) for k in keys):
        return "not_a_name"  # "asdfgh", "qwrt": no name has five consonants in a row or no vowel
    return None


_KEYBOARD_MASH = re.compile(r"[^aeiouy\W]{5,}")


def normalize(text: str) -> str | None:
    """The cleaned name in title case ("maria da silva" → "Maria da Silva"), or None when it is not one."""
    cleaned = clean(text)
    if problem(cleaned) is not None:
        return None
    return titled(cleaned)


def capitalize(word: str) -> str:
    """"joão" → "João", "d'ávila" → "D'Ávila"."""
    return "'".join(part.capitalize() for part in word.replace("’", "'").split("'"))


def titled(text: str) -> str:
    """Title case that keeps particles lowercase and leaves mixed-case names as typed ("McDonald")."""
    words = text.split()
    out = []
    for i, word in enumerate(words):
        if i and _key(word) in PARTICLES:
            out.append(word.lower())
        elif word.islower() or word.isupper():
            out.append(capitalize(word))
        else:
            out.append(word)
    return " ".join(out)
