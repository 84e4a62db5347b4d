/* fused.h — the ops the session's optimiser makes when it fuses an epilogue into the node
 * that produces a float result (runtime/opt/fuse_act.c): the same Conv, ConvTranspose, Gemm or
 * MatMul with an activation applied to its output, a residual Add (Conv) or a bias row (MatMul) folded in;
 * and a LayerNormalization that adds its residual first (fuse_transformer.c).
 *
 * The activation is carried by attributes of the node whose names no ONNX schema uses; only
 * these ops read them, and they are reachable from no registry lookup (the pass sets the
 * node's op directly), so a model file cannot select them. Graphs holding them are never
 * written (the fusions run on a session's private copy only). */
#ifndef ONYX_OPS_FUSED_H
#define ONYX_OPS_FUSED_H

#include "op.h"

#define OX_CONV_ACT_ATTR "onyx_act"             /* int: an ox_act_kind (kernels/activation.h) */
#define OX_CONV_ACT_ALPHA_ATTR "onyx_act_alpha" /* float */
#define OX_CONV_ACT_BETA_ATTR "onyx_act_beta"   /* float */
/* Conv input 3 (after X, W and B, which may then be omitted): a residual with the output's
 * shape and float type, added after the bias and before the activation (Conv -> Add -> Relu). */
#define OX_CONV_RESIDUAL_INPUT 3
/* MatMul input 2: a float row (one value, or one per output column) added before the
 * activation (MatMul -> Add(bias) -> Gelu, the transformer's feed-forward layer). */
#define OX_MATMUL_BIAS_INPUT 2

/* LayerNormalization input 3: a skip added to X before normalising (Add -> LayerNorm, the
 * transformer's residual); output 3: that sum, when something else reads it (pre-norm). */
#define OX_LN_SKIP_INPUT 3
#define OX_LN_SUM_OUTPUT 3

extern const ox_op ox_op_conv_fused;
extern const ox_op ox_op_convt_fused;  /* ConvTranspose, then the activation (float only) */
extern const ox_op ox_op_layernorm_skip; /* LayerNormalization of X + skip (float only) */
extern const ox_op ox_op_gemm_fused;   /* Gemm, then the activation (float only) */
extern const ox_op ox_op_matmul_fused; /* MatMul, + bias row, then the activation (float only) */
/* Attention (opset 23's) that first checks the shape facts the attention fusion proved,
 * possibly from symbolic dims (runtime/opt/fuse_attention.c) */
extern const ox_op ox_op_attention_fused;

/* The activation of a fused node from its internal attributes (ONYX_E_INTERNAL when the
 * kind is unknown). */
struct ox_act;
onyx_status ox_fused_act(ox_ctx *c, struct ox_act *act);

#endif
