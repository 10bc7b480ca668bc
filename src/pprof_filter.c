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
#include <stdlib.h>
#include <string.h>

#include "pprof_filter.h"

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

static bool
parse_int(const char *s, size_t n, int64_t *out)
{
	char		buf[32];
	char	   *end;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*out = strtoll(buf, &end, 10);
	return *end == '\0';
}

/* A numeric token: [+-]digits followed by letters (a unit) or nothing. */
static bool
numeric_token(const char *s, size_t n, bool *has_unit)
{
	size_t		i = 0,
				digits = 0;

	if (n > 0 && (s[0] == '+' || s[0] == '-'))
		i++;
	while (i < n && isdigit((unsigned char) s[i]))
	{
		i++;
		digits++;
	}
	*has_unit = i < n;
	while (i < n && (isalnum((unsigned char) s[i]) || s[i] == '_'))
		i++;
	return digits > 0 && i == n;
}

bool
pprof_tagfilter_parse(const PprofEnv *env, const char *text, PprofTagFilter *out,
					  PprofRegex *(*compile) (void *arg, const char *re, size_t len),
					  void *arg, const char **why)
{
	const char *eq = strchr(text, '=');
	const char *value = text;
	const char *colon;
	size_t		vlen;
	bool		u1 = false,
				u2 = false;

	memset(out, 0, sizeof(*out));
	out->present = true;
	*why = NULL;
	if (eq)
	{
		out->key.data = (const uint8_t *) text;
		out->key.len = (size_t) (eq - text);
		value = eq + 1;
	}
	vlen = strlen(value);
	colon = strchr(value, ':');

	/* numeric range: N, N:, :N, N:M */
	if (colon == NULL ? numeric_token(value, vlen, &u1) :
		((colon == value || numeric_token(value, (size_t) (colon - value), &u1)) &&
		 (colon[1] == '\0' || numeric_token(colon + 1, strlen(colon + 1), &u2)) &&
		 !(colon == value && colon[1] == '\0') && strchr(colon + 1, ':') == NULL))
	{
		if (u1 || u2)
		{
			*why = "Numeric tag ranges with units are not supported; ranges without a unit match numeric labels that have no unit.";
			return false;
		}
		out->numeric = true;
		if (colon == NULL)
		{
			parse_int(value, vlen, &out->lo);
			out->hi = out->lo;
			out->has_lo = out->has_hi = true;
		}
		else
		{
			if (colon != value)
				out->has_lo = parse_int(value, (size_t) (colon - value), &out->lo);
			if (colon[1] != '\0')
				out->has_hi = parse_int(colon + 1, strlen(colon + 1), &out->hi);
		}
		return true;
	}

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

static bool
str_eq(PprofStr a, PprofStr b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static bool
in_range(const PprofTagFilter *t, int64_t v)
{
	return (!t->has_lo || v >= t->lo) && (!t->has_hi || v <= t->hi);
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

			/*
			 * Only labels without a unit: pprof converts a label's unit to
			 * the range's, and profefe does not implement unit conversion.
			 */
			if (l->str != 0 || (l->num == 0 && l->num_unit == 0) || l->num_unit != 0)
				continue;
			if (t->key.len > 0 && !str_eq(pprof_str(p, l->key), t->key))
				continue;
			if (in_range(t, l->num))
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
