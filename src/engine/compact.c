/*-------------------------------------------------------------------------
 *
 * compact.c
 *	  What a merged profile keeps, as Go's Merge leaves it (profile.go's
 *	  Compact is a Merge of one): samples whose values sum to zero are
 *	  dropped, and with them the locations, functions and mappings only
 *	  they referenced; what stays is numbered in the order samples first
 *	  reference it, the first mapping (the main binary) staying first.
 *
 * src/engine/compact.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "merger.h"

void
pprof_merger_compact(const PprofMerger *m, const PprofEnv *env, int64_t divisor, Compaction *c)
{
	double		ratio = divisor > 1 ? 1.0 / (double) divisor : 1.0;

	memset(c, 0, sizeof(*c));
	c->loc_new = pprof_alloc0_array(env, m->n_locations, sizeof(uint32_t));
	c->fn_new = pprof_alloc0_array(env, m->n_functions, sizeof(uint32_t));
	c->map_new = pprof_alloc0_array(env, m->n_mappings, sizeof(uint32_t));
	c->loc_order = pprof_alloc_array(env, m->n_locations, sizeof(uint32_t));
	c->fn_order = pprof_alloc_array(env, m->n_functions, sizeof(uint32_t));
	c->map_order = pprof_alloc_array(env, m->n_mappings, sizeof(uint32_t));
	c->keep = pprof_alloc_array(env, m->n_samples, sizeof(bool));
	c->values = pprof_alloc_array(env, m->n_values + 1, sizeof(int64_t));

	/* values (divided for averages, rounded as pprof's Scale) and which samples survive */
	for (size_t s = 0; s < m->n_samples; s++)
	{
		bool		nz = false;

		for (size_t i = 0; i < m->n_types; i++)
		{
			int64_t		v = m->values[s * m->n_types + i];

			if (divisor > 1)
				v = (int64_t) round((double) v * ratio);
			c->values[s * m->n_types + i] = v;
			nz = nz || v != 0;
		}
		c->keep[s] = nz;
	}

	/* Renumber what the kept samples reference, in first-seen order. */
	if (m->n_mappings > 0)
	{
		c->map_order[c->n_map] = 0;
		c->map_new[0] = (uint32_t) ++c->n_map;
	}
	for (size_t s = 0; s < m->n_samples; s++)
	{
		const MSample *ms = &m->samples[s];

		if (!c->keep[s])
			continue;
		if ((s & 0xfff) == 0xfff)
			pprof_tick(env);
		for (uint32_t j = 0; j < ms->n_loc; j++)
		{
			uint32_t	l = m->sample_locs[ms->loc_start + j];
			const MLocation *ml = &m->locations[l];

			if (c->loc_new[l])
				continue;
			c->loc_order[c->n_loc] = l;
			c->loc_new[l] = (uint32_t) ++c->n_loc;
			if (ml->mapping && !c->map_new[ml->mapping - 1])
			{
				c->map_order[c->n_map] = ml->mapping - 1;
				c->map_new[ml->mapping - 1] = (uint32_t) ++c->n_map;
			}
			for (uint32_t k = 0; k < ml->n_line; k++)
			{
				uint32_t	f = m->lines[ml->line_start + k].function;

				if (!c->fn_new[f])
				{
					c->fn_order[c->n_fn] = f;
					c->fn_new[f] = (uint32_t) ++c->n_fn;
				}
			}
		}
	}
}
