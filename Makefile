# Thin wrappers around tools/run.py, which does the work and also runs without make
# (`python tools/run.py test`, on Windows `py tools\run.py test`).
#   make demo STEP=1              serve step01 instead of the newest step
#   make demo STEP=4 SERVERS=2    two servers (:8000, :8002) sharing the local Redis
#   make test PYTHON=python3.13   test with another interpreter (its own .venv-3.13)
#   make test START_METHOD=spawn  start the tests' live servers as macOS and Windows do

PYTHON ?= python3
STEP ?=
SERVERS ?=
START_METHOD ?=
# tools/run.py is stdlib only and runs on python3; PYTHON chooses the venv's interpreter
# (a pyenv version that the shims refuse is found too).
RUN = python3 tools/run.py --python "$(PYTHON)"
STEP_OPTION = $(if $(STEP),--step $(STEP))
START_METHOD_OPTION = $(if $(START_METHOD),--start-method $(START_METHOD))

.DEFAULT_GOAL := help
.PHONY: help demo test test-start-methods check diffs bootstrap lint format bench-collector bench-broadcast slides slides-pdf reset wheelhouse

help: ## list the targets
	@echo "make <target> [STEP=N] [PYTHON=python3.X]"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-19s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

demo: ## migrate, seed and serve the newest step (or STEP) on http://127.0.0.1:8000/
	$(RUN) demo $(STEP_OPTION) $(if $(SERVERS),--servers $(SERVERS))

reset: ## a new database for the newest step (or STEP), with the demo data
	$(RUN) reset $(STEP_OPTION)

test: ## every step's tests (or STEP's), the notebooks, the checks
	$(RUN) test $(STEP_OPTION) $(START_METHOD_OPTION)

test-start-methods: ## the tests that start servers, under spawn and under forkserver (STEP="2 5": those steps)
	$(RUN) test-start-methods $(foreach step,$(STEP),--step $(step)) $(START_METHOD_OPTION)

# The exercises (exercises/README.md): make exercise STEP=2 EX=1, make solve STEP=2 EX=1.
.PHONY: exercises exercise solve
EX ?=
EXERCISE_OPTIONS = $(STEP_OPTION) $(if $(EX),--ex $(EX))
exercises: ## list the exercises, each with the command that checks it
	$(RUN) exercises

exercise: ## check exercise EX of step STEP: what is still missing (exit 0 once solved)
	$(RUN) exercise $(EXERCISE_OPTIONS)

solve: ## apply the worked solution of exercise EX of step STEP (never over your changes)
	$(RUN) solve $(EXERCISE_OPTIONS)

check: ## is this machine ready for the workshop?
	$(RUN) check

bench-collector: ## measure step05's three collectors (QUICK=1: a small run)
	$(RUN) bench-collector $(if $(QUICK),--quick)

bench-broadcast: ## time a post to K sockets, per layer and server (QUICK=1: a small run)
	$(RUN) bench-broadcast $(if $(QUICK),--quick)

slides: ## build the talk's deck: slides/build/deck/index.html, presents from disk
	$(RUN) slides

slides-pdf: ## build the deck and print it: slides/build/slides.pdf (and slides-notes.pdf)
	$(RUN) slides --pdf

diffs: ## regenerate each step's CHANGES.diff and README "What changed"
	$(RUN) diffs

.PHONY: notebook notebook-links
notebook: ## open the newest step's notebook (or STEP's) in Jupyter, on the venv's Python
	$(RUN) notebook $(STEP_OPTION)

notebook-links: ## write the links at each notebook's top and bottom
	$(RUN) notebook-links

bootstrap: ## create or refresh the venv from requirements.txt
	$(RUN) bootstrap

wheelhouse: ## download every wheel for Linux, macOS, Windows, Python 3.11-3.14 into wheels/ (or DEST)
	$(RUN) wheelhouse $(if $(DEST),--dest "$(DEST)")

lint: ## ruff check and ruff format --check
	$(RUN) lint

format: ## ruff check --fix and ruff format (rewrites files)
	$(RUN) format
