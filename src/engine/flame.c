/*-------------------------------------------------------------------------
 *
 * flame.c
 *	  The tree of stacks behind folded output and flame graphs, and the
 *	  collapsed ("folded") text format. The SVG drawing is svg.c's.
 *
 * src/engine/flame.c
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* Frame ids by name (arg: the names). */
static int
frame_name_cmp(const void *x, const void *y, void *arg)
{
	const PprofStr *names = arg;

	return pprof_str_cmp(names[*(const uint32_t *) x], names[*(const uint32_t *) y]);
}

/* A sample's stack as frame ranks, root first, in the shared seq array. */
typedef struct Stack
{
	uint32_t	off;
	uint32_t	len;
	int64_t		w;
	int			side;
} Stack;

/* Stacks as sequences of ranks (arg: the shared seq array). */
static int
stack_cmp(const void *x, const void *y, void *arg)
{
	const uint32_t *seq = arg;
	const Stack *a = x,
			   *b = y;
	uint32_t	n = a->len < b->len ? a->len : b->len;
	const uint32_t *p = seq + a->off,
			   *q = seq + b->off;

	for (uint32_t i = 0; i < n; i++)
		if (p[i] != q[i])
			return p[i] < q[i] ? -1 : 1;
	return a->len < b->len ? -1 : a->len > b->len;
}

PprofStatus
pprof_flame_build(const PprofEnv *env, const PprofProfile *p, int idx, PprofFlame *out,
				  PprofError *err)
{
	PprofFlameSide side = {p, idx};

	return pprof_flame_build_sides(env, &side, 1, PPROF_NAMES_STACKS, out, err);
}

/*
 * Builds the tree by sorting the stacks (as sequences of frame ranks by
 * name) and walking them in order: each stack shares a prefix with the one
 * before, and only its remaining frames need new nodes. Nodes come out in
 * pre-order with siblings in name order, so later walks read memory in
 * sequence. (A hash of (parent, frame) was 3x slower on large profiles:
 * every lookup missed the cache.)
 *
 * The frames of all sides are ranked together. Frames of one profile with
 * stack names stay distinct even when their names are equal (the folded
 * and SVG output of one profile); otherwise equal names share a rank, so
 * two profiles' trees line up by name.
 */
PprofStatus
pprof_flame_build_sides(const PprofEnv *env, const PprofFlameSide *sides, int n_sides,
						PprofNaming naming, PprofFlame *out, PprofError *err)
{
	PprofFrames fr[2];
	size_t		nf = 0,
				base[2] = {0, 0},
				maxd = 0,
				nstacks = 0,
				seqlen = 0,
				cap;
	uint32_t   *order,
			   *rank,
			   *seq,
			   *path,
			   *tmp;
	PprofStr   *names;
	Stack	   *stacks;
	int64_t		root_total[2] = {0, 0};
	bool		by_name = n_sides > 1 || naming != PPROF_NAMES_STACKS;

	if (n_sides < 1 || n_sides > 2)
		return pprof_error(err, PPROF_INTERNAL, "A flame graph has one or two sides, not %d.", n_sides);
	memset(out, 0, sizeof(*out));
	for (int k = 0; k < n_sides; k++)
	{
		pprof_frames_build(env, sides[k].p, naming, &fr[k]);
		base[k] = nf;
		nf += fr[k].n_frames;
	}
	out->frames = fr[0];
	if (n_sides == 1)
		names = fr[0].names;
	else
	{
		names = pprof_alloc_array(env, nf, sizeof(PprofStr));
		for (int k = 0; k < n_sides; k++)
			memcpy(names + base[k], fr[k].names, fr[k].n_frames * sizeof(PprofStr));
	}
	out->names = names;
	out->n_names = nf;

	/* frame ranks by name (equal names one rank when by_name) */
	order = pprof_alloc_array(env, nf, sizeof(uint32_t));
	rank = pprof_alloc_array(env, nf, sizeof(uint32_t));
	for (uint32_t i = 0; i < nf; i++)
		order[i] = i;
	pprof_sort(order, nf, sizeof(uint32_t), frame_name_cmp, names);
	for (uint32_t i = 0, r = 0; i < nf; i++)
	{
		if (i > 0 && !(by_name && pprof_str_cmp(names[order[i - 1]], names[order[i]]) == 0))
			r = i;
		rank[order[i]] = r;
	}

	/* the stacks of samples with a positive value, root first, as ranks */
	for (int k = 0; k < n_sides; k++)
	{
		const PprofProfile *p = sides[k].p;

		for (size_t s = 0; s < p->n_sample; s++)
		{
			if (pprof_sample_values(p, s)[sides[k].sample_index] > 0)
			{
				size_t		d = pprof_stack_depth(p, &fr[k], s);

				seqlen += d;
				nstacks++;
				if (d > maxd)
					maxd = d;
			}
		}
	}
	if (seqlen > UINT32_MAX)
		return pprof_error(err, PPROF_TOO_LARGE, "The profile has more than 2^32 frames in its stacks.");
	seq = pprof_alloc_array(env, seqlen, sizeof(uint32_t));
	stacks = pprof_alloc_array(env, nstacks, sizeof(Stack));
	tmp = pprof_alloc_array(env, maxd + 1, sizeof(uint32_t));
	nstacks = 0;
	seqlen = 0;
	for (int k = 0; k < n_sides; k++)
	{
		const PprofProfile *p = sides[k].p;

		for (size_t s = 0; s < p->n_sample; s++)
		{
			int64_t		w = pprof_sample_values(p, s)[sides[k].sample_index];
			size_t		d;

			if (w <= 0)
				continue;
			if (__builtin_add_overflow(root_total[k], w, &root_total[k]))
				return pprof_error(err, PPROF_OVERFLOW,
								   "The sum of the sample type's values does not fit in 64 bits.");
			d = pprof_sample_stack(p, &fr[k], s, tmp);
			for (size_t i = 0; i < d; i++)
				seq[seqlen + i] = rank[base[k] + tmp[d - 1 - i]];
			stacks[nstacks].off = (uint32_t) seqlen;
			stacks[nstacks].len = (uint32_t) d;
			stacks[nstacks].w = w;
			stacks[nstacks].side = k;
			seqlen += d;
			nstacks++;
		}
	}
	pprof_tick(env);
	pprof_sort(stacks, nstacks, sizeof(Stack), stack_cmp, seq);
	pprof_tick(env);

	/* merge walk; path[d] is the node at depth d + 1 of the current stack */
	cap = 0;
	out->nodes = pprof_grow(env, NULL, 0, &cap, 1024, sizeof(PprofFlameNode));
	memset(&out->nodes[0], 0, sizeof(PprofFlameNode));
	out->nodes[0].frame = UINT32_MAX;
	out->nodes[0].total = root_total[0];
	out->nodes[0].total_b = root_total[1];
	out->n_nodes = 1;
	path = pprof_alloc_array(env, maxd + 1, sizeof(uint32_t));
	for (size_t k = 0; k < nstacks; k++)
	{
		const Stack *st = &stacks[k];
		const uint32_t *cur = seq + st->off;
		uint32_t	lcp = 0,
					prev_len = 0;
		PprofFlameNode *leaf;

		if ((k & 0x3fff) == 0x3fff)
			pprof_tick(env);
		if (k > 0)
		{
			const uint32_t *prev = seq + stacks[k - 1].off;
			uint32_t	n;

			prev_len = stacks[k - 1].len;
			n = prev_len < st->len ? prev_len : st->len;
			while (lcp < n && prev[lcp] == cur[lcp])
				lcp++;
		}
		/* new nodes for the frames past the shared prefix */
		for (uint32_t d = lcp; d < st->len; d++)
		{
			uint32_t	parent = d == 0 ? 0 : path[d - 1];

			/* the previous stack's node at depth lcp is the older sibling */
			uint32_t	prev_sibling = (d == lcp && d < prev_len) ? path[d] : 0;
			uint32_t	c;

			if (out->n_nodes >= UINT32_MAX)
				return pprof_error(err, PPROF_TOO_LARGE, "The flame graph has more than 2^32 nodes.");
			out->nodes = pprof_grow(env, out->nodes, out->n_nodes, &cap, 1, sizeof(PprofFlameNode));
			c = (uint32_t) out->n_nodes++;
			memset(&out->nodes[c], 0, sizeof(PprofFlameNode));
			out->nodes[c].frame = order[cur[d]];
			out->nodes[c].parent = parent;
			out->nodes[c].depth = d + 1;
			if (prev_sibling)
				out->nodes[prev_sibling].next_sibling = c;
			else
				out->nodes[parent].first_child = c;
			path[d] = c;
		}
		for (uint32_t d = 0; d < st->len; d++)
		{
			if (st->side == 0)
				out->nodes[path[d]].total += st->w;
			else
				out->nodes[path[d]].total_b += st->w;
		}
		leaf = &out->nodes[st->len ? path[st->len - 1] : 0];
		if (st->side == 0)
			leaf->self += st->w;
		else
			leaf->self_b += st->w;
		if (st->len > out->max_depth)
			out->max_depth = st->len;
	}
	return PPROF_OK;
}

/* ---- folded ---- */

typedef struct Line
{
	size_t		off;
	size_t		len;
} Line;

/* Lines of the text in arg, byte-wise. */
static int
line_cmp(const void *x, const void *y, void *arg)
{
	const char *base = arg;
	const Line *a = x,
			   *b = y;
	size_t		n = a->len < b->len ? a->len : b->len;
	int			c = memcmp(base + a->off, base + b->off, n);

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static void
put_folded_name(PprofBuf *b, PprofStr s)
{
	pprof_buf_reserve(b, s.len);
	for (size_t i = 0; i < s.len; i++)
	{
		char		c = (char) s.data[i];

		if (c == ';')
			c = ':';
		else if (c == '\n' || c == '\r')
			c = ' ';
		b->data[b->len++] = c;
	}
	b->data[b->len] = '\0';
}

void
pprof_write_folded(const PprofEnv *env, const PprofFlame *f, PprofBuf *out)
{
	PprofBuf	tmp;
	uint32_t   *path = pprof_alloc_array(env, (size_t) f->max_depth + 2, sizeof(uint32_t));
	Line	   *lines = NULL;
	size_t		nlines = 0,
				cap = 0;
	uint32_t	node;

	pprof_buf_init(&tmp, env, 4096);

	/* Depth-first walk without recursion; path[d] is the node at depth d. */
	node = f->nodes[0].first_child;
	while (node != 0)
	{
		const PprofFlameNode *n = &f->nodes[node];

		path[n->depth] = node;
		if (n->self > 0)
		{
			size_t		start = tmp.len;

			for (uint32_t d = 1; d <= n->depth; d++)
			{
				if (d > 1)
					pprof_buf_putc(&tmp, ';');
				put_folded_name(&tmp, f->names[f->nodes[path[d]].frame]);
			}
			pprof_buf_printf(&tmp, " %" PRId64, n->self);
			lines = pprof_grow(env, lines, nlines, &cap, 1, sizeof(Line));
			lines[nlines].off = start;
			lines[nlines].len = tmp.len - start;
			nlines++;
		}
		node = pprof_flame_next(f, node, true);
	}

	/*
	 * The walk visits siblings in name order, which is byte order of the
	 * lines unless a name is a prefix of a sibling's name followed by a
	 * character below ';'; sort only then.
	 */
	for (size_t i = 1; i < nlines; i++)
	{
		if (line_cmp(&lines[i - 1], &lines[i], tmp.data) > 0)
		{
			pprof_sort(lines, nlines, sizeof(Line), line_cmp, tmp.data);
			break;
		}
	}
	for (size_t i = 0; i < nlines; i++)
	{
		pprof_buf_append(out, tmp.data + lines[i].off, lines[i].len);
		pprof_buf_putc(out, '\n');
	}
}
