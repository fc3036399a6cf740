# vigil: every task a developer or CI runs. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo
MUSL := x86_64-unknown-linux-musl
STATIC_DIR := target/static
export CARGO_TERM_COLOR ?= never

.PHONY: help build static test unit check bench demo integration clean test-deps soak fuzz

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

build: ## debug build of vigil and the test app
	$(CARGO) build --workspace

static: ## static release binaries in target/static/ (musl; proven to have no interpreter or dynamic section)
	scripts/static.sh $(STATIC_DIR)

check: ## cargo fmt --check and clippy -D warnings
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-deps: ## what the tests use beyond Rust: curl, and Python's prometheus_client (the /metrics parser)
	@command -v curl >/dev/null || (apt-get update -qq && apt-get install -y -qq curl)
	@# The wheel is downloaded, not installed (a Debian python refuses installs, PEP 668):
	@# the tests put target/pydeps/*.whl on PYTHONPATH (a pure-Python wheel imports as a zip).
	@ls target/pydeps/prometheus_client-*.whl >/dev/null 2>&1 || \
	  python3 -m pip download --quiet --no-deps --dest target/pydeps prometheus_client

unit: test-deps ## unit tests and tests driving the built binary (no containers)
	$(CARGO) test --workspace

integration: static ## real-container tests (Docker; a missing engine fails when CI=true)
	integration/run.sh $(STATIC_DIR)

test: check static unit integration ## everything: lint, static build, unit, binary and container tests

# Under `make test`, tests/soak.rs soaks the shipped binary (a target-specific
# variable reaches the prerequisites: `unit` runs after `static`).
test: export SOAK_VIGIL = $(abspath $(STATIC_DIR)/vigil)

SOAK_ATTEMPTS ?= 100000
SOAK_REQUESTS ?= 100000
SOAK_SECONDS ?= 120
soak: static test-deps ## the soak, longer: SOAK_ATTEMPTS probe attempts, SOAK_REQUESTS status requests, SOAK_SECONDS of crash loop
	SOAK_VIGIL=$(abspath $(STATIC_DIR)/vigil) SOAK_ATTEMPTS=$(SOAK_ATTEMPTS) SOAK_REQUESTS=$(SOAK_REQUESTS) \
	  SOAK_SECONDS=$(SOAK_SECONDS) $(CARGO) test --test soak -- --include-ignored --nocapture

fuzz: ## each fuzz target for FUZZ_SECONDS (default 60) under cargo-fuzz, installed if missing (docs/fuzzing.md)
	scripts/fuzz.sh

bench: static ## benchmarks against tini, dumb-init and catatonit; writes bench/out/ (see BENCHMARKS.md)
	bench/run.sh $(STATIC_DIR)

demo: static ## vigil checks and runs demo/service.json (a model-serving app and its probes), then stops it
	scripts/demo.sh $(STATIC_DIR)

clean:
	$(CARGO) clean
