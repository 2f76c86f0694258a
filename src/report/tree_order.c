/*
 * tree_order.c — sorted child lists (tree_order.h).
 */
#include "tree_order.h"

#include <stdlib.h>
#include <string.h>

typedef struct keyed {
    double value;
    uint32_t node;
} keyed;

static int larger_first(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;   /* stable: creation order */
}

int rp_order_build(const rp_profile *p, const rp_tree *view, rp_order *out)
{
    uint32_t n = view->count;
    out->start = calloc((size_t)n + 1, sizeof *out->start);
    out->children = malloc(((size_t)n + 1) * sizeof *out->children);
    keyed *tmp = malloc(((size_t)n + 1) * sizeof *tmp);
    if (!out->start || !out->children || !tmp) {
        free(tmp);
        rp_order_free(out);
        return TLD_E_NO_MEMORY;
    }
    for (uint32_t i = 1; i < n; i++)
        out->start[view->nodes[i].parent + 1]++;
    for (uint32_t i = 0; i < n; i++)
        out->start[i + 1] += out->start[i];
    uint32_t *fill = calloc((size_t)n + 1, sizeof *fill);
    if (!fill) {
        free(tmp);
        rp_order_free(out);
        return TLD_E_NO_MEMORY;
    }
    for (uint32_t i = 1; i < n; i++) {
        uint32_t parent = view->nodes[i].parent;
        uint32_t at = out->start[parent] + fill[parent]++;
        tmp[at] = (keyed){rp_node_value(p, &view->nodes[i]), i};
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t a = out->start[i], b = out->start[i + 1];
        if (b - a > 1)
            qsort(tmp + a, b - a, sizeof *tmp, larger_first);
        for (uint32_t j = a; j < b; j++)
            out->children[j] = tmp[j].node;
    }
    free(fill);
    free(tmp);
    return 0;
}

void rp_order_free(rp_order *o)
{
    free(o->start);
    free(o->children);
    o->start = o->children = NULL;
}
