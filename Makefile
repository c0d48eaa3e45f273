# The two commands: `make dev` runs the application locally, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 3000
PARAMS ?=

.PHONY: install dev test check e2e corpus lint build clean build-WebLayer

$(VENV)/.installed: requirements-dev.txt src/shared/requirements.txt src/process/requirements.txt src/publish/requirements.txt src/upload/requirements.txt src/signin/requirements.txt src/edgeauth/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

dev: install
	$(PY) -m devstack --host $(HOST) --port $(PORT) $(if $(PARAMS),--parameter-overrides "$(PARAMS)") $(DEV_FLAGS)

test: install
	scripts/ensure-chromium.sh
	$(PY) -m pytest

# The tier to run before every commit: unit and integration tests (the local stack's own in devstack/tests),
# in parallel (pytest-xdist, one worker per core), without the few marked slow; no stack over HTTP, no browser.
check: install
	$(PY) -m pytest -n auto -m "not slow" tests/unit tests/integration devstack/tests

# The local stack over HTTP and the page in headless Chromium.
e2e: install
	scripts/ensure-chromium.sh
	$(PY) -m pytest tests/e2e

# The pipeline over the real test images in Pillow's and pillow-heif's sdists (pip downloads them, pinned and
# hashed); minutes, so not part of `make test`. docs/hostile-input.md has the counts.
corpus: install
	$(PY) scripts/real_corpus.py

# Static gates: the Python lint (ruff.toml), SAM and CloudFormation lint (before and after the SAM transform),
# the security scan, and an arm64 build whose Pillow must be aarch64.
lint: install
	$(PY) -m ruff check .
	VENV=$(VENV) scripts/lint-template.sh

build:
	VENV=$(VENV) scripts/build.sh

# Run by sam build for WebLayer (BuildMethod makefile) in a copy of web/: the page goes under web/ in the layer,
# which Lambda extracts to /opt/web, where PublishFunction reads it.
build-WebLayer:
	mkdir -p "$(ARTIFACTS_DIR)/web"
	cp -R . "$(ARTIFACTS_DIR)/web"

clean:
	rm -rf $(VENV) .tools .aws-sam
