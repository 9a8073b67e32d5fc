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

.PHONY: book test clean ray edition pdf edition-status edition-update

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

edition: $(STAMP)   # the published edition (editions/standard/) as HTML in _build/edition/; executes nothing
	$(BIN)/nasvec edition html

pdf: $(STAMP)       # the published edition as one PDF, _build/nasvec-standard.pdf (needs Debian's chromium)
	$(BIN)/nasvec edition pdf

edition-status: $(STAMP)
	$(BIN)/nasvec edition status

edition-update: $(STAMP)   # re-execute the stale chapters of the edition: make edition-update [ONLY=ch] [BACKEND=ray WORKERS=2]
	$(BIN)/nasvec edition update $(if $(ONLY),--only $(ONLY)) $(if $(FORCE),--force) \
		$(if $(BACKEND),--backend $(BACKEND)) $(if $(WORKERS),--workers $(WORKERS))

TEST_WORKERS ?= 2
test: $(STAMP)   # one test file per worker (--dist loadfile): the quick book's run and the classroom's side by side
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

clean:
	rm -rf _build book/figures book/tables
