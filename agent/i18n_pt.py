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
    "temperature": "temperatura",
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
    "completed journey": "jornada concluída",
    "call": "chamada",
    "Price per 1M tokens (input / output) in the model's currency, from the Prices table below.":
        "Preço por 1M de tokens (entrada / saída) na moeda do modelo, da tabela de Preços abaixo.",
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
    # app_pages/prompts.py: the pack's prompt contracts (pack.yaml `contracts:`)
    "{file} must contain “{text}”, which is missing (contract at {spec})":
        "{file} precisa conter “{text}”, que está faltando (contrato em {spec})",
    "{file} must not contain “{text}” (contract at {spec})": "{file} não pode conter “{text}” (contrato em {spec})",
    "{file} must use the variable {name} (contract at {spec})":
        "{file} precisa usar a variável {name} (contrato em {spec})",
    "Not saved: the edit breaks the pack's contract (pack.yaml `contracts:`). The file and the versions are "
    "unchanged.":
        "Não salvo: a edição quebra o contrato do pacote (`contracts:` do pack.yaml). O arquivo e as versões "
        "continuam como estavam.",
    "The file on disk breaks the pack's contract:": "O arquivo do disco quebra o contrato do pacote:",
    "This edit breaks the pack's contract; it cannot be saved:":
        "Esta edição quebra o contrato do pacote; ela não pode ser salva:",
    "Contract of this file: {n} rules (pack.yaml, line {line})":
        "Contrato deste arquivo: {n} regras (pack.yaml, linha {line})",
    "must contain": "precisa conter",
    "must not contain": "não pode conter",
    "must use": "precisa usar",
    "The pack {pack} does not load: fix it (the Prompts page shows what breaks) or pick another pack in the "
    "sidebar.":
        "O pacote {pack} não carrega: corrija-o (a página Prompts mostra o que quebra) ou escolha outro pacote na "
        "barra lateral.",
    "The encryption key in .env is not valid: fix CONVERSA_ENCRYPTION_KEY and restart the app.":
        "A chave de criptografia no .env não é válida: corrija CONVERSA_ENCRYPTION_KEY e reinicie o app.",
    "Conversations are stored in clear: CONVERSA_ENCRYPTION_KEY is not set, so the messages, the journey state "
    "(name, CPF, API results) and the traces are readable by anyone who can read the database. Generate a key "
    "with `python -m agent keys generate`, put it in .env, restart, then run `python -m agent keys rotate` to "
    "encrypt what is already stored.":
        "As conversas estão gravadas em claro: CONVERSA_ENCRYPTION_KEY não está definida, então as mensagens, o "
        "estado da jornada (nome, CPF, resultados da API) e os traces podem ser lidos por quem tiver acesso ao "
        "banco. Gere uma chave com `python -m agent keys generate`, coloque-a no .env, reinicie e rode "
        "`python -m agent keys rotate` para criptografar o que já está gravado.",
    "Got it": "Entendi",
    "Conversation #{id} cannot be read; started a new one.":
        "Não foi possível ler a conversa #{id}; uma nova foi iniciada.",
    "The agent cannot load this pack: fix the file below and write it back.":
        "O agente não consegue carregar este pacote: corrija o arquivo abaixo e grave-o de volta.",
    "kept": "mantida",
    "rule": "regra",
    "text or variable": "texto ou variável",
    "line {n}": "linha {n}",
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
    # app_pages/strength_tab.py: the Evals page's "Suite strength" tab (evals/strength.py)
    "Suite strength": "Força da suíte",
    "Small, realistic defects are seeded in a copy of the pack (a sentence deleted, two message codes swapped, a "
    "rule's number changed…) and the pack's goldens replay against each on the offline models: a golden that fails "
    "**kills** the mutant; a mutant no golden catches **survives** — a hole in the suite. Same as "
    "`python -m evals strength`.":
        "Defeitos pequenos e realistas são plantados numa cópia do pacote (uma frase apagada, dois códigos de "
        "mensagem trocados, um número de regra alterado…) e os goldens do pacote rodam contra cada um nos modelos "
        "offline: um golden que falha **mata** o mutante; um mutante que nenhum golden pega **sobrevive** — um "
        "buraco na suíte. O mesmo que `python -m evals strength`.",
    "Workers": "Processos",
    "Mutants replayed at once, one process each ({n} cores here).":
        "Mutantes rodados ao mesmo tempo, um processo cada ({n} núcleos nesta máquina).",
    "Mutants per operator": "Mutantes por operador",
    "How many defects each operator seeds (deterministic: the same pack gives the same mutants).":
        "Quantos defeitos cada operador planta (determinístico: o mesmo pacote gera os mesmos mutantes).",
    "{n} mutants from {ops} operators against {goldens} goldens of {pack}; a killed mutant stops at its first "
    "failing golden, a survivor replays them all.":
        "{n} mutantes de {ops} operadores contra {goldens} goldens de {pack}; um mutante morto para no primeiro "
        "golden que falha, um sobrevivente roda todos.",
    "Mutants to run ({n})": "Mutantes a rodar ({n})",
    "mutant": "mutante",
    "operator": "operador",
    "file": "arquivo",
    "defect": "defeito",
    "result": "resultado",
    "goldens run": "goldens rodados",
    "seconds": "segundos",
    "killed": "mortos",
    "mutants": "mutantes",
    "kill rate": "taxa de mortos",
    "Start": "Iniciar",
    "Starting {n} mutants on {workers} workers…": "Iniciando {n} mutantes em {workers} processos…",
    "mutant {i}/{n}": "mutante {i}/{n}",
    "killed at pack load": "morto ao carregar o pacote",
    "killed by {golden}": "morto por {golden}",
    "error: {error}": "erro: {error}",
    "survived": "sobreviveu",
    "{killed}/{n} mutants killed ({rate}) in {seconds} s.": "{killed}/{n} mutantes mortos ({rate}) em {seconds} s.",
    "Last run: pack {pack}.": "Última execução: pacote {pack}.",
    "No run yet in this session: a full run takes minutes (each mutant replays goldens).":
        "Nenhuma execução nesta sessão ainda: uma execução completa leva minutos (cada mutante roda goldens).",
    "Kill rate": "Taxa de mortos",
    "The unmutated pack already fails a golden ({failure}): fix it first, the kill rate below means nothing.":
        "O pacote sem mutação já falha num golden ({failure}): corrija isso antes; a taxa abaixo não vale nada.",
    "Killed": "Mortos",
    "Survivors": "Sobreviventes",
    "Time": "Tempo",
    "{goldens} goldens of {pack}": "{goldens} goldens de {pack}",
    "Kill rate per operator": "Taxa de mortos por operador",
    "Survivors: defects no golden caught": "Sobreviventes: defeitos que nenhum golden pegou",
    "Every mutant was killed by a golden or by the pack's own checks.":
        "Todo mutante foi morto por um golden ou pelas verificações do próprio pacote.",
    "Mutants": "Mutantes",
    "deleted from {file}: {text}": "frase apagada de {file}: {text}",
    "replies [{a}, {b}] → [{b}, {a}]": "respostas [{a}, {b}] → [{b}, {a}]",
    "a transition answers {new} instead of {old}": "uma transição responde {new} em vez de {old}",
    "intent {intent} keeps 2 of {n} examples": "a intenção {intent} fica com 2 de {n} exemplos",
    "knowledge section removed: {title}": "seção da base de conhecimento removida: {title}",
    "max_failures → 30 (repeated failures never hand over)":
        "max_failures → 30 (falhas repetidas nunca passam a conversa para um atendente)",
    "a step no longer requires consent": "uma etapa deixa de exigir consentimento",
    "a step completes without its last required datum": "uma etapa termina sem o último dado obrigatório",
    "the message length limit raised a hundredfold (a wall of text is read whole)":
        "o limite de tamanho da mensagem multiplicado por cem (um textão é lido inteiro)",
    "no consent notice declared (a 'sim' before the notice counts)":
        "nenhum aviso de consentimento declarado (um 'sim' antes do aviso passa a valer)",
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
    "Red team: hold rate per category": "Red team: taxa de resistência por categoria",
    "Held = the golden passed: the customer never saw the bad outcome and the guard's verdict is the expected one. "
    "OWASP Top 10 for LLM Applications, 2025 numbering.":
        "Resistiu = o golden passou: o cliente nunca viu o resultado ruim e o veredito do guard é o esperado. "
        "OWASP Top 10 para aplicações com LLM, numeração de 2025.",
    "group": "grupo",
    "held": "resistiu",
    "goldens": "goldens",
    "hold rate": "taxa de resistência",
    "failed": "falhou",
    "Category": "Categoria",
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
    # ---------------------------------------------------------------- app_pages/costs.py
    "Every model call writes one row to `llm_cost` (the deck's layout). Prices are recorded in USD "
    "and shown in {currency}.":
        "Cada chamada de modelo grava uma linha em `llm_cost` (o layout da apresentação). Os preços são "
        "registrados em USD e mostrados em {currency}.",
    "Rate: {rate} per USD.": "Câmbio: {rate} por USD.",
    "Playground": "Playground",
    "CLI": "CLI",
    "Server": "Servidor",
    "Simulations": "Simulações",
    "All packs": "Todos os pacotes",
    "Only the conversations of one agent (the pack chosen when they ran).":
        "Só as conversas de um agente (o pacote escolhido quando rodaram).",
    "Source": "Origem",
    "All sources": "Todas as origens",
    "Who started the conversations: people (playground, CLI, server) or the bench (evals, simulations). "
    "Lists of conversations show people's chats unless you pick sources here.":
        "Quem iniciou as conversas: pessoas (playground, CLI, servidor) ou a bancada (avaliações, simulações). "
        "As listas de conversas mostram as conversas de pessoas, a menos que você escolha origens aqui.",
    "All chats": "Todas as conversas",
    "new": "nova",
    "Pick a recent chat or type any chat id.": "Escolha uma conversa recente ou digite o id de qualquer conversa.",
    "Feature": "Funcionalidade",
    "All features": "Todas as funcionalidades",
    "Model": "Modelo",
    "All models": "Todos os modelos",
    "Days": "Dias",
    "YYYY-MM-DD": "DD/MM/YYYY",
    "YYYY-MM-DD HH:mm:ss": "DD/MM/YYYY HH:mm:ss",
    "{value} is not a chat id; showing all chats.": "{value} não é um id de conversa; mostrando todas.",
    "Calls": "Chamadas",
    "Input tokens": "Tokens de entrada",
    "Output tokens": "Tokens de saída",
    "Total cost ({currency})": "Custo total ({currency})",
    "Avg per conversation": "Média por conversa",
    "{n} conversations in the filter": "{n} conversas no filtro",
    "Errors": "Erros",
    "Calls that failed (they are recorded too, usually with 0 tokens)":
        "Chamadas que falharam (também são registradas, geralmente com 0 tokens)",
    "Ledger": "Registro de chamadas",
    "No model calls recorded yet for this filter. Chat with the agent and they appear here live.":
        "Nenhuma chamada de modelo registrada ainda neste filtro. Converse com o agente e elas aparecem aqui "
        "ao vivo.",
    "price (USD)": "preço (USD)",
    "latency (ms)": "latência (ms)",
    "Newest {n} rows · refreshes every {seconds} s · last id {id}":
        "{n} linhas mais recentes · atualiza a cada {seconds} s · último id {id}",
    "Where the money goes": "Para onde vai o dinheiro",
    "tokens (nothing cost money: free local models)": "tokens (nada custou dinheiro: modelos locais gratuitos)",
    "Nothing to chart yet.": "Nada para mostrar no gráfico ainda.",
    "Tokens by feature": "Tokens por funcionalidade",
    "Cost by feature": "Custo por funcionalidade",
    "feature": "funcionalidade",
    "Tokens by model": "Tokens por modelo",
    "Cost by model": "Custo por modelo",
    "No conversations by people in this filter (eval and simulation runs are left out: pick them in Source).":
        "Nenhuma conversa de pessoas neste filtro (avaliações e simulações ficam de fora: escolha-as em Origem).",
    "People's conversations (playground, CLI, server); pick a Source to see the bench's.":
        "Conversas de pessoas (playground, CLI, servidor); escolha uma Origem para ver as da bancada.",
    "Largest conversations (tokens)": "Maiores conversas (tokens)",
    "Most expensive conversations": "Conversas mais caras",
    "No completed journeys yet (a chat counts once it reaches an outcome: {steps}).":
        "Nenhuma jornada concluída ainda (uma conversa conta quando chega a um desfecho: {steps}).",
    "Average tokens per completed journey, by outcome": "Média de tokens por jornada concluída, por desfecho",
    "Average cost per completed journey, by outcome": "Custo médio por jornada concluída, por desfecho",
    "average tokens": "média de tokens",
    "average cost ({currency})": "custo médio ({currency})",
    "outcome": "desfecho",
    "avg tokens": "média de tokens",
    "avg calls": "média de chamadas",
    "Tokens over time": "Tokens ao longo do tempo",
    "per day": "por dia",
    "per hour": "por hora",
    "input tokens": "tokens de entrada",
    "output tokens": "tokens de saída",
    "Tokens per day": "Tokens por dia",
    "Tokens per hour": "Tokens por hora",
    "Price this traffic as…": "Precificar este tráfego como…",
    "The tokens (and audio seconds) recorded in this filter, priced with any model of the price table "
    "below, side by side with what was actually spent: what this traffic would cost on that model.":
        "Os tokens (e segundos de áudio) registrados neste filtro, precificados com qualquer modelo da tabela "
        "de preços abaixo, lado a lado com o que foi de fato gasto: quanto este tráfego custaria nesse modelo.",
    "{label} · {currency} {amounts} per 1M tokens (in / out)":
        "{label} · {currency} {amounts} por 1M de tokens (entrada / saída)",
    "Price tokens as": "Precificar tokens como",
    "Price audio as": "Precificar áudio como",
    "{label} · per minute": "{label} · por minuto",
    "the same model": "o mesmo modelo",
    "Audio seconds of transcriptions are priced per minute (whisper-1: USD 0.006 per minute).":
        "Os segundos de áudio das transcrições são cobrados por minuto (whisper-1: USD 0,006 por minuto).",
    "on {model}": "no {model}",
    "No model calls in this filter yet: chat with the agent, run the evals, or widen the filter.":
        "Nenhuma chamada de modelo neste filtro ainda: converse com o agente, rode as avaliações ou amplie o filtro.",
    "Spent": "Gasto",
    "What the recorded calls actually cost.": "Quanto as chamadas registradas de fato custaram.",
    "Priced": "Precificado",
    "The same tokens {on_model}.": "Os mesmos tokens {on_model}.",
    "Per conversation": "Por conversa",
    "{n} conversations, priced {on_model}": "{n} conversas, precificadas {on_model}",
    "Per completed journey": "Por jornada concluída",
    "{n} completed journeys, priced {on_model}": "{n} jornadas concluídas, precificadas {on_model}",
    "spent ({currency})": "gasto ({currency})",
    "Nothing here for this filter.": "Nada aqui para este filtro.",
    "calls": "chamadas",
    "audio (min)": "áudio (min)",
    "Per feature": "Por funcionalidade",
    "Average per journey that reached an outcome ({steps}).": "Média por jornada que chegou a um desfecho ({steps}).",
    "journeys": "jornadas",
    "Projection": "Projeção",
    "average conversation": "conversa média",
    "average completed journey": "jornada concluída média",
    "average call": "chamada média",
    "conversations": "conversas",
    "completed journeys": "jornadas concluídas",
    "Per day": "Por dia",
    "How many of the chosen unit a day.": "Quantas unidades escolhidas por dia.",
    "Based on": "Com base em",
    "Average of the current filter.": "Média do filtro atual.",
    "Each priced": "Cada uma precificada",
    "as spent": "como gasto",
    "At {n} {unit}/day this costs": "Com {n} {unit}/dia, isto custa",
    "{amount}/month": "{amount}/mês",
    "{per_day} per day · {avg} per {unit}": "{per_day} por dia · {avg} por {unit}",
    "Prices": "Preços",
    "Per 1M tokens, in each model's own currency (the deck's table). Edits apply to new calls; "
    "every save is a version.":
        "Por 1M de tokens, na moeda de cada modelo (a tabela da apresentação). As edições valem para novas "
        "chamadas; cada salvamento é uma versão.",
    "input / 1M": "entrada / 1M",
    "output / 1M": "saída / 1M",
    "currency": "moeda",
    "Note for this version": "Nota desta versão",
    "e.g. OpenAI price cut, Oct 2024": "ex.: corte de preço da OpenAI, out/2024",
    "Save prices": "Salvar preços",
    "Prices not saved: {error}": "Preços não salvos: {error}",
    "Saved {n} price change(s) as a new version.": "{n} alteração(ões) de preço salva(s) como nova versão.",
    "No price changed.": "Nenhum preço mudou.",
    "Price history": "Histórico de preços",
    "No edits yet: the table above is the deck's.": "Nenhuma edição ainda: a tabela acima é a da apresentação.",
    "{avg} × {n}/day × {days} days": "{avg} × {n}/dia × {days} dias",
    "label": "rótulo",
    "provider": "provedor",
    "source": "origem",
    # ---------------------------------------------------------------- app_pages/chat.py
    "Agent ready — say *oi*.": "Agente pronto — diga *oi*.",
    "Warming up the agent (loading models and the pack)…": "Preparando o agente (carregando modelos e o pacote)…",
    "Loading conversation #{id}…": "Abrindo a conversa nº {id}…",
    "Conversation #{id} is not in this database; started a new one.":
        "A conversa nº {id} não está neste banco; uma nova foi iniciada.",
    "Pack {name}: a new conversation starts.": "Pacote {name}: começa uma nova conversa.",
    "voice note": "áudio",
    "image": "imagem",
    "{what} `{file}` could not be read: {error}": "{what} `{file}` não pôde ser lido: {error}",
    "transcript": "transcrição",
    "text read from the image": "texto lido da imagem",
    "Trace · turn {n}": "Rastro · turno {n}",
    "event": "evento",
    "message codes": "códigos de mensagem",
    "Prompts & outputs": "Prompts e saídas",
    "Tools": "Ferramentas",
    "Documents": "Documentos",
    "State": "Estado",
    "role": "papel",
    "in": "entrada",
    "out": "saída",
    "usage": "uso",
    "error": "erro",
    "No model calls in this turn (a fixed message answered).":
        "Nenhuma chamada de modelo neste turno (respondeu uma mensagem fixa).",
    "prompt `{name}` version `{version}`": "prompt `{name}` versão `{version}`",
    "output": "saída",
    "No API call in this turn.": "Nenhuma chamada de API neste turno.",
    "outcome **{outcome}**": "resultado **{outcome}**",
    "No knowledge documents were retrieved.": "Nenhum documento da base de conhecimento foi recuperado.",
    "before": "antes",
    "after": "depois",
    "guard rails": "salvaguardas",
    "Human operator": "Atendente humano",
    "follow-up after silence": "retomada após silêncio",
    "{file}: only images and voice notes are accepted.": "{file}: só são aceitos imagens e áudios.",
    "Record as golden": "Gravar como golden",
    "The expectations below are what the agent actually did in each turn (step, attributes, tools, "
    "message codes). Edit them into what it *should* do, then save: the golden joins "
    "`python -m evals run` and `make test`.":
        "As expectativas abaixo são o que o agente de fato fez em cada turno (etapa, atributos, ferramentas, "
        "códigos de mensagem). Edite para o que ele *deveria* fazer e salve: o golden entra em "
        "`python -m evals run` e no `make test`.",
    "Golden id (file name)": "Id do golden (nome do arquivo)",
    "Letters, digits, '_' or '-'; it is also the file name.": "Letras, dígitos, '_' ou '-'; é também o nome do arquivo.",
    "Saves to `{path}`": "Salva em `{path}`",
    "`{file}` already exists. Change the id, or confirm to replace it.":
        "`{file}` já existe. Mude o id ou confirme para substituí-lo.",
    "Overwrite the existing file": "Sobrescrever o arquivo existente",
    "Saved {file}": "{file} salvo",
    "Cancel": "Cancelar",
    "The run plays in the background: this page stays usable, and it can be cancelled.":
        "A execução roda em segundo plano: a página continua utilizável e a execução pode ser cancelada.",
    "Cancelling… the cases already finished are kept.": "Cancelando… os casos já concluídos são mantidos.",
    "The run could not be played: {error}": "Não foi possível executar a avaliação: {error}",
    "Run #{id} cancelled before any case finished.": "Execução #{id} cancelada antes de qualquer caso terminar.",
    "Run #{id} cancelled: {passed}/{total} passed of the {done} cases finished — see **Results**.":
        "Execução #{id} cancelada: {passed}/{total} aprovados dos {done} casos concluídos — veja **Resultados**.",
    "**Not saved.**": "**Não salvo.**",
    "Burst mode": "Modo rajada",
    "On: messages sent within {seconds} s of each other are answered once, together. "
    "Off: one reply per message.":
        "Ligado: mensagens enviadas com até {seconds} s de intervalo são respondidas de uma vez, juntas. "
        "Desligado: uma resposta por mensagem.",
    "Past conversations": "Conversas anteriores",
    "Load a past conversation…": "Abrir uma conversa anterior…",
    "Load": "Abrir",
    "New conversation": "Nova conversa",
    "Conversation #{id}": "Conversa nº {id}",
    "Journey step": "Etapa da jornada",
    "Captured attributes": "Atributos capturados",
    "attribute": "atributo",
    "value": "valor",
    "Nothing captured yet.": "Nada capturado ainda.",
    "Consent: {consent} · failures: {n}": "Consentimento: {consent} · falhas: {n}",
    "yes": "sim",
    "not yet": "ainda não",
    "Handoff and re-engagement are available once the conversation has started.":
        "Transferência e retomada ficam disponíveis depois que a conversa começa.",
    "**Handoff:** a human operator has this conversation; the agent is silent.":
        "**Transferência:** um atendente humano está com esta conversa; o agente fica em silêncio.",
    "Operator reply": "Resposta do atendente",
    "Send as operator": "Enviar como atendente",
    "Hand back to the agent": "Devolver ao agente",
    "The agent is answering. Hand over to see the operator side.":
        "O agente está respondendo. Transfira para ver o lado do atendente.",
    "Hand over to a human": "Transferir para um humano",
    "**Detractor alert:** {reason}": "**Alerta de detrator:** {reason}",
    "Transfer to a human agent": "Transferir para atendente",
    "Why the agent handed over: {reason}": "Por que o agente transferiu: {reason}",
    "Simulate {hours} h idle": "Simular {hours} h sem resposta",
    "Move the clock past the re-engagement delay: the agent follows up once.":
        "Adianta o relógio além do prazo de retomada: o agente chama o cliente uma vez.",
    "No follow-up now (handoff, a pending burst, or already followed up).":
        "Nenhuma retomada agora (transferência, rajada pendente ou retomada já feita).",
    "Turns": "Turnos",
    "Cost ({currency})": "Custo ({currency})",
    "{n_in} tokens in · {n_out} out": "{n_in} tokens de entrada · {n_out} de saída",
    "Turn this conversation into an eval golden file; you review and edit it before saving. "
    "Available once the agent has answered a turn.":
        "Transforma esta conversa em um arquivo golden de avaliação; você revisa e edita antes de salvar. "
        "Disponível depois que o agente responde um turno.",
    "Saved golden **{file}**": "Golden **{file}** salvo",
    "{path} — replay it with `python -m evals run --id {id}`": "{path} — repita com `python -m evals run --id {id}`",
    "Say *oi* to start. You can also record a voice note or attach an image "
    "(e.g. a screenshot of the FGTS app).":
        "Diga *oi* para começar. Você também pode gravar um áudio ou anexar uma imagem "
        "(por exemplo, uma captura de tela do app do FGTS).",
    "{n} message(s) pending — answering in {seconds} s; keep typing to add to this burst":
        "{n} mensagem(ns) pendente(s) — resposta em {seconds} s; continue digitando para somar a esta rajada",
    "Answer now": "Responder agora",
    "cost/conversation": "custo/conversa",
    "Added: {added}; removed: {removed}": "Adicionados: {added}; removidos: {removed}",
    # ---------------------------------------------------------------- the prompt diet (app_pages/diet.py: Chat,
    # Prompts; app_pages/evals.py: budget on vs off)
    "Tokens by section (prompt diet)": "Tokens por seção (dieta do prompt)",
    "tokens by section": "tokens por seção",
    "Tokens by section": "Tokens por seção",
    "instructions": "instruções",
    "chat history": "histórico da conversa",
    "retrieved docs": "documentos recuperados",
    "few-shot examples": "exemplos (few-shot)",
    "intent menu": "menu de intenções",
    "customer message": "mensagem do cliente",
    "other variables": "outras variáveis",
    "budget": "orçamento",
    "budget {max} tokens: {before} → {after}": "orçamento de {max} tokens: {before} → {after}",
    "history window": "janela do histórico",
    "top-k docs": "top-k documentos",
    "summary of earlier turns": "resumo dos turnos anteriores",
    "compressor": "compressor",
    "nothing trimmed": "nada cortado",
    "history {n} turns": "histórico de {n} turnos",
    "top {n} docs": "{n} melhores documentos",
    "This render": "Esta renderização",
    "Last call in conversation #{id}": "Última chamada na conversa #{id}",
    "The pack's token budget per role (pack.yaml `prompt_budget`): {budget}":
        "Orçamento de tokens do pacote por papel (pack.yaml `prompt_budget`): {budget}",
    "Compare with and without the prompt budget (each configuration runs twice)":
        "Comparar com e sem o orçamento de prompt (cada configuração roda duas vezes)",
    "The pack's token budget per role (pack.yaml `prompt_budget`) on and off (as PROMPT_BUDGET=off): "
    "**Results** shows pass rate, cost and prompt tokens per call side by side.":
        "O orçamento de tokens do pacote por papel (pack.yaml `prompt_budget`) ligado e desligado (como "
        "PROMPT_BUDGET=off): **Resultados** mostra taxa de aprovação, custo e tokens de prompt por chamada lado a lado.",
    "Prompt diet: budget on vs off": "Dieta do prompt: orçamento ligado × desligado",
    "run": "execução",
    "prompt budget": "orçamento de prompt",
    "on": "ligado",
    "off": "desligado",
    "prompt tokens / call": "tokens de prompt / chamada",
    "model calls": "chamadas de modelo",
    # ---------------------------------------------------------------- the customer's rights (LGPD), operator view
    "The retention period (RETENTION_DAYS) could not be enforced at start-up:":
        "O prazo de retenção (RETENTION_DAYS) não pôde ser aplicado na inicialização:",
    "Unmasked for **{name}** — this access is logged.": "Sem máscara para **{name}** — este acesso fica registrado.",
    "Privacy (LGPD)": "Privacidade (LGPD)",
    "Operator view": "Visão de operador",
    "Shows the captured data unmasked to a named operator; each opening is written to the access log (who, when, "
    "which conversation). Off: personal data are masked, traces too.":
        "Mostra os dados capturados sem máscara a um operador identificado; cada abertura é gravada no registro de "
        "acessos (quem, quando, qual conversa). Desligada: dados pessoais mascarados, traces também.",
    "Operator name": "Nome do operador",
    "Who is looking?": "Quem está vendo?",
    "Type your name to see the data unmasked: the access is logged.":
        "Digite seu nome para ver os dados sem máscara: o acesso fica registrado.",
    "Access log": "Registro de acessos",
    "Erase this conversation's data": "Apagar dados desta conversa",
    "The customer's right to erasure (LGPD art. 18): messages, traces and captured data of this conversation are "
    "deleted; the cost ledger keeps its rows without the link.":
        "Direito do titular à eliminação (LGPD art. 18): mensagens, traces e dados capturados desta conversa são "
        "apagados; o registro de custos mantém suas linhas sem o vínculo.",
    "Erase every message, trace and captured data of conversation #{id}? This cannot be undone.":
        "Apagar todas as mensagens, traces e dados capturados da conversa #{id}? Não dá para desfazer.",
    "Yes, erase": "Sim, apagar",
    "Erased: {messages} message(s) and {traces} trace(s) deleted, the captured data dropped; {ledger} cost row(s) "
    "kept without the link to this conversation.":
        "Apagado: {messages} mensagem(ns) e {traces} trace(s) excluídos, os dados capturados descartados; {ledger} "
        "linha(s) de custo mantidas sem o vínculo com esta conversa.",
    "A file sent in a fast burst did not arrive: please send it again.":
        "Um arquivo enviado numa sequência rápida não chegou: envie de novo, por favor.",
    # Audit page (issue 14)
    "completed": "concluída",
    "aborted": "abandonada",
    "refusal": "recusa",
    "handoff": "transferida",
    "Simulation": "Simulação",
    "Funnel": "Funil",
    "Conversations": "Conversas",
    "Cost": "Custo",
    "One conversation": "Uma conversa",
    "Fine-tuning": "Fine-tuning",
    "Where conversations stop, how customers felt, how assertive the agent was — and which conversations become "
    "goldens and fine-tuning examples.":
        "Onde as conversas param, como o cliente se sentiu, quão assertivo o agente foi — e quais conversas viram "
        "goldens e exemplos de fine-tuning.",
    "Period": "Período",
    "At most": "No máximo",
    "View": "Visão",
    "Completed": "Concluídas",
    "Opt-in rate": "Taxa de opt-in",
    "Handoff rate": "Taxa de transferência",
    "Cost per completed journey": "Custo por jornada concluída",
    "Spent per completion": "Gasto por conclusão",
    "Who stopped where": "Quem parou onde",
    "Eligibility outcomes by API code": "Resultados de elegibilidade por código da API",
    "Outcome": "Desfecho",
    "Review": "Revisão",
    "Handoff": "Transferência",
    "Furthest step": "Etapa mais avançada",
    "Assertiveness score": "Score de assertividade",
    "Satisfaction": "Satisfação",
    "**DESAFIO 4.** Approved conversations become OpenAI chat fine-tuning examples (JSONL): the system prompt, the "
    "turns with the reviewer's corrections, the tool calls. Personal data are replaced by synthetic values, "
    "consistent within a conversation.":
        "**DESAFIO 4.** Conversas aprovadas viram exemplos de fine-tuning no formato de chat da OpenAI (JSONL): o "
        "prompt de sistema, os turnos com as correções do revisor, as chamadas de ferramenta. Dados pessoais são "
        "trocados por valores sintéticos, consistentes dentro de cada conversa.",
    "Approved conversations": "Conversas aprovadas",
    "Export fewer than 100 (a trial run)": "Exportar menos de 100 (um teste)",
    "Export JSONL": "Exportar JSONL",
    "Examples": "Exemplos",
    "Training tokens": "Tokens de treino",
    "Estimated training cost": "Custo estimado do treino",
    "People's and the server's conversations by default; the bench's eval and simulation runs only when you add "
    "them.":
        "Por padrão, conversas de pessoas e do servidor; as de avaliação e simulação só se você adicioná-las.",
    "The newest conversations read, before the filters below.": "As conversas mais recentes lidas, antes dos filtros abaixo.",
    "Group by": "Agrupar por",
    "No conversations in this period and source yet — chat with the agent on the Chat page.":
        "Ainda não há conversas neste período e origem — converse com o agente na página Chat.",
    "Consents over the conversations that were asked for it.": "Consentimentos sobre as conversas em que foi pedido.",
    "Mean cost of the conversations that completed the journey.": "Custo médio das conversas que concluíram a jornada.",
    "Everything spent, unfinished conversations included, per completed journey.":
        "Tudo o que foi gasto, incluindo conversas não concluídas, por jornada concluída.",
    "went on": "seguiram",
    "stopped here": "pararam aqui",
    "No conversation stopped mid-journey.": "Nenhuma conversa parou no meio da jornada.",
    "Step": "Etapa",
    "No consultation API call in these conversations.": "Nenhuma chamada à API de consulta nestas conversas.",
    "No conversation matches these filters.": "Nenhuma conversa corresponde a estes filtros.",
    "{n} conversation(s). Pick a row to open it.": "{n} conversa(s). Escolha uma linha para abri-la.",
    "Conversation #": "Conversa nº",
    "No conversation #{chat} for this pack — pick one in the list.":
        "Não há conversa #{chat} neste pack — escolha uma na lista.",
    "Transcript": "Transcrição",
    "Last review: **{verdict}** by {who}, {when}": "Última revisão: **{verdict}** por {who}, {when}",
    "Verdict": "Veredito",
    "Comment": "Comentário",
    "Reviewer": "Revisor",
    "Save review": "Salvar revisão",
    "Save as golden": "Salvar como golden",
    "The deck asks for at least 100 audited and validated conversations.":
        "O deck pede no mínimo 100 conversas auditadas e validadas.",
    "Download {file}": "Baixar {file}",
    "Insights of #{chat} could not be computed: {error}": "Não foi possível calcular os insights de #{chat}: {error}",
    "Group": "Grupo",
    "Reached": "Chegaram",
    "Of the started": "Dos que começaram",
    "Went on": "Seguiram",
    "Stopped here": "Pararam aqui",
    "Drop-off": "Abandono",
    "Open #{chat}": "Abrir #{chat}",
    "Title": "Título",
    "Updated": "Atualizada",
    "Score": "Score",
    "Feeling": "Sentimento",
    "Assertiveness score: components": "Score de assertividade: componentes",
    "Value": "Valor",
    "Correct the agent's replies (optional)": "Corrigir as respostas do agente (opcional)",
    "{n} short of the deck's 100": "faltam {n} para as 100 do deck",
    "any": "qualquer",
    "Scores here are the deterministic reading; the insights model is asked when a conversation is opened (it is "
    "paid).":
        "Aqui os scores são a leitura determinística; o modelo de insights é consultado ao abrir uma conversa (ele é "
        "pago).",
    "Objections": "Objeções",
    "Component": "Componente",
    "Weight": "Peso",
    "Why": "Por quê",
    "Message {n}": "Mensagem {n}",
    "Review saved.": "Revisão salva.",
    "Golden saved: `{path}` — replay it with `python -m evals run --id {id}`":
        "Golden salvo: `{path}` — rode de novo com `python -m evals run --id {id}`",
    "Kind": "Tipo",
    "Everything": "Tudo",
    "Day": "Dia",
    "Configuration": "Configuração",
    "{n} stopped": "{n} pararam",
    "Tool": "Ferramenta",
    "API code": "Código da API",
    "not reviewed": "não revisada",
    "approved": "aprovada",
    "rejected": "rejeitada",
    "no": "não",
    "irony": "ironia",
    "Waiting for review": "Aguardando revisão",
    "Per group": "Por grupo",
    "Review the next one": "Revisar a próxima",
}
