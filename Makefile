# wxbackend: the README's two commands are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip

# `make run` defaults: debug, SQLite under var/, tasks in-process, the built-in simulator.
RUN_HOST ?= 127.0.0.1
RUN_PORT ?= 8000
RUN_ENV := DJANGO_DEBUG=$${DJANGO_DEBUG:-1} \
	WECHAT_API_BASE=$${WECHAT_API_BASE:-http://$(RUN_HOST):$(RUN_PORT)/__sim__/api} \
	WECHAT_PAY_API_BASE=$${WECHAT_PAY_API_BASE:-http://$(RUN_HOST):$(RUN_PORT)/__sim__/pay} \
	WECHAT_PAY_NOTIFY_BASE_URL=$${WECHAT_PAY_NOTIFY_BASE_URL:-http://$(RUN_HOST):$(RUN_PORT)} \
	PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://$(RUN_HOST):$(RUN_PORT)}
# The suite: debug-mode defaults for secrets (pytest-django still runs with DEBUG off);
# test servers in threads close their connections after each request.
TEST_ENV := DJANGO_DEBUG=1 DATABASE_CONN_MAX_AGE=$${DATABASE_CONN_MAX_AGE:-0}

.PHONY: run test lint worker beat bench venv dev-venv clean prod-check prod

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

venv: $(VENV)/.runtime
dev-venv: $(VENV)/.dev

run: $(VENV)/.runtime
	mkdir -p var
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py dev_keys
	$(RUN_ENV) $(PY) manage.py demo_data
	$(RUN_ENV) $(PY) manage.py demo_admin
	$(RUN_ENV) $(PY) manage.py runserver $(RUN_HOST):$(RUN_PORT)

test: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check . || true

worker: $(VENV)/.runtime
	$(PY) -m celery -A wxbackend worker --loglevel=INFO

beat: $(VENV)/.runtime
	$(PY) -m celery -A wxbackend beat --loglevel=INFO --schedule var/celerybeat-schedule

# Production run on one machine: debug off, PostgreSQL + Redis, gunicorn + worker + beat
# (bin/prod; settings from the environment or var/prod.env, written for a trial if absent).
prod: $(VENV)/.runtime
	PYTHON=$(PY) bin/prod

# A venv from requirements.txt alone runs a worker and a task end to end (CI runs it too).
prod-check:
	bash .ci/prod-install

bench: $(VENV)/.dev
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
