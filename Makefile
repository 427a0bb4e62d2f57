# GRADIA Desktop - `make run` opens the app on the demo project, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
APP    := $(VENV)/.installed-app
TESTS  := $(VENV)/.installed-test
LOG    := $(VENV)/install.log
SHELL  := /bin/bash
.SHELLFLAGS := -eo pipefail -c

# pip's own output goes to $(LOG); the terminal gets one line per package as it is fetched.
define pip_install
	$(BIN)/python -m pip install --progress-bar off $(1) 2>&1 | tee -a $(LOG) \
	  | { grep --line-buffered -E '^Collecting ' | sed -u -e 's/^Collecting /  . /' -e 's/ (from .*//' || true; } \
	  || { echo "install failed; the last lines of $(LOG):"; tail -n 15 $(LOG); exit 1; }
endef

.PHONY: install install-test run test bench dist package guide clean

install: $(APP)
install-test: $(TESTS)

# Each stamp re-installs only when pyproject.toml changes; safe to run any number of times.
$(APP): pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing GRADIA Desktop with PyTorch, torchvision, PySide6 and OpenCV into $(VENV)" \
	      "(a minute or two; full log: $(LOG))"
	@$(call pip_install,--quiet --upgrade pip)
	@$(call pip_install,-e .)
	@touch $@
	@echo "installed. The gradia and gradia-desktop commands are in $(BIN): run '. $(BIN)/activate' once per shell"

$(TESTS): $(APP)
	@echo "installing the test tools (pytest, pytest-qt, import-linter, and Captum and pytorch-grad-cam to check" \
	      "our Grad-CAM against)"
	@$(call pip_install,-e '.[test]')
	@touch $@

run: $(APP)
	$(BIN)/gradia-desktop --demo

# The layer contracts (pyproject.toml, [tool.importlinter]) first, then every test.
test: $(TESTS)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest

# The wheel and sdist in dist/ (built from this environment's setuptools: no download).
dist: $(TESTS)
	$(BIN)/python -m build --no-isolation --outdir dist .

# The one-folder bundle in dist/gradia-desktop/ with whatever PyTorch .venv has (docs/user-guide/install.md).
package: $(APP)
	@$(call pip_install,"pyinstaller>=6.10")
	packaging/build-bundle.sh $(BIN)/python

# The user guide's pictures, made by the app playing the walkthrough on a fresh demo (about 5 minutes).
guide: $(APP)
	mkdir -p docs/user-guide/images
	QT_QPA_PLATFORM=offscreen $(BIN)/gradia-desktop --guide-screenshots docs/user-guide/images

bench: $(APP)
	$(BIN)/gradia bench --arch resnet18 --image-size 224 --batch-size 16 --device cpu --reference

clean:
	rm -rf $(VENV) build *.egg-info
