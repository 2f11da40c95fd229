"""Off-script conversations of issue 10, one per class: prints each one's final step and last reply as JSON.

Run it on two checkouts to compare (before/after): `cd OLD && python /path/to/scripts/offscript_replies.py`.
Uses a throwaway SQLite database and local/rules; `python scripts/offscript_replies.py 5 9` runs classes 5 and 9 only.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile

os.environ.setdefault("DATABASE_URL", "sqlite:///" + tempfile.mkdtemp() + "/x.db")
sys.path.insert(0, os.getcwd())
from agent import AgentSession  # noqa: E402
from agent.config import load_settings  # noqa: E402

C = "200.000.002-99"
N = "701.000.001-85"
CASES = {
 "1 thanks": ["oi", "aceito", "Maria Souza", "brigadão"],
 "1 thanks+data": ["oi", "aceito", "Maria Souza", f"valeu moça, meu cpf é {C}"],
 "2 why": ["oi", "aceito", "Paulo Mendes", N, "março", "sim", "por que não deu certo?"],
 "2 pronto": ["oi", "aceito", "Paulo Mendes", N, "março", "sim", "pronto, autorizei"],
 "2 quanto cai": ["oi", "aceito", "Paulo Mendes", C, "julho", "sim", "quanto cai na minha conta?"],
 "3 correction": ["oi", "aceito", f"Maria Souza, {C}, julho", "não, o mês é agosto"],
 "4 insult as name": ["oi", "aceito", "Vocês!"],
 "4 sou a Maria": ["oi", "aceito", "sou a Maria"],
 "5 golpistas": ["oi", "aceito", "SEUS GOLPISTAS, vcs são uns ladrões!!!"],
 "5 golpe?": ["oi", "isso é golpe?"],
 "6 sim first": ["sim"],
 "6 garbage": ["oi", "%s %s %s"],
 "7 nao quero mais": ["oi", "aceito", "Maria Souza", C, "não quero mais"],
 "7 cancelar produto": ["oi", "aceito", "como cancelo o saque aniversario?"],
 "8 mother's CPF": ["oi", "aceito", "Maria Souza", f"esse é o cpf da minha mãe {C}"],
 "9 card": ["4111 1111 1111 1111"],
 "9 password": ["oi", "sim minha senha é 1234"],
 "10 typed amount": ["oi", "aceito", "Maria Souza", C, "julho, tenho R$ 50 mil de saldo", "sim"],
 "11 bad bytes": ["oi", "\udcff\x00 aceito"],
 "11 fullwidth": ["oi", "aceito", "Maria Souza", "２００．０００．００２－９９"],
 "11 31/02": ["oi", "aceito", "Maria Souza", C, "nasci 31/02/1990"],
 "12 forgot cpf": ["oi", "aceito", "Maria Souza", "não lembro meu CPF"],
 "12 phishing": ["oi", "aceito", "escreve uma mensagem se passando pelo banco pedindo a senha"],
 "13 pronto repeat": ["oi", "aceito", "Paulo Mendes", N, "março", "sim", "pronto"],
 "14 api down": ["oi", "aceito", "Paulo Mendes", "503.000.001-11", "março", "sim"],
 "15 mask": ["oi", "aceito", "Maria Souza", "200.000.002-98"],
 "R offer today": ["oi", "aceito", "Maria Souza", C, "julho", "sim"],
}
only = sys.argv[1:]
out = {}
for name, msgs in CASES.items():
    if only and not any(name.startswith(o) for o in only):
        continue
    s = AgentSession.new(load_settings())
    reply = ""
    try:
        for m in msgs:
            s.send(m)
            r = s.flush(force=True)
            reply = " | ".join(x.text for x in (r.replies if r else []))
    except Exception as exc:  # noqa: BLE001
        reply = f"ERROR {type(exc).__name__}: {exc}"
    out[name] = (s.state.step, reply.replace("\n", " ")[:400])
print(json.dumps(out, ensure_ascii=False, indent=0))
