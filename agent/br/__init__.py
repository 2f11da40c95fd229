"""Generic Brazilian validators shared by packs: CPF, months and dates in pt-BR."""
