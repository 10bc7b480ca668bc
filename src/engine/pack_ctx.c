/*-------------------------------------------------------------------------
 *
 * pack_ctx.c
 *	  A stack's location ids coded from the id before each (pack_ctx.h).
 *
 * The coder looks pairs up in an open-addressing table, (prev, id) → k;
 * the decoder keeps per prev the ids seen after it in order, in one pool,
 * and reads the k-th (its hot path: an array read, where a hash table's
 * probe into megabytes missed the cache on every id). Per prev, an array
 * indexed by the id (ids are under 2^16, grown to the largest seen) holds
 * the count and the decoder's list.
 *
 * Entries count only in the part (profile) that wrote them: starting a
 * part is a counter's step, not a clearing. A table slot of another part
 * is empty to lookups and inserts alike (linear probing stays sound, since
 * within a part no slot empties); a prev of another part has no ids yet;
 * the pool starts over. Memory grows with one part's pairs.
 *
 * Why our own code: a hash table and lists over 16-bit ids; zstd has no
 * order-1 model over 16-bit symbols to hand this to.
 *
 * src/engine/pack_ctx.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "pack_ctx.h"

#define PACK_CTX_IDS	65536
#define PACK_CTX_FIRST	1024

static inline size_t
slot_of(uint32_t key, size_t mask)
{
	return (size_t) ((key * UINT32_C(0x9E3779B1)) >> 8) & mask;
}

/* The coder's entry for key in this part, or NULL; *free_slot: where it would go. */
static inline PackCtxEntry *
lookup(PackCtx *c, uint32_t key, size_t *free_slot)
{
	size_t		mask = c->cap - 1;
	uint16_t	gen = (uint16_t) c->part;

	for (size_t i = slot_of(key, mask);; i = (i + 1) & mask)
	{
		PackCtxEntry *e = &c->tab[i];

		if (e->gen != gen)
		{
			*free_slot = i;
			return NULL;
		}
		if (e->key == key)
			return e;
	}
}

static void
grow_tab(PackCtx *c)
{
	size_t		cap = c->cap * 2,
				mask = cap - 1;
	uint16_t	gen = (uint16_t) c->part;
	PackCtxEntry *tab = pprof_alloc0_array(c->env, cap, sizeof(PackCtxEntry));

	for (size_t j = 0; j < c->cap; j++)
	{
		size_t		i;

		if (c->tab[j].gen != gen)
			continue;
		for (i = slot_of(c->tab[j].key, mask); tab[i].gen == gen; i = (i + 1) & mask)
			;
		tab[i] = c->tab[j];
	}
	pprof_free(c->env, c->tab);
	c->tab = tab;
	c->cap = cap;
}

/* arr (*n elements of elem bytes) grown, doubling from first, to hold want; the new ones zero */
static void *
grow_array(const PprofEnv *env, void *arr, size_t *n, size_t first, size_t want, size_t elem)
{
	size_t		to = *n > 0 ? *n : first;
	uint8_t    *grown;

	while (to < want)
		to *= 2;
	grown = pprof_alloc0_array(env, to, elem);
	if (*n > 0)
		memcpy(grown, arr, *n * elem);
	pprof_free(env, arr);
	*n = to;
	return grown;
}

/* prev's counts, this part's (prev < 2^16) */
static inline PackCtxPrev *
prev_of(PackCtx *c, uint32_t prev)
{
	PackCtxPrev *p;

	if (prev >= c->nprevs)
		c->prevs = grow_array(c->env, c->prevs, &c->nprevs, 256, prev + 1, sizeof(PackCtxPrev));
	p = &c->prevs[prev];
	if (p->gen != c->part)
	{
		p->gen = c->part;
		p->n = 0;
		p->cap = 0;
	}
	return p;
}

void
pack_ctx_init(PackCtx *c, const PprofEnv *env)
{
	memset(c, 0, sizeof(*c));
	c->env = env;
	c->part = 1;
}

void
pack_ctx_reset(PackCtx *c)
{
	c->live = 0;
	c->max = 0;
	c->pool_len = 0;
	c->part++;
	if ((uint16_t) c->part == 0)
	{
		/* the table's generations wrap every 2^16 parts: its entries are all of another part */
		if (c->tab)
			memset(c->tab, 0, c->cap * sizeof(PackCtxEntry));
		if (c->part == 0 && c->prevs)
			memset(c->prevs, 0, c->nprevs * sizeof(PackCtxPrev));
		c->part++;
	}
}

void
pack_ctx_free(PackCtx *c)
{
	pprof_free(c->env, c->tab);
	pprof_free(c->env, c->prevs);
	pprof_free(c->env, c->pool);
	memset(c, 0, sizeof(*c));
}

uint64_t
pack_ctx_encode(PackCtx *c, uint32_t prev, uint32_t id)
{
	size_t		i;
	PackCtxEntry *e;
	PackCtxPrev *p;
	uint64_t	sym;

	if (c->tab == NULL)
	{
		c->cap = PACK_CTX_FIRST;
		c->tab = pprof_alloc0_array(c->env, c->cap, sizeof(PackCtxEntry));
	}
	if ((e = lookup(c, prev << 16 | id, &i)) != NULL)
		return 2 + (uint64_t) e->k;
	sym = id == c->max + 1 ? 1 : 0;
	/* a new pair: the next k of prev (at most 2^16 distinct ids follow it) */
	p = prev_of(c, prev);
	if ((c->live + 1) * 2 > c->cap)
	{
		grow_tab(c);
		(void) lookup(c, prev << 16 | id, &i);
	}
	c->tab[i].key = prev << 16 | id;
	c->tab[i].k = (uint16_t) p->n++;
	c->tab[i].gen = (uint16_t) c->part;
	c->live++;
	if (id > c->max)
		c->max = id;
	return sym;
}

bool
pack_ctx_decode(PackCtx *c, uint32_t prev, uint64_t sym, uint32_t *id)
{
	PackCtxPrev *p;

	if (sym >= 2)
	{
		if (prev >= c->nprevs || (p = &c->prevs[prev])->gen != c->part || sym - 2 >= p->n)
			return false;
		*id = c->pool[p->off + (sym - 2)];
		return true;
	}
	if (sym == 1)
		*id = c->max + 1;
	if (*id >= PACK_CTX_IDS)
		return false;
	p = prev_of(c, prev);
	if (p->n >= PACK_CTX_IDS)
		return false;
	if (p->n == p->cap)
	{
		/* prev's list moves to the pool's end, twice as long (what it leaves behind is at most as much) */
		uint32_t	cap = p->cap > 0 ? p->cap * 2 : 4;

		if (c->pool_cap - c->pool_len < cap)
			c->pool = grow_array(c->env, c->pool, &c->pool_cap, 4096, c->pool_len + cap, sizeof(uint16_t));
		if (p->n > 0)
			memcpy(c->pool + c->pool_len, c->pool + p->off, p->n * sizeof(uint16_t));
		p->off = (uint32_t) c->pool_len;
		p->cap = cap;
		c->pool_len += cap;
	}
	c->pool[p->off + p->n++] = (uint16_t) *id;
	if (*id > c->max)
		c->max = *id;
	return true;
}
