# The entry points people type. Every target installs what it needs first (Node 24, npm packages,
# Docker), or stops with a message that says what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE_BIN := $(shell scripts/toolchain.sh)
export PATH := $(NODE_BIN):$(PATH)
# onnxruntime-node's install script would download CUDA files from outside the npm registry
export ONNXRUNTIME_NODE_INSTALL := skip
export NPM_CONFIG_UPDATE_NOTIFIER := false

.PHONY: help deps build lint typecheck test fixtures families train-shapes calibrate-golden mutation fuse-attention bench-model up down logs deploy clean

help:
	@echo "make up        the function on localhost:9000 (RIE) and :9001 (function URL), tiny model mounted"
	@echo "make test      lint, typecheck and every test suite, as CI runs them"
	@echo "make down      stop and remove what make up started"
	@echo "make deploy    deploy sd-lambda.config.ts's stack to AWS (REGION=…; see README Deploy)"
	@echo "make fixtures  regenerate fixtures/models and fixtures/reference with diffusers (Python, not in CI)"
	@echo "make families  regenerate fixtures/families (one tiny pipeline per model family + diffusers references)"
	@echo "make train-shapes  train fixtures/families/tiny-shapes on drawn shapes (Python, ~25 min on 2 cores)"
	@echo "make calibrate-golden  measure golden variation across threads/targets/CPUs (CALIBRATE_ARGS=--emulator --against-commit SHA)"
	@echo "make mutation  apply fixtures/mutation/mutants.json one at a time; print what kills each (not in make test)"
	@echo "make fuse-attention MODEL=DIR [OUT=DIR] [WINOGRAD=off]  a copy of a model folder with the UNet's attention fused (onnxruntime's CPU flash kernel) and its 3x3 convolutions as Winograd (Python)"
	@echo "make bench-model [BENCH_MODEL=sd15|sd-turbo|lcm|taesd|all]  full-size random-weight ONNX models in .cache/models/ (Python, ~4 GB each)"

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.installed

build: deps
	npm run --silent build

lint: deps
	npx biome check --error-on-warnings .

typecheck: deps
	npx tsc -p tsconfig.json

test: deps
	@scripts/system-deps.sh test
	@scripts/test.sh

up: deps
	@scripts/system-deps.sh up
	bin/sd-lambda up

down: deps
	bin/sd-lambda down

logs: deps
	bin/sd-lambda logs --follow

deploy: deps
	@scripts/system-deps.sh up
	bin/sd-lambda deploy $(if $(REGION),--region $(REGION))

fixtures:
	fixtures/generate/setup.sh
	fixtures/generate/.venv/bin/python fixtures/generate/generate.py

families: deps
	fixtures/generate/setup-families.sh
	fixtures/generate/.venv-families/bin/python fixtures/generate/families.py

train-shapes:
	fixtures/generate/setup.sh
	fixtures/generate/.venv/bin/python fixtures/generate/train_shapes.py

calibrate-golden: deps
	.toolchain/node/bin/node harness/golden/calibrate.ts $(CALIBRATE_ARGS)

mutation: deps
	.toolchain/node/bin/node --disable-warning=ExperimentalWarning harness/golden/mutation.ts

fuse-attention:
	@test -n "$(MODEL)" || { echo "usage: make fuse-attention MODEL=DIR [OUT=DIR] [WINOGRAD=off]  (writes DIR-mha: the UNet's attention fused for onnxruntime's CPU flash kernel, its 3x3 convolutions as Winograd)"; exit 2; }
	fixtures/generate/setup.sh
	fixtures/generate/.venv/bin/python fixtures/generate/fuse_attention.py $(MODEL) $(if $(OUT),--out $(OUT)) $(if $(WINOGRAD),--winograd $(WINOGRAD))

bench-model:
	fixtures/generate/setup.sh
	fixtures/generate/.venv/bin/python fixtures/generate/bench_model.py $(foreach m,$(or $(BENCH_MODEL),sd15),--model $(m))

clean:
	rm -rf dist reports .cache
