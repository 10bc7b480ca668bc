/*-------------------------------------------------------------------------
 *
 * pprof_flame.c
 *	  The tree of stacks behind folded output and flame graphs, the
 *	  collapsed ("folded") text format, and a self-contained SVG flame graph.
 *
 * src/pprof_flame.c
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static void *
xalloc(const PprofEnv *env, size_t n)
{
	return env->alloc.alloc(env->alloc.allocator_data, n > 0 ? n : 1);
}

/* qsort has no context argument; one tree is built at a time per process */
static const PprofStr *cmp_names;
static const uint32_t *cmp_seq;

static int
frame_name_cmp(const void *x, const void *y)
{
	return pprof_str_cmp(cmp_names[*(const uint32_t *) x], cmp_names[*(const uint32_t *) y]);
}

/* A sample's stack as frame ranks, root first, in the shared seq array. */
typedef struct Stack
{
	uint32_t	off;
	uint32_t	len;
	int64_t		w;
} Stack;

static int
stack_cmp(const void *x, const void *y)
{
	const Stack *a = x,
			   *b = y;
	uint32_t	n = a->len < b->len ? a->len : b->len;
	const uint32_t *p = cmp_seq + a->off,
			   *q = cmp_seq + b->off;

	for (uint32_t i = 0; i < n; i++)
		if (p[i] != q[i])
			return p[i] < q[i] ? -1 : 1;
	return a->len < b->len ? -1 : a->len > b->len;
}

/*
 * Builds the tree by sorting the stacks (as sequences of frame ranks by
 * name) and walking them in order: each stack shares a prefix with the one
 * before, and only its remaining frames need new nodes. Nodes come out in
 * pre-order with siblings in name order, so later walks read memory in
 * sequence. (A hash of (parent, frame) was 3x slower on large profiles:
 * every lookup missed the cache.)
 */
PprofStatus
pprof_flame_build(const PprofEnv *env, const PprofProfile *p, int idx, PprofFlame *out,
				  PprofError *err)
{
	size_t		nf,
				maxd = 0,
				nstacks = 0,
				seqlen = 0,
				cap;
	uint32_t   *order,
			   *rank,
			   *seq,
			   *path,
			   *tmp;
	Stack	   *stacks;
	int64_t		root_total = 0;

	memset(out, 0, sizeof(*out));
	pprof_frames_build(env, p, PPROF_NAMES_STACKS, &out->frames);
	nf = out->frames.n_frames;

	/* frame ranks by name */
	order = xalloc(env, nf * sizeof(uint32_t));
	rank = xalloc(env, nf * sizeof(uint32_t));
	for (uint32_t i = 0; i < nf; i++)
		order[i] = i;
	cmp_names = out->frames.names;
	qsort(order, nf, sizeof(uint32_t), frame_name_cmp);
	cmp_names = NULL;
	for (uint32_t i = 0; i < nf; i++)
		rank[order[i]] = i;

	/* the stacks of samples with a positive value, root first, as ranks */
	for (size_t s = 0; s < p->n_sample; s++)
	{
		if (pprof_sample_values(p, s)[idx] > 0)
		{
			size_t		d = pprof_stack_depth(p, &out->frames, s);

			seqlen += d;
			nstacks++;
			if (d > maxd)
				maxd = d;
		}
	}
	if (seqlen > UINT32_MAX)
	{
		err->status = PPROF_TOO_LARGE;
		snprintf(err->detail, sizeof(err->detail), "The profile has more than 2^32 frames in its stacks.");
		return PPROF_TOO_LARGE;
	}
	seq = xalloc(env, seqlen * sizeof(uint32_t));
	stacks = xalloc(env, nstacks * sizeof(Stack));
	tmp = xalloc(env, (maxd + 1) * sizeof(uint32_t));
	nstacks = 0;
	seqlen = 0;
	for (size_t s = 0; s < p->n_sample; s++)
	{
		int64_t		w = pprof_sample_values(p, s)[idx];
		size_t		d;

		if (w <= 0)
			continue;
		if (__builtin_add_overflow(root_total, w, &root_total))
		{
			err->status = PPROF_OVERFLOW;
			snprintf(err->detail, sizeof(err->detail),
					 "The sum of the sample type's values does not fit in 64 bits.");
			return PPROF_OVERFLOW;
		}
		d = pprof_sample_stack(p, &out->frames, s, tmp);
		for (size_t i = 0; i < d; i++)
			seq[seqlen + i] = rank[tmp[d - 1 - i]];
		stacks[nstacks].off = (uint32_t) seqlen;
		stacks[nstacks].len = (uint32_t) d;
		stacks[nstacks].w = w;
		seqlen += d;
		nstacks++;
	}
	if (env->tick)
		env->tick(env->tick_arg);
	cmp_seq = seq;
	qsort(stacks, nstacks, sizeof(Stack), stack_cmp);
	cmp_seq = NULL;
	if (env->tick)
		env->tick(env->tick_arg);

	/* merge walk; path[d] is the node at depth d + 1 of the current stack */
	cap = 1024;
	out->nodes = xalloc(env, cap * sizeof(PprofFlameNode));
	memset(&out->nodes[0], 0, sizeof(PprofFlameNode));
	out->nodes[0].frame = UINT32_MAX;
	out->nodes[0].total = root_total;
	out->n_nodes = 1;
	path = xalloc(env, (maxd + 1) * sizeof(uint32_t));
	for (size_t k = 0; k < nstacks; k++)
	{
		const Stack *st = &stacks[k];
		const uint32_t *cur = seq + st->off;
		uint32_t	lcp = 0,
					prev_len = 0;

		if ((k & 0x3fff) == 0x3fff && env->tick)
			env->tick(env->tick_arg);
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

			if (out->n_nodes == cap)
			{
				PprofFlameNode *nn = xalloc(env, cap * 2 * sizeof(PprofFlameNode));

				memcpy(nn, out->nodes, cap * sizeof(PprofFlameNode));
				out->nodes = nn;
				cap *= 2;
			}
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
			out->nodes[path[d]].total += st->w;
		out->nodes[st->len ? path[st->len - 1] : 0].self += st->w;
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

static const char *line_base;

static int
line_cmp(const void *x, const void *y)
{
	const Line *a = x,
			   *b = y;
	size_t		n = a->len < b->len ? a->len : b->len;
	int			c = memcmp(line_base + a->off, line_base + b->off, n);

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
	uint32_t   *path = xalloc(env, (f->max_depth + 2) * sizeof(uint32_t));
	Line	   *lines;
	size_t		nlines = 0,
				cap = 256;
	uint32_t	node;

	pprof_buf_init(&tmp, env, 4096);
	lines = xalloc(env, cap * sizeof(Line));

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
				put_folded_name(&tmp, f->frames.names[f->nodes[path[d]].frame]);
			}
			pprof_buf_printf(&tmp, " %" PRId64, n->self);
			if (nlines == cap)
			{
				Line	   *nl = xalloc(env, cap * 2 * sizeof(Line));

				memcpy(nl, lines, cap * sizeof(Line));
				lines = nl;
				cap *= 2;
			}
			lines[nlines].off = start;
			lines[nlines].len = tmp.len - start;
			nlines++;
		}
		/* next: first child, else next sibling of this or an ancestor */
		if (n->first_child)
			node = n->first_child;
		else
		{
			while (node != 0 && f->nodes[node].next_sibling == 0)
				node = f->nodes[node].parent;
			if (node != 0)
				node = f->nodes[node].next_sibling;
		}
	}

	/*
	 * The walk visits siblings in name order, which is byte order of the
	 * lines unless a name is a prefix of a sibling's name followed by a
	 * character below ';'; sort only then.
	 */
	line_base = tmp.data;
	for (size_t i = 1; i < nlines; i++)
	{
		if (line_cmp(&lines[i - 1], &lines[i]) > 0)
		{
			qsort(lines, nlines, sizeof(Line), line_cmp);
			break;
		}
	}
	line_base = NULL;
	for (size_t i = 0; i < nlines; i++)
	{
		pprof_buf_append(out, tmp.data + lines[i].off, lines[i].len);
		pprof_buf_putc(out, '\n');
	}
}

/* ---- values for people ---- */

static bool
unit_is(PprofStr u, const char *s)
{
	return u.len == strlen(s) && memcmp(u.data, s, u.len) == 0;
}

static void
scaled(char *buf, size_t len, double v, const char *suffix)
{
	snprintf(buf, len, "%.2f", v);
	/* trim trailing zeros like "1.50" -> "1.5", "2.00" -> "2" */
	{
		char	   *dot = strchr(buf, '.');

		if (dot)
		{
			char	   *e = buf + strlen(buf) - 1;

			while (e > dot && *e == '0')
				*e-- = '\0';
			if (e == dot)
				*e = '\0';
		}
	}
	strncat(buf, suffix, len - strlen(buf) - 1);
}

void
pprof_format_value(int64_t v, PprofStr unit, char *buf, size_t len)
{
	double		a = v < 0 ? -(double) v : (double) v;
	const char *sign = v < 0 ? "-" : "";
	char		tmp[64];
	double		ns = -1;

	if (unit_is(unit, "nanoseconds"))
		ns = a;
	else if (unit_is(unit, "microseconds"))
		ns = a * 1e3;
	else if (unit_is(unit, "milliseconds"))
		ns = a * 1e6;
	else if (unit_is(unit, "seconds"))
		ns = a * 1e9;
	if (ns >= 0)
	{
		if (ns >= 3600e9)
			scaled(tmp, sizeof(tmp), ns / 3600e9, "h");
		else if (ns >= 60e9)
			scaled(tmp, sizeof(tmp), ns / 60e9, "min");
		else if (ns >= 1e9)
			scaled(tmp, sizeof(tmp), ns / 1e9, "s");
		else if (ns >= 1e6)
			scaled(tmp, sizeof(tmp), ns / 1e6, "ms");
		else if (ns >= 1e3)
			scaled(tmp, sizeof(tmp), ns / 1e3, "\xc2\xb5s");
		else
			scaled(tmp, sizeof(tmp), ns, "ns");
	}
	else if (unit_is(unit, "bytes"))
	{
		if (a >= 1099511627776.0)
			scaled(tmp, sizeof(tmp), a / 1099511627776.0, "TB");
		else if (a >= 1073741824.0)
			scaled(tmp, sizeof(tmp), a / 1073741824.0, "GB");
		else if (a >= 1048576.0)
			scaled(tmp, sizeof(tmp), a / 1048576.0, "MB");
		else if (a >= 1024.0)
			scaled(tmp, sizeof(tmp), a / 1024.0, "kB");
		else
			scaled(tmp, sizeof(tmp), a, "B");
	}
	else if (unit.len == 0 || unit_is(unit, "count"))
		snprintf(tmp, sizeof(tmp), "%.0f", a);
	else
		snprintf(tmp, sizeof(tmp), "%.0f %.*s", a, (int) (unit.len > 30 ? 30 : unit.len),
				 (const char *) unit.data);
	snprintf(buf, len, "%s%s", sign, tmp);
}

/* ---- SVG ---- */

#define SVG_WIDTH		1200
#define SVG_PAD			10
#define SVG_FRAME_H		16
#define SVG_TOP			44
#define SVG_BOTTOM		28
#define SVG_FONT		11
#define SVG_CHAR_W		6.6		/* average glyph width at SVG_FONT in Verdana */
#define SVG_MIN_W		0.25	/* frames narrower than this (px) are left out */

/* Appends a string literal. */
#define PUT_LIT(b, lit) pprof_buf_append((b), (lit), sizeof(lit) - 1)

/* XML text: escaped, control characters replaced. */
static void
put_xml(PprofBuf *b, const uint8_t *s, size_t n)
{
	size_t		clean = 0;

	/* the common case: nothing to escape, one copy */
	while (clean < n && s[clean] >= 0x20 && s[clean] != 0x7f && s[clean] != '&' &&
		   s[clean] != '<' && s[clean] != '>' && s[clean] != '"')
		clean++;
	pprof_buf_append(b, s, clean);
	for (size_t i = clean; i < n; i++)
	{
		uint8_t		c = s[i];

		switch (c)
		{
			case '&':
				PUT_LIT(b, "&amp;");
				break;
			case '<':
				PUT_LIT(b, "&lt;");
				break;
			case '>':
				PUT_LIT(b, "&gt;");
				break;
			case '"':
				PUT_LIT(b, "&quot;");
				break;
			default:
				pprof_buf_putc(b, (c < 0x20 || c == 0x7f) ? '?' : (char) c);
		}
	}
}

/* A non-negative number with `dec` decimals (1 or 2), without printf. */
static void
put_fixed(PprofBuf *b, double v, int dec)
{
	char		tmp[32];
	int			n = 0;
	uint64_t	scale = dec == 2 ? 100 : 10;
	uint64_t	x = (uint64_t) (v * (double) scale + 0.5);
	uint64_t	ip = x / scale,
				fp = x % scale;

	if (v < 0 || v > 1e15)
	{
		pprof_buf_printf(b, dec == 2 ? "%.2f" : "%.1f", v);
		return;
	}
	for (int i = 0; i < dec; i++)
	{
		tmp[n++] = (char) ('0' + fp % 10);
		fp /= 10;
	}
	tmp[n++] = '.';
	do
	{
		tmp[n++] = (char) ('0' + ip % 10);
		ip /= 10;
	} while (ip > 0);
	pprof_buf_reserve(b, (size_t) n);
	while (n > 0)
		b->data[b->len++] = tmp[--n];
	b->data[b->len] = '\0';
}

/* How many bytes of s make at most `chars` characters (UTF-8 aware). */
static size_t
utf8_prefix(PprofStr s, size_t chars)
{
	size_t		i = 0,
				k = 0;

	while (i < s.len && k < chars)
	{
		uint8_t		c = s.data[i];
		size_t		l = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

		if (i + l > s.len)
			break;
		i += l;
		k++;
	}
	return i;
}

static size_t
utf8_chars(PprofStr s)
{
	size_t		k = 0;

	for (size_t i = 0; i < s.len; i++)
		k += (s.data[i] & 0xc0) != 0x80;
	return k;
}

/* A stable warm colour per function name (flamegraph.pl's "hot" palette). */
static void
frame_color(PprofStr name, int *r, int *g, int *b)
{
	uint64_t	h = 1469598103934665603ULL;

	for (size_t i = 0; i < name.len; i++)
	{
		h ^= name.data[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 31;
	*r = 205 + (int) (h % 51);
	*g = (int) ((h >> 16) % 231);
	*b = (int) ((h >> 32) % 56);
}

static void
svg_frame(PprofBuf *b, PprofStr name, uint32_t rgb, double x, double y, double w,
		  int64_t value, int64_t total, PprofStr unit)
{
	char		val[64];
	double		pct = total ? 100.0 * (double) value / (double) total : 0;

	pprof_format_value(value, unit, val, sizeof(val));
	PUT_LIT(b, "<g class=\"f\"><title>");
	put_xml(b, name.data, name.len);
	PUT_LIT(b, " (");
	pprof_buf_puts(b, val);
	PUT_LIT(b, ", ");
	put_fixed(b, pct, 2);
	PUT_LIT(b, "%)</title><rect x=\"");
	put_fixed(b, x, 1);
	PUT_LIT(b, "\" y=\"");
	put_fixed(b, y, 1);
	PUT_LIT(b, "\" width=\"");
	put_fixed(b, w, 1);
	pprof_buf_printf(b, "\" height=\"%d\" fill=\"#%06x\" rx=\"2\"/>", SVG_FRAME_H - 1, rgb);
	if (w >= SVG_CHAR_W * 3 + 6)
	{
		size_t		fit = (size_t) ((w - 6) / SVG_CHAR_W);
		size_t		nchars = utf8_chars(name);

		PUT_LIT(b, "<text x=\"");
		put_fixed(b, x + 3, 1);
		PUT_LIT(b, "\" y=\"");
		put_fixed(b, y + SVG_FRAME_H - 4.5, 1);
		PUT_LIT(b, "\">");
		if (nchars <= fit)
			put_xml(b, name.data, name.len);
		else
		{
			put_xml(b, name.data, utf8_prefix(name, fit - 2));
			PUT_LIT(b, "..");
		}
		PUT_LIT(b, "</text>");
	}
	PUT_LIT(b, "</g>\n");
}

/* Colours of all frames, packed 0xRRGGBB. */
static uint32_t *
frame_colors(const PprofEnv *env, const PprofFrames *fr)
{
	uint32_t   *c = xalloc(env, (fr->n_frames + 1) * sizeof(uint32_t));

	for (size_t i = 0; i < fr->n_frames; i++)
	{
		int			r,
					g,
					b;

		frame_color(fr->names[i], &r, &g, &b);
		c[i] = (uint32_t) (r << 16 | g << 8 | b);
	}
	return c;
}

void
pprof_flame_svg(const PprofEnv *env, const PprofProfile *p, int idx, const PprofFlame *f,
				const char *title, PprofBuf *out)
{
	int64_t		total = f->nodes[0].total;
	double		scale = total > 0 ? (SVG_WIDTH - 2.0 * SVG_PAD) / (double) total : 0;
	int			height = SVG_TOP + (int) (f->max_depth + 1) * SVG_FRAME_H + SVG_BOTTOM;
	double	   *xs = xalloc(env, f->n_nodes * sizeof(double));
	PprofStr	type = idx >= 0 ? pprof_str(p, p->sample_types[idx].type) : (PprofStr) {(const uint8_t *) "", 0};
	PprofStr	unit = idx >= 0 ? pprof_str(p, p->sample_types[idx].unit) : (PprofStr) {(const uint8_t *) "", 0};
	PprofStr	all = {(const uint8_t *) "all", 3};
	char		val[64];
	uint32_t	node;
	size_t		shown = 0;
	uint32_t   *colors;
	int			r,
				g,
				bl;

	pprof_buf_printf(out,
					 "<?xml version=\"1.0\" standalone=\"no\"?>\n"
					 "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
					 "xmlns=\"http://www.w3.org/2000/svg\">\n"
					 "<style>text{font-family:Verdana,'DejaVu Sans',Arial,sans-serif;font-size:%dpx;fill:#000;pointer-events:none}"
					 ".t{font-size:17px;text-anchor:middle}.s{font-size:12px;fill:#555;text-anchor:middle}"
					 ".f:hover rect{stroke:#000;stroke-width:0.6}</style>\n"
					 "<defs><linearGradient id=\"bg\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
					 "<stop stop-color=\"#eeeeee\" offset=\"5%%\"/><stop stop-color=\"#eeeeb0\" offset=\"95%%\"/>"
					 "</linearGradient></defs>\n"
					 "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"url(#bg)\"/>\n",
					 SVG_WIDTH, height, SVG_WIDTH, height, SVG_FONT, SVG_WIDTH, height);
	pprof_buf_printf(out, "<text class=\"t\" x=\"%d\" y=\"22\">", SVG_WIDTH / 2);
	put_xml(out, (const uint8_t *) (title ? title : "Flame Graph"), strlen(title ? title : "Flame Graph"));
	pprof_buf_puts(out, "</text>\n");
	pprof_format_value(total, unit, val, sizeof(val));
	pprof_buf_printf(out, "<text class=\"s\" x=\"%d\" y=\"38\">", SVG_WIDTH / 2);
	put_xml(out, type.data, type.len);
	pprof_buf_puts(out, ": ");
	put_xml(out, (const uint8_t *) val, strlen(val));
	pprof_buf_puts(out, " total</text>\n");

	if (total <= 0)
	{
		pprof_buf_printf(out, "<text class=\"s\" x=\"%d\" y=\"%d\">no samples with a positive value</text>\n",
						 SVG_WIDTH / 2, height - SVG_BOTTOM - 2);
		pprof_buf_puts(out, "</svg>\n");
		return;
	}

	/* root ("all") at the bottom, callees above their callers */
	xs[0] = SVG_PAD;
	colors = frame_colors(env, &f->frames);
	frame_color(all, &r, &g, &bl);
	svg_frame(out, all, (uint32_t) (r << 16 | g << 8 | bl), SVG_PAD, height - SVG_BOTTOM - SVG_FRAME_H,
			  total * scale, total, total, unit);
	node = f->nodes[0].first_child;
	/* pre-order walk; a node's x is its parent's x plus earlier siblings' widths */
	{
		double	   *child_x = xalloc(env, f->n_nodes * sizeof(double));

		child_x[0] = SVG_PAD;
		while (node != 0)
		{
			const PprofFlameNode *n = &f->nodes[node];
			double		w = (double) n->total * scale;
			bool		descend = false;

			xs[node] = child_x[n->parent];
			child_x[n->parent] += w;
			if (w >= SVG_MIN_W)
			{
				double		y = height - SVG_BOTTOM - (double) (n->depth + 1) * SVG_FRAME_H;

				svg_frame(out, f->frames.names[n->frame], colors[n->frame], xs[node], y, w,
						  n->total, total, unit);
				shown++;
				child_x[node] = xs[node];
				descend = n->first_child != 0;
			}
			if ((shown & 0xfff) == 0xfff && env->tick)
				env->tick(env->tick_arg);
			if (descend)
				node = n->first_child;
			else
			{
				while (node != 0 && f->nodes[node].next_sibling == 0)
					node = f->nodes[node].parent;
				if (node != 0)
					node = f->nodes[node].next_sibling;
			}
		}
	}
	pprof_buf_printf(out, "<text x=\"%d\" y=\"%d\" style=\"fill:#777;font-size:10px\">profefe flame graph: %zu frames; width is the share of the total, hover a frame for its value</text>\n",
					 SVG_PAD, height - 8, shown + 1);
	pprof_buf_puts(out, "</svg>\n");
}
