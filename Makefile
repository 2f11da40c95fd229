# conversa-lab — two commands: `make run` (install + start the app) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# localhost only by default (.streamlit/config.toml); ADDRESS=0.0.0.0 to open it from a phone on the same network.
ADDRESS ?= localhost
REQS := requirements.txt
DEV_REQS := requirements-dev.txt

.PHONY: run test install install-dev system-deps lint bench sandbox chat evals clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: $(PY) $(REQS)
	$(PY) -m pip install -q -r $(REQS)
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed $(DEV_REQS)
	$(PY) -m pip install -q -r $(DEV_REQS)
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

## System packages for offline OCR (tesseract + Portuguese) and test audio; skipped when not root
## (the tests that need a missing one are then skipped, saying which package to install).
system-deps:
	@bash scripts/install_system_deps.sh || true

## Install everything and start the Streamlit app on http://localhost:$(PORT) (settings: .streamlit/config.toml)
run: install system-deps
	$(PY) serve.py --server.port $(PORT) --server.address $(ADDRESS)

## Install test dependencies and system packages, and run the whole suite (lint, types, tests): everything
## but the browser tests on every core (pytest-xdist), then the browser tests one at a time — they drive a
## real app and a real Chromium, and a fast typist's timing means nothing on a machine loaded 6× over
## (measured on 2 cores: 3.7 min + 3.4 min, against 8.7 min serially). mypy (~50 CPU s without a cache) runs
## alongside the browser tests, which mostly wait on timers and pages (~0.4 of a core); its report follows
## theirs, and any failure fails the target.
test: install-dev system-deps
	$(PY) -m ruff check .
	@status=0; echo '$(PY) -m pytest -n auto --dist loadgroup -m "not e2e"'; \
	$(PY) -m pytest -n auto --dist loadgroup -m "not e2e" || status=1; \
	log=$$(mktemp); $(PY) -m mypy >"$$log" 2>&1 & mypy=$$!; \
	if [ $$status = 0 ]; then echo "$(PY) -m pytest -m e2e tests/test_e2e*.py (mypy meanwhile)"; \
	  $(PY) -m pytest -m e2e tests/test_e2e*.py || status=1; fi; \
	wait $$mypy || status=1; echo "$(PY) -m mypy"; cat "$$log"; rm -f "$$log"; exit $$status

lint: install-dev
	$(PY) -m ruff check .
	$(PY) -m mypy

bench: install-dev
	@for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f; done

sandbox: install
	$(PY) -m sandbox --port 8765

chat: install
	$(PY) -m agent chat

evals: install
	$(PY) -m evals run

clean:
	rm -rf $(VENV) data/conversa.db* .pytest_cache .mypy_cache
