# civic — `make run` serves the demo, `make test` runs the suite, `make bench` measures.
PORT ?= 8000
VENV ?= .venv
PY := $(VENV)/bin/python
CIVIC := $(VENV)/bin/civic
STAMP := $(VENV)/.installed

.PHONY: run test bench install migrate seed messages lint clean lighthouse

$(STAMP): requirements.lock pyproject.toml
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@test -x $(PY) || uv venv --quiet $(VENV)
	uv pip install --quiet --python $(PY) --compile-bytecode -r requirements.lock
	uv pip install --quiet --python $(PY) --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(CIVIC) migrate

# The notification worker runs beside the server and stops with it.
run: $(STAMP)
	$(CIVIC) migrate
	$(CIVIC) seed-demo --if-empty
	$(CIVIC) worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; $(CIVIC) serve --port $(PORT)

# Compiled once here: with PYTHONDONTWRITEBYTECODE set, every `civic` process the tests start would
# otherwise compile the whole application again (about a second of CPU each).
test: $(STAMP)
	@$(PY) -m compileall -q civic >/dev/null
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) scripts/bench.py $(BENCH_ARGS)

# Mobile Lighthouse on the demo (home, list, two status pages); by hand, not part of `make test`.
lighthouse: $(STAMP)
	VENV=$(VENV) scripts/lighthouse.sh

messages: $(STAMP)
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k N_ -k ngettext:1,2 --no-location --sort-output -o locales/messages.pot .
	$(VENV)/bin/pybabel -q update -i locales/messages.pot -d locales --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date

lint: $(STAMP)
	$(VENV)/bin/ruff check civic tests scripts
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) var/civic.db var/civic.db-wal var/civic.db-shm
