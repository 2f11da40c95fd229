"""The offline brain behind ``local/rules``: a model (deterministic pt-BR NLU), not the core."""
