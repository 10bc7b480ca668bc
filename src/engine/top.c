/*-------------------------------------------------------------------------
 *
 * top.c
 *	  `go tool pprof -top -nodefraction=0` at functions granularity.
 *
 * Mirrors pprof's graph construction (internal/graph newGraph): samples
 * whose value is 0 are skipped; each sample is walked root to leaf, and
 * within a location its inlined lines outer to inner; each distinct node
 * of the sample gets the value added to cum once (recursion is not counted
 * twice); flat goes to the last node visited, the innermost line of the
 * leaf location. Rows with flat = cum = 0 are dropped and the rest sorted
 * as the text report sorts them: |flat| descending, then name, then |cum|
 * descending. The total is pprof's: the sum of |value|, or of the
 * diff-base samples' |value| when a profile carries pprof::base=true
 * samples.
 *
 * src/engine/top.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

static int64_t
abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

/* Does sample s carry the string label pprof::base=true (its first value)? */
static bool
is_diff_base(const PprofProfile *p, size_t s)
{
	const PprofSample *smp = &p->samples[s];

	for (uint32_t i = 0; i < smp->n_label; i++)
	{
		const PprofLabel *l = &p->labels[smp->label_start + i];

		/* Go keeps a key's values in order and tests the first one */
		if (l->str != 0 && pprof_str_is(pprof_str(p, l->key), "pprof::base"))
			return pprof_str_is(pprof_str(p, l->str), "true");
	}
	return false;
}

/* -top's order: |flat| descending, then name, then |cum| descending. */
static int
row_cmp(const void *x, const void *y, void *arg)
{
	const PprofStr *names = arg;
	const PprofTopRow *a = x,
			   *b = y;
	int64_t		fa = abs64(a->flat),
				fb = abs64(b->flat);
	int			c;

	if (fa != fb)
		return fa > fb ? -1 : 1;
	c = pprof_str_cmp(names[a->frame], names[b->frame]);
	if (c != 0)
		return c;
	fa = abs64(a->cum);
	fb = abs64(b->cum);
	if (fa != fb)
		return fa > fb ? -1 : 1;
	return a->frame < b->frame ? -1 : a->frame > b->frame;
}

PprofStatus
pprof_compute_top(const PprofEnv *env, const PprofProfile *p, int idx, PprofTop *out,
				  PprofError *err)
{
	size_t		nf;
	int64_t    *flat,
			   *cum;
	uint32_t   *stamp;
	int64_t		total = 0,
				diff_total = 0;
	bool		overflow = false;
	size_t		nrows = 0;

	memset(out, 0, sizeof(*out));
	pprof_frames_build(env, p, PPROF_NAMES_FUNCTIONS, &out->frames);
	nf = out->frames.n_frames;
	flat = pprof_alloc0_array(env, nf + 1, sizeof(int64_t));
	cum = pprof_alloc0_array(env, nf + 1, sizeof(int64_t));
	stamp = pprof_alloc0_array(env, nf + 1, sizeof(uint32_t));

	/* The total first: with it bounded, no node sum can overflow. */
	for (size_t s = 0; s < p->n_sample; s++)
	{
		int64_t		v = abs64(pprof_sample_values(p, s)[idx]);

		if (pprof_sample_values(p, s)[idx] == INT64_MIN ||
			__builtin_add_overflow(total, v, &total))
			overflow = true;
		if (is_diff_base(p, s) && __builtin_add_overflow(diff_total, v, &diff_total))
			overflow = true;
	}
	if (overflow)
	{
		return pprof_error(err, PPROF_OVERFLOW,
						   "The sum of the absolute values of the sample type does not fit in 64 bits.");
	}
	out->total = diff_total > 0 ? diff_total : total;

	for (size_t s = 0; s < p->n_sample; s++)
	{
		const PprofSample *smp = &p->samples[s];
		int64_t		w = pprof_sample_values(p, s)[idx];
		uint32_t	mark = (uint32_t) s + 1;
		int64_t		last = -1;

		if (w == 0)
			continue;
		if ((s & 0x3fff) == 0x3fff)
			pprof_tick(env);
		for (size_t j = smp->n_loc; j-- > 0;)
		{
			uint32_t	li = pprof_sample_loc(p, s, j);
			uint32_t	start = out->frames.loc_start[li];

			for (uint32_t k = out->frames.loc_count[li]; k-- > 0;)
			{
				uint32_t	f = out->frames.slot_frame[start + k];

				if (stamp[f] != mark)
				{
					stamp[f] = mark;
					cum[f] += w;
				}
				last = f;
			}
		}
		if (last >= 0)
			flat[last] += w;
	}

	out->rows = pprof_alloc_array(env, nf + 1, sizeof(PprofTopRow));
	for (size_t f = 0; f < nf; f++)
	{
		if (flat[f] == 0 && cum[f] == 0)
			continue;
		out->rows[nrows].frame = (uint32_t) f;
		out->rows[nrows].flat = flat[f];
		out->rows[nrows].cum = cum[f];
		nrows++;
	}
	pprof_tick(env);
	pprof_sort(out->rows, nrows, sizeof(PprofTopRow), row_cmp, out->frames.names);
	out->n_rows = nrows;
	return PPROF_OK;
}
