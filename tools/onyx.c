/* onyx.c — the onyx command-line tool: picks a command and hands it the arguments. */
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fputs("usage: onyx <command> [arguments]\n"
          "\n"
          "commands:\n"
          "  info MODEL [--opt N]\n"
          "      inputs, outputs, opsets, producer, op counts, parameters, planned arena size,\n"
          "      and the ops onyx does not implement (exit code 1 if there are any);\n"
          "      with --opt, also the op counts after optimisation and the passes that fired\n"
          "  run MODEL [--input [NAME=]PATH]... [--output-dir DIR] [--threads N] [--opt N] [--classify]\n"
          "      run a model on .npy or .pb inputs (bound in graph order, or by NAME=);\n"
          "      writes DIR/<output>.npy, or prints each output's first values;\n"
          "      --classify prints class=<argmax> score=<value> for [K] and [1,K] outputs\n"
          "  check DIR... [--opt N] [--threads N] [--determinism] [-v]\n"
          "      run ONNX backend test folders (model.onnx + test_data_set_*) and compare;\n"
          "      --determinism also requires bit-identical outputs at 1, 2 and 4 threads\n"
          "  classify --model M --image I... [--labels FILE] [--top K] [--size S] [--mean R,G,B] [--std R,G,B]\n"
          "      image classification (resize S*256/224, center crop S, ImageNet mean/std by default):\n"
          "      one JSON line per image with the top K {label, class_id, confidence}\n"
          "  detect --model M --image I... --output FILE.json [--score-threshold 0.01] [--iou 0.45]\n"
          "         [--max-det 300] [--size 640] [--draw DIR] [--labels FILE]\n"
          "      YOLOv5 [1,N,5+C] / YOLOv8 [1,4+C,N] detection: letterbox, decode, class-wise NMS;\n"
          "      writes predictions.json (docs/predictions.schema.json), --draw DIR annotated PNGs\n"
          "  img2img --model M --input IN --output OUT.png [--tile T] [--overlap O]\n"
          "      image-to-image models (denoise, super-resolution, masks), tiled with blended overlaps\n"
          "  optimize IN.onnx OUT.onnx [--opt N]\n"
          "      write the graph onyx runs, optimised at level N, as a standard ONNX file\n"
          "  pack MODEL.onnx -o MODEL.onyx [--c-array FILE.c --symbol NAME] [--opt N] [--ops-header ops.h]\n"
          "      write the optimised graph and weights in onyx's packed format (docs/PACKED_FORMAT.md) and\n"
          "      print the arena it needs; --c-array as a const C array, --ops-header the ops to link\n"
          "  bench MODEL [--input [NAME=]PATH]... [--threads N] [--runs N] [--warmup N] [--opt N]\n"
          "      time load, session creation and runs (default 2 warm-up, 10 timed); inputs not\n"
          "      given are generated (symbolic dims 1, integers 0, floats in [0,1)); last line:\n"
          "      median_ms=X min_ms=Y runs=N\n"
          "  ops\n"
          "      the operators this build implements: name, domain, first and last model opset\n"
          "  help       this text\n"
          "  version    the onyx version\n"
          "\n"
          "--opt: 0 no graph optimisation, 1 clean-up (dead nodes, Identity, Dropout, no-op Cast,\n"
          "       constant folding, no-op Reshape/Transpose/Expand/Slice, common subexpressions),\n"
          "       2 also fusions (BatchNormalization into Conv/Gemm, MatMul+Add, LayerNorm, GELU) (default)\n"
          "--threads: 0 all cores (default); run, check, bench, classify, detect and img2img take it\n",
          f);
}

/* One line per implemented op, tab-separated (docs/ops.md is generated from this). */
static int cmd_ops(void)
{
    for (size_t i = 0; i < onyx_op_count(); i++) {
        const char *name, *domain;
        int lo, hi;
        if (onyx_op_info(i, &name, &domain, &lo, &hi) == ONYX_OK) printf("%s\t%s\t%d\t%d\n", name, domain, lo, hi);
    }
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "info") == 0) return cmd_info(argc - 2, argv + 2);
    if (strcmp(cmd, "run") == 0) return cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "check") == 0) return cmd_check(argc - 2, argv + 2);
    if (strcmp(cmd, "classify") == 0) return cmd_classify(argc - 2, argv + 2);
    if (strcmp(cmd, "detect") == 0) return cmd_detect(argc - 2, argv + 2);
    if (strcmp(cmd, "img2img") == 0) return cmd_img2img(argc - 2, argv + 2);
    if (strcmp(cmd, "optimize") == 0) return cmd_optimize(argc - 2, argv + 2);
    if (strcmp(cmd, "pack") == 0) return cmd_pack(argc - 2, argv + 2);
    if (strcmp(cmd, "bench") == 0) return cmd_bench(argc - 2, argv + 2);
    if (strcmp(cmd, "ops") == 0) return cmd_ops();
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("onyx %s\n", onyx_version());
        return CLI_EXIT_OK;
    }
    cli_error("unknown command '%s' (try 'onyx help')", cmd);
    return CLI_EXIT_USAGE;
}
