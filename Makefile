# webverify — build, test, serve, benchmark. `make demo` and `make test` set up a fresh Debian
# machine first (see README.md). One cargo target directory outside the clone is shared by
# every build and CI run: burn takes tens of minutes to build cold on 2 cores.

SHELL := /bin/bash
, := ,
export CARGO_TARGET_DIR ?= $(HOME)/.cache/webverify/target
WASM_BINDGEN_VERSION := 0.2.130
# Three engine modules (pkg/loading.js): `cpu` (Flex alone: what a CPU verifier downloads),
# `gpu` (WebGPU and Flex: what a WebGPU verifier downloads) and `full` (WebGPU, Flex and
# training: loaded by the first fine-tuning). NdArray is not in the browser: 2.2x slower than
# Flex there (docs/BENCHMARKS.md); it stays a native feature.
WASM_FEATURES := webgpu,flex,train
WASM_GPU_FEATURES := webgpu-fusion,flex
WASM_CPU_FEATURES := flex
# The glue can re-instantiate the module after a trap (pkg/recovery.js).
WASM_BINDGEN_FLAGS := --experimental-reset-state-function
# What ships leaves out the function names (stack traces show wasm-function[N]) and the toolchain
# record: 0.24 MB of the cpu module, 4.1 and 5.8 MB of the others (docs/BENCHMARKS.md, "Module
# sizes"); the fault-injection builds for the tests keep their names.
SHIPPED_BINDGEN_FLAGS := $(WASM_BINDGEN_FLAGS) --remove-name-section --remove-producers-section
SITE := build/site
PORT ?= 8080
export CHROMEDRIVER ?= /usr/bin/chromedriver

.PHONY: screenshots bench-gpu bench-gpu-dispatch bench-gpu-memory fault-wasm peers bench-load bench-peers bench-mobile bench-memory soak fuzz test-types test-node setup setup-rust setup-browser setup-node wasm package site demo test test-native test-features test-wasm test-browser bench clean prune-target

setup: setup-rust setup-browser setup-node

setup-rust:
	rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --locked \
	  || { echo "locked install failed (a locked dependency is missing from the registry); installing $(WASM_BINDGEN_VERSION) with fresh resolution"; \
	       cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); }; \
	fi

setup-browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/bin/ffmpeg ] || [ ! -x /usr/bin/firefox-esr ] \
	    || [ ! -x /usr/bin/WebKitWebDriver ] || [ ! -x /usr/bin/Xvfb ]; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver ffmpeg firefox-esr webkit2gtk-driver xvfb; \
	fi

setup-node:
	npm ci --no-audit --no-fund

# The engine modules and the npm packages around them. The `cpu` and `full` modules have two
# builds of the same code, plain SIMD128 and relaxed SIMD (the CPU kernels' fused multiply-add,
# src/nn/cpu/lanes.rs); the package loads the second where the browser validates it. The `gpu`
# module has the plain build only: its work is on the GPU, and its relaxed build (3.2 MB gzip)
# did not fit the package's 10 MB budget (docs/BENCHMARKS.md, "Package size"). `cargo rustc`
# gives the extra target feature to webverify alone, so both builds share every dependency's
# artifacts. The relaxed builds go to .../relaxed/ under the same names, so that wasm-bindgen
# gives them the same import module names: the plain build's glue loads both, which
# tools/wasm-interface.mjs checks below (same exports, no import the plain glue lacks; the glues'
# text may differ where LLVM proves an import dead in one build only), and only the .wasm is
# kept, one glue per module for the page to load.
# The `full` module (training) ships in the companion package webverify-training
# (pkg-training/): its two .wasm files go there, its glue stays in the main package (loading.js
# imports every glue statically), built without wasm-bindgen's default-path fallback (`new
# URL('webverify_bg.wasm', import.meta.url)`), which bundlers would try to resolve beside it.
# wasm-opt is not run: measured on the cpu module it saves 17 % raw but adds 0.5-0.9 % gzip, the
# bytes on the wire, and takes minutes per module (docs/BENCHMARKS.md, "wasm-opt").
# Each build goes through tools/wasm-module.sh, which copies it from a cache keyed by the
# content of every input when the same inputs built it before (a fresh clone would otherwise
# recompile the crate seven times; the script says why and what the key holds).
# $(1): features, $(2): out name, $(3): extra rustc flags (after --), $(4): out dir,
# $(5): wasm-bindgen flags (default: the shipped ones).
define wasm_module
	tools/wasm-module.sh '$(1)' $(2) '$(3)' $(4) $(or $(5),$(SHIPPED_BINDGEN_FLAGS))
endef
RELAXED := -C target-feature=+relaxed-simd
FULL_BINDGEN_FLAGS := $(SHIPPED_BINDGEN_FLAGS) --omit-default-module-path
TRAINING_WASM := pkg-training/wasm
wasm:
	rm -rf pkg/wasm $(TRAINING_WASM)
	$(call wasm_module,$(WASM_FEATURES),webverify,,pkg/wasm,$(FULL_BINDGEN_FLAGS))
	$(call wasm_module,$(WASM_FEATURES),webverify,$(RELAXED),pkg/wasm/relaxed,$(FULL_BINDGEN_FLAGS))
	$(call wasm_module,$(WASM_CPU_FEATURES),webverify_cpu,,pkg/wasm)
	$(call wasm_module,$(WASM_CPU_FEATURES),webverify_cpu,$(RELAXED),pkg/wasm/relaxed)
	$(call wasm_module,$(WASM_GPU_FEATURES),webverify_gpu,,pkg/wasm)
	@set -e; for m in webverify webverify_cpu; do \
	  ! cmp -s pkg/wasm/$${m}_bg.wasm pkg/wasm/relaxed/$${m}_bg.wasm || { echo "the relaxed-simd build of $$m is the plain one"; exit 1; }; \
	  node tools/wasm-interface.mjs pkg/wasm/$${m}_bg.wasm pkg/wasm/relaxed/$${m}_bg.wasm; \
	  rm pkg/wasm/relaxed/$$m.js pkg/wasm/relaxed/$$m.d.ts pkg/wasm/relaxed/$${m}_bg.wasm.d.ts; \
	done
	! grep -q "import.meta.url" pkg/wasm/webverify.js || { echo "the full module's glue names a default .wasm path"; exit 1; }
	mkdir -p $(TRAINING_WASM)/relaxed
	mv pkg/wasm/webverify_bg.wasm $(TRAINING_WASM)/
	rm pkg/wasm/webverify_bg.wasm.d.ts
	mv pkg/wasm/relaxed/webverify_bg.wasm $(TRAINING_WASM)/relaxed/

# The plain builds of the modules verifiers run, with the `fault-injection` feature, for the
# recovery tests only (a 7x13 image panics): build/fault-wasm/, never part of the package.
fault-wasm:
	$(call wasm_module,$(WASM_GPU_FEATURES)$(,)fault-injection,webverify_gpu,,build/fault-wasm,$(WASM_BINDGEN_FLAGS))
	$(call wasm_module,$(WASM_CPU_FEATURES)$(,)fault-injection,webverify_cpu,,build/fault-wasm,$(WASM_BINDGEN_FLAGS))

# The main package (pkg/) and the companion with what only fine-tuning needs (pkg-training/:
# the full module and the f32 embedder). Both are packed, tested and published together, at one
# version (tools/check-package.mjs checks it).
package: wasm
	mkdir -p pkg/models pkg-training/models
	cp models/mobilefacenet-int8.safetensors models/blazeface-short.safetensors models/minifasnet-v1se-f16.safetensors models/facemesh.safetensors models/README.md pkg/models/
	cp models/mobilefacenet.safetensors models/README.md pkg-training/models/
	cp LICENSE pkg/LICENSE
	cp LICENSE pkg-training/LICENSE
	node tools/file-sizes.mjs pkg
	node tools/check-package.mjs pkg
	node tools/check-package.mjs pkg-training

# A self-contained static site: the page plus the package as a user would install it.
site: package
	rm -rf $(SITE) && mkdir -p $(SITE)/webverify $(SITE)/webverify-training
	node tools/site.mjs www $(SITE)
	cp -r pkg/*.js pkg/*.d.ts pkg/package.json pkg/wasm pkg/models $(SITE)/webverify/
	cp -r pkg-training/*.js pkg-training/*.d.ts pkg-training/package.json pkg-training/wasm pkg-training/models $(SITE)/webverify-training/

demo: setup site
	node tools/serve.mjs $(SITE) $(PORT)

test: setup test-native test-features test-types test-wasm site fault-wasm test-node test-browser

# Superseded test binaries out of the build directory (tools/prune-target.mjs says why).
prune-target:
	node tools/prune-target.mjs $(CARGO_TARGET_DIR)/debug/deps

# Every test of the library, the tools and the docs, natively.
NATIVE_FEATURES := flex,ndarray,train,cli
test-native:
	cargo test --features $(NATIVE_FEATURES)
	cargo build --bin webverify --features $(NATIVE_FEATURES)

# The documented feature combinations compile for their targets (cargo check: no code is
# generated), and the runtime alone pulls none of the command line's dependencies.
NATIVE_FEATURE_SETS := flex ndarray flex,train flex,files flex,imported
WASM_FEATURE_SETS := flex webgpu flex,train webgpu,flex,imported
# The command line's own dependencies.
CLI_ONLY_CRATES := clap|plotters|indicatif|flatbuffers|base64|image|pytorch-reader|prost
test-features:
	@set -e; for f in $(NATIVE_FEATURE_SETS); do \
	  echo "cargo check --lib --no-default-features --features $$f"; \
	  cargo check --quiet --lib --no-default-features --features $$f; \
	done
	@set -e; for f in $(WASM_FEATURE_SETS); do \
	  echo "cargo check --lib --target wasm32-unknown-unknown --no-default-features --features $$f"; \
	  cargo check --quiet --lib --target wasm32-unknown-unknown --no-default-features --features $$f; \
	done
	@if cargo tree -e normal --no-default-features --features flex --prefix none --format '{p}' \
	    | grep -E '^($(CLI_ONLY_CRATES)) v'; then \
	  echo "the runtime (--no-default-features --features flex) pulls the crates above"; exit 1; \
	else echo "the runtime pulls none of: $(CLI_ONLY_CRATES)"; fi

# wasm-bindgen-test in headless Chromium (CPU and WebGPU on SwiftShader).
test-wasm:
	WASM_BINDGEN_TEST_TIMEOUT=1200 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
	  cargo test --release --target wasm32-unknown-unknown --no-default-features --features $(WASM_FEATURES) --test web

# The published types, checked by compiling a strict TypeScript consumer of the package.
# The consumer resolves both packages as an installed app does, through their package.json
# `exports` (links in tests/consumer/node_modules), not by paths to the .d.ts files.
test-types:
	mkdir -p tests/consumer/node_modules
	ln -sfn ../../../pkg tests/consumer/node_modules/webverify
	ln -sfn ../../../pkg-training tests/consumer/node_modules/webverify-training
	npx tsc --noEmit -p tests/consumer

# The package in Node.js (CPU backend), from the built site.
test-node:
	node --test tests/node/

# Browser tests: Playwright in headless Chromium (the package, the gallery, the demo page, a Vite
# app built from the packed tarball), and one suite in Firefox ESR (puppeteer-core over BiDi) and in
# WebKit (WebKitGTK's MiniBrowser under Xvfb, over WebKitWebDriver).
test-browser:
	node --test --test-concurrency=1 tests/browser/

# Fuzz every reader of bytes from outside (nightly + cargo-fuzz), FUZZ_SECONDS per target: the
# template/gallery/sealed parsers and the pixel unpacking (compiled in by path, seconds to build),
# then the weights, tuned-weights, TFLite and TF.js readers (`--features engine`: the crate, burn
# included, under the sanitizer; a long first build). New corpus entries land in
# fuzz/corpus/<target>, which `cargo test --test template_corpus --test fuzz_corpus` replays.
FUZZ_SECONDS ?= 240
FUZZ_PLAIN := template_bytes pixels
FUZZ_ENGINE := weights_bytes tuned_bytes tflite_graph tfjs_graph
fuzz:
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
	rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
	cd fuzz && for t in $(FUZZ_PLAIN); do \
	  cargo +nightly fuzz run $$t --fuzz-dir . -- -max_total_time=$(FUZZ_SECONDS) || exit 1; done
	cd fuzz && for t in $(FUZZ_ENGINE); do \
	  cargo +nightly fuzz run $$t --fuzz-dir . --features engine -- -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=262144 -rss_limit_mb=4096 -timeout=60 || exit 1; done

# A long session in one verifier (10 000 embeddings, 1 000 searches; about 25 min on 2 cores):
# JS heap and wasm memory every 500 calls (docs/RELIABILITY.md).
soak: site
	node benches/soak.mjs

bench: site
	cargo run --release --features cli --bin webverify -- bench --backends flex,ndarray
	node benches/browser.mjs
	node benches/detector.mjs

# Ours beside TF.js and ONNX Runtime Web in one Chromium (alternating rounds, one table with the
# ratios), then where the time goes per layer (ours on both kernel paths, TF.js's profiler).
# The peers are copied from ../shared/peers and get their npm packages (registry only) once.
PEERS := build/peers
peers:
	@for p in tfjs ort; do \
	  if [ ! -d $(PEERS)/$$p/node_modules ]; then \
	    rm -rf $(PEERS)/$$p && mkdir -p $(PEERS) && cp -r ../shared/peers/$$p $(PEERS)/$$p && rm -rf $(PEERS)/$$p/node_modules \
	    && (cd $(PEERS)/$$p && npm ci --no-audit --no-fund); \
	  fi; \
	done
bench-peers: site peers
	node benches/peers.mjs --rounds 5
	node benches/profile.mjs

# WebGPU speed on a machine with a real GPU, ours beside the peers' WebGPU backends and the CPU
# rows (benches/gpu.mjs: Chromium with a headless GPU's flags; refuses a software adapter).
# `node benches/gpu.mjs --proxy` runs it on SwiftShader, as the test suite does.
bench-gpu: site peers
	node benches/gpu.mjs

# WebGPU calls per embedding (dispatches, submits, buffers, read-backs), ours beside the peers'
# WebGPU backends (docs/BENCHMARKS.md, "WebGPU calls per embedding"). The counts do not depend on
# the adapter: SwiftShader here gives what a real GPU would be asked to do.
bench-gpu-dispatch: site peers
	node benches/gpu-dispatch.mjs

# The GPU buffers a WebGPU verifier holds after loading, after 1 000 calls and after dispose
# (docs/BENCHMARKS.md, "GPU memory").
bench-gpu-memory: site
	node benches/gpu-memory.mjs

# Bytes and time before the first verification, cold and warm, unthrottled and at 20 Mbit/s,
# ours beside the peers (docs/BENCHMARKS.md, "Loading").
bench-load: site peers
	node benches/load.mjs --rounds 3

# Phone-class CPU (CDP throttling 1x, 4x, 6x), viewport and network, ours beside the peers
# (docs/BENCHMARKS.md, "Phones").
bench-mobile: site peers
	node benches/mobile.mjs --rounds 3

# The demo's pictures in README.md and docs/images (desktop and phone, light and dark), from the
# built site with drawn faces on a fake camera (tools/screenshots.mjs).
screenshots: site
	node tools/screenshots.mjs docs/images

# Memory per phase of a CPU verifier, each module's compile cost, and the modules' sizes raw,
# gzip and brotli (docs/BENCHMARKS.md, "Memory").
bench-memory: site
	node benches/memory.mjs
	node benches/sizes.mjs pkg/wasm
	node benches/sizes.mjs pkg-training/wasm

clean:
	rm -rf build pkg/wasm pkg-training/wasm pkg-training/models/*.safetensors
