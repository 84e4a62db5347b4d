/* registry.c — the op resolver: every implemented op, by family. A firmware build can drop
 * families it does not need (see docs/ARCHITECTURE.md). */
#include <string.h>

#include "op.h"
#include "families.h"

typedef struct family {
    const char *name;
    const ox_op *ops;
    const size_t *count;
} family;

/* Which families are linked: a firmware build names the ones its model needs in a header
 * written by `onyx pack --ops-header` (-DONYX_OPS_HEADER='"ops.h"'), so the linker leaves
 * the other families' kernels out; the core library (ONYX_CORE) leaves out the families
 * that need host libraries. */
#if defined(ONYX_OPS_HEADER)
#include ONYX_OPS_HEADER
#define OX_LINKED_FAMILIES ONYX_OPS_FAMILIES
#elif defined(ONYX_CORE)
#define OX_LINKED_FAMILIES OX_FAMILIES_PORTABLE
#else
#define OX_LINKED_FAMILIES OX_FAMILIES
#endif

static const size_t no_ops = 0;
static const family families[] = {
#define OX_FAMILY(name) {#name, ox_ops_##name, &ox_ops_##name##_count},
    OX_LINKED_FAMILIES
#undef OX_FAMILY
    {"", NULL, &no_ops} /* keeps the table non-empty whatever is linked */
};

const char *ox_op_family(const ox_op *op)
{
    for (size_t f = 0; op && f < sizeof families / sizeof families[0]; f++)
        for (size_t i = 0; i < *families[f].count; i++) /* == only: < between tables is undefined */
            if (&families[f].ops[i] == op) return families[f].name;
    return NULL;
}

static bool domain_eq(const char *a, const char *b)
{
    /* "" and "ai.onnx" name the same default domain. */
    if (!strcmp(a, "ai.onnx")) a = "";
    if (!strcmp(b, "ai.onnx")) b = "";
    return !strcmp(a, b);
}

const ox_op *ox_op_find(const char *domain, const char *op_type, int opset)
{
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (size_t i = 0; i < *families[f].count; i++) {
            const ox_op *op = &families[f].ops[i];
            if (!strcmp(op->name, op_type) && domain_eq(op->domain, domain) &&
                opset >= op->min_opset && opset <= op->max_opset)
                return op;
        }
    return NULL;
}

bool ox_op_known(const char *domain, const char *op_type)
{
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (size_t i = 0; i < *families[f].count; i++) {
            const ox_op *op = &families[f].ops[i];
            if (!strcmp(op->name, op_type) && domain_eq(op->domain, domain)) return true;
        }
    return false;
}

size_t onyx_op_count(void)
{
    size_t n = 0;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) n += *families[f].count;
    return n;
}

onyx_status onyx_op_info(size_t i, const char **name, const char **domain, int *min_opset, int *max_opset)
{
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        if (i >= *families[f].count) {
            i -= *families[f].count;
            continue;
        }
        const ox_op *op = &families[f].ops[i];
        if (name) *name = op->name;
        if (domain) *domain = op->domain;
        if (min_opset) *min_opset = op->min_opset;
        if (max_opset) *max_opset = op->max_opset;
        return ONYX_OK;
    }
    return ONYX_E_ARG;
}
