/* conv_fused.h — the Conv that the session's optimiser makes when it fuses an activation
 * and/or a residual Add into a Conv (runtime/opt/fuse_act.c): the same op with an epilogue.
 *
 * The activation is carried by attributes of the node whose names no ONNX schema uses; only
 * ox_op_conv_fused reads them, and it is reachable from no registry lookup (the pass sets the
 * node's op directly), so a model file cannot select it. Graphs holding it are never written
 * (the fusion runs on a session's private copy only). */
#ifndef ONYX_OPS_CONV_FUSED_H
#define ONYX_OPS_CONV_FUSED_H

#include "op.h"

#define OX_CONV_ACT_ATTR "onyx_act"             /* int: an ox_act_kind (kernels/activation.h) */
#define OX_CONV_ACT_ALPHA_ATTR "onyx_act_alpha" /* float */
#define OX_CONV_ACT_BETA_ATTR "onyx_act_beta"   /* float */
/* Input 3 (after X, W and B, which may then be omitted): a residual with the output's shape
 * and float type, added after the bias and before the activation (Conv -> Add -> Relu). */
#define OX_CONV_RESIDUAL_INPUT 3

extern const ox_op ox_op_conv_fused;

#endif
