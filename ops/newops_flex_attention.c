/* newops_flex_attention.c — FlexAttention (ai.onnx.preview 1): scaled dot-product attention
 * whose scores and probabilities may pass through user subgraphs (attributes score_mod and
 * prob_mod), each taking and returning the (B, H_q, L, S) tensor in the softmax precision.
 *
 * Intermediate roundings follow the spec's reference: Q and K are pre-scaled by sqrt(scale)
 * in their dtype, scores are formed in that dtype, then softmax and the product with V run
 * in the softmax precision.
 *
 * Without modifiers each output row (b, h, i) is computed on its own, in a row buffer of its
 * block of rows; blocks run in parallel and a row's result does not depend on its block.
 * With modifiers the whole score matrix is materialised in scratch, handed to the subgraph
 * (c->run_graph, a child session), and the result goes on to softmax / the product with V. */
#include <math.h>
#include <string.h>

#include "newops.h"

static const onyx_dtype flex_types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16,
                                        ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_UNDEFINED};

enum { FLEX_MAX_BLOCKS = 1024 };

typedef struct flex_attn {
    int64_t batch, hq, hkv, lq, skv, e, ev;
    onyx_dtype dtype, calc;         /* inputs' dtype; softmax precision */
    double sqrt_scale;              /* applied to Q and K, rounded to their dtype */
    const ox_graph *score_mod, *prob_mod;
    size_t row_doubles;             /* a block's row buffer: scores, then the scaled query row */
    size_t matrix_bytes;            /* the (B, H_q, L, S) matrix, when there is a modifier */
    int blocks;                     /* row buffers infer asks for (one per thread) */
} flex_attn;

static onyx_status softmax_precision(ox_ctx *c, flex_attn *f)
{
    onyx_status st = ox_attr_expect(c, "softmax_precision", OX_ATTR_INT);
    if (st) return st;
    if (!ox_attr_has(c, "softmax_precision")) {
        f->calc = f->dtype == ONYX_DTYPE_DOUBLE ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT;
        return ONYX_OK;
    }
    const int64_t p = ox_attr_int(c, "softmax_precision", 0);
    if (p != ONYX_DTYPE_FLOAT && p != ONYX_DTYPE_DOUBLE && p != ONYX_DTYPE_FLOAT16 &&
        p != ONYX_DTYPE_BFLOAT16)
        return ox_fail(c, ONYX_E_ARG, "softmax_precision %lld is not float, double, float16 or "
                       "bfloat16", (long long)p);
    f->calc = (onyx_dtype)p;
    return ONYX_OK;
}

/* Attribute `name`: absent, or a graph of one input and one output. */
static onyx_status modifier(ox_ctx *c, const char *name, const ox_graph **g)
{
    onyx_status st = ox_attr_expect(c, name, OX_ATTR_GRAPH);
    if (st) return st;
    const ox_attr *a = ox_node_attr(c->node, name);
    *g = a ? a->g : NULL;
    if (!*g) return ONYX_OK;
    if (!c->run_graph)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "the %s subgraph needs a subgraph runner", name);
    if ((*g)->n_inputs != 1 || (*g)->n_outputs != 1)
        return ox_fail(c, ONYX_E_ARG, "the %s subgraph has %d inputs and %d outputs, not 1 and 1",
                       name, (*g)->n_inputs, (*g)->n_outputs);
    return ONYX_OK;
}

static onyx_status flex_shapes(ox_ctx *c, flex_attn *f)
{
    const onyx_tensor *q = c->in[0], *k = c->in[1], *v = c->in[2];
    f->dtype = q->dtype;
    if (k->dtype != f->dtype || v->dtype != f->dtype)
        return ox_fail(c, ONYX_E_ARG, "Q, K and V have dtypes %s, %s, %s; they must match",
                       onyx_dtype_name(q->dtype), onyx_dtype_name(k->dtype),
                       onyx_dtype_name(v->dtype));
    if (q->rank != 4 || k->rank != 4 || v->rank != 4)
        return ox_fail(c, ONYX_E_SHAPE, "Q, K and V must be rank 4, got ranks %d, %d, %d",
                       q->rank, k->rank, v->rank);
    f->batch = q->dims[0];
    f->hq = q->dims[1];
    f->lq = q->dims[2];
    f->e = q->dims[3];
    f->hkv = k->dims[1];
    f->skv = k->dims[2];
    f->ev = v->dims[3];
    if (k->dims[0] != f->batch || v->dims[0] != f->batch || v->dims[1] != f->hkv ||
        v->dims[2] != f->skv || k->dims[3] != f->e) {
        char sq[96], sk[96], sv[96];
        return ox_fail(c, ONYX_E_SHAPE, "Q %s, K %s, V %s do not fit (B, H, L, E), "
                       "(B, H_kv, S, E), (B, H_kv, S, E_v)",
                       ox_shape_str(sq, sizeof sq, 4, q->dims), ox_shape_str(sk, sizeof sk, 4, k->dims),
                       ox_shape_str(sv, sizeof sv, 4, v->dims));
    }
    if (f->hkv == 0 ? f->hq != 0 : f->hq % f->hkv != 0)
        return ox_fail(c, ONYX_E_SHAPE, "Q's %lld heads are not a multiple of K's %lld heads",
                       (long long)f->hq, (long long)f->hkv);
    return ONYX_OK;
}

/* Scratch: the matrix (with a modifier), then one row buffer per block, each overflow-checked
 * (dims of empty tensors can be large). */
static onyx_status flex_scratch(ox_ctx *c, flex_attn *f)
{
    const uint64_t cap = SIZE_MAX / sizeof(double) / FLEX_MAX_BLOCKS / 4;
    if ((uint64_t)f->skv > cap || (uint64_t)f->e > cap)
        return ox_fail(c, ONYX_E_SHAPE, "sequence length %lld or head size %lld is too large",
                       (long long)f->skv, (long long)f->e);
    f->row_doubles = (size_t)(f->skv + f->e) + 1; /* never 0, so blocks can be counted */
    f->blocks = c->threads < 1 ? 1 : c->threads > FLEX_MAX_BLOCKS ? FLEX_MAX_BLOCKS : c->threads;
    f->matrix_bytes = 0;
    if (f->score_mod || f->prob_mod) {
        const int64_t dims[4] = {f->batch, f->hq, f->lq, f->skv};
        size_t bytes;
        if (!ox_shape_bytes(f->calc, 4, dims, &bytes) || bytes > SIZE_MAX / 2)
            return ox_fail(c, ONYX_E_SHAPE, "the score matrix is too large");
        f->matrix_bytes = (bytes + OX_ALIGN - 1) / OX_ALIGN * OX_ALIGN;
    }
    return ONYX_OK;
}

static onyx_status flex_setup(ox_ctx *c, flex_attn *f)
{
    memset(f, 0, sizeof *f);
    onyx_status st = ox_need_io(c, 3);
    if (st || (st = ox_expect_dtype(c, 0, flex_types)) || (st = flex_shapes(c, f)) ||
        (st = softmax_precision(c, f)) || (st = ox_attr_expect(c, "scale", OX_ATTR_FLOAT)) ||
        (st = modifier(c, "score_mod", &f->score_mod)) ||
        (st = modifier(c, "prob_mod", &f->prob_mod)))
        return st;
    /* The reference takes the square root in float32, then rounds it to the inputs' dtype. */
    const double scale = ox_attr_has(c, "scale") ? ox_attr_float(c, "scale", 1.0f)
                                                 : 1.0 / sqrt((double)f->e);
    f->sqrt_scale = nx_round(f->dtype, sqrtf((float)scale));
    return flex_scratch(c, f);
}

static size_t flex_scratch_bytes(const flex_attn *f)
{
    return f->matrix_bytes + f->row_doubles * sizeof(double) * (size_t)f->blocks;
}

onyx_status ox_flex_attention_infer(ox_ctx *c)
{
    flex_attn f;
    onyx_status st = flex_setup(c, &f);
    if (st) return st;
    const int64_t dims[4] = {f.batch, f.hq, f.lq, f.ev};
    ox_set_shape(c->out[0], f.dtype, 4, dims);
    c->scratch_bytes = flex_scratch_bytes(&f);
    return ONYX_OK;
}

/* ---- the three stages of one row (b, h, i) -------------------------------------------------- */

/* K/V row index base of the kv head that query row `row` reads. */
static int64_t kv_head(const flex_attn *f, int64_t row)
{
    const int64_t bh = row / f->lq, b = bh / f->hq, h = bh % f->hq;
    return b * f->hkv + h / (f->hq / f->hkv);
}

/* score[j] = (Q_row * s) . (K_j * s), formed in the inputs' dtype, given in the softmax
 * precision. qs holds e doubles of working space. */
static void scores_row(const ox_ctx *c, const flex_attn *f, int64_t row, double *qs, double *score)
{
    const onyx_tensor *q = c->in[0], *k = c->in[1];
    const int64_t kvh = kv_head(f, row);
    for (int64_t d = 0; d < f->e; d++)
        qs[d] = nx_round(f->dtype, nx_get(q, row * f->e + d) * f->sqrt_scale);
    for (int64_t j = 0; j < f->skv; j++) {
        const int64_t kr = (kvh * f->skv + j) * f->e;
        double dot = 0.0;
        for (int64_t d = 0; d < f->e; d++)
            dot += qs[d] * nx_round(f->dtype, nx_get(k, kr + d) * f->sqrt_scale);
        score[j] = nx_round(f->calc, nx_round(f->dtype, dot));
    }
}

/* Softmax of n scores in place, rounded to the softmax precision. */
static void softmax_row(onyx_dtype calc, int64_t n, double *p)
{
    double max = -INFINITY, sum = 0.0;
    for (int64_t j = 0; j < n; j++)
        if (p[j] > max) max = p[j];
    for (int64_t j = 0; j < n; j++) {
        p[j] = nx_round(calc, exp(p[j] - max));
        sum += p[j];
    }
    sum = nx_round(calc, sum);
    for (int64_t j = 0; j < n; j++) p[j] = nx_round(calc, p[j] / sum);
}

/* Output row = probabilities times V (an empty S gives zeros). */
static void values_row(ox_ctx *c, const flex_attn *f, int64_t row, const double *p)
{
    const onyx_tensor *v = c->in[2];
    const int64_t kvh = kv_head(f, row);
    for (int64_t m = 0; m < f->ev; m++) {
        double acc = 0.0;
        for (int64_t j = 0; j < f->skv; j++)
            acc += p[j] * nx_round(f->calc, nx_get(v, (kvh * f->skv + j) * f->ev + m));
        nx_put(c->out[0], row * f->ev + m, nx_round(f->calc, acc));
    }
}

/* ---- run ------------------------------------------------------------------------------------- */

/* What a pass does to each row; the matrix holds the rows between passes. */
typedef enum { PASS_ALL, PASS_SCORES, PASS_SOFTMAX, PASS_VALUES } flex_pass;

typedef struct flex_run {
    ox_ctx *c;
    const flex_attn *f;
    onyx_tensor matrix; /* (B, H_q, L, S) in the softmax precision, with a modifier */
    double *rows;       /* blocks * row_doubles */
    int64_t n_rows, blocks;
} flex_run;

static void load_matrix_row(const onyx_tensor *m, int64_t row, int64_t n, double *dst)
{
    for (int64_t j = 0; j < n; j++) dst[j] = nx_get(m, row * n + j);
}

static void store_matrix_row(onyx_tensor *m, int64_t row, int64_t n, const double *src)
{
    for (int64_t j = 0; j < n; j++) nx_put(m, row * n + j, src[j]);
}

static void pass_row(flex_run *r, flex_pass pass, int64_t row, double *buf)
{
    const flex_attn *f = r->f;
    double *p = buf, *qs = buf + f->skv;
    if (pass == PASS_ALL || pass == PASS_SCORES) scores_row(r->c, f, row, qs, p);
    else load_matrix_row(&r->matrix, row, f->skv, p);
    if (pass == PASS_ALL || pass == PASS_SOFTMAX) softmax_row(f->calc, f->skv, p);
    if (pass == PASS_ALL || pass == PASS_VALUES) values_row(r->c, f, row, p);
    else store_matrix_row(&r->matrix, row, f->skv, p);
}

/* Every row, block by block; each block has its own row buffer. */
static void run_pass(flex_run *r, flex_pass pass)
{
    const int64_t blocks = r->blocks, rows = r->n_rows;
    const int threads = r->c->threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && blocks > 1)
#endif
    for (int64_t blk = 0; blk < blocks; blk++) {
        double *buf = r->rows + (size_t)blk * r->f->row_doubles;
        /* rows * blocks fits: rows is an element count and blocks <= FLEX_MAX_BLOCKS */
        for (int64_t row = rows * blk / blocks; row < rows * (blk + 1) / blocks; row++)
            pass_row(r, pass, row, buf);
    }
    (void)threads;
}

/* Passes the matrix through a modifier subgraph; the matrix then holds its result. */
static onyx_status apply_modifier(flex_run *r, const ox_graph *g, const char *name)
{
    ox_ctx *c = r->c;
    ox_val in, out;
    memset(&in, 0, sizeof in);
    memset(&out, 0, sizeof out);
    in.kind = OX_KIND_TENSOR;
    in.t = r->matrix;
    onyx_status st = c->run_graph(c, g, &in, 1, &out, 1);
    if (st) return st;
    const onyx_tensor *t = &out.t;
    if (out.kind != OX_KIND_TENSOR || t->dtype != r->matrix.dtype || t->rank != 4 ||
        memcmp(t->dims, r->matrix.dims, 4 * sizeof t->dims[0])) {
        char got[96], want[96];
        return ox_fail(c, ONYX_E_SHAPE, "the %s subgraph returned %s %s, expected %s %s", name,
                       onyx_dtype_name(t->dtype), ox_shape_str(got, sizeof got, t->rank, t->dims),
                       onyx_dtype_name(r->matrix.dtype),
                       ox_shape_str(want, sizeof want, 4, r->matrix.dims));
    }
    /* The result is the runner's copy, ours to overwrite in the next pass. */
    if (ox_tensor_numel(t) > 0) r->matrix.data = t->data;
    return ONYX_OK;
}

onyx_status ox_flex_attention_run(ox_ctx *c)
{
    flex_attn f;
    onyx_status st = flex_setup(c, &f);
    if (st || (st = nx_check_scratch(c, flex_scratch_bytes(&f)))) return st;
    flex_run r = {.c = c, .f = &f, .n_rows = f.batch * f.hq * f.lq};
    r.rows = (double *)(void *)((uint8_t *)c->scratch + f.matrix_bytes);
    /* As many blocks as row buffers were granted; blocks change only the schedule. */
    r.blocks = (int64_t)((c->scratch_bytes - f.matrix_bytes) / (f.row_doubles * sizeof(double)));
    if (r.blocks > r.n_rows) r.blocks = r.n_rows;
    if (r.n_rows == 0) return ONYX_OK;
    if (!f.score_mod && !f.prob_mod) {
        run_pass(&r, PASS_ALL);
        return ONYX_OK;
    }
    const int64_t dims[4] = {f.batch, f.hq, f.lq, f.skv};
    ox_set_shape(&r.matrix, f.calc, 4, dims);
    r.matrix.data = c->scratch;
    run_pass(&r, PASS_SCORES);
    if (f.score_mod && (st = apply_modifier(&r, f.score_mod, "score_mod"))) return st;
    run_pass(&r, PASS_SOFTMAX);
    if (f.prob_mod && (st = apply_modifier(&r, f.prob_mod, "prob_mod"))) return st;
    run_pass(&r, PASS_VALUES);
    return ONYX_OK;
}
