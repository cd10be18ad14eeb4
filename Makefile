# Linli — the two commands a new machine needs are `make demo` and `make test`.
# PYTHON may be given (make demo PYTHON=/path/to/python3.13); otherwise the first
# interpreter >= 3.12 that really runs is taken (pyenv shims that fail are skipped).

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

PYENV_ROOT_DIR := $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
PYTHON_CANDIDATES := python3.13 python3.12 \
	$(wildcard $(PYENV_ROOT_DIR)/versions/3.13*/bin/python) \
	$(wildcard $(PYENV_ROOT_DIR)/versions/3.12*/bin/python) python3
PYTHON ?= $(shell for c in $(PYTHON_CANDIDATES); do \
	if $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then echo $$c; break; fi; done)

.PHONY: install browser-deps demo test test-fast check seed run worker bench lock clean screenshots prod-check loadtest

install: $(STAMP)

$(STAMP): requirements.txt
	@if [ -z "$(PYTHON)" ]; then echo "Linli needs Python 3.12 or newer (Django 6.1). Install one, or run: make install PYTHON=/path/to/python3.12" >&2; exit 1; fi
	@if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
		echo "Creating $(VENV) with $(PYTHON)"; rm -rf $(VENV); $(PYTHON) -m venv $(VENV); fi
	$(PY) -m pip install --quiet --disable-pip-version-check --require-virtualenv -r requirements.txt
	@touch $(STAMP)

demo: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py load_definitions
	$(PY) manage.py seed_demo
	$(PY) manage.py demo_banner --host $(HOST) --port $(PORT)
	@mkdir -p .demo; $(PY) manage.py db_worker >.demo/worker.log 2>&1 & echo $$! > .demo/worker.pid; \
	trap 'kill $$(cat .demo/worker.pid) 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

# The whole suite, slow and browser tests included (CI runs exactly this).
test: install browser-deps
	$(PY) -m pytest

# The browser tests (tests/browser) drive Debian's Chromium, never a downloaded browser; CJK fonts
# make Chinese readable in their screenshots. Installed with apt-get when missing; where that is not
# possible (no apt-get, not root, offline) this says so and the browser tests skip with the reason —
# except in CI (CI set, as `.ci/run` runs): there a browser that cannot be installed fails `make test`.
CHROMIUM := /usr/bin/chromium
BROWSER_PACKAGES := chromium fonts-noto-cjk
IN_CI := $(filter-out 0 false no False FALSE No NO,$(strip $(CI)))
browser-deps:
	@give_up() { if [ -n "$(IN_CI)" ]; then \
		echo "browser-deps: $$1; CI is set, so the browser tests must not be skipped: failing" >&2; exit 1; fi; \
		echo "browser-deps: $$1; the browser tests are skipped until then" >&2; exit 0; }; \
	if [ -x $(CHROMIUM) ] && dpkg-query -W -f='$${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed'; then exit 0; fi; \
	if [ -x $(CHROMIUM) ] && ! command -v dpkg-query >/dev/null 2>&1; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		give_up "apt-get is not available; install $(BROWSER_PACKAGES) yourself"; fi; \
	sudo=""; if [ "$$(id -u)" != 0 ]; then \
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else \
		give_up "installing $(BROWSER_PACKAGES) needs root (apt-get)"; fi; fi; \
	echo "browser-deps: installing $(BROWSER_PACKAGES) with apt-get"; \
	if $$sudo apt-get update -qq >/dev/null && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; then :; else \
		give_up "apt-get could not install $(BROWSER_PACKAGES)"; fi; \
	if [ ! -x $(CHROMIUM) ]; then give_up "$(CHROMIUM) is still missing after apt-get"; fi

# For a developer in a hurry: everything but tests marked slow or browser.
test-fast: install
	$(PY) -m pytest -m "not slow and not browser"

# Refresh docs/screenshots/ from the browser tests.
screenshots: install
	LINLI_SCREENSHOTS=1 $(PY) -m pytest -q -m browser

check: install
	$(PY) manage.py check_definitions

bench: install
	$(PY) bench/definitions.py

# The production setup started on this machine and tried end to end (deploy/prod_check.py): a throwaway
# PostgreSQL database (127.0.0.1:5432, user postgres) and spare Redis databases (127.0.0.1:6379), two
# gunicorn instances and an RQ worker; everything it starts is stopped, dropped or flushed at the end.
prod-check: install
	$(PY) deploy/prod_check.py

# The full load test (loadtest/): a city of 300 000 residents on a throwaway PostgreSQL database,
# the campaign's bursts at 1x then 3x for ten minutes, the shop rush and Wagtail's form page beside
# Linli's. `make test` runs the CI-sized version (tests/load, marked slow).
loadtest: install
	$(PY) -m loadtest --full

# Re-resolve the lock from requirements.in into a scratch virtualenv.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install --quiet -r requirements.in \
		&& .lock-venv/bin/pip freeze --exclude-editable > requirements.txt && rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis db.sqlite3 .demo
