"""Chat page: the live detractor alert (the pack's insights.yaml offers a person) and its handoff button."""

from __future__ import annotations

from test_page_chat import button, open_chat, say, settle, step


def test_a_detractor_gets_the_offer_and_the_button_hands_over(app_env) -> None:  # noqa: ANN001
    at = open_chat()
    for text in ("oi", "aceito", "que demora 😤", "pessimo isso, nao gostei nada 😭"):
        say(at, text)
    warning = next(w for w in at.warning if "Detractor alert" in w.value)
    assert "score" in warning.value and step(at) != "handoff"
    button(at, "Transfer to a human agent").click().run()
    settle(at)
    assert step(at) == "handoff" and not any("Detractor alert" in w.value for w in at.warning)
    assert any("Handoff" in w.value for w in at.warning)


def test_no_alert_on_a_calm_conversation(app_env) -> None:  # noqa: ANN001
    at = open_chat()
    for text in ("oi", "aceito", "Maria Souza"):
        say(at, text)
    assert not any("Detractor alert" in w.value for w in at.warning)
    assert not [b for b in at.button if b.label == "Transfer to a human agent"]
