"""Brazilian Portuguese for every interface string (key: the English source text; see agent/i18n.py).

Sorted by where the text appears. ``{name}`` fields must match the English text's fields
(tests/test_i18n.py checks). The ledger keeps the deck's feature names; these are display names.
"""

from __future__ import annotations

PT: dict[str, str] = {
    # ---------------------------------------------------------------- app.py: sidebar, banner
    "Interface language. Numbers, money and dates follow it; the agent always speaks Portuguese.":
        "Idioma da interface. Números, valores e datas acompanham; o agente sempre fala português.",
    "Models": "Modelos",
    "Decision": "Decisão",
    "Conversation": "Conversa",
    "Transcription": "Transcrição",
    "Vision": "Visão",
    "Insights": "Análises",
    "Judge": "Juiz",
    "Classifies the journey step and extracts attributes (JSON). A cheap model is enough.":
        "Classifica a etapa da jornada e extrai atributos (JSON). Um modelo barato basta.",
    "Writes the reply the customer reads.": "Escreve a resposta que o cliente lê.",
    "Turns voice notes into text.": "Transforma áudios em texto.",
    "Reads text from images (documents, screenshots).": "Lê o texto de imagens (documentos, capturas de tela).",
    "Emotion, satisfaction, objections and summaries.": "Emoção, satisfação, objeções e resumos.",
    "Grades replies in evals (LLM-as-judge).": "Dá notas às respostas nas avaliações (LLM como juiz).",
    "Not available now:": "Indisponível agora:",
    "Temperature": "Temperatura",
    "Sampling temperature of the {role} model.": "Temperatura de amostragem do modelo de {role}.",
    "How to enable more models": "Como habilitar mais modelos",
    "Restart the app after editing `.env`. A local Ollama is detected by itself.":
        "Reinicie o app depois de editar o `.env`. Um Ollama local é detectado sozinho.",
    "add {keys} to .env": "adicione {keys} ao .env",
    " and ": " e ",
    "pip install llama-cpp-python (compiles ~5 min), then set GGUF_MODEL_PATH":
        "pip install llama-cpp-python (compila em ~5 min) e depois defina GGUF_MODEL_PATH",
    "set GGUF_MODEL_PATH in .env to a .gguf file": "defina GGUF_MODEL_PATH no .env com um arquivo .gguf",
    "local/rules (offline, deterministic)": "local/rules (offline, determinístico)",
    "faster-whisper base (offline)": "faster-whisper base (offline)",
    "Tesseract OCR (offline)": "Tesseract OCR (offline)",
    "Prompt pack & currency": "Pacote de prompts e moeda",
    "Pack": "Pacote",
    "{name} (invalid: {reason})": "{name} (inválido: {reason})",
    "A folder under prompts/ with one agent: journey, prompts, knowledge, tools (prompts/README.md).":
        "Uma pasta em prompts/ com um agente: jornada, prompts, conhecimento, ferramentas (prompts/README.md).",
    "Currency": "Moeda",
    "Costs are recorded in USD and shown in BRL at {rate} per USD.":
        "Os custos são registrados em USD e mostrados em BRL a {rate} por USD.",
    "Offline mode": "Modo offline",
    "Partly local": "Parcialmente local",
    "local/rules is answering — deterministic offline brain, no API key":
        "local/rules está respondendo — cérebro offline determinístico, sem chave de API",
    "faster-whisper (offline) transcribes voice notes": "faster-whisper (offline) transcreve os áudios",
    "Tesseract OCR (offline) reads images": "Tesseract OCR (offline) lê as imagens",
    "a local GGUF model (llama.cpp) is answering": "um modelo GGUF local (llama.cpp) está respondendo",
    "Audit": "Auditoria",
    "Coming with the audit issue: review past conversations, their traces and insights "
    "(emotion, satisfaction, objections).":
        "Em breve: revisar conversas anteriores, seus rastros e análises (emoção, satisfação, objeções).",
    "Chat": "Chat",
    "Compare": "Comparar",
    "Prompts": "Prompts",
    "Costs": "Custos",
    "Evals": "Avaliações",
    # ---------------------------------------------------------------- app_pages/compare.py
    "The same customer script on two or three configurations — models, temperatures or prompt versions — "
    "each in its own new conversation, replies aligned turn by turn with cost and latency.":
        "O mesmo roteiro de cliente em duas ou três configurações — modelos, temperaturas ou versões de prompt — "
        "cada uma em uma conversa nova, com as respostas alinhadas turno a turno, com custo e latência.",
    "Customer script": "Roteiro do cliente",
    "One customer turn per line. Separate messages sent in one burst with ||.":
        "Um turno do cliente por linha. Separe com || as mensagens enviadas de uma vez.",
    "Configurations": "Configurações",
    "Decision model": "Modelo de decisão",
    "Conversation model": "Modelo de conversa",
    "Name": "Nome",
    "Config {letter}": "Config. {letter}",
    "Conversation temperature": "Temperatura da conversa",
    "Prompt version": "Versão do prompt",
    "files on disk": "arquivos do disco",
    "A version saved on the Prompts page replaces its file for this run only.":
        "Uma versão salva na página Prompts substitui o arquivo só nesta execução.",
    "{config}: turn {n} of {total}": "{config}: turno {n} de {total}",
    "Run the script on every configuration": "Rodar o roteiro em todas as configurações",
    "Starting…": "Começando…",
    "Write a script, pick the configurations and run. Each run is a real conversation: it shows up "
    "on the Costs page and under *Load a past conversation* on the Chat page.":
        "Escreva um roteiro, escolha as configurações e rode. Cada execução é uma conversa de verdade: aparece "
        "na página Custos e em *Abrir uma conversa anterior* na página Chat.",
    "configuration": "configuração",
    "decision": "decisão",
    "conversation": "conversa",
    "prompt": "prompt",
    "files": "arquivos",
    "final step": "etapa final",
    "cost ({currency})": "custo ({currency})",
    "avg latency (ms)": "latência média (ms)",
    "tokens": "tokens",
    "chat": "chat",
    "Summary": "Resumo",
    "Turn by turn": "Turno a turno",
    "**Turn {n}** · customer:": "**Turno {n}** · cliente:",
    "(no reply)": "(sem resposta)",
    "same as the first": "igual à primeira",
    "{n} tokens": "{n} tokens",
    # ---------------------------------------------------------------- app_pages/prompts.py
    "Pack **{pack}** · `{folder}` · {n} prompt files. Saving keeps a version in the database; "
    "**Write to file** makes the agent use it from the next turn.":
        "Pacote **{pack}** · `{folder}` · {n} arquivos de prompt. Salvar guarda uma versão no banco; "
        "**Gravar no arquivo** faz o agente usá-la a partir do próximo turno.",
    "variables": "variáveis",
    "hash": "hash",
    "versions": "versões",
    "Show": "Mostrar",
    "Message codes": "Códigos de mensagem",
    "File": "Arquivo",
    "{n} tokens in the whole pack ({encoding}).": "{n} tokens no pacote inteiro ({encoding}).",
    "sample values": "valores de exemplo",
    "conversation #{id}": "a conversa nº {id}",
    "Tokens": "Tokens",
    "{n} vs file": "{n} vs. arquivo",
    "Counted with tiktoken {encoding} (GPT-4o family), offline.":
        "Contados com tiktoken {encoding} (família GPT-4o), offline.",
    "Characters": "Caracteres",
    "Variables": "Variáveis",
    "Version hash `{hash}` (sha256, first 12 hex digits — what traces and eval runs record)":
        "Hash da versão `{hash}` (sha256, 12 primeiros dígitos hexadecimais — o que rastros e avaliações registram)",
    "same as the file on disk": "igual ao arquivo do disco",
    "file on disk is `{hash}`": "o arquivo do disco é `{hash}`",
    "The editor differs from the file on disk: save a version, or write it to the file.":
        "O editor difere do arquivo do disco: salve uma versão ou grave no arquivo.",
    "Edit": "Editar",
    "Preview": "Pré-visualizar",
    "Versions & diff": "Versões e diferenças",
    "Ctrl+Enter applies the edit (token count, highlight, preview).":
        "Ctrl+Enter aplica a edição (contagem de tokens, destaque, pré-visualização).",
    "passed by the agent": "passada pelo agente",
    "from pack.yaml": "do pack.yaml",
    "not known to the agent yet": "ainda desconhecida do agente",
    "Note": "Nota",
    "What changed and why": "O que mudou e por quê",
    "Save version": "Salvar versão",
    "Saved version {hash} of {name}.": "Versão {hash} de {name} salva.",
    "Write to file": "Gravar no arquivo",
    "Overwrite {file} in the pack folder; the agent uses it from the next turn.":
        "Sobrescreve {file} na pasta do pacote; o agente passa a usá-lo no próximo turno.",
    "Wrote {file}.": "{file} gravado.",
    "Revert editor to file": "Voltar o editor ao arquivo",
    "Rendered with {source}; pack globals ({globals}) are filled in. Edit a value to see the prompt change.":
        "Renderizado com {source}; as globais do pacote ({globals}) são preenchidas. "
        "Edite um valor para ver o prompt mudar.",
    "Missing variables: {names}": "Variáveis faltando: {names}",
    "Rendered: {tokens} tokens, {chars} characters.": "Renderizado: {tokens} tokens, {chars} caracteres.",
    "No saved versions yet. **Save version** keeps the file as it is now and your edit.":
        "Nenhuma versão salva ainda. **Salvar versão** guarda o arquivo como está agora e a sua edição.",
    "note": "nota",
    "created at": "criada em",
    "live": "em uso",
    "● on disk": "● no disco",
    "file on disk": "arquivo do disco",
    "editor": "editor",
    "From": "De",
    "To": "Para",
    "No differences.": "Nenhuma diferença.",
    "Load “From” into the editor": "Carregar “De” no editor",
    "All files of the pack": "Todos os arquivos do pacote",
    # ---------------------------------------------------------------- app_pages/evals.py
    "Golden conversations replayed against model configurations. Every run is stored; any two runs can "
    "be compared. The judge's cost is recorded apart from the agent's.":
        "Conversas de referência (goldens) repetidas em configurações de modelos. Toda execução fica guardada; "
        "quaisquer duas podem ser comparadas. O custo do juiz é registrado à parte do custo do agente.",
    "Run": "Executar",
    "Results": "Resultados",
    "Compare runs": "Comparar execuções",
    "Record a golden": "Gravar um golden",
    "A golden file is invalid: {error}": "Um arquivo golden é inválido: {error}",
    "Tags": "Etiquetas",
    "All tags": "Todas as etiquetas",
    "Goldens": "Goldens",
    "All goldens": "Todos os goldens",
    "{n} of {total} goldens selected · {expectations} expectations":
        "{n} de {total} goldens selecionados · {expectations} expectativas",
    "Current sidebar models ({models})": "Modelos atuais da barra lateral ({models})",
    "More configurations, one per line": "Mais configurações, uma por linha",
    "label:role=model[@temperature],… — roles: {roles}": "rótulo:papel=modelo[@temperatura],… — papéis: {roles}",
    "Per-role sweep: vary one role, keep the others": "Varredura por papel: varie um papel, mantenha os outros",
    "Role": "Papel",
    "Only models usable now are listed (add keys to .env for more).":
        "Só aparecem os modelos utilizáveis agora (adicione chaves ao .env para ter mais).",
    "Concurrency": "Concorrência",
    "Conversations replayed at once. Rate limits (429) lower it automatically.":
        "Conversas repetidas ao mesmo tempo. Limites de taxa (429) a reduzem automaticamente.",
    "Two configurations have the same label; give each a unique `label:` prefix.":
        "Duas configurações têm o mesmo rótulo; dê a cada uma um prefixo `rótulo:` único.",
    "Run evals": "Rodar avaliações",
    "Run #{id}: {passed}/{total} passed in {seconds} s — see **Results**.":
        "Execução nº {id}: {passed}/{total} aprovadas em {seconds} s — veja **Resultados**.",
    "{passed}/{total} passed": "{passed}/{total} aprovadas",
    "No runs yet: pick goldens and configurations in **Run**.":
        "Nenhuma execução ainda: escolha goldens e configurações em **Executar**.",
    "Pass-rate bar": "Meta de aprovação",
    "The cheapest configuration reaching this pass rate is highlighted.":
        "A configuração mais barata que atinge essa taxa de aprovação fica em destaque.",
    "Passed": "Aprovadas",
    "Agent cost (USD)": "Custo do agente (USD)",
    "Judge cost (USD)": "Custo do juiz (USD)",
    "Cheapest passing": "Mais barata aprovada",
    "none": "nenhuma",
    "passed": "aprovadas",
    "pass rate": "taxa de aprovação",
    "cost / conversation (USD)": "custo / conversa (USD)",
    "p50 turn (ms)": "turno p50 (ms)",
    "p95 turn (ms)": "turno p95 (ms)",
    "judge cost (USD)": "custo do juiz (USD)",
    "**Cost vs pass rate** — blue: Pareto front; green: cheapest passing the bar":
        "**Custo × taxa de aprovação** — azul: fronteira de Pareto; verde: a mais barata que atinge a meta",
    "**Sweep: {name}**": "**Varredura: {name}**",
    "model": "modelo",
    "Download HTML report": "Baixar relatório HTML",
    "Only failing": "Só as reprovadas",
    "Every conversation passed.": "Todas as conversas foram aprovadas.",
    "codes {codes}": "códigos {codes}",
    "Whole conversation": "Conversa inteira",
    "Two stored runs are needed to compare.": "São necessárias duas execuções guardadas para comparar.",
    "Base run": "Execução base",
    "Head run": "Execução nova",
    "Pass rate": "Taxa de aprovação",
    "Cost / conversation (USD)": "Custo / conversa (USD)",
    "Newly failing": "Passaram a falhar",
    "Newly passing": "Passaram a ser aprovadas",
    "Still failing": "Continuam falhando",
    "case": "caso",
    "config": "config.",
    "reason": "motivo",
    "cost Δ (USD)": "Δ custo (USD)",
    "latency Δ (ms)": "Δ latência (ms)",
    "As text": "Como texto",
    "Turn a conversation into a golden file whose expectations are what the agent actually did "
    "(step, attributes, tools, message codes). Review and edit before saving.":
        "Transforme uma conversa em um arquivo golden cujas expectativas são o que o agente de fato fez "
        "(etapa, atributos, ferramentas, códigos de mensagem). Revise e edite antes de salvar.",
    "A past conversation": "Uma conversa anterior",
    "A simulated customer": "Um cliente simulado",
    "No conversations yet — chat with the agent first.": "Nenhuma conversa ainda — converse com o agente primeiro.",
    "Draft golden": "Gerar rascunho do golden",
    "Persona": "Persona",
    "Played by the judge role ({model}); stops at an outcome step, a handoff, or the turn cap.":
        "Interpretado pelo papel de juiz ({model}); para em uma etapa de desfecho, em uma transferência "
        "ou no limite de turnos.",
    "Simulate": "Simular",
    "Stopped: {reason}": "Parou: {reason}",
    "Golden (YAML)": "Golden (YAML)",
    "Overwrite a golden with the same id": "Sobrescrever um golden com o mesmo id",
    "Save golden": "Salvar golden",
    "Not saved — {error}": "Não salvo — {error}",
    "(line {n})": "(linha {n})",
    "Saved {file}: it runs with the other goldens from now on.":
        "{file} salvo: de agora em diante roda com os outros goldens.",
    # ---------------------------------------------------------------- evals/report.py (the HTML report)
    "Eval report": "Relatório de avaliação",
    "conversa-lab — eval report": "conversa-lab — relatório de avaliação",
    "Run #{id}": "Execução nº {id}",
    "suite {name}": "suíte {name}",
    "commit {sha}": "commit {sha}",
    "unknown": "desconhecido",
    "concurrency {n}": "concorrência {n}",
    "wall {seconds} s": "duração {seconds} s",
    "configurations": "configurações",
    "agent cost": "custo do agente",
    "judge cost (separate)": "custo do juiz (à parte)",
    "cheapest passing {bar}": "mais barata com {bar}",
    "cheapest passing": "mais barata aprovada",
    "Matrix": "Matriz",
    "Cost vs pass rate": "Custo × taxa de aprovação",
    "Cost versus pass rate": "Custo versus taxa de aprovação",
    "No data": "Sem dados",
    "bar {value}": "meta {value}",
    "cost per conversation (USD)": "custo por conversa (USD)",
    "Blue: Pareto front (no configuration is both cheaper and better). "
    "Green: cheapest configuration reaching the bar.":
        "Azul: fronteira de Pareto (nenhuma configuração é ao mesmo tempo mais barata e melhor). "
        "Verde: a configuração mais barata que atinge a meta.",
    "Per-role sweeps": "Varreduras por papel",
    "pass": "aprovado",
    "fail": "reprovado",
    "cost/conv": "custo/conversa",
    "p50 ms": "p50 ms",
    "p95 ms": "p95 ms",
    "Compared with run #{id}": "Comparado com a execução nº {id}",
    "Cases": "Casos",
    "Cost breakdown": "Detalhamento de custos",
    "per conversation": "por conversa",
    "judge cost": "custo do juiz",
    "models used": "modelos usados",
    "Transcripts": "Transcrições",
    "cost / conversation": "custo / conversa",
    "p50 turn": "turno p50",
    "p95 turn": "turno p95",
    "p95 conversation": "conversa p95",
    "Error: {error}": "Erro: {error}",
    "no expectations": "sem expectativas",
}
