/* binary_loop.h — the inner-loop template behind the two-operand kernels of binary.c and
 * logic.c (private to kernels/).
 *
 * OX_BINARY_LOOP stamps out an ox_binary_fn. The operands may have different storage types
 * (TA, TB) and the output a third (TO): comparisons write bool, Pow reads an exponent of
 * another type. Each element is loaded into a compute type (LOADA: TA -> CTA, LOADB: TB -> CTB)
 * and EXPR, written in terms of x (CTA) and y (CTB), yields the TO to store. The four
 * broadcast patterns of the inner run get their own loops so each is a plain loop over
 * contiguous memory. */
#ifndef ONYX_KERNELS_BINARY_LOOP_H
#define ONYX_KERNELS_BINARY_LOOP_H

#include "elementwise.h"
#include "internal.h"

#define OX_AS_IS(v) (v)

#define OX_BINARY_LOOP(name, TA, CTA, LOADA, TB, CTB, LOADB, TO, EXPR)                     \
    static void name(int64_t n, const void *pa, bool va, const void *pb, bool vb, void *po) \
    {                                                                                      \
        const TA *a = pa;                                                                  \
        const TB *b = pb;                                                                  \
        TO *o = po;                                                                        \
        if (va && vb) {                                                                    \
            for (int64_t i = 0; i < n; i++) {                                              \
                const CTA x = LOADA(a[i]);                                                 \
                const CTB y = LOADB(b[i]);                                                 \
                o[i] = (EXPR);                                                             \
            }                                                                              \
        } else if (va) {                                                                   \
            const CTB y = LOADB(b[0]);                                                     \
            for (int64_t i = 0; i < n; i++) {                                              \
                const CTA x = LOADA(a[i]);                                                 \
                o[i] = (EXPR);                                                             \
            }                                                                              \
        } else if (vb) {                                                                   \
            const CTA x = LOADA(a[0]);                                                     \
            for (int64_t i = 0; i < n; i++) {                                              \
                const CTB y = LOADB(b[i]);                                                 \
                o[i] = (EXPR);                                                             \
            }                                                                              \
        } else {                                                                           \
            const CTA x = LOADA(a[0]);                                                     \
            const CTB y = LOADB(b[0]);                                                     \
            const TO r = (EXPR);                                                           \
            for (int64_t i = 0; i < n; i++) o[i] = r;                                      \
        }                                                                                  \
    }

/* The common case: both operands and the output of one type T, computed in CT. */
#define OX_BINARY_SAME(name, T, CT, LOAD, EXPR) \
    OX_BINARY_LOOP(name, T, CT, LOAD, T, CT, LOAD, T, EXPR)

#endif
