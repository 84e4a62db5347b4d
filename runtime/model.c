/* model.c — model handle lifetime and introspection. */
#include <string.h>

#include "model.h"
#include "op.h"

void onyx_load_options_init(onyx_load_options *o) { memset(o, 0, sizeof *o); }

void ox_load_options_resolve(const onyx_load_options *in, onyx_load_options *out)
{
    if (in) *out = *in;
    else memset(out, 0, sizeof *out);
    if (out->max_tensor_bytes <= 0) out->max_tensor_bytes = (int64_t)4 << 30;
    if (out->max_total_bytes <= 0) out->max_total_bytes = (int64_t)16 << 30;
    if (out->max_nodes <= 0) out->max_nodes = 1000000;
    if (out->max_graph_depth <= 0) out->max_graph_depth = 64;
}

onyx_model *ox_model_new(const onyx_load_options *o)
{
    onyx_load_options r;
    ox_load_options_resolve(o, &r);
    ox_allocator a = ox_allocator_make(r.alloc, r.alloc_user);
    onyx_model *m = ox_malloc(&a, sizeof *m);
    if (!m) return NULL;
    memset(m, 0, sizeof *m);
    m->alloc = a;
    m->opts = r;
    ox_pool_init(&m->pool, a, (size_t)r.max_total_bytes);
    m->producer_name = m->producer_version = m->domain = "";
    return m;
}

void onyx_model_free(onyx_model *m)
{
    if (!m) return;
    ox_allocator a = m->alloc;
    ox_pool_release(&m->pool);
    ox_free_aligned(&a, m->owned_data);
    ox_free(&a, m, sizeof *m);
}

size_t onyx_model_input_count(const onyx_model *m) { return m ? (size_t)m->graph->n_inputs : 0; }
size_t onyx_model_output_count(const onyx_model *m) { return m ? (size_t)m->graph->n_outputs : 0; }

static void fill_info(const ox_value *v, onyx_value_info *info)
{
    memset(info, 0, sizeof *info);
    info->name = v->name;
    info->dtype = v->type.dtype;
    info->rank = v->type.rank;
    for (int i = 0; i < v->type.rank && i < ONYX_MAX_RANK; i++) {
        info->dims[i] = v->type.dims[i];
        info->dim_names[i] = v->type.dim_names[i];
    }
    info->is_tensor = v->type.kind == OX_KIND_TENSOR;
    static const onyx_value_kind kinds[] = {[OX_KIND_TENSOR] = ONYX_VALUE_TENSOR, [OX_KIND_SEQUENCE] = ONYX_VALUE_SEQUENCE,
                                            [OX_KIND_OPTIONAL] = ONYX_VALUE_OPTIONAL, [OX_KIND_MAP] = ONYX_VALUE_OTHER,
                                            [OX_KIND_SPARSE] = ONYX_VALUE_OTHER};
    info->kind = kinds[v->type.kind];
    info->elem_kind = kinds[v->type.elem_kind];
}

onyx_status onyx_model_input_info(const onyx_model *m, size_t i, onyx_value_info *info)
{
    if (!m || !info || i >= (size_t)m->graph->n_inputs) return ONYX_E_ARG;
    fill_info(&m->graph->values[m->graph->inputs[i]], info);
    return ONYX_OK;
}

onyx_status onyx_model_output_info(const onyx_model *m, size_t i, onyx_value_info *info)
{
    if (!m || !info || i >= (size_t)m->graph->n_outputs) return ONYX_E_ARG;
    fill_info(&m->graph->values[m->graph->outputs[i]], info);
    return ONYX_OK;
}

void onyx_model_get_meta(const onyx_model *m, onyx_model_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    if (!m) return;
    meta->ir_version = m->ir_version;
    meta->producer_name = m->producer_name;
    meta->producer_version = m->producer_version;
    meta->domain = m->domain;
    meta->model_version = m->model_version;
    meta->opset_count = (size_t)m->n_opsets;
    meta->node_count = (size_t)m->graph->n_nodes;
    meta->session_node_count = m->session_graph ? (size_t)m->session_graph->n_nodes : 0;
    meta->unsupported_count = (size_t)m->n_unsupported;
    const ox_graph *g = m->graph;
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].init) {
            meta->param_count += ox_tensor_numel(&g->values[v].init->t);
            meta->param_bytes += (int64_t)g->values[v].init->nbytes;
        }
}

onyx_status onyx_model_opset(const onyx_model *m, size_t i, const char **domain, int64_t *version)
{
    if (!m || i >= (size_t)m->n_opsets) return ONYX_E_ARG;
    if (domain) *domain = m->opsets[i].domain;
    if (version) *version = m->opsets[i].version;
    return ONYX_OK;
}

onyx_status onyx_model_node(const onyx_model *m, size_t i, const char **op_type, const char **domain,
                            int64_t *opset, int *supported)
{
    if (!m || i >= (size_t)m->graph->n_nodes) return ONYX_E_ARG;
    const ox_node *n = &m->graph->nodes[i];
    if (op_type) *op_type = n->op_type;
    if (domain) *domain = n->domain;
    if (opset) *opset = n->opset;
    if (supported) *supported = n->op != NULL;
    return ONYX_OK;
}

/* Nodes of the main graph without an implementation. */
static int main_unsupported(const ox_graph *g)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += !g->nodes[i].op;
    return n;
}

onyx_status onyx_model_optimize(onyx_model *m, int level, onyx_error *err)
{
    if (!m) {
        ox_error_set(err, ONYX_E_ARG, "null argument");
        return ONYX_E_ARG;
    }
    if (level <= 0) return ONYX_OK;
    char msg[512];
    ox_opt_stats stats;
    memset(&stats, 0, sizeof stats);
    onyx_status st;
    /* the old graph stays in the pool: sessions made before keep using it */
    ox_graph *g = ox_optimized_copy(m->graph, level, &m->pool, &stats, &st, msg, sizeof msg);
    if (!g) {
        ox_error_set(err, st, msg);
        return st;
    }
    /* the graph sessions at level 2 run, made once here instead of per session */
    ox_graph *sg = NULL;
    if (level >= 2) {
        sg = ox_graph_clone(g, &m->pool);
        st = sg ? ox_fuse_epilogues(sg, &stats, msg, sizeof msg) : ox_errf(msg, sizeof msg, ONYX_E_NOMEM, "out of memory while optimising");
        if (st) {
            ox_error_set(err, st, msg);
            return st;
        }
    }
    m->n_unsupported -= main_unsupported(m->graph) - main_unsupported(g);
    m->graph = g;
    if (level >= m->opt_level) {
        m->opt_level = level;
        m->session_graph = sg;
    }
    for (int p = 0; p < OX_PASS_COUNT; p++) m->opt_stats.fired[p] += stats.fired[p];
    return ONYX_OK;
}

onyx_status onyx_model_opt_pass_scope(const onyx_model *m, size_t i, int *session_only)
{
    if (!m || i >= OX_PASS_COUNT) return ONYX_E_ARG;
    if (session_only) *session_only = ox_pass_session_only((ox_pass)i);
    return ONYX_OK;
}

onyx_status onyx_model_opt_pass(const onyx_model *m, size_t i, const char **name, int64_t *count)
{
    if (!m || i >= OX_PASS_COUNT) return ONYX_E_ARG;
    if (name) *name = ox_pass_name((ox_pass)i);
    if (count) *count = m->opt_stats.fired[i];
    return ONYX_OK;
}
