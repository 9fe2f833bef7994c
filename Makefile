# The README's two commands: `make run` and `make test`.
# The interpreter behind .venv/: the system's own CPython (3.11 or newer, able to make a venv) when
# there is one, else `python3` from the PATH; `make PYTHON=/path/to/python3` chooses another. A
# distribution's build (Debian's: profile-guided and link-time optimised, libpython linked in) runs
# this bot's pure-Python work clearly faster than a default pyenv or source build (shared libpython,
# no PGO): see the webhook figures in bench/bench_webhook.py, which names the interpreter it ran.
SYSTEM_PYTHON := /usr/bin/python3
PYTHON ?= $(shell $(SYSTEM_PYTHON) -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' \
	>/dev/null 2>&1 && echo $(SYSTEM_PYTHON) || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install bench clean

# Installing is quiet: pip's and the build's output go to $(LOG), shown only when it fails,
# so that `make run` ends on the server's banner (URLs and the first password).
LOG := $(VENV)/install.log
QUIET_PIP = $(BIN)/python -m pip install --disable-pip-version-check --no-input --progress-bar off

$(BIN)/python:
	@echo "Creating $(VENV)/ with $(PYTHON) ..."
	@# (Debian's python3 without its python3-venv package cannot make one: then python3 from the PATH)
	@$(PYTHON) -m venv $(VENV) > $(VENV).log 2>&1 || { test "$(PYTHON)" = "$(SYSTEM_PYTHON)" || \
		{ cat $(VENV).log; exit 1; }; rm -rf $(VENV); echo "  (it cannot make a venv: using python3)"; \
		python3 -m venv $(VENV); }
	@rm -f $(VENV).log
	@$(QUIET_PIP) --upgrade pip > $(LOG) 2>&1 || { cat $(LOG); exit 1; }

$(STAMP): pyproject.toml setup.py | $(BIN)/python
	@echo "Installing yessindo-bot and its dependencies into $(VENV)/ (log: $(LOG)) ..."
	@$(QUIET_PIP) -e '.[dev]' >> $(LOG) 2>&1 || { tail -n 60 $(LOG); echo "pip install failed: see $(LOG)"; exit 1; }
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/yessindo-bot init-db
	YESSINDO_SIMULATOR=1 $(BIN)/yessindo-bot serve --host 127.0.0.1 --port 5000

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
	$(BIN)/python bench/bench_backup.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache build
