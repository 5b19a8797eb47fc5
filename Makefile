# Tobiume FHIR server. `make run` serves on the embedded SQLite default; `make test` runs the
# whole suite (SQLite, and PostgreSQL when reachable: see tests/conftest.py).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
DEMO   ?= 200
STAMP  := $(VENV)/.installed

.PHONY: install run test lint typecheck pytest openapi bench bench-city clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# `make run` first loads the synthetic city (DEMO citizens) into an empty database; DEMO=0 skips it.
run: install
	@echo "Database: $${TOBIUME_DATABASE_URL:-sqlite+aiosqlite:///./tobiume.db} (migrated automatically on SQLite)"
	@if [ "$(DEMO)" != "0" ]; then $(BIN)/tobiume demo load --citizens $(DEMO) --if-empty; fi
	@echo "Tobiume FHIR server: http://127.0.0.1:$(PORT)/fhir (every request but /fhir/metadata needs a token)"
	@echo "Get a token and try it:"
	@echo "  TOKEN=\$$($(BIN)/tobiume token --role hospital --org Organization/hosp-001)"
	@echo "  curl -H \"Authorization: Bearer \$$TOKEN\" http://127.0.0.1:$(PORT)/fhir/Patient/c000001"
	@echo "(roles, scopes and key rotation: README, 'Access tokens and scopes')"
	$(BIN)/tobiume serve --host 127.0.0.1 --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench alembic
	$(BIN)/ruff format --check src tests bench alembic

typecheck: install
	$(BIN)/mypy src tests

pytest: install
	$(BIN)/pytest

test: lint typecheck pytest

openapi: install
	$(BIN)/python -m tobiume.api.openapi > openapi/openapi.json

bench: install
	$(BIN)/python bench/run.py

bench-city: install
	$(BIN)/python bench/city.py

clean:
	rm -rf $(VENV) tobiume.db tobiume.db-wal tobiume.db-shm .pytest_cache .mypy_cache .ruff_cache
