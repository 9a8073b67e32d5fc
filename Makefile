# Two commands: `make book` and `make test`. Both create .venv on first use.
#   make book [PROFILE=quick|standard|paper] [ONLY=chapter[,chapter]] [FORCE=1] [BACKEND=ray] [WORKERS=N] [STUDENT=1]
#   make test
PROFILE ?= quick
ONLY ?=
FORCE ?=
BACKEND ?=
WORKERS ?=
STUDENT ?=
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: book test clean ray

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

book: $(STAMP)
	$(BIN)/nasvec book --profile $(PROFILE) $(if $(ONLY),--only $(ONLY)) $(if $(FORCE),--force) \
		$(if $(BACKEND),--backend $(BACKEND)) $(if $(WORKERS),--workers $(WORKERS)) $(if $(STUDENT),--student)

ray: $(STAMP)   # the optional Ray backend (nasvec.parallel): make ray, then make book BACKEND=ray
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-ray.lock

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf _build book/figures book/tables
