# Two entry points for a fresh machine with python3 and make:
#   make run   install kb, index the bundled corpus, serve http://127.0.0.1:5000
#   make test  install kb with its test extra (and Chromium, Tesseract, Recoll), run every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install install-test translations messages browser index lint audit bench pdfs office-samples clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian run 'apt-get install python3-venv'"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(MAKE) --no-print-directory translations

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,dev]'
	$(MAKE) --no-print-directory translations

# The web UI's message catalogues: webui/translations/<lang>/LC_MESSAGES/messages.po (kept in
# git) compiled to messages.mo (not kept; the app also compiles a missing or stale one).
translations:
	$(BIN)/pybabel -q compile -d webui/translations -D messages

# After changing a message in webui/: extract every marked message into messages.pot and merge
# it into each language's .po (new messages come untranslated, changed ones fuzzy; the tests
# fail until they are translated). See docs/translating.md.
messages:
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ -k Nn_:1,2 -k lazy_gettext --no-wrap \
	  --sort-by-file --project=kb --copyright-holder="ASF Leadership for Change" \
	  -o webui/translations/messages.pot .
	$(BIN)/pybabel -q update -i webui/translations/messages.pot -d webui/translations \
	  -D messages --no-wrap --ignore-obsolete

# The Debian packages some tests need, installed when missing (needs root or sudo):
# - chromium: the browser tests drive Debian's Chromium;
# - poppler-utils: `kb index` reads PDF text with its pdftotext and renders scanned pages for
#   OCR with its pdftoppm; the tests cover that path as well as the pypdf one;
# - tesseract-ocr and its English, Swedish, Norwegian and Danish packs: OCR of scanned PDFs;
# - recollcmd: Recoll, the peer benchmarks/ingest.py measures kb against;
# - hunspell-sv, hunspell-no, hunspell-da: the word lists kb splits compound words with;
# then axe-core (tests/browser/package.json, locked), which the accessibility tests inject
# into Chromium: npm installs it into tests/browser/node_modules.
SYSTEM_PACKAGES := chromium poppler-utils tesseract-ocr tesseract-ocr-eng tesseract-ocr-swe \
	tesseract-ocr-nor tesseract-ocr-dan recollcmd hunspell-sv hunspell-no hunspell-da
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/pdftotext ] || [ ! -x /usr/bin/tesseract ] \
	    || [ ! -x /usr/bin/recollindex ] || [ ! -f /usr/share/hunspell/nb_NO.dic ] \
	    || [ ! -f /usr/share/hunspell/sv_SE.dic ] || [ ! -f /usr/share/hunspell/da_DK.dic ] \
	    || ! tesseract --list-langs 2>/dev/null | grep -qx dan; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	fi
	@if ! command -v npm >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm >/dev/null; \
	fi
	npm ci --prefix tests/browser --no-audit --no-fund --silent

index: install
	$(BIN)/kb index

run: install
	$(BIN)/kb index
	@echo "kb is starting at http://$(HOST):$(PORT)/"
	$(BIN)/kb serve --host $(HOST) --port $(PORT)

test: install-test browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Known vulnerabilities in every package installed in the venv (the editable kb aside),
# from pip-audit's default service: PyPI's JSON API per release. --strict turns a package
# the service could not answer for into a failure: an audit that could not run is not a pass.
# Accepted vulnerabilities: .ci/audit-allowlist.txt. Not part of `test`: it needs that API.
audit: install-test
	$(BIN)/pip install --quiet 'pip-audit>=2.7'
	@reqs=$$(mktemp) && trap 'rm -f "$$reqs"' EXIT && \
	ignores=$$(sed -e 's/#.*//' .ci/audit-allowlist.txt | awk 'NF { printf "--ignore-vuln %s ", $$1 }') && \
	$(BIN)/pip freeze --exclude-editable > "$$reqs" && \
	$(BIN)/pip-audit --strict --no-deps --disable-pip --progress-spinner off -r "$$reqs" $$ignores || { \
	  echo "make audit FAILED: known vulnerabilities (listed above), or the vulnerability service could not be reached or could not answer for every package (error above). Neither is a pass." >&2; exit 1; }

# Every benchmark in its quick mode (a smoke check, a few minutes in all); full runs and
# their figures: docs/benchmarks.md. Recoll, the indexing peer, is used when installed
# (Debian: apt-get install recollcmd). Benchmarks are not tests: CI does not run them.
bench: install-test
	$(BIN)/python benchmarks/query.py --quick
	$(BIN)/python benchmarks/ingest.py --quick
	$(BIN)/python benchmarks/load.py --quick
	$(BIN)/python benchmarks/bounds.py --quick

pdfs: install-test
	$(BIN)/python scripts/build_corpus_pdfs.py

office-samples: install-test
	$(BIN)/python scripts/build_corpus_office.py

clean:
	rm -rf .kb .pytest_cache .ruff_cache
