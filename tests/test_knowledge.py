"""Knowledge retrieval: parsing, FTS5 index, paraphrase top-1/top-3, hybrid hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.adapters import knowledge

# Customer-style paraphrases (not copied from the questions or "Também perguntam" lines),
# at least one per FAQ entry; faq_id is the entry that must answer it.
PARAPHRASES: list[tuple[str, str]] = [
    ("oq é esse tal de saque aniversario?", "o-que-e"),
    ("me explica essa modalidade do fgts de sacar todo ano", "o-que-e"),
    ("onde eu faço a adesao ao saque aniversario", "como-aderir"),
    ("como eu entro no saque aniversário pelo aplicativo", "como-aderir"),
    ("to desempregado, consigo aderir mesmo assim?", "quem-pode-aderir"),
    ("trabalhadora domestica pode optar?", "quem-pode-aderir"),
    ("em que mes o dinheiro do saque fica liberado?", "quando-recebo"),
    ("se eu nao sacar no prazo o dinheiro some?", "quando-recebo"),
    ("qual a porcentagem que eu recebo do meu saldo", "valor"),
    ("com 3 mil de saldo quanto eu saco por ano", "valor"),
    ("o saldo das contas antigas de outros empregos entra no calculo?", "contas-inativas"),
    ("posso receber o saque numa conta do nubank?", "onde-credita"),
    ("se a empresa me demitir eu recebo o saldo todo?", "demissao"),
    ("fui demitido sem justa causa, e a multa de 40%?", "demissao"),
    ("quero voltar pro saque rescisao, como faço?", "arrependimento"),
    ("quanto tempo demora pra sair do saque aniversario?", "arrependimento"),
    ("ainda consigo usar o fgts pra comprar minha casa?", "outros-usos"),
    ("como funciona esse emprestimo que adianta o saque?", "antecipacao"),
    ("a antecipação desconta do meu salario todo mes?", "antecipacao"),
    ("qual a taxa de juros de vcs?", "juros"),
    ("quanto custa antecipar, tem iof?", "juros"),
    ("consigo adiantar quantos anos do saque?", "quantas-parcelas"),
    ("o que mudou no fgts em novembro, tem teto agora?", "novas-regras"),
    ("é verdade que agora so da pra antecipar 500 por parcela?", "novas-regras"),
    ("entrei no saque aniversario semana passada, ja consigo adiantar?", "carencia"),
    ("quantos dias tenho que esperar depois de optar pra pegar o dinheiro?", "carencia"),
    ("da pra fazer duas antecipações no mesmo ano?", "uma-operacao-por-ano"),
    ("posso fazer outra antecipação esse ano de novo?", "uma-operacao-por-ano"),
    ("tenho nome sujo no serasa, posso fazer?", "quem-pode-antecipar"),
    ("precisa comprovar renda pra antecipar?", "quem-pode-antecipar"),
    ("como libero o banco no app do fgts?", "autorizar-banco"),
    ("deu cpf não autorizado, o que eu faço?", "autorizar-banco"),
    ("depois que eu assinar, o pix cai em quanto tempo?", "prazo-credito"),
    ("quantos dias demora pra receber a antecipação?", "prazo-credito"),
    ("contratei e me arrependi, da pra cancelar?", "cancelar-antecipacao"),
    ("posso quitar a antecipação antes do prazo?", "cancelar-antecipacao"),
    ("que documento eu preciso mandar?", "documentos"),
    ("ja fiz antecipação no outro banco, da pra fazer de novo aqui?", "operacao-ativa"),
    ("meu fgts ta zerado, consigo antecipar?", "sem-saldo"),
    ("vcs vao pedir minha senha do gov?", "seguranca"),
    ("me pediram um codigo de sms, isso é golpe?", "seguranca"),
    ("o que voces fazem com o meu cpf?", "lgpd"),
    ("quero que apaguem meus dados", "lgpd"),
    ("vcs atendem sabado?", "horario"),
    ("quero conversar com um humano", "atendente"),
    ("pra que vcs precisam do meu mes de nascimento?", "mes-nascimento"),
]


def test_knowledge_has_at_least_fifteen_entries_with_unique_ids() -> None:
    entries = knowledge.load_entries()
    assert len(entries) >= 15
    assert len({e.faq_id for e in entries}) == len(entries)
    for entry in entries:
        assert "?" in entry.question, entry.faq_id
        assert len(entry.answer) > 80, entry.faq_id


def test_every_entry_has_a_paraphrase() -> None:
    ids = {e.faq_id for e in knowledge.load_entries()}
    covered = {faq_id for _, faq_id in PARAPHRASES}
    assert covered == ids
    assert len(PARAPHRASES) >= 30


def test_paraphrase_retrieval_top1_top3() -> None:
    kb = knowledge.load_knowledge()
    top1 = top3 = 0
    misses = []
    for query, faq_id in PARAPHRASES:
        ids = [p.faq_id for p in kb.search(query, k=3)]
        top1 += bool(ids) and ids[0] == faq_id
        top3 += faq_id in ids
        if not ids or ids[0] != faq_id:
            misses.append(f"  {query!r}: expected {faq_id}, got {ids}")
    n = len(PARAPHRASES)
    print(f"\nFAQ retrieval on {n} paraphrases: top-1 {top1}/{n} = {top1 / n:.1%}, "
          f"top-3 {top3}/{n} = {top3 / n:.1%}")
    print("\n".join(misses))
    assert top3 / n >= 0.9
    assert top1 / n >= 0.75


def test_passages_carry_id_question_answer_and_descending_scores() -> None:
    passages = knowledge.search("quais sao os juros da antecipacao", k=3)
    assert [p.rank for p in passages] == [1, 2, 3]
    assert passages[0].faq_id == "juros"
    assert passages[0].question.startswith("Quais são os juros")
    assert "CET" in passages[0].answer
    assert passages[0].score >= passages[1].score >= passages[2].score
    text = knowledge.format_passages(passages)
    assert "[1]" in text and "faq_id: juros" in text


def test_accents_and_prefixes_do_not_matter() -> None:
    with_accents = [p.faq_id for p in knowledge.search("antecipação", k=3)]
    without = [p.faq_id for p in knowledge.search("antecipacao", k=3)]
    assert with_accents == without and with_accents


def test_empty_or_stopword_query_returns_nothing() -> None:
    assert knowledge.search("", k=3) == []
    assert knowledge.search("o que é", k=3) == []


def test_index_is_built_once_per_pack() -> None:
    assert knowledge.load_knowledge() is knowledge.load_knowledge()


def test_hybrid_ranking_uses_the_embedding_function() -> None:
    calls: list[int] = []

    def embed(texts):
        # A toy embedding: one dimension per topic word, enough to prove the fusion path runs.
        calls.append(len(texts))
        vocab = ["juros", "golpe", "senha", "demitido", "horario"]
        return [[float(w in t.lower()) for w in vocab] + [0.01] for t in texts]

    kb = knowledge.KnowledgeBase(knowledge.load_entries(), embed=embed)
    passages = kb.search("tenho medo de golpe, pedem senha?", k=3)
    assert passages[0].faq_id == "seguranca"
    assert calls[0] == len(kb.entries)  # corpus embedded once
    kb.search("juros", k=3)
    assert calls.count(len(kb.entries)) == 1


def test_parse_markdown_and_slug_fallback(tmp_path: Path) -> None:
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "a.md").write_text(
        "# Título\nintro ignorada\n\n## Posso pagar com Pix?\nTambém perguntam: pix; qr code\n\nSim, "
        "aceitamos Pix.\n\n## Tem app? {#app}\nTemos.\n",
        encoding="utf-8",
    )
    entries = knowledge.load_entries(tmp_path)
    assert [e.faq_id for e in entries] == ["posso-pagar-com-pix", "app"]
    assert entries[0].alternates == ("pix", "qr code")
    assert entries[0].answer == "Sim, aceitamos Pix."


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "a.md").write_text("## A? {#x}\nUm.\n## B? {#x}\nDois.\n", encoding="utf-8")
    with pytest.raises(knowledge.KnowledgeError, match="used twice"):
        knowledge.load_entries(tmp_path)
