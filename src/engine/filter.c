/*-------------------------------------------------------------------------
 *
 * filter.c
 *	  pprof's name filters (Go's profile/filter.go): FilterSamplesByName
 *	  (-focus -ignore -hide -show) and ShowFrom (-show_from), and the order
 *	  the CLI applies every filter in (driver applyFocus). Regexes are
 *	  unanchored searches in function names, file names and mapping files;
 *	  each distinct string is matched once per regex and the answer cached.
 *
 * src/engine/filter.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "filter.h"

/* A regex's answers per string-table index. */
typedef struct Cache
{
	const PprofRegex *re;
	int8_t	   *by_string;		/* -1 unknown, 0 no, 1 yes */
} Cache;

static void
cache_init(const PprofEnv *env, Cache *c, const PprofRegex *re, size_t nstr)
{
	c->re = re;
	c->by_string = NULL;
	if (re)
	{
		c->by_string = pprof_alloc(env, nstr);
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

/* The string index of a location's mapping file, or -1 without a mapping. */
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
	const PprofFunction *f = pprof_line_function(p, ln);

	return str_matches(p, c, f->name) || str_matches(p, c, f->filename);
}

/* Location.matchesName: a line or the mapping file matches. */
static bool
loc_matches(const PprofProfile *p, Cache *c, const PprofLocation *l)
{
	int64_t		mf = mapping_file(p, l);

	for (uint32_t j = 0; j < l->n_line; j++)
		if (line_matches(p, c, &p->lines[l->line_start + j]))
			return true;
	return mf >= 0 && str_matches(p, c, mf);
}

/* ---- FilterSamplesByName ---- */

void
pprof_filter_by_name(const PprofEnv *env, PprofProfile *p, const PprofFilter *f)
{
	size_t		nloc = p->n_location;
	PprofLocation *locs;
	PprofLine  *lines;
	int8_t	   *fi;				/* per location: 1 focus, 0 ignore, -1 neither */
	bool	   *hidden;
	uint64_t   *ids;
	PprofSample *samples;
	size_t		nlines = 0,
				nids = 0,
				nsamples = 0;
	bool		any_hidden = false;
	Cache		cf,
				ci,
				ch,
				cs;

	if (!f->focus && !f->ignore && !f->hide && !f->show)
		return;
	locs = pprof_alloc_array(env, nloc, sizeof(PprofLocation));
	lines = pprof_alloc_array(env, p->n_lines + 1, sizeof(PprofLine));
	fi = pprof_alloc(env, nloc);
	hidden = pprof_alloc0_array(env, nloc, sizeof(bool));
	ids = pprof_alloc_array(env, p->n_location_ids + 1, sizeof(uint64_t));
	samples = pprof_alloc_array(env, p->n_sample + 1, sizeof(PprofSample));
	cache_init(env, &cf, f->focus, p->n_string);
	cache_init(env, &ci, f->ignore, p->n_string);
	cache_init(env, &ch, f->hide, p->n_string);
	cache_init(env, &cs, f->show, p->n_string);

	for (size_t i = 0; i < nloc; i++)
	{
		const PprofLocation *src = &p->locations[i];
		PprofLocation *l = &locs[i];
		uint32_t	start = (uint32_t) nlines;
		int64_t		mf = mapping_file(p, src);
		bool		hide_matches = f->hide && loc_matches(p, &ch, src);

		if ((i & 0xfff) == 0xfff)
			pprof_tick(env);
		*l = *src;
		if (f->ignore && loc_matches(p, &ci, src))
			fi[i] = 0;
		else if (!f->focus || loc_matches(p, &cf, src))
			fi[i] = 1;
		else
			fi[i] = -1;

		/* the lines that survive -hide (unmatchedLines), then -show (matchedLines) */
		for (uint32_t j = 0; j < src->n_line; j++)
		{
			const PprofLine *ln = &p->lines[src->line_start + j];

			if (hide_matches && ((mf >= 0 && str_matches(p, &ch, mf)) || line_matches(p, &ch, ln)))
				continue;
			if (f->show && !(mf >= 0 && str_matches(p, &cs, mf)) && !line_matches(p, &cs, ln))
				continue;
			lines[nlines++] = *ln;
		}
		l->line_start = start;
		l->n_line = (uint32_t) (nlines - start);
		hidden[i] = l->n_line == 0 && (hide_matches || f->show);
		any_hidden = any_hidden || hidden[i];
	}

	for (size_t s = 0; s < p->n_sample; s++)
	{
		const PprofSample *src = &p->samples[s];
		bool		focused = false,
					ignored = false;
		size_t		start = nids;

		if ((s & 0xfff) == 0xfff)
			pprof_tick(env);
		/* focusedAndNotIgnored */
		for (uint32_t j = 0; j < src->n_loc && !ignored; j++)
		{
			uint32_t	li = pprof_sample_loc(p, s, j);

			if (fi[li] == 0)
				ignored = true;
			else if (fi[li] == 1)
				focused = true;
		}
		if (ignored || !focused)
			continue;
		for (uint32_t j = 0; j < src->n_loc; j++)
			if (!hidden[pprof_sample_loc(p, s, j)])
				ids[nids++] = p->location_ids[src->loc_start + j];
		if (any_hidden && nids == start)
			continue;			/* no location left: the sample goes */
		samples[nsamples] = *src;
		samples[nsamples].loc_start = (uint32_t) start;
		samples[nsamples].n_loc = (uint32_t) (nids - start);
		nsamples++;
	}
	p->locations = locs;
	p->lines = lines;
	p->n_lines = nlines;
	p->location_ids = ids;
	p->n_location_ids = nids;
	p->samples = samples;
	p->n_sample = nsamples;
}

/* ---- a focused total ---- */

PprofStatus
pprof_total_focused(const PprofEnv *env, const PprofProfile *p, const PprofRegex *re, int idx,
				  int64_t *total, PprofError *err)
{
	int8_t	   *focus = pprof_alloc(env, p->n_location + 1);	/* -1 unknown, 0 no, 1 yes */
	Cache		c;

	*total = 0;
	memset(focus, -1, p->n_location + 1);
	cache_init(env, &c, re, p->n_string);
	for (size_t s = 0; s < p->n_sample; s++)
	{
		const PprofSample *smp = &p->samples[s];
		bool		kept = false;

		if ((s & 0xfff) == 0xfff)
			pprof_tick(env);
		for (uint32_t j = 0; j < smp->n_loc && !kept; j++)
		{
			uint32_t	li = pprof_sample_loc(p, s, j);

			if (focus[li] < 0)
				focus[li] = loc_matches(p, &c, &p->locations[li]) ? 1 : 0;
			kept = focus[li] == 1;
		}
		if (kept && __builtin_add_overflow(*total, pprof_sample_values(p, s)[idx], total))
			return pprof_error(err, PPROF_OVERFLOW,
							   "The total of the focused samples does not fit in 64 bits.");
	}
	return PPROF_OK;
}

/* ---- ShowFrom ---- */

void
pprof_show_from(const PprofEnv *env, PprofProfile *p, const PprofRegex *re)
{
	size_t		nloc = p->n_location;
	PprofLocation *locs;
	bool	   *mark;
	PprofSample *samples;
	size_t		nsamples = 0;
	Cache		c;

	if (re == NULL)
		return;
	locs = pprof_alloc_array(env, nloc, sizeof(PprofLocation));
	mark = pprof_alloc0_array(env, nloc, sizeof(bool));
	samples = pprof_alloc_array(env, p->n_sample + 1, sizeof(PprofSample));
	cache_init(env, &c, re, p->n_string);

	/* filterShowFromLocation: a matching mapping keeps every line, else lines up to the outermost match */
	for (size_t i = 0; i < nloc; i++)
	{
		PprofLocation *l = &locs[i];
		int64_t		mf;

		*l = p->locations[i];
		mf = mapping_file(p, l);
		if (mf >= 0 && str_matches(p, &c, mf))
		{
			mark[i] = true;
			continue;
		}
		for (uint32_t j = l->n_line; j-- > 0;)
		{
			if (line_matches(p, &c, &p->lines[l->line_start + j]))
			{
				l->n_line = j + 1;
				mark[i] = true;
				break;
			}
		}
	}
	/* each sample loses the locations above its root-most match, or goes */
	for (size_t s = 0; s < p->n_sample; s++)
	{
		const PprofSample *src = &p->samples[s];

		for (uint32_t j = src->n_loc; j-- > 0;)
		{
			if (mark[pprof_sample_loc(p, s, j)])
			{
				samples[nsamples] = *src;
				samples[nsamples].n_loc = j + 1;
				nsamples++;
				break;
			}
		}
	}
	p->locations = locs;
	p->samples = samples;
	p->n_sample = nsamples;
}

/* ---- the CLI's order ---- */

void
pprof_filter_apply(const PprofEnv *env, PprofProfile *p, const PprofFilter *f)
{
	pprof_filter_by_name(env, p, f);
	pprof_show_from(env, p, f->show_from);
	pprof_filter_by_tag(env, p, &f->tagfocus, &f->tagignore);
	pprof_prune_from(env, p, f->prune_from);
}
