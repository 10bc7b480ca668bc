/*-------------------------------------------------------------------------
 *
 * flamerows.c
 *	  A flame graph tree as the rows of a nested-set frame, as Grafana's
 *	  Flame Graph panel reads them: depth-first pre-order, one root, a
 *	  node's children right after it in name order, inclusive value and
 *	  exclusive self (for a comparison, both sides). With a node budget,
 *	  the largest nodes are kept and the rest folded into one "other" node
 *	  under their parent, so every total is kept.
 *
 * src/engine/flamerows.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "flamerows.h"

static const PprofStr total_label = {(const uint8_t *) "total", 5};
static const PprofStr other_label = {(const uint8_t *) "other", 5};

/* Size of a node for the budget: both sides count. */
static inline int64_t
weight(const PprofFlameNode *n)
{
	int64_t		w;

	if (__builtin_add_overflow(n->total, n->total_b, &w))
		return INT64_MAX;
	return w;
}

/* Nodes by weight, heaviest first; ties in pre-order (arg: the nodes). */
static int
heavier(const void *x, const void *y, void *arg)
{
	const PprofFlameNode *nodes = arg;
	uint32_t	a = *(const uint32_t *) x,
				b = *(const uint32_t *) y;
	int64_t		wa = weight(&nodes[a]),
				wb = weight(&nodes[b]);

	if (wa != wb)
		return wa > wb ? -1 : 1;
	return a < b ? -1 : a > b;
}

/*
 * Marks the nodes kept under a budget of max_rows rows. Nodes taken
 * heaviest first form a subtree with the root (a parent weighs at least
 * as much as its child and comes first in pre-order), and each kept node
 * with a child left out adds an "other" row. Taking one more node adds
 * 0, 1 or 2 rows, so the largest prefix that fits is found in one pass.
 */
static void
choose(const PprofEnv *env, const PprofFlame *f, size_t max_rows, bool *kept)
{
	uint32_t   *order = pprof_alloc_array(env, f->n_nodes, sizeof(uint32_t));
	uint32_t   *children = pprof_alloc0_array(env, f->n_nodes, sizeof(uint32_t));
	uint32_t   *kept_children = pprof_alloc0_array(env, f->n_nodes, sizeof(uint32_t));
	size_t		others = 0;

	for (size_t i = 1; i < f->n_nodes; i++)
		children[f->nodes[i].parent]++;
	for (uint32_t i = 0; i < f->n_nodes; i++)
		order[i] = i;
	pprof_sort(order, f->n_nodes, sizeof(uint32_t), heavier, (void *) f->nodes);
	for (size_t k = 0; k < f->n_nodes; k++)
	{
		uint32_t	c = order[k];
		size_t		add_others = others;

		if (children[c] > 0)
			add_others++;
		if (c != 0 && kept_children[f->nodes[c].parent] + 1 == children[f->nodes[c].parent])
			add_others--;
		if (k + 1 + add_others > max_rows)
			break;
		kept[c] = true;
		others = add_others;
		if (c != 0)
			kept_children[f->nodes[c].parent]++;
		if ((k & 0x3fff) == 0x3fff)
			pprof_tick(env);
	}
}

static void
add_row(const PprofEnv *env, PprofFlameRows *out, size_t *cap, uint32_t level, PprofStr label,
		int64_t value, int64_t self, int64_t value_b, int64_t self_b)
{
	PprofFlameRow *r;

	out->rows = pprof_grow(env, out->rows, out->n_rows, cap, 1, sizeof(PprofFlameRow));
	r = &out->rows[out->n_rows++];
	r->level = level;
	r->label = label;
	r->value = value;
	r->self = self;
	r->value_b = value_b;
	r->self_b = self_b;
}

/* A level of the walk: whose children, and the next one to visit. */
typedef struct Level
{
	uint32_t	parent;
	uint32_t	next;
} Level;

PprofStatus
pprof_flame_rows(const PprofEnv *env, const PprofFlame *f, size_t max_rows, PprofFlameRows *out,
				 PprofError *err)
{
	bool	   *kept = pprof_alloc0_array(env, f->n_nodes, sizeof(bool));
	int64_t    *rest = NULL,
			   *rest_b = NULL;
	Level	   *stack;
	size_t		depth = 0,
				cap = 0;

	memset(out, 0, sizeof(*out));
	if (max_rows == 0 || max_rows >= f->n_nodes)
		memset(kept, true, f->n_nodes * sizeof(bool));
	else
	{
		if (max_rows < 2)
			return pprof_error(err, PPROF_INCOMPATIBLE,
							   "One row cannot hold the root and the rest of a flame graph.");
		choose(env, f, max_rows, kept);

		/* what each kept node's left-out children hold: its "other" row */
		rest = pprof_alloc0_array(env, f->n_nodes, sizeof(int64_t));
		rest_b = pprof_alloc0_array(env, f->n_nodes, sizeof(int64_t));
		for (size_t i = 1; i < f->n_nodes; i++)
		{
			uint32_t	q = f->nodes[i].parent;

			if (!kept[i] && kept[q])
			{
				rest[q] += f->nodes[i].total;
				rest_b[q] += f->nodes[i].total_b;
			}
		}
	}

	/*
	 * Pre-order over the kept nodes. An "other" row takes its place among
	 * its siblings by name: before the first kept sibling named above it,
	 * else last.
	 */
	stack = pprof_alloc_array(env, (size_t) f->max_depth + 2, sizeof(Level));
	add_row(env, out, &cap, 0, total_label, f->nodes[0].total, f->nodes[0].self,
			f->nodes[0].total_b, f->nodes[0].self_b);
	stack[depth].parent = 0;
	stack[depth++].next = f->nodes[0].first_child;
	while (depth > 0)
	{
		Level	   *top = &stack[depth - 1];
		uint32_t	q = top->parent,
					c = top->next;
		bool		other_due = rest && (rest[q] != 0 || rest_b[q] != 0);

		while (c != 0 && !kept[c])
			c = f->nodes[c].next_sibling;
		if (other_due && (c == 0 || pprof_str_cmp(other_label, f->names[f->nodes[c].frame]) < 0))
		{
			add_row(env, out, &cap, (uint32_t) depth, other_label, rest[q], rest[q], rest_b[q], rest_b[q]);
			rest[q] = rest_b[q] = 0;
		}
		if (c == 0)
		{
			depth--;
			continue;
		}
		add_row(env, out, &cap, (uint32_t) depth, f->names[f->nodes[c].frame], f->nodes[c].total,
				f->nodes[c].self, f->nodes[c].total_b, f->nodes[c].self_b);
		if ((out->n_rows & 0x3fff) == 0)
			pprof_tick(env);
		top->next = f->nodes[c].next_sibling;
		if (f->nodes[c].first_child != 0)
		{
			stack[depth].parent = c;
			stack[depth++].next = f->nodes[c].first_child;
		}
	}
	return PPROF_OK;
}
