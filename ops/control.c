/* control.c — control flow: If, Loop, Scan, SequenceMap.
 *
 * Bodies run in child sessions (c->run_graph), each planned like a main graph and kept
 * between iterations, so a loop reuses one arena and re-plans only when a loop-carried
 * shape changes. The ops evaluate in infer (see op.h): their outputs' shapes depend on the
 * data, so they need every input — the outer values their bodies read included — known. */
#include <string.h>

#include "op.h"

static const ox_graph *graph_attr(ox_ctx *c, const char *name)
{
    const ox_attr *a = ox_node_attr(c->node, name);
    return a && a->type == OX_ATTR_GRAPH ? a->g : NULL;
}

static onyx_status no_run(ox_ctx *c) { return ox_fail(c, ONYX_E_INTERNAL, "evaluated at plan time; run is never called"); }

/* A scalar tensor value backed by caller storage. */
static ox_val scalar(onyx_dtype dtype, void *data)
{
    ox_val v;
    memset(&v, 0, sizeof v);
    v.t.dtype = dtype;
    v.t.data = data;
    return v;
}

static bool truth(const onyx_tensor *t) { return t->data && ox_tensor_numel(t) >= 1 && ((const uint8_t *)t->data)[0]; }

/* Results are deep copies: put them in the node's outputs. */
static void set_outputs(ox_ctx *c, const ox_val *vals, int n)
{
    for (int k = 0; k < n && k < c->n_out; k++)
        if (c->out[k]) *ox_val_of(c->out[k]) = vals[k];
}

/* ---- If ------------------------------------------------------------------------------------- */

static onyx_status if_infer(ox_ctx *c)
{
    onyx_status st = ox_need_all_values(c);
    if (st) return st;
    const onyx_tensor *cond = c->in[0];
    if (!cond || cond->dtype != ONYX_DTYPE_BOOL || ox_tensor_numel(cond) != 1)
        return ox_fail(c, ONYX_E_ARG, "cond must be a single bool");
    const ox_graph *g = graph_attr(c, truth(cond) ? "then_branch" : "else_branch");
    if (!g) return ox_fail(c, ONYX_E_ARG, "missing then_branch or else_branch");
    if (g->n_outputs != c->n_out)
        return ox_fail(c, ONYX_E_ARG, "branch '%s' has %d outputs, the node %d", g->name, g->n_outputs, c->n_out);
    ox_val out[64];
    if (c->n_out > 64) return ox_fail(c, ONYX_E_UNSUPPORTED, "more than 64 outputs");
    if ((st = c->run_graph(c, g, NULL, 0, out, c->n_out))) return st;
    set_outputs(c, out, c->n_out);
    return ONYX_OK;
}

/* ---- stacking per-iteration outputs ---------------------------------------------------------- */

/* Per-iteration tensors (all the same shape) collected for one scan output. */
typedef struct stack {
    onyx_tensor *items;
    int64_t n, cap;
} stack;

static onyx_status stack_push(ox_ctx *c, stack *s, const onyx_tensor *t)
{
    if (s->n && (t->dtype != s->items[0].dtype || t->rank != s->items[0].rank ||
                 memcmp(t->dims, s->items[0].dims, sizeof(int64_t) * (size_t)t->rank)))
        return ox_fail(c, ONYX_E_SHAPE, "scan output changes shape between iterations");
    if (s->n == s->cap) {
        int64_t cap = s->cap ? s->cap * 2 : 16;
        onyx_tensor *items = ox_pool_array(c->strings, (size_t)cap, sizeof *items);
        if (!items) return ox_fail(c, ONYX_E_NOMEM, "out of memory");
        if (s->n) memcpy(items, s->items, sizeof *items * (size_t)s->n);
        s->items = items;
        s->cap = cap;
    }
    s->items[s->n++] = *t;
    return ONYX_OK;
}

/* Stacks the items along `axis` of the result (a new axis), in reverse when asked. */
static onyx_status stack_into(ox_ctx *c, const stack *s, int axis, bool reverse, onyx_dtype dtype, onyx_tensor *out)
{
    const onyx_tensor *first = s->n ? &s->items[0] : NULL;
    int rank = (first ? first->rank : 0) + 1;
    if (rank > ONYX_MAX_RANK) return ox_fail(c, ONYX_E_UNSUPPORTED, "scan output rank too large");
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return ox_fail(c, ONYX_E_ARG, "scan output axis out of range");
    int64_t dims[ONYX_MAX_RANK];
    for (int d = 0, k = 0; d < rank; d++) dims[d] = d == axis ? s->n : first->dims[k++];
    out->dtype = first ? first->dtype : dtype;
    out->rank = rank;
    // cppcheck-suppress uninitvar ; rank >= 1 and the loop above set dims[0 .. rank)
    memcpy(out->dims, dims, sizeof(int64_t) * (size_t)rank);
    size_t bytes;
    if (!ox_shape_bytes(out->dtype, rank, dims, &bytes)) return ox_fail(c, ONYX_E_SHAPE, "invalid scan output shape");
    out->data = ox_pool_alloc(c->strings, bytes ? bytes : 1, OX_ALIGN);
    if (!out->data) return ox_fail(c, ONYX_E_NOMEM, "out of memory");
    size_t es = onyx_dtype_size(out->dtype);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= dims[d];
    for (int d = axis + 1; d < rank; d++) inner *= dims[d];
    size_t chunk = (size_t)inner * es;
    for (int64_t i = 0; i < s->n; i++) {
        const onyx_tensor *t = &s->items[reverse ? s->n - 1 - i : i];
        for (int64_t o = 0; o < outer; o++)
            ox_copy_bytes((char *)out->data + ((size_t)o * (size_t)s->n + (size_t)i) * chunk, (const char *)t->data + (size_t)o * chunk, chunk);
    }
    return ONYX_OK;
}

/* ---- Loop ------------------------------------------------------------------------------------ */

#define MAX_CARRIED 64

static onyx_status loop_infer(ox_ctx *c)
{
    onyx_status st = ox_need_all_values(c);
    if (st) return st;
    const ox_graph *body = graph_attr(c, "body");
    if (!body) return ox_fail(c, ONYX_E_ARG, "missing body");
    int n_carried = c->n_in - 2, n_scan = c->n_out - n_carried;
    if (n_carried < 0 || n_scan < 0 || body->n_inputs != n_carried + 2 || body->n_outputs != 1 + n_carried + n_scan)
        return ox_fail(c, ONYX_E_ARG, "body inputs/outputs do not match the node's");
    if (n_carried + 2 > MAX_CARRIED || body->n_outputs > MAX_CARRIED)
        return ox_fail(c, ONYX_E_UNSUPPORTED, "more than %d loop-carried values", MAX_CARRIED - 2);
    const onyx_tensor *m = ox_opt_in(c, 0), *cond_in = ox_opt_in(c, 1);
    int64_t max_trip = m ? ox_read_int(m, 0) : INT64_MAX;
    uint8_t cond = cond_in ? truth(cond_in) : 1;
    int64_t iter = 0;
    ox_val in[MAX_CARRIED], out[MAX_CARRIED];
    stack scans[MAX_CARRIED];
    memset(scans, 0, sizeof scans);
    in[0] = scalar(ONYX_DTYPE_INT64, &iter);
    in[1] = scalar(ONYX_DTYPE_BOOL, &cond);
    for (int k = 0; k < n_carried; k++) {
        if (!c->in[2 + k]) return ox_fail(c, ONYX_E_ARG, "loop-carried input %d is missing", k);
        in[2 + k] = *ox_val_of(c->in[2 + k]);
    }
    /* Carried values alternate between two pools so memory stays bounded by two iterations. */
    ox_pool pools[2];
    ox_pool_init(&pools[0], c->strings->alloc, 0);
    ox_pool_init(&pools[1], c->strings->alloc, 0);
    ox_pool *results = c->strings;
    for (; iter < max_trip && cond; iter++) {
        c->strings = &pools[iter & 1];
        ox_pool_release(c->strings);
        st = c->run_graph(c, body, in, body->n_inputs, out, body->n_outputs);
        c->strings = results;
        if (st) break;
        cond = truth(&out[0].t);
        for (int k = 0; k < n_carried; k++) in[2 + k] = out[1 + k];
        for (int k = 0; k < n_scan && !st; k++) {
            onyx_tensor item; /* scan items outlive the iteration: keep a copy */
            ox_val kept;
            if (ox_val_copy(results, &out[1 + n_carried + k], &kept)) st = ox_fail(c, ONYX_E_NOMEM, "out of memory");
            item = kept.t;
            if (!st) st = stack_push(c, &scans[k], &item);
        }
        if (st) break;
    }
    for (int k = 0; k < n_carried && !st; k++) { /* final values move to the results pool */
        ox_val kept;
        if (ox_val_copy(results, &in[2 + k], &kept)) st = ox_fail(c, ONYX_E_NOMEM, "out of memory");
        else if (c->out[k]) *ox_val_of(c->out[k]) = kept;
    }
    for (int k = 0; k < n_scan && !st; k++)
        if (c->out[n_carried + k])
            st = stack_into(c, &scans[k], 0, false, body->values[body->outputs[1 + n_carried + k]].type.dtype, c->out[n_carried + k]);
    ox_pool_release(&pools[0]);
    ox_pool_release(&pools[1]);
    return st;
}

/* ---- Scan ------------------------------------------------------------------------------------ */

/* Slice t of src along axis (a view copied into the pool, axis removed). */
static onyx_status take_slice(ox_ctx *c, ox_pool *pool, const onyx_tensor *src, int axis, int64_t t, onyx_tensor *dst)
{
    *dst = *src;
    dst->rank = src->rank - 1;
    for (int d = axis; d < dst->rank; d++) dst->dims[d] = src->dims[d + 1];
    size_t es = onyx_dtype_size(src->dtype), bytes = ox_tensor_bytes(dst);
    dst->data = ox_pool_alloc(pool, bytes ? bytes : 1, OX_ALIGN);
    if (!dst->data) return ox_fail(c, ONYX_E_NOMEM, "out of memory");
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= src->dims[d];
    for (int d = axis + 1; d < src->rank; d++) inner *= src->dims[d];
    size_t chunk = (size_t)inner * es;
    for (int64_t o = 0; o < outer; o++)
        ox_copy_bytes((char *)dst->data + (size_t)o * chunk, (const char *)src->data + ((size_t)o * (size_t)src->dims[axis] + (size_t)t) * chunk, chunk);
    return ONYX_OK;
}

/* One scan (opset 9+ semantics) over states in[0..n_state) and scan inputs; fills finals
 * (n_state values) and the stacked scan outputs. batch_slice >= 0 (opset 8) first takes that
 * batch entry of every input and adds it back to every output. */
typedef struct scan_args {
    const ox_graph *body;
    int n_state, n_scan_in, n_scan_out;
    const onyx_tensor *const *states, *const *scans;
    int64_t length;
    const int64_t *in_axes, *in_dirs, *out_axes, *out_dirs;
} scan_args;

static onyx_status scan_once(ox_ctx *c, const scan_args *a, ox_val *finals, stack *outs)
{
    ox_val in[MAX_CARRIED], out[MAX_CARRIED];
    for (int k = 0; k < a->n_state; k++) {
        memset(&in[k], 0, sizeof in[k]);
        in[k].t = *a->states[k];
    }
    ox_pool pools[2];
    ox_pool_init(&pools[0], c->strings->alloc, 0);
    ox_pool_init(&pools[1], c->strings->alloc, 0);
    ox_pool *results = c->strings;
    onyx_status st = ONYX_OK;
    for (int64_t t = 0; t < a->length && !st; t++) {
        ox_pool *pool = &pools[t & 1];
        ox_pool_release(pool);
        for (int k = 0; k < a->n_scan_in && !st; k++) {
            int64_t at = a->in_dirs && a->in_dirs[k] ? a->length - 1 - t : t;
            memset(&in[a->n_state + k], 0, sizeof(ox_val));
            st = take_slice(c, pool, a->scans[k], (int)a->in_axes[k], at, &in[a->n_state + k].t);
        }
        if (st) break;
        c->strings = pool;
        st = c->run_graph(c, a->body, in, a->n_state + a->n_scan_in, out, a->n_state + a->n_scan_out);
        c->strings = results;
        for (int k = 0; k < a->n_state && !st; k++) in[k] = out[k];
        for (int k = 0; k < a->n_scan_out && !st; k++) {
            ox_val kept;
            if (ox_val_copy(results, &out[a->n_state + k], &kept)) st = ox_fail(c, ONYX_E_NOMEM, "out of memory");
            else st = stack_push(c, &outs[k], &kept.t);
        }
    }
    for (int k = 0; k < a->n_state && !st; k++)
        if (ox_val_copy(results, &in[k], &finals[k])) st = ox_fail(c, ONYX_E_NOMEM, "out of memory");
    ox_pool_release(&pools[0]);
    ox_pool_release(&pools[1]);
    return st;
}

/* Reads an optional INTS attribute of exactly n values (defaults 0). */
static onyx_status axes_attr(ox_ctx *c, const char *name, int n, int64_t *vals)
{
    const int64_t *v;
    size_t got = ox_attr_ints(c, name, &v);
    if (got && got != (size_t)n) return ox_fail(c, ONYX_E_ARG, "attribute '%s' needs %d values", name, n);
    for (int i = 0; i < n; i++) vals[i] = got ? v[i] : 0;
    return ONYX_OK;
}

static onyx_status scan_infer(ox_ctx *c)
{
    onyx_status st = ox_need_all_values(c);
    if (st) return st;
    const ox_graph *body = graph_attr(c, "body");
    int64_t n_scan_in = ox_attr_int(c, "num_scan_inputs", -1);
    bool v8 = c->opset < 9; /* opset 8: a leading sequence_lens input and a batch axis 0 */
    int first = v8 ? 1 : 0;
    if (!body || n_scan_in < 1 || n_scan_in > c->n_in - first) return ox_fail(c, ONYX_E_ARG, "bad body or num_scan_inputs");
    int n_state = c->n_in - first - (int)n_scan_in, n_scan_out = c->n_out - n_state;
    if (n_scan_out < 0 || body->n_inputs != n_state + n_scan_in || body->n_outputs != c->n_out || c->n_out > MAX_CARRIED ||
        c->n_in > MAX_CARRIED)
        return ox_fail(c, ONYX_E_ARG, "body inputs/outputs do not match the node's");
    int64_t in_axes[MAX_CARRIED] = {0}, in_dirs[MAX_CARRIED] = {0}, out_axes[MAX_CARRIED] = {0}, out_dirs[MAX_CARRIED] = {0};
    if (!v8) {
        if ((st = axes_attr(c, "scan_input_axes", (int)n_scan_in, in_axes)) ||
            (st = axes_attr(c, "scan_input_directions", (int)n_scan_in, in_dirs)) ||
            (st = axes_attr(c, "scan_output_axes", n_scan_out, out_axes)) ||
            (st = axes_attr(c, "scan_output_directions", n_scan_out, out_dirs)))
            return st;
    } else if ((st = axes_attr(c, "directions", (int)n_scan_in, in_dirs))) {
        return st;
    }
    const onyx_tensor *const *states = (const onyx_tensor *const *)(c->in + first);
    const onyx_tensor *const *scans = states + n_state;
    for (int k = 0; k < n_state + n_scan_in; k++)
        if (!states[k]) return ox_fail(c, ONYX_E_ARG, "input %d is missing", first + k);
    int batch_axis = v8 ? 1 : 0; /* opset 8 scans along axis 1 of [batch, seq, ...] */
    for (int k = 0; k < n_scan_in; k++) {
        int r = scans[k]->rank - (v8 ? 1 : 0);
        if (in_axes[k] < -r || in_axes[k] >= r) return ox_fail(c, ONYX_E_ARG, "scan input axis out of range");
        if (in_axes[k] < 0) in_axes[k] += r;
        in_axes[k] += batch_axis;
    }
    int64_t length = scans[0]->dims[in_axes[0]];
    for (int k = 1; k < n_scan_in; k++)
        if (scans[k]->dims[in_axes[k]] != length) return ox_fail(c, ONYX_E_SHAPE, "scan inputs differ in length");
    if (!v8) {
        scan_args a = {body, n_state, (int)n_scan_in, n_scan_out, states, scans, length, in_axes, in_dirs, out_axes, out_dirs};
        ox_val finals[MAX_CARRIED];
        stack outs[MAX_CARRIED];
        memset(outs, 0, sizeof outs);
        if ((st = scan_once(c, &a, finals, outs))) return st;
        set_outputs(c, finals, n_state);
        for (int k = 0; k < n_scan_out && !st; k++)
            if (c->out[n_state + k])
                st = stack_into(c, &outs[k], (int)out_axes[k], out_dirs[k] != 0,
                                body->values[body->outputs[n_state + k]].type.dtype, c->out[n_state + k]);
        return st;
    }
    /* opset 8: scan each batch entry separately, then stack the results along axis 0 */
    if (ox_opt_in(c, 0)) return ox_fail(c, ONYX_E_UNSUPPORTED, "sequence_lens is not supported");
    int64_t batch = scans[0]->dims[0];
    stack finals_b[MAX_CARRIED], outs_b[MAX_CARRIED];
    memset(finals_b, 0, sizeof finals_b);
    memset(outs_b, 0, sizeof outs_b);
    for (int64_t b = 0; b < batch && !st; b++) {
        onyx_tensor st_b[MAX_CARRIED], sc_b[MAX_CARRIED];
        const onyx_tensor *st_p[MAX_CARRIED], *sc_p[MAX_CARRIED];
        int64_t axes_b[MAX_CARRIED];
        for (int k = 0; k < n_state && !st; k++) {
            st = take_slice(c, c->strings, states[k], 0, b, &st_b[k]);
            st_p[k] = &st_b[k];
        }
        for (int k = 0; k < n_scan_in && !st; k++) {
            st = take_slice(c, c->strings, scans[k], 0, b, &sc_b[k]);
            sc_p[k] = &sc_b[k];
            axes_b[k] = in_axes[k] - 1;
        }
        if (st) break;
        scan_args a = {body, n_state, (int)n_scan_in, n_scan_out, st_p, sc_p, length, axes_b, in_dirs, out_axes, out_dirs};
        ox_val finals[MAX_CARRIED];
        stack outs[MAX_CARRIED];
        memset(outs, 0, sizeof outs);
        if ((st = scan_once(c, &a, finals, outs))) break;
        for (int k = 0; k < n_state && !st; k++) st = stack_push(c, &finals_b[k], &finals[k].t);
        for (int k = 0; k < n_scan_out && !st; k++) {
            onyx_tensor stacked;
            st = stack_into(c, &outs[k], 0, false, body->values[body->outputs[n_state + k]].type.dtype, &stacked);
            if (!st) st = stack_push(c, &outs_b[k], &stacked);
        }
    }
    for (int k = 0; k < n_state && !st; k++)
        if (c->out[k]) st = stack_into(c, &finals_b[k], 0, false, states[k]->dtype, c->out[k]);
    for (int k = 0; k < n_scan_out && !st; k++)
        if (c->out[n_state + k]) st = stack_into(c, &outs_b[k], 0, false, ONYX_DTYPE_FLOAT, c->out[n_state + k]);
    return st;
}

/* ---- SequenceMap ----------------------------------------------------------------------------- */

static onyx_status sequence_map_infer(ox_ctx *c)
{
    onyx_status st = ox_need_all_values(c);
    if (st) return st;
    const ox_graph *body = graph_attr(c, "body");
    if (!body || body->n_inputs != c->n_in || body->n_outputs != c->n_out || c->n_in > MAX_CARRIED || c->n_out > MAX_CARRIED)
        return ox_fail(c, ONYX_E_ARG, "body inputs/outputs do not match the node's");
    const ox_val *seq0 = ox_val_of(c->in[0]);
    if (seq0->kind != OX_KIND_SEQUENCE) return ox_fail(c, ONYX_E_ARG, "input 0 must be a sequence");
    int64_t n = seq0->seq.n;
    for (int i = 1; i < c->n_in; i++) {
        const ox_val *v = ox_val_of(c->in[i]);
        if (v->kind == OX_KIND_SEQUENCE && v->seq.n != n) return ox_fail(c, ONYX_E_SHAPE, "input sequences differ in length");
    }
    ox_val outs[MAX_CARRIED];
    for (int k = 0; k < c->n_out; k++) {
        memset(&outs[k], 0, sizeof outs[k]);
        outs[k].kind = OX_KIND_SEQUENCE;
        outs[k].seq.dtype = body->values[body->outputs[k]].type.dtype;
        outs[k].seq.n = n;
        outs[k].seq.items = ox_pool_array(c->strings, (size_t)(n ? n : 1), sizeof(onyx_tensor));
        if (!outs[k].seq.items) return ox_fail(c, ONYX_E_NOMEM, "out of memory");
        outs[k].t.data = OX_KNOWN;
    }
    for (int64_t j = 0; j < n && !st; j++) {
        ox_val in[MAX_CARRIED], out[MAX_CARRIED];
        for (int i = 0; i < c->n_in; i++) {
            const ox_val *v = ox_val_of(c->in[i]);
            memset(&in[i], 0, sizeof in[i]);
            in[i].t = v->kind == OX_KIND_SEQUENCE ? v->seq.items[j] : v->t;
        }
        st = c->run_graph(c, body, in, c->n_in, out, c->n_out);
        for (int k = 0; k < c->n_out && !st; k++) {
            // NOLINTNEXTLINE(clang-analyzer-core.NullDereference): items were allocated for k < n_out
            outs[k].seq.items[j] = out[k].t;
            outs[k].seq.dtype = out[k].t.dtype;
        }
    }
    if (!st) set_outputs(c, outs, c->n_out);
    return st;
}

const ox_op ox_ops_control[] = {
    {"If", "", 1, 28, if_infer, no_run, OX_OP_CONTAINERS},
    {"Loop", "", 1, 28, loop_infer, no_run, OX_OP_CONTAINERS},
    {"Scan", "", 8, 28, scan_infer, no_run, OX_OP_CONTAINERS},
    {"SequenceMap", "", 17, 28, sequence_map_infer, no_run, OX_OP_CONTAINERS},
};
const size_t ox_ops_control_count = sizeof ox_ops_control / sizeof ox_ops_control[0];
