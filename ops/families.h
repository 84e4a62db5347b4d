/* families.h — the op families linked into the registry. Each family file (ops/<name>.c)
 * defines `const ox_op ox_ops_<name>[]` and `const size_t ox_ops_<name>_count`. */
#ifndef ONYX_FAMILIES_H
#define ONYX_FAMILIES_H

#include "op.h"

#define OX_FAMILIES        \
    OX_FAMILY(elementwise) \
    OX_FAMILY(index)       \
    OX_FAMILY(linalg)      \
    OX_FAMILY(nn)          \
    OX_FAMILY(shape)

#define OX_FAMILY(name) extern const ox_op ox_ops_##name[]; extern const size_t ox_ops_##name##_count;
OX_FAMILIES
#undef OX_FAMILY

#endif
