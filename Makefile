# onyx — one entry point.  make | make test | make demo | make clean   (see README.md)
#
# Switches: BLAS=openblas|none  OPENMP=1|0  DEBUG=1  SANITIZE=1  CC=clang
.SUFFIXES:
.DELETE_ON_ERROR:

BLAS     ?= openblas
OPENMP   ?= 1
DEBUG    ?= 0
SANITIZE ?= 0
PYTHON   ?= python3
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)

# Separate build trees per configuration so switching switches never mixes objects.
# The default configuration puts its products in build/; any other in build/<config>/.
VARIANT := $(if $(filter 1,$(FUZZ)),-fuzz)$(if $(filter 1,$(DEBUG)),-debug)$(if $(filter 1,$(SANITIZE)),-san)$(if $(filter none,$(BLAS)),-noblas)$(if $(filter 0,$(OPENMP)),-noomp)
CONFIG  := $(notdir $(CC))$(VARIANT)
BUILD   ?= build
OUT     := $(if $(VARIANT)$(filter-out cc gcc,$(notdir $(CC))),$(BUILD)/$(CONFIG),$(BUILD))
OBJ     := $(BUILD)/obj/$(CONFIG)
GEN     := $(BUILD)/gen

CPPFLAGS += -Iruntime -Iops -Ikernels -Ionnx -I$(GEN) -D_XOPEN_SOURCE=700
CFLAGS   := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -fPIC -g $(CFLAGS)
LDLIBS   := -lm

ifeq ($(DEBUG),1)
  CFLAGS += -O0
else
  CFLAGS += -O2
endif
ifeq ($(SANITIZE),1)
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  CFLAGS  += $(SANFLAGS)
  LDFLAGS += $(SANFLAGS)
endif
ifeq ($(FUZZ),1)  # library instrumented for libFuzzer (clang), with ASan + UBSan
  CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
  LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(OPENMP),1)
  CFLAGS  += -fopenmp
  LDFLAGS += -fopenmp
else
  CFLAGS  += -Wno-unknown-pragmas  # the same sources, their omp pragmas inert
endif
ifeq ($(BLAS),openblas)
  CPPFLAGS += -DONYX_HAVE_OPENBLAS $(shell pkg-config --cflags openblas 2>/dev/null)
  LDLIBS   += $(or $(shell pkg-config --libs openblas 2>/dev/null),-lopenblas)
endif
PROTOBUF_LIBS := $(or $(shell pkg-config --libs libprotobuf-c 2>/dev/null),-lprotobuf-c)
IMAGE_LIBS    := $(or $(shell pkg-config --libs libpng libjpeg libwebp libopenjp2 2>/dev/null),-lpng -ljpeg -lwebp -lopenjp2)
# OpenJPEG's headers sit in a versioned folder; asked once, when first compiling (after deps)
OPJ_CFLAGS     = $(eval OPJ_CFLAGS := $(or $(shell pkg-config --cflags libopenjp2 2>/dev/null),$(addprefix -I,$(lastword $(wildcard /usr/include/openjpeg-2.*)))))$(OPJ_CFLAGS)
CPPFLAGS += $(OPJ_CFLAGS)
LDLIBS += $(PROTOBUF_LIBS) $(IMAGE_LIBS)

LIB_SRC  := $(wildcard runtime/*.c runtime/opt/*.c onnx/*.c ops/*.c kernels/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(OBJ)/%.o) $(OBJ)/gen/onnx.pb-c.o
TOOL_SRC := $(wildcard tools/*.c)
TOOL_OBJ := $(TOOL_SRC:%.c=$(OBJ)/%.o)
# the tools' image library (tools/img.h), also linked into its unit test and fuzz target
IMG_OBJ  := $(OBJ)/tools/img_io.o $(OBJ)/tools/img_preprocess.o
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(OBJ)/tests/%)

LIB_A  := $(OUT)/libonyx.a
LIB_SO := $(OUT)/libonyx.so
CLI    := $(OUT)/onyx
DEPS_OK := $(BUILD)/.deps-ok-$(notdir $(CC))

.PHONY: attr-types lint valgrind fuzz fuzz-bin all test unit-test conformance conformance-log ratchet docs demo clean deps venv node-tests
all: $(LIB_A) $(LIB_SO) $(CLI)

# Build dependencies: installed when root on Debian/Ubuntu, named clearly otherwise.
$(DEPS_OK): tools/setup/deps.sh
	@mkdir -p $(BUILD)
	@CC="$(CC)" sh tools/setup/deps.sh
	@touch $@
deps: $(DEPS_OK)

$(GEN)/onnx.pb-c.c $(GEN)/onnx.pb-c.h &: onnx/onnx.proto | $(DEPS_OK)
	@mkdir -p $(GEN)
	@echo "  PROTOC  $<"
	$(Q)protoc-c --proto_path=onnx --c_out=$(GEN) onnx/onnx.proto

$(OBJ)/gen/onnx.pb-c.o: $(GEN)/onnx.pb-c.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(filter-out -Wshadow -Wstrict-prototypes,$(CFLAGS)) -c $< -o $@

$(OBJ)/%.o: %.c $(GEN)/onnx.pb-c.h | $(DEPS_OK)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(LIB_OBJ) runtime/exports.map
	@echo "  LD      $@"
	$(Q)$(CC) -shared -Wl,--version-script=runtime/exports.map $(LDFLAGS) -o $@ $(LIB_OBJ) $(LDLIBS)

$(CLI): $(TOOL_OBJ) $(LIB_A)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(TOOL_OBJ) $(LIB_A) $(LDLIBS)

$(OBJ)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS) $(LDLIBS)

# ---- fuzzing ---------------------------------------------------------------------------
# `make fuzz FUZZ_SECONDS=N` runs every libFuzzer target for N seconds (clang); working
# corpora grow in .cache/fuzz/, crashes land in .cache/fuzz/crashes/<target>/ (copy them to
# tests/fuzz/regressions/<target>/ once fixed). `make test` replays the committed corpus and
# regressions through the same entry points with the ordinary build (replay-*).
FUZZ_TARGETS := model npy pb image regex img
FUZZ_SECONDS ?= 60
REPLAY_BIN   := $(FUZZ_TARGETS:%=$(OBJ)/fuzz/replay-%)
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(OBJ)/fuzz/fuzz-%)

$(OBJ)/fuzz/replay-%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz_tensor_file.h $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ tests/fuzz/fuzz_$*.c tests/fuzz/replay.c $(LIB_A) $(LDFLAGS) $(LDLIBS)

$(OBJ)/fuzz/fuzz-%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_tensor_file.h $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer -o $@ tests/fuzz/fuzz_$*.c $(LIB_A) $(LDFLAGS) $(LDLIBS)

# targets that exercise the image library link its objects before the library archive
$(OBJ)/tests/test_img $(OBJ)/fuzz/replay-img $(OBJ)/fuzz/fuzz-img: $(IMG_OBJ)
$(OBJ)/tests/test_img $(OBJ)/fuzz/replay-img $(OBJ)/fuzz/fuzz-img: LIB_A := $(IMG_OBJ) $(LIB_A)

fuzz-bin: $(FUZZ_BIN)
fuzz:
	@$(MAKE) --no-print-directory CC=clang FUZZ=1 OPENMP=0 fuzz-bin
	@sh tests/fuzz/run.sh $(BUILD)/obj/clang-fuzz-noomp/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# ---- static analysis and memcheck -------------------------------------------------------
LINT_SRC := $(LIB_SRC) $(TOOL_SRC) $(TEST_SRC) $(wildcard tests/fuzz/*.c) docs/example.c
LINT_FLAGS = -Iruntime -Iops -Ikernels -Ionnx -Itests/unit -I$(GEN) -D_XOPEN_SOURCE=700 $(OPJ_CFLAGS)
lint: $(GEN)/onnx.pb-c.h
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance --std=c11 --inline-suppr \
	    $(LINT_FLAGS) -DPROTOBUF_C_VERSION_NUMBER=1004001 -DPROTOBUF_C_MIN_COMPILER_VERSION=1000000 $(LINT_SRC)
	@for f in $(LINT_SRC); do clang-tidy --quiet $$f -- -std=c11 $(LINT_FLAGS) -fopenmp || exit 1; done
	@echo "lint: clean"

# valgrind memcheck on the C API example and a CNN model run (errors and leaks fail)
VALGRIND := valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-possibly-lost=no -q
valgrind: $(EXAMPLE) $(CLI)
	$(VALGRIND) $(EXAMPLE) tools/demo/digits.onnx tools/demo/digit_input.npy
	$(VALGRIND) $(CLI) run tools/demo/digits.onnx --input tools/demo/digit_input.npy --threads 1 > /dev/null
	@echo "valgrind: clean"

# ---- tests -----------------------------------------------------------------------------
VENV       := .cache/venv
NODE_TESTS := .cache/node-tests

$(VENV)/.onyx-reqs: tools/setup/requirements.txt tools/setup/venv.sh
	bash tools/setup/venv.sh $(VENV)
venv: $(VENV)/.onyx-reqs

$(NODE_TESTS)/.stamp: $(VENV)/.onyx-reqs tests/conformance/materialise_node_tests.py
	$(VENV)/bin/python tests/conformance/materialise_node_tests.py $(NODE_TESTS)
node-tests: $(NODE_TESTS)/.stamp

EXAMPLE := $(OUT)/example
$(EXAMPLE): docs/example.c $(LIB_A)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS) $(LDLIBS)

unit-test: $(TEST_BIN) $(CLI) $(EXAMPLE) $(REPLAY_BIN) $(NODE_TESTS)/.stamp
	@sh tests/run_unit.sh $(OBJ)/tests $(CLI) $(EXAMPLE) $(OBJ)/fuzz

conformance: $(CLI) $(NODE_TESTS)/.stamp
	@sh tests/conformance/run.sh $(CLI) $(NODE_TESTS) $(OUT)/conformance.log

# Adds every node test that now passes to the ratchet (after a `make conformance`).
ratchet: conformance
	@{ echo "# ONNX node tests that must pass (sorted). Extend with: make ratchet"; \
	   grep '^PASS ' $(OUT)/conformance.log | sed 's/^PASS //; s/[ :].*//' | sort; } > tests/conformance/expected_pass.txt
	@echo "expected_pass.txt: $$(grep -vc '^#' tests/conformance/expected_pass.txt) tests"

# ops/attr_types.inc (attribute types from the ONNX schemas; committed, regenerate on an onnx bump)
attr-types: $(VENV)/.onyx-reqs
	$(VENV)/bin/python tools/gen/attr_types.py > ops/attr_types.inc

# docs/ops.md from the registry and the last conformance run (never written by hand).
docs: conformance-log
	$(VENV)/bin/python tests/conformance/ops_table.py $(CLI) $(NODE_TESTS) $(OUT)/conformance.log docs/ops.md
conformance-log: $(CLI) $(NODE_TESTS)/.stamp
	@[ -f $(OUT)/conformance.log ] || $(MAKE) --no-print-directory conformance

# Everything: unit tests, CLI and C API example, the ONNX node-test ratchet.
test: all $(TEST_BIN) $(EXAMPLE) $(REPLAY_BIN) $(NODE_TESTS)/.stamp
	@sh tests/run_all.sh $(OBJ)/tests $(CLI) $(EXAMPLE) $(NODE_TESTS) $(OUT)/conformance.log $(OBJ)/fuzz

demo: $(CLI)
	$(CLI) run tools/demo/digits.onnx --input tools/demo/digit_input.npy --classify

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

clean:
	rm -rf $(BUILD)
