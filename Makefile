# laddvakt: `make sim` runs the system in simulation, `make test` runs every test.
# Each target installs what it needs into .venv/ and build/ by itself.

VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
UMQTT     := build/lib/umqtt/simple.py
CHARTJS   := build/web-vendor/chart.umd.min.js
PYTEST_ARGS ?=

PORT      ?=
FIRMWARE  ?=
CHIP      ?=
DRY_RUN   ?=
BOARD     ?=
CONFIG    ?= build/device/config.json
ONLY      ?=

.PHONY: console-web setup sim test check bench clean help flash deploy test-board lint debian-deps

help:
	@echo "make setup   create .venv/ and fetch umqtt.simple into build/lib (idempotent)"
	@echo "make sim     broker + backend + agent in simulation; prints the priced sessions"
	@echo "make console-web   the web console on the simulation's database (after make sim), a charger running"
	@echo "make test    the whole test suite (firmware under micropython, integration, host)"
	@echo "make check   compile the firmware with mpy-cross; type-check it against the ESP32 stubs"
	@echo "make bench [ONLY=\"uplink tools\"]   write build/bench.json (every area's figures, or those areas' anew; docs/bench.md)"
	@echo "make lint    ruff on everything; mypy on firmware/ (ESP32 stubs) and host_tools/ (settings: pyproject.toml)"
	@echo "make flash PORT=/dev/ttyUSB0 FIRMWARE=ESP32_GENERIC-….bin [CHIP=esp32] [DRY_RUN=1]"
	@echo "make deploy PORT=/dev/ttyUSB0 [BOARD=esp32-wrover] [CONFIG=build/device/config.json] [DRY_RUN=1]"
	@echo "make test-board PORT=/dev/ttyUSB0 [DRY_RUN=1]   firmware tests on a real board"

$(STAMP): host_tools/requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r host_tools/requirements.txt
	touch $@

$(UMQTT): host_tools/toolchain/fetch_umqtt.py $(STAMP)
	$(PY) -m host_tools.toolchain.fetch_umqtt --dest build/lib
	touch $@

# The web console's chart library, from the npm registry (host_tools/web/vendor.py).
$(CHARTJS): host_tools/web/vendor.py $(STAMP)
	$(PY) -m host_tools.web.vendor

setup: $(STAMP) $(UMQTT) $(CHARTJS)

# The simulation needs no front-end code: no npm for `make sim`.
sim: $(STAMP) $(UMQTT)
	$(PY) -m host_tools.sim

# The operators' web console on `make sim`'s database, with one simulated charger (docs/web.md).
console-web: setup
	$(PY) -m host_tools.web.demo $(if $(WEB_PORT),--port $(WEB_PORT))

check: setup
	$(PY) -m host_tools.toolchain.build_mpy
	$(PY) -m host_tools.toolchain.typecheck

# The Debian packages the tests run against (mosquitto, socat, postgresql, chromium).
debian-deps:
	@bash host_tools/debian_deps.sh

# pytest's exit code 5 means no test ran: that is a failure too, and says so.
test: debian-deps check
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no tests ran" >&2; fi; exit $$rc

# ruff; mypy on the firmware against the ESP32 stubs, and on host_tools as the CPython it is
# (libraries without type hints count as Any). Both read their settings from pyproject.toml.
lint: setup
	$(VENV)/bin/ruff check .
	$(PY) -m host_tools.toolchain.typecheck
	$(PY) -m mypy
	@echo "lint: clean"

bench: check
	$(PY) -m host_tools.bench $(foreach a,$(ONLY),--only $(a))

# ---- technician tools (host_tools/device/: flash.py, deploy.py, board_tests.py) --------
flash: $(STAMP)
	@test -n "$(PORT)" -a -n "$(FIRMWARE)" || { echo "usage: make flash PORT=/dev/ttyUSB0 FIRMWARE=ESP32_GENERIC-….bin" >&2; exit 2; }
	$(PY) -m host_tools.device.flash --port $(PORT) --firmware $(FIRMWARE) $(if $(CHIP),--chip $(CHIP)) $(if $(DRY_RUN),--dry-run)

deploy: setup
	@test -n "$(PORT)" || { echo "usage: make deploy PORT=/dev/ttyUSB0 [BOARD=…] [CONFIG=…] [DRY_RUN=1] [FROZEN=1]" >&2; exit 2; }
	$(PY) -m host_tools.device.deploy --port $(PORT) --config $(CONFIG) $(if $(BOARD),--board $(BOARD)) $(if $(DRY_RUN),--dry-run) $(if $(FROZEN),--frozen)

test-board: setup
	@test -n "$(PORT)" || { echo "usage: make test-board PORT=/dev/ttyUSB0 [DRY_RUN=1]" >&2; exit 2; }
	$(PY) -m host_tools.device.board_tests --port $(PORT) $(if $(DRY_RUN),--dry-run)

clean:
	rm -rf build
