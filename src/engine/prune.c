/*-------------------------------------------------------------------------
 *
 * prune.c
 *	  pprof's -prune_from (Go's profile/prune.go PruneFrom): every stack
 *	  loses the frames beneath the first (leaf-side) function whose
 *	  simplified name matches.
 *
 * src/engine/prune.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "filter.h"

/*
 * simplifyFunc: drop a leading '.' (the PPC ELF v1 ABI), cut at the first
 * '(' that does not start "(anonymous namespace)" or "operator()".
 */
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

void
pprof_prune_from(const PprofEnv *env, PprofProfile *p, const PprofRegex *re)
{
	size_t		nloc = p->n_location;
	PprofLocation *locs;
	bool	   *prune_beneath;
	PprofSample *samples;

	if (re == NULL)
		return;
	locs = pprof_alloc_array(env, nloc, sizeof(PprofLocation));
	prune_beneath = pprof_alloc0_array(env, nloc, sizeof(bool));
	samples = pprof_alloc_array(env, p->n_sample + 1, sizeof(PprofSample));

	/* a location keeps its lines from the first match outwards */
	for (size_t i = 0; i < nloc; i++)
	{
		PprofLocation *l = &locs[i];

		*l = p->locations[i];
		if ((i & 0xfff) == 0xfff)
			pprof_tick(env);
		for (uint32_t j = 0; j < l->n_line; j++)
		{
			PprofStr	name = pprof_str(p, pprof_line_function(p, &p->lines[l->line_start + j])->name);

			if (name.len > 0 && re->match(re->ctx, simplify(name)))
			{
				prune_beneath[i] = true;
				l->line_start += j;
				l->n_line -= j;
				break;
			}
		}
	}
	/* a sample keeps its locations from the first (leaf-side) match to the root */
	for (size_t s = 0; s < p->n_sample; s++)
	{
		PprofSample *smp = &samples[s];

		*smp = p->samples[s];
		for (uint32_t j = 0; j < smp->n_loc; j++)
		{
			if (prune_beneath[pprof_sample_loc(p, s, j)])
			{
				smp->loc_start += j;
				smp->n_loc -= j;
				break;
			}
		}
	}
	p->locations = locs;
	p->samples = samples;
}
