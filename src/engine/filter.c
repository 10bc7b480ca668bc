/*-------------------------------------------------------------------------
 *
 * pprof_filter.c
 *	  pprof's sample filters, as the pprof CLI applies them (driver
 *	  applyFocus): FilterSamplesByName (focus, ignore, hide, show), then
 *	  ShowFrom, then FilterSamplesByTag (tagfocus, tagignore), then
 *	  PruneFrom. Regexes are unanchored searches in function names, file
 *	  names and mapping files; each distinct string is matched once per
 *	  regex and the answer cached.
 *
 * src/pprof_filter.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

typedef struct Cache
{
	const PprofRegex *re;
	int8_t	   *by_string;		/* -1 unknown, 0 no, 1 yes */
} Cache;

static void *
xalloc(const PprofEnv *env, size_t n)
{
	return env->alloc.alloc(env->alloc.allocator_data, n > 0 ? n : 1);
}

static void
cache_init(const PprofEnv *env, Cache *c, const PprofRegex *re, size_t nstr)
{
	c->re = re;
	c->by_string = NULL;
	if (re)
	{
		c->by_string = xalloc(env, nstr);
		memset(c->by_string, -1, nstr);
	}
}

static bool
str_matches(const PprofProfile *p, Cache *c, int64_t idx)
{
	if (c->by_string[idx] < 0)
		c->by_string[idx] = c->re->match(c->re->ctx, pprof_str(p, idx)) ? 1 : 0;
	return c->by_string[idx] == 1;
}

static const PprofFunction *
line_function(const PprofProfile *p, const PprofLine *ln)
{
	return &p->functions[pprof_idmap_find(&p->function_map, ln->function_id)];
}

static int64_t
mapping_file(const PprofProfile *p, const PprofLocation *l)
{
	int64_t		mi;

	if (l->mapping_id == 0 || (mi = pprof_idmap_find(&p->mapping_map, l->mapping_id)) < 0)
		return -1;
	return p->mappings[mi].filename;
}

/* Does a line's function name or file name match? */
static bool
line_matches(const PprofProfile *p, Cache *c, const PprofLine *ln)
{
	const PprofFunction *f = line_function(p, ln);

	return str_matches(p, c, f->name) || str_matches(p, c, f->filename);
}

/* Location.matchesName over the given lines. */
static bool
loc_matches(const PprofProfile *p, Cache *c, const PprofLocation *l, const PprofLine *lines)
{
	int64_t		mf = mapping_file(p, l);

	for (uint32_t j = 0; j < l->n_line; j++)
		if (line_matches(p, c, &lines[l->line_start + j]))
			return true;
	return mf >= 0 && str_matches(p, c, mf);
}

/* pprof's simplifyFunc: drop a leading '.', cut at the first '(' that does
 * not start "(anonymous namespace)" or "operator()". */
static PprofStr
simplify(PprofStr s)
{
	static const char *const reserved[] = {"(anonymous namespace)", "operator()"};

	if (s.len > 0 && s.data[0] == '.')
	{
		s.data++;
		s.len--;
	}
	for (size_t i = 0; i < s.len; i++)
	{
		bool		at_reserved = false;

		for (int r = 0; r < 2; r++)
		{
			size_t		rl = strlen(reserved[r]);

			if (s.len - i >= rl && memcmp(s.data + i, reserved[r], rl) == 0)
			{
				at_reserved = true;
				i += rl - 1;
				break;
			}
		}
		if (!at_reserved && s.data[i] == '(')
		{
			s.len = i;
			break;
		}
	}
	return s;
}

/* ---- tag filters ---- */

/*
 * pprof's measurement units (internal/measurement): memory, time and GCU,
 * each unit with its aliases and factor to the type's base.
 */
typedef struct Unit
{
	const char *canonical;
	const char *aliases[5];
	double		factor;
} Unit;

typedef struct UnitType
{
	Unit		units[9];
	int			n;
	Unit		def;
} UnitType;

static const UnitType unit_types[] = {
	{{{"B", {"b", "byte"}, 1}, {"kB", {"kb", "kbyte", "kilobyte"}, 1024.0},
	  {"MB", {"mb", "mbyte", "megabyte"}, 1048576.0}, {"GB", {"gb", "gbyte", "gigabyte"}, 1073741824.0},
	  {"TB", {"tb", "tbyte", "terabyte"}, 1099511627776.0},
	  {"PB", {"pb", "pbyte", "petabyte"}, 1125899906842624.0}}, 6, {"B", {"b", "byte"}, 1}},
	{{{"ns", {"ns", "nanosecond"}, 1}, {"us", {"\xce\xbcs", "us", "microsecond"}, 1e3},
	  {"ms", {"ms", "millisecond"}, 1e6}, {"s", {"s", "sec", "second"}, 1e9},
	  {"hrs", {"hour", "hr"}, 3600e9}}, 5, {"s", {NULL}, 1e9}},
	{{{"n*GCU", {"nanogcu"}, 1e-9}, {"u*GCU", {"microgcu"}, 1e-6}, {"m*GCU", {"milligcu"}, 1e-3},
	  {"GCU", {"gcu"}, 1}, {"k*GCU", {"kilogcu"}, 1e3}, {"M*GCU", {"megagcu"}, 1e6},
	  {"G*GCU", {"gigagcu"}, 1e9}, {"T*GCU", {"teragcu"}, 1e12}, {"P*GCU", {"petagcu"}, 1e15}},
	 9, {"GCU", {NULL}, 1}},
};

/* unitType.sniffUnit: lower case, a plural 's' dropped, found by alias. */
static const Unit *
sniff_unit(const UnitType *ut, const char *u, size_t len)
{
	char		low[64];

	if (len >= sizeof(low))
		return NULL;
	for (size_t i = 0; i < len; i++)
		low[i] = (char) tolower((unsigned char) u[i]);
	low[len] = '\0';
	if (len > 2 && low[len - 1] == 's')
		low[--len] = '\0';
	for (int i = 0; i < ut->n; i++)
		for (int a = 0; a < 5 && ut->units[i].aliases[a]; a++)
			if (strcmp(ut->units[i].aliases[a], low) == 0)
				return &ut->units[i];
	return NULL;
}

/* measurement.Scale(value, from, to): the value in `to`, and the unit it is in. */
static double
scale_to(double value, const char *from, size_t from_len, const char *to, const char **unit)
{
	if (value < 0)
		return -scale_to(-value, from, from_len, to, unit);
	for (size_t t = 0; t < sizeof(unit_types) / sizeof(unit_types[0]); t++)
	{
		const UnitType *ut = &unit_types[t];
		const Unit *fu = sniff_unit(ut, from, from_len);
		const Unit *tu;
		double		v;

		if (fu == NULL)
			continue;
		v = value * fu->factor;
		tu = sniff_unit(ut, to, strlen(to));
		if (tu == NULL)
		{
			*unit = ut->def.canonical;
			return v / ut->def.factor;
		}
		*unit = tu->canonical;
		return v / tu->factor;
	}
	if (strcmp(to, "count") == 0 || strcmp(to, "sample") == 0 || strcmp(to, "unit") == 0 ||
		strcmp(to, "minimum") == 0 || strcmp(to, "auto") == 0)
		*unit = "";
	else
		*unit = to;
	return value;
}

/* One tagFilterRangeRx match at s: [+-]?digits then letters. */
static size_t
range_token(const char *s, int64_t *v, const char **u, size_t *ulen)
{
	size_t		i = 0,
				d0;
	char		buf[24];

	if (s[i] == '+' || s[i] == '-')
		i++;
	d0 = i;
	while (isdigit((unsigned char) s[i]))
		i++;
	if (i == d0 || i >= sizeof(buf))
		return 0;
	memcpy(buf, s, i);
	buf[i] = '\0';
	*v = strtoll(buf, NULL, 10);
	*u = s + i;
	while (isalpha((unsigned char) s[i]))
		i++;
	*ulen = (size_t) (s + i - *u);
	return i;
}

/* Scales v (in unit u of length ul) to its own unit, as parseTagFilterRange does. */
static double
own_unit(int64_t v, const char *u, size_t ul, char *unit_out, size_t unit_len)
{
	char		us[64];
	const char *unit;
	double		r;

	if (ul >= sizeof(us))
		ul = sizeof(us) - 1;
	memcpy(us, u, ul);
	us[ul] = '\0';
	r = scale_to((double) v, u, ul, us, &unit);
	snprintf(unit_out, unit_len, "%s", unit);
	return r;
}

/*
 * driver_focus.go's parseTagFilterRange: "N", "N:", ":N" or "N:M", numbers
 * with optional units. Returns 0 for "not a range", 1 for a range, -1 when
 * the units of "N:M" differ in kind (pprof then falls back to treating the
 * value as regexes; we refuse it, which is clearer).
 */
static int
parse_range(const char *value, PprofTagFilter *t)
{
	int64_t		v1,
				v2;
	const char *u1,
			   *u2,
			   *unit2;
	size_t		l1,
				l2,
				n1,
				n2;

	if (value[0] == ':')
	{
		n1 = range_token(value + 1, &v1, &u1, &l1);
		if (n1 == 0 || value[1 + n1] != '\0')
			return 0;
		t->has_hi = true;
		t->hi = own_unit(v1, u1, l1, t->unit, sizeof(t->unit));
		return 1;
	}
	n1 = range_token(value, &v1, &u1, &l1);
	if (n1 == 0)
		return 0;
	if (value[n1] == '\0')
	{
		t->has_lo = t->has_hi = true;
		t->lo = t->hi = own_unit(v1, u1, l1, t->unit, sizeof(t->unit));
		return 1;
	}
	if (value[n1] != ':')
		return 0;
	t->has_lo = true;
	t->lo = own_unit(v1, u1, l1, t->unit, sizeof(t->unit));
	if (value[n1 + 1] == '\0')
		return 1;
	n2 = range_token(value + n1 + 1, &v2, &u2, &l2);
	if (n2 == 0 || value[n1 + 1 + n2] != '\0')
		return 0;
	t->has_hi = true;
	t->hi = scale_to((double) v2, u2, l2, t->unit, &unit2);
	if (strcmp(unit2, t->unit) != 0)
		return -1;
	return 1;
}

bool
pprof_tagfilter_parse(const PprofEnv *env, const char *text, PprofTagFilter *out,
					  PprofRegex *(*compile) (void *arg, const char *re, size_t len),
					  void *arg, const char **why)
{
	const char *eq = strchr(text, '=');
	const char *value = text;
	int			r;

	memset(out, 0, sizeof(*out));
	out->present = true;
	*why = NULL;
	if (eq)
	{
		out->key.data = (const uint8_t *) text;
		out->key.len = (size_t) (eq - text);
		value = eq + 1;
	}

	r = parse_range(value, out);
	if (r < 0)
	{
		*why = "The two ends of the range have units of different kinds.";
		return false;
	}
	if (r > 0)
	{
		out->numeric = true;
		return true;
	}
	out->has_lo = out->has_hi = false;

	/* comma-separated regexes */
	{
		int			n = 1;
		const char *s = value;

		for (const char *c = value; *c; c++)
			n += *c == ',';
		out->regexes = xalloc(env, n * sizeof(PprofRegex));
		for (int i = 0; i < n; i++)
		{
			const char *e = strchr(s, ',');
			size_t		len = e ? (size_t) (e - s) : strlen(s);
			PprofRegex *re = compile(arg, s, len);

			out->regexes[out->n_regexes++] = *re;
			s += len + 1;
		}
	}
	return true;
}

/*
 * Profile.NumLabelUnits: per key, the first unit any sample gives it; keys
 * with none are "bytes" for alignment and request, else the key itself.
 */
static PprofStr
label_unit(const PprofProfile *p, PprofStr key)
{
	static const char bytes[] = "bytes";

	for (size_t i = 0; i < p->n_labels; i++)
	{
		const PprofLabel *l = &p->labels[i];
		PprofStr	k;

		if (l->str != 0 || l->num_unit == 0)
			continue;
		k = pprof_str(p, l->key);
		if (k.len == key.len && memcmp(k.data, key.data, k.len) == 0)
			return pprof_str(p, l->num_unit);
	}
	if ((key.len == 9 && memcmp(key.data, "alignment", 9) == 0) ||
		(key.len == 7 && memcmp(key.data, "request", 7) == 0))
		return (PprofStr) {(const uint8_t *) bytes, 5};
	return key;
}

static bool
str_eq(PprofStr a, PprofStr b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* A numeric label value against the range, converted as pprof converts it. */
static bool
in_range(const PprofTagFilter *t, int64_t v, PprofStr unit)
{
	const char *su;
	double		sv = scale_to((double) v, (const char *) unit.data, unit.len, t->unit, &su);

	if (strcmp(su, t->unit) != 0)
		return false;
	return (!t->has_lo || sv >= t->lo) && (!t->has_hi || sv <= t->hi);
}

/* The tag filter's verdict on sample s (compileTagFilter's closures). */
static bool
tag_matches(const PprofEnv *env, const PprofProfile *p, const PprofSample *s,
			const PprofTagFilter *t, char **buf, size_t *bufcap)
{
	const PprofLabel *labels = p->labels + s->label_start;

	if (t->numeric)
	{
		for (uint32_t i = 0; i < s->n_label; i++)
		{
			const PprofLabel *l = &labels[i];

			if (l->str != 0 || (l->num == 0 && l->num_unit == 0))
				continue;
			if (t->key.len > 0 && !str_eq(pprof_str(p, l->key), t->key))
				continue;
			if (in_range(t, l->num, label_unit(p, pprof_str(p, l->key))))
				return true;
		}
		return false;
	}
	if (t->key.len > 0)
	{
		/* any regex matching any value of the key */
		for (int r = 0; r < t->n_regexes; r++)
			for (uint32_t i = 0; i < s->n_label; i++)
				if (labels[i].str != 0 && str_eq(pprof_str(p, labels[i].key), t->key) &&
					t->regexes[r].match(t->regexes[r].ctx, pprof_str(p, labels[i].str)))
					return true;
		return false;
	}
	/* without a key: every regex must match some "key:value" */
	for (int r = 0; r < t->n_regexes; r++)
	{
		bool		found = false;

		for (uint32_t i = 0; i < s->n_label && !found; i++)
		{
			PprofStr	k,
						v,
						kv;

			if (labels[i].str == 0)
				continue;
			k = pprof_str(p, labels[i].key);
			v = pprof_str(p, labels[i].str);
			if (k.len + v.len + 1 > *bufcap)
			{
				*bufcap = (k.len + v.len + 1) * 2;
				*buf = xalloc(env, *bufcap);
			}
			if (k.len)
				memcpy(*buf, k.data, k.len);
			(*buf)[k.len] = ':';
			if (v.len)
				memcpy(*buf + k.len + 1, v.data, v.len);
			kv.data = (const uint8_t *) *buf;
			kv.len = k.len + v.len + 1;
			found = t->regexes[r].match(t->regexes[r].ctx, kv);
		}
		if (!found)
			return false;
	}
	return true;
}

/* ---- applying ---- */

void
pprof_filter_apply(const PprofEnv *env, PprofProfile *p, const PprofFilter *f)
{
	size_t		nloc = p->n_location;
	PprofLocation *locs = xalloc(env, nloc * sizeof(PprofLocation));
	PprofLine  *lines = xalloc(env, (p->n_lines + 1) * sizeof(PprofLine));
	size_t		nlines = 0;
	int8_t	   *fi = xalloc(env, nloc);	/* 1 focus, 0 ignore, -1 neither */
	bool	   *hidden = xalloc(env, nloc);
	bool	   *mark = xalloc(env, nloc);
	uint64_t   *ids = xalloc(env, (p->n_location_ids + 1) * sizeof(uint64_t));
	PprofSample *samples = xalloc(env, (p->n_sample + 1) * sizeof(PprofSample));
	size_t		nids = 0,
				nsamples = 0;
	Cache		cf,
				ci,
				ch,
				cs,
				csf,
				cp;
	bool		any_hidden = false;
	char	   *buf = NULL;
	size_t		bufcap = 0;

	cache_init(env, &cf, f->focus, p->n_string);
	cache_init(env, &ci, f->ignore, p->n_string);
	cache_init(env, &ch, f->hide, p->n_string);
	cache_init(env, &cs, f->show, p->n_string);
	cache_init(env, &csf, f->show_from, p->n_string);
	cache_init(env, &cp, f->prune_from, p->n_string);

	/* FilterSamplesByName: per location */
	for (size_t i = 0; i < nloc; i++)
	{
		const PprofLocation *src = &p->locations[i];
		PprofLocation *l = &locs[i];
		uint32_t	start = (uint32_t) nlines;
		int64_t		mf = mapping_file(p, src);

		if ((i & 0xfff) == 0xfff && env->tick)
			env->tick(env->tick_arg);
		*l = *src;
		hidden[i] = false;
		if (f->ignore && loc_matches(p, &ci, src, p->lines))
			fi[i] = 0;
		else if (!f->focus || loc_matches(p, &cf, src, p->lines))
			fi[i] = 1;
		else
			fi[i] = -1;

		/* lines that survive hide, then show */
		for (uint32_t j = 0; j < src->n_line; j++)
		{
			const PprofLine *ln = &p->lines[src->line_start + j];

			if (f->hide && loc_matches(p, &ch, src, p->lines) &&
				((mf >= 0 && str_matches(p, &ch, mf)) || line_matches(p, &ch, ln)))
				continue;
			if (f->show && !(mf >= 0 && str_matches(p, &cs, mf)) && !line_matches(p, &cs, ln))
				continue;
			lines[nlines++] = *ln;
		}
		l->line_start = start;
		l->n_line = (uint32_t) (nlines - start);
		if (f->hide && l->n_line == 0 && loc_matches(p, &ch, src, p->lines))
			hidden[i] = true;
		if (f->show && l->n_line == 0)
			hidden[i] = true;
		any_hidden = any_hidden || hidden[i];
	}

	/* ShowFrom: per location, keep lines up to the outermost match */
	if (f->show_from)
	{
		for (size_t i = 0; i < nloc; i++)
		{
			PprofLocation *l = &locs[i];
			int64_t		mf = mapping_file(p, l);

			mark[i] = false;
			if (mf >= 0 && str_matches(p, &csf, mf))
			{
				mark[i] = true;
				continue;
			}
			for (uint32_t j = l->n_line; j-- > 0;)
			{
				if (line_matches(p, &csf, &lines[l->line_start + j]))
				{
					l->n_line = j + 1;
					mark[i] = true;
					break;
				}
			}
		}
	}

	for (size_t s = 0; s < p->n_sample; s++)
	{
		const PprofSample *src = &p->samples[s];
		PprofSample out = *src;
		bool		focused = false,
					ignored = false;
		size_t		start = nids;

		if ((s & 0xfff) == 0xfff && env->tick)
			env->tick(env->tick_arg);
		/* focusedAndNotIgnored */
		for (uint32_t j = 0; j < src->n_loc && !ignored; j++)
		{
			uint32_t	li = (uint32_t) pprof_idmap_find(&p->location_map, p->location_ids[src->loc_start + j]);

			if (fi[li] == 0)
				ignored = true;
			else if (fi[li] == 1)
				focused = true;
		}
		if (ignored || !focused)
			continue;
		for (uint32_t j = 0; j < src->n_loc; j++)
		{
			uint64_t	id = p->location_ids[src->loc_start + j];
			uint32_t	li = (uint32_t) pprof_idmap_find(&p->location_map, id);

			if (!any_hidden || !hidden[li])
				ids[nids++] = id;
		}
		if (any_hidden && nids == start)
			continue;
		out.loc_start = (uint32_t) start;
		out.n_loc = (uint32_t) (nids - start);

		/* ShowFrom: cut above the root-most matching location */
		if (f->show_from)
		{
			int64_t		keep = -1;

			for (uint32_t j = out.n_loc; j-- > 0;)
			{
				uint32_t	li = (uint32_t) pprof_idmap_find(&p->location_map, ids[out.loc_start + j]);

				if (mark[li])
				{
					keep = j;
					break;
				}
			}
			if (keep < 0)
			{
				nids = start;
				continue;
			}
			out.n_loc = (uint32_t) keep + 1;
			nids = start + out.n_loc;
		}

		/* FilterSamplesByTag */
		if (f->tagfocus.present && !tag_matches(env, p, src, &f->tagfocus, &buf, &bufcap))
		{
			nids = start;
			continue;
		}
		if (f->tagignore.present && tag_matches(env, p, src, &f->tagignore, &buf, &bufcap))
		{
			nids = start;
			continue;
		}
		samples[nsamples++] = out;
	}

	/* PruneFrom: drop frames beneath the first (leaf-side) match */
	if (f->prune_from)
	{
		for (size_t i = 0; i < nloc; i++)
		{
			PprofLocation *l = &locs[i];

			mark[i] = false;
			for (uint32_t j = 0; j < l->n_line; j++)
			{
				const PprofFunction *fn = line_function(p, &lines[l->line_start + j]);
				PprofStr	name = pprof_str(p, fn->name);

				if (name.len == 0)
					continue;
				if (f->prune_from->match(f->prune_from->ctx, simplify(name)))
				{
					mark[i] = true;
					l->line_start += j;
					l->n_line -= j;
					break;
				}
			}
		}
		for (size_t s = 0; s < nsamples; s++)
		{
			PprofSample *smp = &samples[s];

			for (uint32_t j = 0; j < smp->n_loc; j++)
			{
				uint32_t	li = (uint32_t) pprof_idmap_find(&p->location_map, ids[smp->loc_start + j]);

				if (mark[li])
				{
					smp->loc_start += j;
					smp->n_loc -= j;
					break;
				}
			}
		}
	}

	p->locations = locs;
	p->lines = lines;
	p->n_lines = nlines;
	p->location_ids = ids;
	p->n_location_ids = nids;
	p->samples = samples;
	p->n_sample = nsamples;
}
