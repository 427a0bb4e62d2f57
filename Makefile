# GRADIA Desktop - `make run` opens the app on the demo project, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test bench clean

install: $(STAMP)

# Re-installs only when pyproject.toml changes; safe to run any number of times.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(BIN)/gradia-desktop --demo

# The layer contracts (pyproject.toml, [tool.importlinter]) first, then every test.
test: install
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest

bench: install
	$(BIN)/gradia bench --arch resnet18 --image-size 224 --batch-size 16 --device cpu --reference

clean:
	rm -rf $(VENV) build *.egg-info
