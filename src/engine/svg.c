/*-------------------------------------------------------------------------
 *
 * svg.c
 *	  A self-contained SVG flame graph of the tree flame.c builds: no
 *	  scripts, fonts or links, so it is safe to show as an image; each frame
 *	  has a tooltip with its name, value (as pprof writes values) and share.
 *
 * src/engine/svg.c
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <string.h>

#include "hash.h"
#include "report.h"
#include "units.h"

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
	uint64_t	h = pprof_hash_bytes(name.data, name.len);

	h ^= h >> 31;
	*r = 205 + (int) (h % 51);
	*g = (int) ((h >> 16) % 231);
	*b = (int) ((h >> 32) % 56);
}

static void
svg_frame(PprofBuf *b, PprofStr name, uint32_t rgb, double x, double y, double w,
		  int64_t value, int64_t total, PprofStr unit)
{
	char		val[PPROF_LABEL_LEN];
	double		pct = total ? 100.0 * (double) value / (double) total : 0;

	pprof_units_label(value, unit, val, sizeof(val));
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
	uint32_t   *c = pprof_alloc_array(env, fr->n_frames + 1, sizeof(uint32_t));

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
	double	   *xs = pprof_alloc_array(env, f->n_nodes, sizeof(double));
	PprofStr	type = idx >= 0 ? pprof_str(p, p->sample_types[idx].type) : (PprofStr) {(const uint8_t *) "", 0};
	PprofStr	unit = idx >= 0 ? pprof_str(p, p->sample_types[idx].unit) : (PprofStr) {(const uint8_t *) "", 0};
	PprofStr	all = {(const uint8_t *) "all", 3};
	char		val[PPROF_LABEL_LEN];
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
	pprof_units_label(total, unit, val, sizeof(val));
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
		double	   *child_x = pprof_alloc_array(env, f->n_nodes, sizeof(double));

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

				svg_frame(out, f->names[n->frame], colors[n->frame], xs[node], y, w,
						  n->total, total, unit);
				shown++;
				child_x[node] = xs[node];
				descend = n->first_child != 0;
			}
			if ((shown & 0xfff) == 0xfff)
				pprof_tick(env);
			node = pprof_flame_next(f, node, descend);
		}
	}
	pprof_buf_printf(out, "<text x=\"%d\" y=\"%d\" style=\"fill:#777;font-size:10px\">profefe flame graph: %zu frames; width is the share of the total, hover a frame for its value</text>\n",
					 SVG_PAD, height - 8, shown + 1);
	pprof_buf_puts(out, "</svg>\n");
}
