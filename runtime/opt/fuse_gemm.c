/* fuse_gemm.c — MatMul of a matrix by a constant matrix, then Add of a constant bias row:
 * one Gemm (A B + C), whose kernel starts from the bias instead of adding it in a second
 * pass over the result. Only where the MatMul is certainly 2-D: A of rank 2 whatever the
 * input shapes (ox_opt_rank), B a float32 constant matrix [K, N], the bias a float32 constant
 * that broadcasts along the rows ([N], [1, N], or one value). */
#include "op.h"
#include "opt.h"

/* True when constant c broadcasts to [M, N] for every M as Gemm's C: the same row for all. */
static bool bias_row(const ox_const *c, int64_t n)
{
    if (!c || c->t.dtype != ONYX_DTYPE_FLOAT || c->t.rank > 2) return false;
    int64_t last = c->t.rank ? c->t.dims[c->t.rank - 1] : 1;
    return (last == n || last == 1) && (c->t.rank < 2 || c->t.dims[0] == 1);
}

/* Fuses MatMul node mm (output read only by Add node add) with the bias `bias`. */
static bool fuse(ox_opt *o, ox_node *mm, ox_node *add, int bias, onyx_status *st)
{
    if (mm->n_in != 2 || mm->n_out != 1 || mm->n_implicit || mm->opset < 7) return false;
    const ox_const *b = ox_opt_const(o, mm->in[1]);
    if (!b || b->t.dtype != ONYX_DTYPE_FLOAT || b->t.rank != 2 || ox_opt_rank(o, mm->in[0]) != 2) return false;
    if (!bias_row(ox_opt_const(o, bias), b->t.dims[1])) return false;
    const ox_op *gemm = ox_op_find("", "Gemm", mm->opset);
    if (!gemm) return false;
    int in[3] = {mm->in[0], mm->in[1], bias};
    if (!ox_opt_set_inputs(o, mm, in, 3)) {
        *st = ox_opt_nomem(o);
        return false;
    }
    mm->op_type = "Gemm";
    mm->op = gemm;
    mm->out[0] = add->out[0];
    return true;
}

onyx_status ox_pass_matmul_add(ox_opt *o, bool *changed)
{
    ox_graph *g = o->g;
    for (int i = 0; i < g->n_nodes; i++) {
        ox_node *add = &g->nodes[i];
        if (o->dead[i] || !ox_opt_is(add, "Add") || add->opset < 7 || add->n_in != 2 || add->n_out != 1 ||
            add->out[0] < 0)
            continue;
        for (int k = 0; k < 2; k++) {
            int x = add->in[k], p = ox_opt_single_use(o, x) ? ox_opt_producer(o, x) : -1;
            if (p < 0 || !ox_opt_is(&g->nodes[p], "MatMul") || g->nodes[p].out[0] != x) continue;
            onyx_status st = ONYX_OK;
            bool done = fuse(o, &g->nodes[p], add, add->in[1 - k], &st);
            if (st) return st;
            if (!done) continue;
            o->dead[i] = true;
            o->stats->fired[OX_PASS_MATMUL_ADD]++;
            *changed = true;
            break;
        }
    }
    return ONYX_OK;
}
