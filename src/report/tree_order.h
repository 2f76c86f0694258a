/*
 * tree_order.h — the children of every node of a tree view, sorted by
 * value (largest first), in one array: what the tree, folded-stack and
 * HTML writers walk depth-first without recursion.
 */
#ifndef TLD_REPORT_TREE_ORDER_H
#define TLD_REPORT_TREE_ORDER_H

#include <stdint.h>

#include "profile.h"

typedef struct rp_order {
    uint32_t *start;            /* node i's children: children[start[i] .. start[i + 1]) */
    uint32_t *children;
} rp_order;

/* Returns 0 or TLD_E_NO_MEMORY. */
int rp_order_build(const rp_profile *p, const rp_tree *view, rp_order *out);
void rp_order_free(rp_order *o);

#endif
