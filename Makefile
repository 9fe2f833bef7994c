# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/yessindo-bot init-db
	$(BIN)/yessindo-bot serve --host 127.0.0.1 --port 5000

test: $(STAMP)
	@# The email tests run a real Dovecot (Debian's dovecot-imapd) and the browser tests drive
	@# Debian's Chromium through Playwright (tests/browser.py; never `playwright install`, which
	@# downloads browsers from outside the package registries). Install whichever is missing,
	@# with a single apt-get update.
	@missing=""; \
	test -x /usr/sbin/dovecot || missing="$$missing dovecot-imapd"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/bench_intents.py
	$(BIN)/python bench/bench_chat.py
	$(BIN)/python bench/bench_webhook.py
	$(BIN)/python bench/bench_email.py
	$(BIN)/python bench/bench_queue.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
