/* attr_check.c — the type every ONNX attribute must have, from the ONNX schemas (generated
 * into attr_types.inc by tools/gen/attr_types.py). The loader refuses a node whose attribute
 * has another type, rather than letting the op read its default as if it were absent. */
#include <string.h>

#include "op.h"

typedef struct attr_type_row {
    const char *domain, *op, *name;
    unsigned mask; /* bit t set: ox_attr_type t allowed */
} attr_type_row;

static const attr_type_row rows[] = {
#include "attr_types.inc"
};

static int row_cmp(const char *domain, const char *op, const char *name, const attr_type_row *r)
{
    int c = strcmp(domain, r->domain);
    if (!c) c = strcmp(op, r->op);
    if (!c) c = strcmp(name, r->name);
    return c;
}

unsigned ox_attr_types_allowed(const char *domain, const char *op, const char *name)
{
    if (!strcmp(domain, "ai.onnx")) domain = "";
    size_t lo = 0, hi = sizeof rows / sizeof rows[0];
    while (lo < hi) { /* rows are sorted by (domain, op, name) */
        size_t mid = lo + (hi - lo) / 2;
        int c = row_cmp(domain, op, name, &rows[mid]);
        if (!c) return rows[mid].mask;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return 0;
}
