# `make run` and `make test` set everything up themselves on a fresh Debian machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Mesa software GL (EGL/GLX), Qt's xcb platform, Xvfb, OSMesa (docs/architecture.md §7);
# xrootd-server: the XRootD server tests/events/test_remote.py reads root:// URLs from
APT_PACKAGES := python3-venv libgl1 libegl1 libxkbcommon0 libglib2.0-0 libfontconfig1 libdbus-1-3 \
	xvfb xauth libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 \
	libxcb-render-util0 libosmesa6 xrootd-server openssl
XVFB := xvfb-run -a -s "-screen 0 1920x1080x24"

# the desktop entry of `make install-desktop` (XDG user directories unless told otherwise)
DATA_HOME ?= $(if $(XDG_DATA_HOME),$(XDG_DATA_HOME),$(HOME)/.local/share)
DESKTOP_DIR ?= $(DATA_HOME)/applications
ICON_DIR ?= $(DATA_HOME)/icons/hicolor/scalable/apps

.PHONY: run test lint bench system-packages venv clean install-desktop uninstall-desktop

# the project's bytecode compiled first (where Python may not write it, e.g. PYTHONDONTWRITEBYTECODE,
# every start would compile ~100 modules from source: 0.3-0.45 s of the first frame; README Start-up)
run: $(STAMP)
	@$(PY) -m compileall -q geometry events monitoring displays panels main.py >/dev/null
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then $(PY) main.py gui; \
	else echo "No display found: running under Xvfb (set DISPLAY to see the window)"; $(XVFB) $(PY) main.py gui; fi

# the suite on TEST_WORKERS pytest-xdist workers (TEST_WORKERS=0: in this one process)
TEST_WORKERS ?= 2
test: $(STAMP)
	@set -o pipefail; $(XVFB) $(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS); rc=$$?; \
	if [ $$rc = 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy geometry events monitoring displays panels main.py tests benchmarks
	$(VENV)/bin/lint-imports

# one table of every benchmark's ratios; `make bench QUICK=1` runs each with --quick (< 30 s each)
bench: $(STAMP)
	$(XVFB) $(PY) benchmarks/summary.py $(if $(QUICK),--quick)

# the sample events file of assets/samples/, rebuilt from its seed by the generator
.PHONY: samples
samples: $(STAMP)
	$(PY) -m events.generator.samples

system-packages:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "Installing Debian packages:" $$missing; \
		export DEBIAN_FRONTEND=noninteractive; $(SUDO) apt-get update -q && \
		$(SUDO) apt-get install -y -q --no-install-recommends $$missing; fi

venv: $(STAMP)

$(STAMP): pyproject.toml | system-packages
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
		print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' > $(VENV)/requirements.txt
	$(PY) -m pip install -q --no-cache-dir -r $(VENV)/requirements.txt
	touch $@

install-desktop:
	@[ -x $(PY) ] || $(MAKE) venv
	@root="$$(cd "$(CURDIR)" && pwd -P)"; icon="$(ICON_DIR)/belle2-display.svg"; \
	mkdir -p "$(DESKTOP_DIR)" "$(ICON_DIR)" && \
	cp assets/icons/belle2-display.svg "$$icon" && \
	sed -e "s|@ROOT@|$$root|g" -e "s|@ICON@|$$icon|g" assets/belle2-display.desktop \
		> "$(DESKTOP_DIR)/belle2-display.desktop" && \
	chmod 644 "$(DESKTOP_DIR)/belle2-display.desktop" && \
	echo "installed $(DESKTOP_DIR)/belle2-display.desktop (runs $$root/main.py gui) and $$icon"
	@command -v update-desktop-database >/dev/null && update-desktop-database -q "$(DESKTOP_DIR)" || true

uninstall-desktop:
	rm -f "$(DESKTOP_DIR)/belle2-display.desktop" "$(ICON_DIR)/belle2-display.svg"

clean:
	rm -rf $(VENV)
