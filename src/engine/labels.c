/*-------------------------------------------------------------------------
 *
 * labels.c
 *	  A sample's labels grouped by key (labels.h).
 *
 * src/engine/labels.c
 *
 *-------------------------------------------------------------------------
 */
#include "labels.h"

/* By key bytes; a key's labels stay in the sample's order. */
static int
label_key_cmp(const void *x, const void *y, void *arg)
{
	const PprofProfile *p = arg;
	const PprofLabel *a = *(const PprofLabel *const *) x;
	const PprofLabel *b = *(const PprofLabel *const *) y;
	int			c = pprof_str_cmp(pprof_str(p, a->key), pprof_str(p, b->key));

	if (c != 0)
		return c;
	return a < b ? -1 : a > b;
}

size_t
pprof_sample_label_runs(const PprofEnv *env, const PprofProfile *p, size_t s, PprofLabelRun **runs)
{
	const PprofSample *smp = &p->samples[s];
	const PprofLabel **ls = pprof_alloc_array(env, smp->n_label, sizeof(PprofLabel *));
	uint32_t	n = 0;
	size_t		nruns = 0;

	for (uint32_t i = 0; i < smp->n_label; i++)
	{
		const PprofLabel *l = &p->labels[smp->label_start + i];

		if (l->str != 0 || l->num != 0 || l->num_unit != 0)
			ls[n++] = l;
	}
	pprof_sort(ls, n, sizeof(PprofLabel *), label_key_cmp, (void *) p);
	*runs = pprof_alloc_array(env, n, sizeof(PprofLabelRun));
	for (uint32_t i = 0; i < n;)
	{
		PprofStr	key = pprof_str(p, ls[i]->key);
		uint32_t	j = i + 1;

		while (j < n && pprof_str_eq(pprof_str(p, ls[j]->key), key))
			j++;
		(*runs)[nruns].key = key;
		(*runs)[nruns].labels = ls + i;
		(*runs)[nruns].n = j - i;
		nruns++;
		i = j;
	}
	return nruns;
}
