/* einsum.c — Einsum: the equation parser and the contraction plan.
 *
 * Every equation is evaluated the same way: each distinct label (letter, or one dim of the
 * ellipsis) becomes one index of a loop nest; output labels index the result, the others are
 * summed, and each operand is read with, per label, the sum of the strides of its axes that
 * carry it — so a label repeated within one operand walks its diagonal. Operands are widened
 * to double (floating types) or uint64 (integers, wrapping) in scratch and contracted by
 * kernels/reduce.c. */
#include <string.h>

#include "gemm.h"
#include "op.h"
#include "reduce.h"
#include "strided.h"

#define N_LETTERS 52       /* 'A'-'Z' are labels 0-25, 'a'-'z' 26-51: ASCII order */
#define MAX_EQUATION 512

/* Which label each axis of each operand carries, and the output's labels. */
typedef struct einsum_eq {
    int n_ops;
    int ell;                                            /* dims the ellipsis stands for */
    int label[OX_EINSUM_MAX_OPS][ONYX_MAX_RANK];        /* per operand axis */
    int n_out, out[ONYX_MAX_RANK];                      /* output labels in order */
    int64_t size[OX_EINSUM_MAX_LABELS];                 /* per label, after broadcasting */
    bool used[OX_EINSUM_MAX_LABELS];
} einsum_eq;

static int letter_label(char ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return 26 + (ch - 'a');
    return -1;
}

/* One term (operand or output): its letters' labels in order and where "..." stands (-1 if
 * absent). */
typedef struct term {
    int n, labels[ONYX_MAX_RANK], ell_at;
} term;

static onyx_status parse_term(ox_ctx *c, const char *s, size_t len, term *t)
{
    t->n = 0;
    t->ell_at = -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (t->ell_at >= 0 || i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.')
                return ox_fail(c, ONYX_E_ARG, "malformed ellipsis in equation term '%.*s'",
                               (int)len, s);
            t->ell_at = t->n;
            i += 2;
            continue;
        }
        int l = letter_label(s[i]);
        if (l < 0)
            return ox_fail(c, ONYX_E_ARG, "invalid character '%c' in equation", s[i]);
        if (t->n == ONYX_MAX_RANK)
            return ox_fail(c, ONYX_E_UNSUPPORTED, "equation term '%.*s' has more than %d labels",
                           (int)len, s, ONYX_MAX_RANK);
        t->labels[t->n++] = l;
    }
    return ONYX_OK;
}

/* Gives the axes of operand k their labels (the ellipsis' dims, right-aligned, are labels
 * N_LETTERS + ell - e .. N_LETTERS + ell - 1) and records label sizes, broadcasting size 1. */
static onyx_status label_operand(ox_ctx *c, einsum_eq *q, int k, const term *t)
{
    const onyx_tensor *x = c->in[k];
    const int e = x->rank - t->n;
    if (t->ell_at < 0 ? e != 0 : e < 0)
        return ox_fail(c, ONYX_E_SHAPE, "operand %d has rank %d but its term has %d labels%s", k,
                       x->rank, t->n, t->ell_at >= 0 ? " and an ellipsis" : "");
    for (int a = 0, j = 0; a < x->rank; a++) {
        bool in_ell = t->ell_at >= 0 && a >= t->ell_at && a < t->ell_at + e;
        q->label[k][a] = in_ell ? N_LETTERS + q->ell - e + (a - t->ell_at) : t->labels[j++];
    }
    for (int a = 0; a < x->rank; a++) {
        const int l = q->label[k][a];
        const int64_t d = x->dims[a];
        for (int b = 0; b < a; b++)
            if (q->label[k][b] == l && x->dims[b] != d)
                return ox_fail(c, ONYX_E_SHAPE,
                               "operand %d repeats a label on axes %d and %d of sizes %lld "
                               "and %lld",
                               k, b, a, (long long)x->dims[b], (long long)d);
        if (!q->used[l] || q->size[l] == 1) q->size[l] = d;
        else if (d != 1 && d != q->size[l])
            return ox_fail(c, ONYX_E_SHAPE,
                           "operand %d: axis %d of size %lld does not match size %lld", k, a,
                           (long long)d, (long long)q->size[l]);
        q->used[l] = true;
    }
    return ONYX_OK;
}

static onyx_status parse_equation(ox_ctx *c, einsum_eq *q)
{
    const char *eq = ox_attr_string(c, "equation", NULL);
    if (!eq) return ox_fail(c, ONYX_E_ARG, "attribute 'equation' is missing");
    char s[MAX_EQUATION];
    size_t len = 0;
    for (const char *p = eq; *p; p++) {
        if (*p == ' ') continue;
        if (len + 1 >= sizeof s)
            return ox_fail(c, ONYX_E_UNSUPPORTED, "equation is longer than %d characters",
                           MAX_EQUATION - 1);
        s[len++] = *p;
    }
    s[len] = '\0';
    const char *arrow = strstr(s, "->");
    const size_t lhs_len = arrow ? (size_t)(arrow - s) : len;
    memset(q, 0, sizeof *q);
    q->n_ops = c->n_in;
    if (q->n_ops < 1 || q->n_ops > OX_EINSUM_MAX_OPS)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "%d operands (1 to %d supported)", q->n_ops,
                       OX_EINSUM_MAX_OPS);
    /* The terms, then the ellipsis size: the largest an operand needs. */
    term terms[OX_EINSUM_MAX_OPS];
    int count[N_LETTERS] = {0};
    onyx_status st;
    size_t start = 0;
    for (int k = 0; k < q->n_ops; k++) {
        size_t end = start;
        // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): lhs_len <= len (arrow is in s)
        while (end < lhs_len && s[end] != ',') end++;
        if (end == lhs_len && k + 1 < q->n_ops)
            return ox_fail(c, ONYX_E_ARG, "equation has fewer terms than the %d inputs", q->n_ops);
        if (!c->in[k]) return ox_fail(c, ONYX_E_ARG, "input %d is missing", k);
        if ((st = parse_term(c, s + start, end - start, &terms[k]))) return st;
        const int e = c->in[k]->rank - terms[k].n;
        if (terms[k].ell_at >= 0 && e > q->ell) q->ell = e;
        for (int i = 0; i < terms[k].n; i++) count[terms[k].labels[i]]++;
        start = end + 1;
    }
    if (start <= lhs_len)
        return ox_fail(c, ONYX_E_ARG, "equation has more terms than the %d inputs", q->n_ops);
    for (int k = 0; k < q->n_ops; k++)
        if ((st = label_operand(c, q, k, &terms[k]))) return st;

    /* The output: explicit after "->", else the ellipsis then the letters used once. */
    if (arrow) {
        term out;
        if ((st = parse_term(c, arrow + 2, len - lhs_len - 2, &out))) return st;
        int n = out.n + (out.ell_at >= 0 ? q->ell : 0);
        if ((st = ox_check_rank(c, n))) return st;
        for (int i = 0, j = 0; i < n; i++) {
            bool in_ell = out.ell_at >= 0 && i >= out.ell_at && i < out.ell_at + q->ell;
            int l = in_ell ? N_LETTERS + (i - out.ell_at) : out.labels[j++];
            if (!in_ell && !count[l])
                return ox_fail(c, ONYX_E_ARG, "output label '%c' is not in any input",
                               l < 26 ? 'A' + l : 'a' + (l - 26));
            for (int b = 0; b < i; b++)
                if (q->out[b] == l) return ox_fail(c, ONYX_E_ARG, "output repeats a label");
            q->out[i] = l;
        }
        q->n_out = n;
    } else {
        int n = q->ell;
        for (int l = 0; l < N_LETTERS; l++) n += count[l] == 1;
        if ((st = ox_check_rank(c, n))) return st;
        for (int i = 0; i < q->ell; i++) q->out[q->n_out++] = N_LETTERS + i;
        for (int l = 0; l < N_LETTERS; l++)
            if (count[l] == 1) q->out[q->n_out++] = l;
    }
    return ONYX_OK;
}

/* The contraction plan: the loop nest (output labels first, then every other used label)
 * and which operands carry each label (a broadcast size-1 axis still carries it). */
typedef struct einsum_plan {
    ox_einsum_plan loops;
    bool has[OX_EINSUM_MAX_OPS][OX_EINSUM_MAX_LABELS];
} einsum_plan;

static onyx_status make_plan(ox_ctx *c, const einsum_eq *q, einsum_plan *ep)
{
    ox_einsum_plan *p = &ep->loops;
    int order[OX_EINSUM_MAX_LABELS], n = 0;
    bool is_out[OX_EINSUM_MAX_LABELS] = {false};
    for (int i = 0; i < q->n_out; i++) {
        order[n++] = q->out[i];
        is_out[q->out[i]] = true;
    }
    for (int l = 0; l < N_LETTERS + q->ell; l++)
        if (q->used[l] && !is_out[l]) order[n++] = l;
    memset(ep, 0, sizeof *ep);
    p->n_ops = q->n_ops;
    p->n_out = q->n_out;
    p->n_sum = n - q->n_out;
    /* The loop nest's size bounds every index computed in it. */
    int64_t total = q->n_ops;
    for (int i = 0; i < n; i++) {
        p->dim[i] = q->size[order[i]];
        if (p->dim[i] > 0 && total > INT64_MAX / p->dim[i])
            return ox_fail(c, ONYX_E_LIMIT, "the contraction has too many terms");
        total *= p->dim[i];
    }
    for (int k = 0; k < q->n_ops; k++) {
        const onyx_tensor *x = c->in[k];
        int64_t strides[ONYX_MAX_RANK];
        ox_dense_strides(x->rank, x->dims, strides);
        for (int a = 0; a < x->rank; a++) {
            const int l = q->label[k][a];
            for (int i = 0; i < n; i++) {
                if (order[i] != l) continue;
                ep->has[k][i] = true;
                if (x->dims[a] != 1 || q->size[l] == 1) p->stride[k][i] += strides[a];
            }
        }
    }
    return ONYX_OK;
}

/* ---- the GEMM path ----------------------------------------------------------------------- */

/* Two operands where every summed label is in both contract as a batched matrix product:
 * A gathered to [batch, m, k], B to [batch, k, n] and C = A x B, [batch, m, n], scattered to
 * the output. Labels: batch in A, B and the output; m in A and the output; n in B and the
 * output; k in A and B only. The order of the sums is the GEMM kernel's. */
typedef struct einsum_gemm {
    int n[4];                               /* label counts: batch, m, n, k */
    int at[4][OX_EINSUM_MAX_LABELS];        /* their plan positions */
    int64_t size[4];                        /* products of their dims */
    size_t es;
    onyx_dtype t;
} einsum_gemm;

enum { G_BATCH, G_M, G_N, G_K };

static bool gemm_split(const einsum_plan *ep, onyx_dtype t, einsum_gemm *g)
{
    const ox_einsum_plan *p = &ep->loops;
    if (p->n_ops != 2 || (t != ONYX_DTYPE_FLOAT && t != ONYX_DTYPE_DOUBLE &&
                          t != ONYX_DTYPE_INT32 && t != ONYX_DTYPE_UINT32 &&
                          t != ONYX_DTYPE_INT64 && t != ONYX_DTYPE_UINT64))
        return false;
    memset(g, 0, sizeof *g);
    g->t = t;
    g->es = onyx_dtype_size(t);
    for (int c = 0; c < 4; c++) g->size[c] = 1;
    for (int i = 0; i < p->n_out + p->n_sum; i++) {
        const bool out = i < p->n_out, a = ep->has[0][i], b = ep->has[1][i];
        int cls;
        if (out) cls = a && b ? G_BATCH : a ? G_M : G_N;
        else if (a && b) cls = G_K;
        else return false; /* summed in one operand only */
        if (p->dim[i] == 0) return false; /* empty: the loops handle it */
        g->at[cls][g->n[cls]++] = i;
        g->size[cls] *= p->dim[i];
    }
    return true;
}

static const int a_order[3] = {G_BATCH, G_M, G_K}, b_order[3] = {G_BATCH, G_K, G_N},
                 c_order[3] = {G_BATCH, G_M, G_N};

/* Operand k's dims and strides for the labels of classes cls[0..2] in that order; true if
 * they are the dense strides of that shape (the operand is used in place). */
static bool gemm_view(const einsum_plan *ep, const einsum_gemm *g, int k, const int cls[3],
                      int *rank, int64_t *dims, int64_t *strides)
{
    int r = 0;
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < g->n[cls[j]]; i++) {
            const int at = g->at[cls[j]][i];
            dims[r] = ep->loops.dim[at];
            strides[r++] = ep->loops.stride[k][at];
        }
    *rank = r;
    int64_t want = 1;
    bool dense = true;
    for (int i = r - 1; i >= 0; i--) {
        if (dims[i] != 1 && strides[i] != want) dense = false;
        want *= dims[i];
    }
    return dense;
}

/* The strides of the output's labels in C ([batch, m, n], dense); true if C has the output's
 * layout, so the product can be written straight into it. */
static bool gemm_out_view(const einsum_plan *ep, const einsum_gemm *g, int64_t *ostr)
{
    int64_t s = g->size[G_BATCH] * g->size[G_M] * g->size[G_N];
    bool direct = true;
    for (int j = 0, ci = 0; j < 3; j++)
        for (int i = 0; i < g->n[c_order[j]]; i++, ci++) {
            const int at = g->at[c_order[j]][i];
            s /= ep->loops.dim[at];
            ostr[at] = s;
            direct &= at == ci || ep->loops.dim[at] == 1;
        }
    return direct;
}

/* Scratch elements: A and B when they must be gathered, C when it must be scattered. */
static int64_t gemm_scratch_elems(const einsum_plan *ep, const einsum_gemm *g)
{
    const int64_t B = g->size[G_BATCH], M = g->size[G_M], N = g->size[G_N], K = g->size[G_K];
    int r;
    int64_t dims[ONYX_MAX_RANK], strides[ONYX_MAX_RANK], ostr[ONYX_MAX_RANK];
    int64_t n = 0;
    if (!gemm_view(ep, g, 0, a_order, &r, dims, strides)) n += B * M * K;
    if (!gemm_view(ep, g, 1, b_order, &r, dims, strides)) n += B * K * N;
    if (!gemm_out_view(ep, g, ostr)) n += B * M * N;
    return n;
}

static void gemm_batch(const einsum_gemm *g, const char *A, const char *B, char *C, int threads)
{
    const int64_t M = g->size[G_M], N = g->size[G_N], K = g->size[G_K];
    for (int64_t b = 0; b < g->size[G_BATCH]; b++) {
        const void *a = A + (size_t)(b * M * K) * g->es, *bb = B + (size_t)(b * K * N) * g->es;
        void *cc = C + (size_t)(b * M * N) * g->es;
        switch (g->t) {
        case ONYX_DTYPE_FLOAT:
            ox_sgemm(false, false, M, N, K, 1, a, K, bb, N, 0, cc, N, threads);
            break;
        case ONYX_DTYPE_DOUBLE:
            ox_dgemm(false, false, M, N, K, 1, a, K, bb, N, 0, cc, N, threads);
            break;
        case ONYX_DTYPE_INT32: case ONYX_DTYPE_UINT32:
            ox_gemm_u32(false, false, M, N, K, a, K, bb, N, cc, N, threads);
            break;
        default:
            ox_gemm_u64(false, false, M, N, K, a, K, bb, N, cc, N, threads);
            break;
        }
    }
}

static void einsum_gemm_run(ox_ctx *c, const einsum_plan *ep, const einsum_gemm *g)
{
    char *free_at = c->scratch; /* scratch holds only the buffers needed, in order A, B, C */
    const char *A = c->in[0]->data, *B = c->in[1]->data;
    int r;
    int64_t dims[ONYX_MAX_RANK], strides[ONYX_MAX_RANK], ostr[ONYX_MAX_RANK];
    if (!gemm_view(ep, g, 0, a_order, &r, dims, strides)) {
        ox_copy_strided(free_at, A, g->es, r, dims, 0, strides, c->threads);
        A = free_at;
        free_at += (size_t)(g->size[G_BATCH] * g->size[G_M] * g->size[G_K]) * g->es;
    }
    if (!gemm_view(ep, g, 1, b_order, &r, dims, strides)) {
        ox_copy_strided(free_at, B, g->es, r, dims, 0, strides, c->threads);
        B = free_at;
        free_at += (size_t)(g->size[G_BATCH] * g->size[G_K] * g->size[G_N]) * g->es;
    }
    char *y = c->out[0]->data;
    if (gemm_out_view(ep, g, ostr)) {
        gemm_batch(g, A, B, y, c->threads);
    } else {
        gemm_batch(g, A, B, free_at, c->threads);
        ox_copy_strided(y, free_at, g->es, ep->loops.n_out, ep->loops.dim, 0, ostr, c->threads);
    }
}

/* ---- Einsum ------------------------------------------------------------------------------ */

static onyx_status einsum_prepare(ox_ctx *c, einsum_eq *q, einsum_plan *ep)
{
    onyx_status st = parse_equation(c, q);
    return st ? st : make_plan(c, q, ep);
}

static onyx_status einsum_infer(ox_ctx *c)
{
    if (c->n_in < 1 || c->n_out != 1 || !c->out[0])
        return ox_fail(c, ONYX_E_ARG, "expects at least 1 input and 1 output");
    for (int k = 0; k < c->n_in; k++) {
        if (!c->in[k]) return ox_fail(c, ONYX_E_ARG, "input %d is missing", k);
        if (c->in[k]->dtype != c->in[0]->dtype)
            return ox_fail(c, ONYX_E_ARG, "input %d is %s, input 0 is %s", k,
                           onyx_dtype_name(c->in[k]->dtype), onyx_dtype_name(c->in[0]->dtype));
    }
    const onyx_dtype t = c->in[0]->dtype;
    if (!ox_red_is_floating(t) && !(ox_red_is_integral(t) && t != ONYX_DTYPE_BOOL))
        return ox_fail(c, ONYX_E_UNSUPPORTED, "dtype %s is not supported", onyx_dtype_name(t));
    einsum_eq q;
    einsum_plan ep;
    einsum_gemm g;
    onyx_status st = einsum_prepare(c, &q, &ep);
    if (st) return st;
    int64_t dims[ONYX_MAX_RANK], elems = 0;
    for (int i = 0; i < q.n_out; i++) dims[i] = ep.loops.dim[i];
    ox_set_shape(c->out[0], t, q.n_out, dims);
    /* Scratch: the GEMM path's gathered operands and product, or every operand and the
     * result widened to 8 bytes for the loops. */
    size_t es = 8;
    if (gemm_split(&ep, t, &g)) {
        elems = gemm_scratch_elems(&ep, &g);
        es = g.es;
    } else {
        for (int k = 0; k < c->n_in; k++) elems += ox_tensor_numel(c->in[k]);
        elems += ox_tensor_numel(c->out[0]);
    }
    if (elems > (int64_t)(SIZE_MAX / es)) return ox_fail(c, ONYX_E_LIMIT, "scratch size overflows");
    c->scratch_bytes = (size_t)elems * es;
    return ONYX_OK;
}

static onyx_status einsum_run(ox_ctx *c)
{
    einsum_eq q;
    einsum_plan ep;
    einsum_gemm g;
    onyx_status st = einsum_prepare(c, &q, &ep);
    if (st) return st;
    onyx_tensor *y = c->out[0];
    const onyx_dtype t = y->dtype;
    const int64_t n_y = ox_tensor_numel(y);
    if (n_y == 0) return ONYX_OK; /* (and scratch may be empty) */
    if (gemm_split(&ep, t, &g)) {
        einsum_gemm_run(c, &ep, &g);
        return ONYX_OK;
    }
    const bool floating = ox_red_is_floating(t);
    double *f = c->scratch;
    uint64_t *u = c->scratch;
    const double *fops[OX_EINSUM_MAX_OPS];
    const uint64_t *uops[OX_EINSUM_MAX_OPS];
    int64_t at = 0;
    for (int k = 0; k < c->n_in; k++) {
        const onyx_tensor *x = c->in[k];
        const int64_t n = ox_tensor_numel(x);
        if (floating) ox_widen_f64(t, x->data, n, f + at);
        else ox_widen_u64(t, x->data, n, u + at);
        fops[k] = f + at;
        uops[k] = u + at;
        at += n;
    }
    if (floating) {
        ox_einsum_f64(&ep.loops, fops, f + at, c->threads);
        ox_narrow_f64(t, f + at, n_y, y->data);
    } else {
        ox_einsum_u64(&ep.loops, uops, u + at, c->threads);
        ox_narrow_u64(t, u + at, n_y, y->data);
    }
    return ONYX_OK;
}

const ox_op ox_ops_einsum[] = {
    {"Einsum", "", 12, 28, einsum_infer, einsum_run, 0},
};
const size_t ox_ops_einsum_count = sizeof ox_ops_einsum / sizeof ox_ops_einsum[0];
