/* families.h — the op families linked into the registry. Each family file (ops/<name>.c)
 * defines `const ox_op ox_ops_<name>[]` and `const size_t ox_ops_<name>_count`. */
#ifndef ONYX_FAMILIES_H
#define ONYX_FAMILIES_H

#include "op.h"

/* Families that need only the C library (libm): what the core library (make core) links. */
#define OX_FAMILIES_PORTABLE \
    OX_FAMILY(attention)   \
    OX_FAMILY(binary)      \
    OX_FAMILY(control)     \
    OX_FAMILY(einsum)      \
    OX_FAMILY(elementwise) \
    OX_FAMILY(index)       \
    OX_FAMILY(linalg)      \
    OX_FAMILY(logic)       \
    OX_FAMILY(ml)          \
    OX_FAMILY(loss)        \
    OX_FAMILY(math)        \
    OX_FAMILY(movement)    \
    OX_FAMILY(newops)      \
    OX_FAMILY(nn)          \
    OX_FAMILY(nn_extra)    \
    OX_FAMILY(norm)        \
    OX_FAMILY(quant)       \
    OX_FAMILY(random)      \
    OX_FAMILY(reduce)      \
    OX_FAMILY(resize)      \
    OX_FAMILY(rnn)         \
    OX_FAMILY(scatter)     \
    OX_FAMILY(select)      \
    OX_FAMILY(sequence)    \
    OX_FAMILY(signal)      \
    OX_FAMILY(shape)

/* Families that need host libraries: ImageDecoder (libpng, libjpeg, libwebp, OpenJPEG) and
 * the string ops (POSIX regex). */
#define OX_FAMILIES_HOSTED \
    OX_FAMILY(image)       \
    OX_FAMILY(strings)

#define OX_FAMILIES OX_FAMILIES_PORTABLE OX_FAMILIES_HOSTED

#define OX_FAMILY(name) extern const ox_op ox_ops_##name[]; extern const size_t ox_ops_##name##_count;
OX_FAMILIES
#undef OX_FAMILY

#endif
