/* cmd_optimize.c — `onyx optimize IN.onnx OUT.onnx [--opt N]`: writes the graph onyx would
 * run (optimised at level N, default 2) as a standard ONNX file, and says what changed. */
#include <string.h>

#include "cli.h"

int cmd_optimize(int argc, char **argv)
{
    const char *paths[2] = {NULL, NULL}, *value;
    int n_paths = 0, level = 2;
    for (int i = 0; i < argc; i++) {
        int r = cli_flag_value(argc, argv, &i, "--opt", &value);
        if (r < 0 || (r > 0 && !cli_parse_int("--opt", value, 0, 2, &level))) return CLI_EXIT_USAGE;
        if (r > 0) continue;
        if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error("optimize: unknown option '%s'", argv[i]);
        if (n_paths == 2) return cli_usage_error("optimize: one input and one output model ('%s' is a third)", argv[i]);
        paths[n_paths++] = argv[i];
    }
    if (n_paths != 2) return cli_usage_error("usage: onyx optimize IN.onnx OUT.onnx [--opt N]");

    onyx_load_options lo;
    onyx_load_options_init(&lo);
    lo.allow_unsupported = 1; /* ops onyx lacks are written back as they are */
    onyx_model *m = NULL;
    onyx_error err = {0};
    if (onyx_model_load_file(paths[0], &lo, &m, &err) != ONYX_OK) return cli_error("%s", err.message);
    onyx_model_meta before, after;
    onyx_model_get_meta(m, &before);
    if (onyx_model_optimize(m, level, &err) != ONYX_OK || onyx_model_save_file(m, paths[1], &err) != ONYX_OK) {
        onyx_model_free(m);
        return cli_error("%s", err.message);
    }
    onyx_model_get_meta(m, &after);
    printf("%s: %zu nodes -> %zu (--opt %d)", paths[1], before.node_count, after.node_count, level);
    const char *name;
    int64_t count;
    for (size_t i = 0; onyx_model_opt_pass(m, i, &name, &count) == ONYX_OK; i++)
        if (count) printf(", %s %lld", name, (long long)count);
    printf("\n");
    onyx_model_free(m);
    return CLI_EXIT_OK;
}
