# onyx — one entry point.  make | make test | make demo | make clean   (see README.md)
#
# Switches: BLAS=openblas|none  OPENMP=1|0  DEBUG=1  SANITIZE=1  CC=clang
#           ONNX=1|0 (0: no protobuf-c, no .onnx/.pb reading)  IMAGE=1|0 (0: no libpng, libjpeg,
#           libwebp, OpenJPEG; no image commands)  STATIC=1  CROSS=aarch64-linux-gnu- (a cross
#           compiler prefix: BLAS=none and IMAGE=0 by default; see docs/EMBEDDED.md)
#           RVV=1 (with CROSS=riscv64-linux-gnu-: clang, -march=rv64gcv, the RVV kernels)
#           CROSS=wasm32-wasi- (WebAssembly: clang, wasi-libc, SIMD128, OPENMP=0; make wasm)
.SUFFIXES:
.DELETE_ON_ERROR:

CROSS    ?=
RVV      ?= 0
, := ,
ifneq ($(filter wasm32-%,$(CROSS)),)
  # WebAssembly (CROSS=wasm32-wasi-, make wasm): clang and wasi-libc, 128-bit SIMD; node's
  # WASI runs the modules (tests/wasm/run_wasi.mjs). No threads in WASI: OPENMP=0.
  WASM := 1
  ifeq ($(origin CC),default)
    CC := clang
  endif
  ifeq ($(origin AR),default)
    AR := llvm-ar
  endif
  RUNNER ?= node --experimental-wasi-unstable-preview1 --no-warnings $(abspath tests/wasm/run_wasi.mjs)
  TARGET_FLAGS := --target=$(CROSS:%-=%) -msimd128
endif
ifneq ($(CROSS),)
  CROSS_TRIPLE := $(CROSS:%-=%)
  # the target's protobuf-c runtime, built from source by tools/setup/cross.sh (no pkg-config)
  CROSS_DIR    := .cache/cross/$(CROSS_TRIPLE)
  # RVV=1: clang, since gcc 12 has no RVV intrinsics
  ifeq ($(origin CC),default)
    CC := $(if $(filter 1,$(RVV)),clang,$(CROSS)gcc)
  endif
  ifeq ($(origin AR),default)
    AR := $(CROSS)ar
  endif
  # how to run the target's programs here (make emulated-test); RVV=1: a CPU with V 1.0
  RVV_VLEN ?= 256
  RUNNER ?= qemu-$(firstword $(subst -, ,$(CROSS_TRIPLE))) -L /usr/$(CROSS_TRIPLE) \
            $(if $(filter 1,$(RVV)),-cpu rv64$(,)v=true$(,)vlen=$(RVV_VLEN)$(,)vext_spec=v1.0)
  ifneq ($(if $(WASM),,$(filter clang%,$(notdir $(CC)))),)
    # clang cross-compiles with the gcc cross toolchain's libc, crt files and libgcc. It is
    # shown them as a toolchain of its own (symlinks under $(BUILD)), because clang would pick
    # another installed gcc for the triple (riscv64-unknown-elf, newer) if given /usr.
    # -ffp-contract=off: as gcc under -std=c11, a*b+c in C stays two roundings (clang would
    # fuse it where the target has FMA), so the portable code gives every target's bits.
    CROSS_CLANG_TC := $(BUILD)/clang-cross/$(CROSS_TRIPLE)
    TARGET_FLAGS   := --target=$(CROSS_TRIPLE) --gcc-toolchain=$(abspath $(CROSS_CLANG_TC)) \
                      -ffp-contract=off $(if $(filter 1,$(RVV)),-march=rv64gcv)
  endif
else ifeq ($(RVV),1)
  $(error RVV=1 is a switch of the riscv64 cross build: add CROSS=riscv64-linux-gnu-)
endif
BLAS     ?= $(if $(CROSS),none,openblas)
ONNX     ?= 1
IMAGE    ?= $(if $(CROSS),0,1)
STATIC   ?= 0
# clang for a cross target: OPENMP=0 by default (no libomp built for the target here)
OPENMP   ?= $(if $(TARGET_FLAGS),0,1)
DEBUG    ?= 0
SANITIZE ?= 0
PYTHON   ?= python3
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)

# Separate build trees per configuration so switching switches never mixes objects.
# The default configuration puts its products in build/; any other in build/<config>/.
VARIANT := $(if $(filter 1,$(RVV)),-rvv)$(if $(filter 1,$(FUZZ)),-fuzz)$(if $(filter 1,$(DEBUG)),-debug)$(if $(filter 1,$(SANITIZE)),-san)$(if $(filter none,$(BLAS)),-noblas)$(if $(filter 0,$(OPENMP)),-noomp)$(if $(filter 0,$(ONNX)),-noonnx)$(if $(filter 0,$(IMAGE)),-noimage)$(if $(filter 1,$(STATIC)),-static)
CC_NAME := $(notdir $(CC))$(if $(TARGET_FLAGS),-$(CROSS_TRIPLE))
CONFIG  := $(CC_NAME)$(VARIANT)
BUILD   ?= build
OUT     := $(if $(VARIANT)$(filter-out cc gcc,$(notdir $(CC))),$(BUILD)/$(CONFIG),$(BUILD))
OBJ     := $(BUILD)/obj/$(CONFIG)
GEN     := $(BUILD)/gen

CPPFLAGS += -Iruntime -Iops -Ikernels -Ionnx -I$(GEN) -D_XOPEN_SOURCE=700
CFLAGS   := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -fPIC -g $(TARGET_FLAGS) $(CFLAGS)
LDFLAGS  += $(TARGET_FLAGS)
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
# pkg-config describes the host's libraries: never asked for a cross target
pkgconf = $(if $(CROSS),,$(shell pkg-config $(if $(filter 1,$(STATIC)),--static) $(1) 2>/dev/null))
ifeq ($(BLAS),openblas)
  CPPFLAGS += -DONYX_HAVE_OPENBLAS $(call pkgconf,--cflags openblas)
  LDLIBS   += $(or $(call pkgconf,--libs openblas),-lopenblas)
endif
ifeq ($(ONNX),1)
  PROTOBUF_LIBS := $(or $(call pkgconf,--libs libprotobuf-c),-lprotobuf-c)
  GEN_H := $(GEN)/onnx.pb-c.h
endif
ifeq ($(IMAGE),1)
  IMAGE_LIBS := $(or $(call pkgconf,--libs libpng libjpeg libwebp libopenjp2),-lpng -ljpeg -lwebp -lopenjp2)
  # OpenJPEG's headers sit in a versioned folder; asked once, when first compiling (after deps)
  OPJ_CFLAGS  = $(eval OPJ_CFLAGS := $(or $(call pkgconf,--cflags libopenjp2),$(addprefix -I,$(lastword $(wildcard /usr/include/openjpeg-2.*)))))$(OPJ_CFLAGS)
else
  CPPFLAGS += -DONYX_NO_IMAGE_LIBS
endif
ifneq ($(CROSS),)
  CPPFLAGS += -I$(CROSS_DIR)/include
  LDFLAGS  += -L$(CROSS_DIR)/lib
endif
ifeq ($(WASM),1)
  # only wasi-libc's headers: Debian's clang would fall back to the host's /usr/include
  WASI_INCLUDE ?= /usr/include/wasm32-wasi
  CPPFLAGS += -nostdlibinc -isystem $(WASI_INCLUDE)
  # the stack holds the GEMM's packing buffers (~240 KiB); wasm-ld's default is 64 KiB
  LDFLAGS += -Wl,-z,stack-size=8388608
  # every program takes its working directory from $PWD (tests/wasm/wasi_cwd.c)
  WASI_CWD := $(OBJ)/tests/wasm/wasi_cwd.o
  LDLIBS   += $(WASI_CWD)
endif
ifeq ($(STATIC),1)
  LDFLAGS += -static
endif
CPPFLAGS += $(OPJ_CFLAGS)
LDLIBS += $(PROTOBUF_LIBS) $(IMAGE_LIBS)

# ONNX=0 leaves out every file that needs protobuf-c; no_onnx.c stands in for their public
# functions. IMAGE=0 leaves out the codecs and tools that need image libraries (no_vision.c
# stands in for the image commands; image_codec.c keeps the formats it reads itself).
ONNX_ONLY_SRC  := onnx/file_map.c onnx/load.c onnx/nesting.c onnx/split.c onnx/tensor_proto.c onnx/value_pb.c onnx/write.c
IMAGE_ONLY_SRC := ops/image_codec_extra.c tools/img_io.c tools/img_preprocess.c tools/vision.c tools/draw.c \
                  tools/detect_post.c tools/cmd_classify.c tools/cmd_detect.c tools/cmd_img2img.c
LEFT_OUT := $(if $(filter 0,$(ONNX)),$(ONNX_ONLY_SRC),onnx/no_onnx.c) $(if $(filter 0,$(IMAGE)),$(IMAGE_ONLY_SRC),tools/no_vision.c)
LIB_SRC  := $(filter-out $(LEFT_OUT),$(wildcard runtime/*.c runtime/opt/*.c onnx/*.c ops/*.c kernels/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(OBJ)/%.o) $(if $(filter 1,$(ONNX)),$(OBJ)/gen/onnx.pb-c.o)
TOOL_SRC := $(filter-out $(LEFT_OUT),$(wildcard tools/*.c))
TOOL_OBJ := $(TOOL_SRC:%.c=$(OBJ)/%.o)
# the tools' image library (tools/img.h), also linked into its unit test and fuzz target
IMG_OBJ  := $(OBJ)/tools/img_io.o $(OBJ)/tools/img_preprocess.o
# unit tests that read ONNX/.pb files, or images, are left out of builds without them
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_SRC := $(filter-out $(if $(filter 0,$(ONNX)),$(shell grep -l 'onyx_model_load_\|_read_pb\|_write_pb\|onyx_model_save_file' $(TEST_SRC))) \
                         $(if $(filter 0,$(IMAGE)),$(shell grep -l 'ImageDecoder\|img\.h"' $(TEST_SRC))),$(TEST_SRC))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(OBJ)/tests/%)

LIB_A  := $(OUT)/libonyx.a
LIB_SO := $(OUT)/libonyx.so
CLI    := $(OUT)/onyx
DEPS_OK := $(BUILD)/.deps-ok-$(CC_NAME)$(if $(filter 0,$(ONNX)),-noonnx)$(if $(filter 0,$(IMAGE)),-noimage)

.PHONY: attr-types lint valgrind fuzz fuzz-bin all test unit-test conformance conformance-log ratchet docs demo clean deps venv node-tests bench bench-gemm
all: $(LIB_A) $(if $(filter 1,$(STATIC))$(WASM),,$(LIB_SO)) $(CLI)

# Build dependencies: installed when root on Debian/Ubuntu, named clearly otherwise.
$(DEPS_OK): tools/setup/deps.sh
	@mkdir -p $(BUILD)
	@CC="$(CC)" CROSS="$(CROSS)" ONNX="$(ONNX)" IMAGE="$(IMAGE)" BLAS="$(BLAS)" sh tools/setup/deps.sh
	@$(if $(CROSS_CLANG_TC),mkdir -p $(CROSS_CLANG_TC)/lib && ln -sfn /usr/lib/gcc-cross $(CROSS_CLANG_TC)/lib/gcc-cross \
	    && ln -sfn /usr/$(CROSS_TRIPLE) $(CROSS_CLANG_TC)/$(CROSS_TRIPLE))
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

$(OBJ)/%.o: %.c $(GEN_H) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

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
FUZZ_TARGETS := model npy pb image regex img packed
FUZZ_SECONDS ?= 60
REPLAY_BIN   := $(FUZZ_TARGETS:%=$(OBJ)/fuzz/replay-%)
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(OBJ)/fuzz/fuzz-%)

$(OBJ)/fuzz/replay-%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz_tensor_file.h tests/fuzz/fuzz_run_once.h $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ tests/fuzz/fuzz_$*.c tests/fuzz/replay.c $(LIB_A) $(LDFLAGS) $(LDLIBS)

$(OBJ)/fuzz/fuzz-%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_tensor_file.h tests/fuzz/fuzz_run_once.h $(LIB_A)
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
LINT_SRC := $(LIB_SRC) $(TOOL_SRC) onnx/no_onnx.c tools/no_vision.c $(TEST_SRC) $(wildcard tests/fuzz/*.c) docs/example.c
LINT_FLAGS = -Iruntime -Iops -Ikernels -Ionnx -Itests/unit -I$(GEN) -D_XOPEN_SOURCE=700 $(OPJ_CFLAGS)
lint: $(GEN)/onnx.pb-c.h
	@sh tools/setup/lint_deps.sh
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

unit-test: $(TEST_BIN) $(CLI) $(EXAMPLE) $(REPLAY_BIN) $(NODE_TESTS)/.stamp $(CORE_A)
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
test: all $(TEST_BIN) $(EXAMPLE) $(REPLAY_BIN) $(NODE_TESTS)/.stamp $(CORE_A)
	@sh tests/run_all.sh $(OBJ)/tests $(CLI) $(EXAMPLE) $(NODE_TESTS) $(OUT)/conformance.log $(OBJ)/fuzz

# ---- cross targets under emulation (docs/EMBEDDED.md) -----------------------------------
# `make CROSS=aarch64-linux-gnu- emulated-test`: this configuration's unit tests, CLI tests and
# node suite, every program started by $(RUNNER) (qemu-user; nothing for STATIC=1);
# NODE_EVERY=k runs every k-th node test. `make test-cross` builds and runs that for each cross
# target and the x86-64 static build; test-cross-quick (in .ci/run) runs every 4th node test.
# riscv64 twice: gcc (rv64gc, portable kernels) and clang with the V extension (RVV kernels)
CROSS_TARGETS := aarch64-linux-gnu- riscv64-linux-gnu- riscv64-linux-gnu-,RVV=1
CROSS_TAGS    := $(or $(CROSS_TRIPLE),$(shell uname -m)) $(if $(filter 0,$(IMAGE)),noimage) $(if $(filter 0,$(ONNX)),noonnx) $(if $(filter 1,$(STATIC)),static)
NODE_EVERY    ?= 1
.PHONY: emulated-bins emulated-test test-cross test-cross-quick
emulated-bins: $(TEST_BIN) $(CLI) $(EXAMPLE)
emulated-test: emulated-bins $(NODE_TESTS)/.stamp
	@sh tests/cross/run.sh $(if $(WASM),wasm,$(notdir $(OUT))) "$(RUNNER)" $(OBJ)/tests $(CLI) $(EXAMPLE) $(NODE_TESTS) $(OUT) \
	    $(NODE_EVERY) "$(CROSS_TAGS)"
# The smallest configuration: library and CLI without protobuf-c, image libraries, BLAS or
# OpenMP (tests/cross/switches.sh), beside the full build whose CLI packs its test model.
SWITCHES := ONNX=0 IMAGE=0 BLAS=none OPENMP=0
SW_CONFIG := $(notdir $(CC))-noblas-noomp-noonnx-noimage
.PHONY: test-switches
test-switches: $(CLI)
	@$(MAKE) --no-print-directory -j2 BUILD=$(BUILD) $(SWITCHES) all emulated-bins
	@sh tests/cross/switches.sh $(BUILD)/$(SW_CONFIG)/libonyx.a $(BUILD)/$(SW_CONFIG)/onyx $(CLI) \
	    $(BUILD)/obj/$(SW_CONFIG)/tests $(BUILD)/$(SW_CONFIG)/switches-tmp
test-cross:
	@MAKE="$(MAKE)" sh tests/cross/all.sh $(BUILD) 1 $(CROSS_TARGETS)
test-cross-quick:
	@MAKE="$(MAKE)" sh tests/cross/all.sh $(BUILD) 4 $(CROSS_TARGETS)

# ---- WebAssembly (docs/EMBEDDED.md) -----------------------------------------------------
# `make wasm`: libonyx.a and the CLI for wasm32-wasi (clang, wasi-libc, SIMD128) in
# $(BUILD)/clang-wasm32-wasi-noblas-noomp-noimage/. `make test-wasm` (in .ci/run): its unit-test
# programs, CLI and C API tests and every WASM_NODE_EVERY-th node test, each program run by
# node (tests/wasm/run_wasi.mjs) through tests/cross/run.sh; ends "wasm: N passed, N failed".
WASM_MAKE       := $(MAKE) --no-print-directory BUILD=$(BUILD) CROSS=wasm32-wasi-
WASM_NODE_EVERY ?= 1
.PHONY: wasm test-wasm
wasm:
	@$(WASM_MAKE) -j2 all
test-wasm:
	@$(WASM_MAKE) -j2 emulated-bins
	@$(WASM_MAKE) NODE_EVERY=$(WASM_NODE_EVERY) emulated-test
ifeq ($(WASM),1)
$(CLI) $(EXAMPLE) $(TEST_BIN): $(WASI_CWD)
endif

# The digits model on a tensor, then on a bundled PNG (gray, 32x32 area-shrunk to 8x8, no
# normalisation); with the real classifier fetched (tests/models/real_classifier.py, done by
# `make test`), EfficientNet-Lite0 on photographs too.
REAL_MODEL := .cache/models/efficientnet_lite0.onnx
demo: $(CLI)
	$(CLI) run tools/demo/digits.onnx --input tools/demo/digit_input.npy --classify
	$(CLI) classify --model tools/demo/digits.onnx --image tools/demo/digit.png --labels tools/demo/digits_labels.txt \
	    --fit stretch --filter area --mean 0 --std 1 --top 3
	@if [ -f $(REAL_MODEL) ]; then set -x; ONYX_DATA=data $(CLI) classify --model $(REAL_MODEL) \
	    --image .cache/photos/chelsea.png .cache/photos/coffee.png --mean 0.4980392 --std 0.5019608 --top 3; \
	else echo "(for EfficientNet-Lite0 on photographs: $(VENV)/bin/python tests/models/real_classifier.py prepare .cache)"; fi

# ---- core library for firmware (docs/EMBEDDED.md) ---------------------------------------
# `make core`: libonyx-core.a, runtime + ops + kernels without protobuf-c, OpenMP, BLAS or
# stdio (snprintf is runtime/fmt.c's), allocating only through the caller's allocator hook
# (onyx_arena_alloc over a static buffer). Leaves out the ONNX loader and writer, and the
# op families that need host libraries (ImageDecoder, string ops). OPS_HEADER=ops.h (from
# `onyx pack --ops-header`) links only the op families a model needs: only the registry
# differs, so the other objects are shared. CORE_CFLAGS adds flags (e.g. -Os, -mcpu=...).
OPS_HEADER ?=
CORE_SRC   := $(filter-out ops/image.c ops/image_codec.c ops/image_codec_extra.c ops/strings.c,\
                $(wildcard runtime/*.c runtime/opt/*.c ops/*.c kernels/*.c))
CORE_OBJD  := $(OBJ)/core
CORE_OBJ   := $(CORE_SRC:%.c=$(CORE_OBJD)/%.o)
CORE_DEFS  := -Iruntime -Iops -Ikernels -D_XOPEN_SOURCE=700 -U_FORTIFY_SOURCE -DONYX_CORE \
              -Dsnprintf=ox_snprintf -Dvsnprintf=ox_vsnprintf
CORE_FLAGS := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unknown-pragmas -g -O2 \
              -ffunction-sections -fdata-sections $(TARGET_FLAGS) $(CORE_CFLAGS)
ifneq ($(OPS_HEADER),)
  CORE_NAME := $(basename $(notdir $(OPS_HEADER)))
  CORE_A    := $(OUT)/core-$(CORE_NAME)/libonyx-core.a
  CORE_REG  := $(CORE_OBJD)/ops/registry-$(CORE_NAME).o
  CORE_OBJ  := $(filter-out $(CORE_OBJD)/ops/registry.o,$(CORE_OBJ)) $(CORE_REG)
$(CORE_REG): ops/registry.c $(OPS_HEADER)
	@mkdir -p $(dir $@)
	@echo "  CC      $< (core, $(OPS_HEADER))"
	$(Q)$(CC) $(CORE_DEFS) -DONYX_OPS_HEADER='"$(abspath $(OPS_HEADER))"' $(CORE_FLAGS) -c $< -o $@
else
  CORE_A    := $(OUT)/libonyx-core.a
endif
.PHONY: core
core: $(CORE_A)
$(CORE_OBJD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (core)"
	$(Q)$(CC) $(CORE_DEFS) $(CORE_FLAGS) -MMD -MP -c $< -o $@
$(CORE_A): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# ---- firmware demo on microcontrollers (docs/EMBEDDED.md, "Microcontrollers") ----------
# `make firmware`: the digits demo (firmware/main.c) as bare-metal images for a Cortex-M4F
# (QEMU mps2-an386) and an rv32imafc core (QEMU virt): libonyx-core built by the `core`
# target above with the target's gcc and the model's op families (in $(FW)/<target>/), the
# model packed by the host CLI and the bundled input as const arrays (generated into $(FW)),
# picolibc for stdout and exit over semihosting, and firmware/'s start-up code and linker
# scripts. `make test-firmware` runs both under QEMU (tests/firmware_test.sh).
FW         := $(BUILD)/firmware
FW_TARGETS := cortex-m4 riscv32
FW_PREFIX_cortex-m4 := arm-none-eabi-
FW_ARCH_cortex-m4   := -mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb
FW_PREFIX_riscv32   := riscv64-unknown-elf-
FW_ARCH_riscv32     := -march=rv32imafc -mabi=ilp32f -mcmodel=medany
FW_CFLAGS  := --specs=picolibc.specs -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Os -g \
              -ffunction-sections -fdata-sections
FW_IMAGES  := $(FW_TARGETS:%=$(FW)/onyx-%.elf)
FW_CORES   := $(FW_TARGETS:%=$(FW)/%/core-model_ops/libonyx-core.a)
.SECONDARY: $(FW_CORES)  # made by a pattern rule, yet kept (the next make relinks nothing)
.PHONY: firmware test-firmware FORCE
firmware: $(FW_IMAGES)
	@echo "   text    data     bss     dec     hex filename"
	@$(foreach t,$(FW_TARGETS),$(FW_PREFIX_$(t))size $(FW)/onyx-$(t).elf | sed 1d;)
test-firmware: firmware
	@sh tests/firmware_test.sh $(CLI) $(FW) $(FW_TARGETS)
$(FW)/.deps-ok: tools/setup/firmware_deps.sh
	@mkdir -p $(FW)
	@sh tools/setup/firmware_deps.sh
	@touch $@
# The CLI prints the arena the core needs (pack.txt); it becomes -DONYX_FW_ARENA_BYTES.
$(FW)/model_data.c $(FW)/model_ops.h $(FW)/pack.txt &: $(CLI) tools/demo/digits.onnx
	@mkdir -p $(FW)
	@echo "  PACK    tools/demo/digits.onnx"
	$(Q)$(CLI) pack tools/demo/digits.onnx -o $(FW)/digits.onyx --c-array $(FW)/model_data.c \
	    --symbol model_data --ops-header $(FW)/model_ops.h > $(FW)/pack.txt
$(FW)/digit_input.c: tools/demo/digit_input.npy firmware/npy2c.py $(FW)/.deps-ok
	$(Q)$(PYTHON) firmware/npy2c.py $< digit_input > $@
# The `core` target run for a firmware target (FORCE: that make knows what is out of date;
# this archive only changes, and the image relinks, when it rebuilt something). Its BUILD
# moves its own $(FW) rules out of the way: it must take model_ops.h as it is.
$(FW)/%/core-model_ops/libonyx-core.a: $(FW)/model_ops.h $(FW)/.deps-ok FORCE
	@$(MAKE) --no-print-directory BUILD=$(FW)/$* OUT=$(FW)/$* OBJ=$(FW)/$*/obj CC=$(FW_PREFIX_$*)gcc \
	    AR=$(FW_PREFIX_$*)ar OPS_HEADER=$(FW)/model_ops.h CORE_CFLAGS="--specs=picolibc.specs $(FW_ARCH_$*) -Os" core
FORCE:
$(FW)/onyx-%.elf: firmware/main.c firmware/crt.c firmware/sections.ld $(wildcard firmware/*/*) \
                  $(FW)/model_data.c $(FW)/digit_input.c $(FW)/pack.txt $(FW)/%/core-model_ops/libonyx-core.a
	@echo "  LD      $@"
	$(Q)arena=$$(sed -n 's/^arena: \([0-9]*\) bytes.*/\1/p' $(FW)/pack.txt); \
	[ -n "$$arena" ] || { echo "no arena size in $(FW)/pack.txt" >&2; exit 1; }; \
	$(FW_PREFIX_$*)gcc $(FW_CFLAGS) $(FW_ARCH_$*) -Iruntime -DONYX_FW_ARENA_BYTES=$$arena -nostartfiles \
	    --oslib=semihost -T firmware/$*/link.ld -Lfirmware -Wl,--gc-sections -Wl,-Map=$(FW)/onyx-$*.map -o $@ \
	    $(wildcard firmware/$*/*.c firmware/$*/*.S) firmware/main.c firmware/crt.c $(FW)/model_data.c \
	    $(FW)/digit_input.c $(FW)/$*/core-model_ops/libonyx-core.a -lm

# ---- benchmarks (never part of make test; see bench/) ----------------------------------
# make bench: onyx against onnxruntime on exported models (bench/make_models.py caches them
# in .cache/bench), report in bench/RESULTS.md. Flags for bench/run.py go in BENCH_ARGS,
# e.g. make bench BENCH_ARGS="--models resnet50,bert_base --threads 1 --runs 10".
# make bench-gemm: ox_sgemm* against OpenBLAS in GFLOP/s (GEMM_SECONDS per cell, default 0.2).
TORCH_VENV := .cache/torch-venv
BENCH_DIR  := .cache/bench
BENCH_ARGS ?=
GEMM_SECONDS ?= 0.2
GEMM_BENCH := $(OUT)/gemm_bench

$(TORCH_VENV)/bin/python:
	$(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/pip install torch torchvision onnx onnxruntime numpy

bench: $(CLI) $(TORCH_VENV)/bin/python
	$(TORCH_VENV)/bin/python bench/make_models.py $(BENCH_DIR)
	$(TORCH_VENV)/bin/python bench/run.py --onyx $(CLI) --dir $(BENCH_DIR) $(BENCH_ARGS)

# ox_sgemm_own is timed too once kernels/gemm.h declares it
$(GEMM_BENCH): bench/gemm_bench.c kernels/gemm.h $(LIB_A)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(if $(shell grep -l ox_sgemm_own kernels/gemm.h),-DHAVE_SGEMM_OWN) \
	    -o $@ $< $(LIB_A) $(LDFLAGS) $(LDLIBS)

bench-gemm: $(GEMM_BENCH)
	$(GEMM_BENCH) $(GEMM_SECONDS)

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

clean:
	rm -rf $(BUILD)
