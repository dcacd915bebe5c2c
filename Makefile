# Set-up reruns only when pyproject.toml changes (the stamp).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5672

.PHONY: install run test test-fast lint typecheck interop bench soak fuzz clean browser screenshots \
	web-load-time

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m compileall -q amqpbroker >/dev/null
	touch $(STAMP)

install: $(STAMP)

# (bytecode compiled ahead: start-up stays fast where PYTHONDONTWRITEBYTECODE is set)
run: $(STAMP)
	$(PY) -m compileall -q amqpbroker >/dev/null
	$(VENV)/bin/amqpbroker serve --host $(HOST) --port $(PORT)

# (the slowest tests listed at the end: where the suite's time goes; the web page's browser
# tests need a headless Chromium: installed first where it can be, skipped where not)
test: $(STAMP) browser
	$(PY) -m pytest -q --durations=25

# Debian's chromium and chromium-driver for tests/browser (apt-get, as root only).
browser:
	-@bash tests/browser/install-chromium.sh

# The README's two screenshots (docs/images/overview.png, queue.png), with some traffic.
screenshots: $(STAMP) browser
	AMQPBROKER_README_SCREENSHOTS=1 $(PY) -m pytest -q -p no:cacheprovider \
		tests/browser/test_web_screenshots.py

# How long the page takes to show 10,000 queues (not a test: it prints the figures).
web-load-time: $(STAMP) browser
	$(PY) tests/browser/load_time.py

# The edit-test loop: the in-process tests only (protocol, core, session, storage, layering),
# no sockets (--no-network fails any test that opens one) and no crash test: seconds, not
# minutes.  `make test` runs these and the socket, durability and bench tests besides.
FAST_TESTS := tests/protocol tests/core tests/session tests/storage tests/access tests/management_views tests/test_layers.py \
	tests/bench/test_hotpath_bench.py
test-fast: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider --no-network $(FAST_TESTS)

lint: $(STAMP)
	$(VENV)/bin/ruff check amqpbroker tests interop
	$(VENV)/bin/ruff format --check amqpbroker

typecheck: $(STAMP)
	$(VENV)/bin/mypy amqpbroker

interop: $(STAMP)
	$(PY) -m pytest -q interop

# Scenarios a-h against amqpbroker and, when it answers on 127.0.0.1:5673, RabbitMQ
# (../shared/tools/refbroker.sh start), alternating for 3 rounds: ~10 minutes.
bench: $(STAMP)
	$(VENV)/bin/amqpbroker bench --scenario startup --count 30
	$(VENV)/bin/amqpbroker bench --compare

soak: $(STAMP)
	AMQPBROKER_SOAK=1 $(PY) -m pytest -q -s tests/durability/test_crash.py

# The session fuzzer (amqpbroker/testing/fuzz): mutated seeded AMQP sessions straight into
# ConnectionSession, in one process; prints cases/s and each finding with the case that
# replays it (--replay SEED:INDEX).  A million cases take about an hour on a loaded machine.
# `make test` runs a smoke run of it (tests/session/test_fuzz.py).
FUZZ_CASES ?= 1000000
FUZZ_SEED ?= 1
fuzz: $(STAMP)
	$(PY) -m amqpbroker.testing.fuzz --cases $(FUZZ_CASES) --seed $(FUZZ_SEED)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
