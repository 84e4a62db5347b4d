/* newops.h — private to the newops family (ops/newops*.c): the ops introduced by the newest
 * opsets (ai.onnx 26–27 and ai.onnx.preview 1), and the element access their float kernels
 * share. LinearAttention is in newops_linear_attention.c, FlexAttention in
 * newops_flex_attention.c, the rest and the registry rows in newops.c. */
#ifndef ONYX_NEWOPS_H
#define ONYX_NEWOPS_H

#include "op.h"

/* Element i of a float, double, float16 or bfloat16 tensor, as double. */
static inline double nx_get(const onyx_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case ONYX_DTYPE_FLOAT: return ((const float *)t->data)[i];
    case ONYX_DTYPE_DOUBLE: return ((const double *)t->data)[i];
    case ONYX_DTYPE_FLOAT16: return ox_f16_to_f32(((const uint16_t *)t->data)[i]);
    default: return ox_bf16_to_f32(((const uint16_t *)t->data)[i]);
    }
}

/* Stores v into element i of a float, double, float16 or bfloat16 tensor, rounded to its
 * dtype (the 16-bit types through float, as the reference's astype does). */
static inline void nx_put(onyx_tensor *t, int64_t i, double v)
{
    switch (t->dtype) {
    case ONYX_DTYPE_FLOAT: ((float *)t->data)[i] = (float)v; break;
    case ONYX_DTYPE_DOUBLE: ((double *)t->data)[i] = v; break;
    case ONYX_DTYPE_FLOAT16: ((uint16_t *)t->data)[i] = ox_f32_to_f16((float)v); break;
    default: ((uint16_t *)t->data)[i] = ox_f32_to_bf16((float)v); break;
    }
}

/* v rounded to dtype t and read back: the value a tensor of t would hold. */
static inline double nx_round(onyx_dtype t, double v)
{
    switch (t) {
    case ONYX_DTYPE_FLOAT: return (float)v;
    case ONYX_DTYPE_FLOAT16: return ox_f16_to_f32(ox_f32_to_f16((float)v));
    case ONYX_DTYPE_BFLOAT16: return ox_bf16_to_f32(ox_f32_to_bf16((float)v));
    default: return v;
    }
}

/* Run-time guard: the planner must grant the scratch infer asked for. */
static inline onyx_status nx_check_scratch(ox_ctx *c, size_t need)
{
    if (c->scratch_bytes >= need && (need == 0 || c->scratch)) return ONYX_OK;
    return ox_fail(c, ONYX_E_INTERNAL, "scratch of %zu bytes granted, %zu needed", c->scratch_bytes, need);
}

onyx_status ox_linear_attention_infer(ox_ctx *c);
onyx_status ox_linear_attention_run(ox_ctx *c);
onyx_status ox_flex_attention_infer(ox_ctx *c);
onyx_status ox_flex_attention_run(ox_ctx *c);

#endif
