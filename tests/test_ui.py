"""The pages' shared text helpers (app_pages/ui.py), and the rule that keeps them out of agent/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from agent import placeholders
from app_pages.ui import highlight_variables, whatsapp_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_whatsapp_markdown() -> None:
    assert whatsapp_markdown("Responda *sim* ou _não_\n• *Nome*: 2 * 3") == (
        "Responda **sim** ou _não_  \n• **Nome**: 2 \\* 3")
    assert whatsapp_markdown("~errado~") == "~~errado~~"
    assert whatsapp_markdown("*R$ 1.350,00*") == "**R\\$ 1.350,00**"


def test_whatsapp_markdown_leaves_values_literal() -> None:
    # Masked values never become bold fragments (the old "***" form, stored in earlier chats, included).
    assert whatsapp_markdown("CPF •••.602.846-••, e-mail ma•••@gmail.com") == "CPF •••.602.846-••, e-mail ma•••@gmail.com"
    assert whatsapp_markdown("CPF ***.602.846-**") == "CPF \\*\\*\\*.602.846-\\*\\*"
    assert whatsapp_markdown("CPF 073.602.846-35") == "CPF 073.602.846-35"
    # Streamlit reads "$…$" as LaTeX: two amounts on a line must stay amounts.
    assert whatsapp_markdown("de R$ 100 a R$ 500 por parcela") == "de R\\$ 100 a R\\$ 500 por parcela"
    assert whatsapp_markdown("maria_souza@gmail.com") == "maria\\_souza@gmail.com"
    url = "https://www.caixa.gov.br/beneficios-trabalhador/fgts/saque_aniversario/Paginas/default.aspx"
    assert whatsapp_markdown(f"Veja {url}.") == f"Veja {url}."
    assert whatsapp_markdown("# não é título") == "\\# não é título"


def test_highlight_variables() -> None:
    html = highlight_variables("Oi $name, <b> R$ 500 e ${step} $novo", known={"name", "step"},
                               globals_={"step"})
    assert '<span class="var">$name</span>' in html
    assert '<span class="var-global">${step}</span>' in html
    assert '<span class="var-missing">$novo</span>' in html
    assert "&lt;b&gt;" in html and "R$ 500" in html


def test_highlighted_variables_are_the_agents_placeholders() -> None:
    # The agent owns the template syntax; the view must mark exactly what it substitutes.
    text = "$$name R$500 $1x ${} ${a b} $Nome ${step}x $_a$b $$$c & $d&"
    marked = re.findall(r'<span class="var">\$\{?(\w+)\}?</span>', highlight_variables(text))
    assert marked == list(placeholders(text))


def test_agent_never_imports_streamlit() -> None:
    for path in (ROOT / "agent").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] == "streamlit" for n in names), f"{path.relative_to(ROOT)} imports streamlit"
