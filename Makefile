# Everything a fresh machine needs, from Python 3.13 alone. See README.md.
# The first Python 3.13 found: on PATH, then pyenv's (`pyenv install 3.13` puts one there
# without making it the default). PYTHON=/path/to/python3.13 chooses another.
PY313 := python3.13 python3 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) \
	$(wildcard $(PYENV_ROOT)/versions/3.13*/bin/python3.13)
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach p,$(PY313),$(shell $(p) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && command -v $(p))))
endif
PYTHON_NEEDED = @test -n "$(PYTHON)" && $(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null || \
	{ echo "Python 3.13 is needed and none was found: install it (pyenv install 3.13, or your system's python3.13) or set PYTHON=/path/to/python3.13" >&2; exit 1; }
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PIP_TOOLS := pip-tools==7.6.2
PIP_COMPILE = var/pip-tools/bin/pip-compile --quiet --strip-extras --generate-hashes --allow-unsafe

.PHONY: help run reset test lint typecheck format hooks messages gettext-deps lock clean

# Every target and what it does: the "## " note on its line (tests/test_makefile.py checks
# that every target has one).
help:  ## List every target with what it does (this list)
	@awk -F ':.*## ' '/^[a-z0-9][a-z0-9-]*:.*## / { printf "  %-16s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# The local target: migrate, start the local AWS stack, runserver on 127.0.0.1:$(PORT); the
# stack's port is LOCALAWS_PORT (the settings read it too), and its media bucket accepts
# uploads from the server's origin. `make run PORT=8001 LOCALAWS_PORT=4567` beside another.
PORT ?= 8000
LOCALAWS_PORT ?= 4566
run reset: export LOCALAWS_PORT := $(LOCALAWS_PORT)

run: $(INSTALLED)  ## Set up, start the local AWS stack and runserver on http://127.0.0.1:8000 (PORT=, LOCALAWS_PORT=)
	$(PY) manage.py migrate --noinput
	@trap 'kill $$stack 2>/dev/null; wait $$stack 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py localaws --port $(LOCALAWS_PORT) \
		--origin http://127.0.0.1:$(PORT) --origin http://localhost:$(PORT) & stack=$$!; \
	$(PY) manage.py localaws --port $(LOCALAWS_PORT) --wait && \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

# A fresh local world: the stack's saved state (var/localaws) and every row of the local
# database go together, so no user or file points at what the stack no longer has. Asks
# first; refused while `make run` runs.
reset: $(INSTALLED)  ## Delete the local stack's state and the local database's data (stop make run first)
	$(PY) manage.py localaws --reset --port $(LOCALAWS_PORT)

# The whole suite, lint and types first; coverage of apps/, project/ and deploy/ with a floor
# ([tool.coverage] in pyproject.toml: the run fails when it drops).
test: lint typecheck gettext-deps  ## Set up and run lint, import contracts, mypy and the suite with its coverage floor
	$(PY) -m pytest --cov --cov-report=term:skip-covered

lint: $(INSTALLED)  ## ruff (lint + format check) and the import contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: $(INSTALLED)  ## mypy with django-stubs on apps/, project/ and deploy/
	$(VENV)/bin/mypy

# The same checks before each commit (.pre-commit-config.yaml), from the locked venv.
hooks: $(INSTALLED)  ## Install the pre-commit hooks (ruff, contracts, mypy) into .git
	$(VENV)/bin/pre-commit install

format: $(INSTALLED)  ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The venv is rebuilt from scratch whenever a lock file changes, so it never drifts.
$(INSTALLED): requirements/dev.txt requirements/runtime.txt
	$(PYTHON_NEEDED)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r requirements/dev.txt
	$(PY) -m pip check
	touch $@

# Re-extract translatable strings and recompile the catalogs (the .mo files are committed) of
# every installed app under apps/, in every language of LANGUAGES (manage.py messages).
messages: $(INSTALLED) gettext-deps  ## Re-extract and compile the translation catalogs of every app under apps/
	$(PY) manage.py messages

# GNU gettext: make messages extracts with it, and the suite checks that the catalogs hold
# what the code marks today (apps/core/tests/test_translations.py).
gettext-deps:  ## Install GNU gettext (xgettext, msgmerge, msgfmt) if it is missing
	@command -v xgettext >/dev/null && command -v msgmerge >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext)

# Re-resolve the lock files from pyproject.toml (needs the package index).
lock:  ## Re-resolve requirements/*.txt from pyproject.toml (needs the package index)
	$(PYTHON_NEEDED)
	test -x var/pip-tools/bin/pip-compile || \
		($(PYTHON) -m venv var/pip-tools && var/pip-tools/bin/pip install --quiet $(PIP_TOOLS))
	$(PIP_COMPILE) -o requirements/runtime.txt pyproject.toml
	$(PIP_COMPILE) --extra dev -c requirements/runtime.txt -o requirements/dev.txt pyproject.toml

clean:  ## Remove the venv, collected static files and pip-tools
	rm -rf $(VENV) var/staticfiles var/pip-tools

# --- Server target (EC2 / containers) ---------------------------------------------------
SERVER_DEPS := nginx podman runc debootstrap wrk openssl redis-server
.PHONY: server-deps test-container bench-server

# Debian packages the server-target tests use; installs only what is missing.
server-deps:  ## Install the Debian packages the server-target tests use (nginx, podman, wrk...)
	@missing=""; for tool in nginx podman runc debootstrap wrk openssl redis-server; do \
		command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SERVER_DEPS); \
	fi

# podman build + run of deploy/container/Dockerfile (slow: builds a debootstrap base once).
test-container: $(INSTALLED) server-deps  ## Build the image with podman and run it (slow)
	$(PY) -m pytest -m container tests/test_container.py

# wrk against gunicorn and a bare-Django baseline; writes bench/results/server_load.json.
bench-server: $(INSTALLED) server-deps  ## wrk against gunicorn vs bare Django: bench/results/server_load.json
	$(PY) bench/server_load.py

# --- Lambda package -----------------------------------------------------------------------
STAGE ?= dev
.PHONY: package package-deps test-package collectstatic

# The lean zip for one stage: var/package/amphibian-$(STAGE).zip (deploy/lambda/package.py).
package: package-deps  ## Build the lean Lambda zip for STAGE (var/package/amphibian-STAGE.zip)
	$(PYTHON_NEEDED)
	$(PYTHON) deploy/lambda/package.py --stage $(STAGE)

# The build strips shared libraries with binutils' strip.
package-deps:  ## Install binutils (the package build strips shared libraries)
	@command -v strip >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq binutils)

# Builds the package and serves it through the local Lambda, on demand and restored from a
# SnapStart snapshot (slow: a few minutes).
test-package: $(INSTALLED) package-deps  ## Build the package and serve it through the local Lambda (slow)
	$(PY) -m pytest -m package tests/test_package.py tests/test_package_snapstart.py

# Hashed static files to the stage's STATIC_BUCKET behind the CDN (lambda target,
# DJANGO_STATIC_STORAGE=s3; the stage's variables come from the environment). Writes the
# manifest that the next `make package` ships, so pages render without calling S3.
collectstatic: $(INSTALLED)  ## Upload hashed static files to the stage's STATIC_BUCKET (lambda target)
	DJANGO_DEPLOY_TARGET=lambda DJANGO_STATIC_STORAGE=s3 $(PY) manage.py collectstatic --noinput

# --- Deploy to an AWS account (deploy/tools/deploy) ----------------------------------------
# The credentials and region of the standard chain (AWS_PROFILE...). The stage's choices are
# deploy/aws/parameters/$(STAGE).json (domain, certificate, ...), its Lambda settings
# zappa_settings.json. Each step compares, then acts only on a difference: a second run
# changes nothing. README.md, "Deploy to your AWS account".
.PHONY: deploy deploy-plan deploy-server rollback test-deploy

deploy: $(INSTALLED) package-deps  ## Deploy STAGE's Lambda world: stack, secrets check, static, package, Zappa, migrate, smoke
	$(PY) manage.py deploy $(STAGE)

# The live alias back to the release before (VERSION=N: to that version); API Gateway, the
# schedules, S3 and tasks all invoke the alias, so they all follow. Then the smoke check.
rollback: $(INSTALLED)  ## Move STAGE's live alias back to the previous release (VERSION=N for a given one)
	$(PY) manage.py deploy $(STAGE) --rollback $(if $(VERSION),--to $(VERSION))

deploy-plan: $(INSTALLED)  ## What make deploy STAGE=... would change (WORLD=server for the servers); changes nothing
	$(PY) manage.py deploy $(STAGE) --plan --world $(or $(WORLD),lambda)

deploy-server: $(INSTALLED) server-deps  ## Deploy STAGE's server world: stack, image to ECR, ECS service, migrate task, smoke
	$(PY) manage.py deploy $(STAGE) --world server

# The whole deploy rehearsed offline against an emulated AWS account (moto on loopback,
# deploy/tools/rehearsal), then the e2e scenario on the deployed zip ("deployed" target).
test-deploy: $(INSTALLED) server-deps package-deps  ## Rehearse make deploy against an emulated AWS account, then e2e on what it deployed (slow)
	command -v chromium || (apt-get update -qq && apt-get install -y -qq chromium)
	$(PY) -m pytest -m deploy tests/deploy/test_rehearsal.py tests/deploy/test_rehearsal_server.py tests/e2e tests/deploy/test_least_privilege.py

# Package size, cold start (local Lambda) and warm handler overhead, ours vs a stock Zappa
# package, apig-wsgi and Zappa's handler; writes bench/results/lambda.json (~5 minutes).
.PHONY: bench-lambda
bench-lambda: $(INSTALLED)  ## Package size, cold start and warm overhead vs stock Zappa: bench/results/lambda.json
	$(PY) bench/lambda_bench.py

# --- End-to-end browser suite -------------------------------------------------------------
.PHONY: e2e

# Playwright (locked) drives Debian's Chromium through one visit on each target, which the
# suite starts itself: local, server (nginx), container (podman), lambda-v2 and lambda-v1
# (the built package behind the local API Gateway). Screenshots: var/e2e/<target>/.
e2e: $(INSTALLED) server-deps package-deps  ## The browser suite (Playwright + Chromium) on all five targets (slow)
	command -v chromium || (apt-get update -qq && apt-get install -y -qq chromium)
	$(PY) -m pytest -m 'e2e and not deploy' tests/e2e

# --- Benchmarks (bench/README.md) ---------------------------------------------------------
# Every benchmark, one at a time (they measure; never in parallel), then the table in
# bench/README.md. Slow (about 15 minutes); each target also runs alone.
.PHONY: bench bench-sessions bench-tasks bench-jwt bench-upload bench-report

bench: $(INSTALLED)  ## Every benchmark, one at a time, then bench/README.md (slow)
	$(MAKE) -j1 bench-lambda bench-server bench-sessions bench-tasks bench-jwt bench-upload
	$(MAKE) bench-report

# Our DynamoDB session engine vs Django's db and cache engines: bench/results/sessions.json.
bench-sessions: $(INSTALLED)  ## DynamoDB sessions vs Django's db and cache engines
	$(PY) bench/sessions_bench.py

# Import cost of the task enqueue path vs zappa.asynchronous: bench/results/tasks_import.json.
bench-tasks: $(INSTALLED)  ## Import cost of the task enqueue path vs zappa.asynchronous
	$(PY) bench/tasks_import.py

# verify_token vs PyJWT + cryptography (per token, cold import), JWKS fetch counts under
# concurrency: bench/results/jwt.json.
bench-jwt: $(INSTALLED)  ## verify_token vs PyJWT + cryptography, JWKS fetch counts
	$(PY) bench/jwt_bench.py

# Bytes through the local Lambda for a 50 MB upload, direct and by the form; needs
# PostgreSQL on 127.0.0.1:5432 (trust auth): bench/results/upload_bytes.json.
bench-upload: $(INSTALLED)  ## Bytes through the local Lambda for a 50 MB upload
	$(PY) bench/upload_bytes.py

# bench/README.md from bench/results/*.json (generated: never edit it by hand).
bench-report: $(INSTALLED)  ## bench/README.md from bench/results/*.json
	$(PY) bench/report.py
