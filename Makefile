.PHONY: setup run test lint typecheck bench bench-ingest bench-latency bench-serve bench-realtimeqa

VENV := .venv
BIN := $(VENV)/bin

setup:
	test -x $(BIN)/python || python3.11 -m venv $(VENV)
	@echo "set-up: installing torch 2.13.0 (CPU build), then Newsdesk and its dependencies"
	$(BIN)/pip install -q torch==2.13.0 && $(BIN)/pip install -q -e ".[dev]"

run:
	bash scripts/dev.sh run

test:
	bash scripts/dev.sh test

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

typecheck:
	$(BIN)/mypy

bench: bench-ingest bench-latency bench-serve

bench-ingest:
	$(BIN)/python bench/bench_ingest.py

bench-latency:
	$(BIN)/python bench/bench_latency.py

bench-serve:
	$(BIN)/python bench/bench_serve.py

bench-realtimeqa:
	$(BIN)/python -m bench realtimeqa --articles ../shared/bench/realtimeqa-2025/articles.jsonl \
		--questions ../shared/bench/realtimeqa-2025/questions.jsonl --sample 300 --seed 0
