/*-------------------------------------------------------------------------
 *
 * merge.c
 *	  Merge profiles as Go's profile.Merge does (github.com/google/pprof,
 *	  profile/merge.go): the state, string interning, and the keys objects
 *	  are deduplicated by. What the merged profile keeps is compact.c's;
 *	  writing it is encode.c's.
 *
 * Keys, as in Go:
 *   mapping   (size rounded up to 4 KiB, file offset, build id or else file)
 *   function  (start line, name, system name, file name)
 *   location  (address relative to its mapping's start, mapping, is_folded,
 *              lines as (function, line, column))
 *   sample    (locations in order, string labels by key with values in
 *              order, numeric labels by key with values and units)
 * A location whose mapping merges into an earlier, differently placed one
 * has its address rebased by the difference of the starts. Samples whose
 * values are all zero are skipped on input. Header: sample and period
 * types, drop/keep frames from the first profile; durations add; the period
 * is the largest; the time is the earliest non-zero one; comments are
 * unioned in order; the default sample type and doc URL are the first
 * non-empty ones.
 *
 * Keys compare interned string ids (merger.h), so two string-table entries
 * with the same bytes - an input may hold "" or a name twice - are one
 * string, as they are to Go, which compares strings.
 *
 * src/engine/merge.c
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "merger.h"

/* ---- memory ---- */

static void *
m_alloc(PprofMerger *m, size_t n)
{
	m->bytes += n;
	return pprof_alloc(&m->env, n);
}

static void
m_free(PprofMerger *m, void *p, size_t n)
{
	if (p != NULL && m->env.alloc.free != NULL)
	{
		pprof_free(&m->env, p);
		m->bytes -= n;
	}
}

/*
 * Makes room for `more` elements in a growable array, counting the bytes.
 * The state's arrays are indexed with 32-bit numbers: one that would hold
 * UINT32_MAX elements or more fails, naming what it holds.
 */
static void *
m_grow(PprofMerger *m, void *arr, size_t n, size_t *cap, size_t more, size_t elem,
	   const char *what)
{
	size_t		before = *cap;
	void	   *narr;

	if (more >= UINT32_MAX || n >= UINT32_MAX - more)
		pprof_fail(&m->env, PPROF_TOO_LARGE, "The merged profile would hold more than %u %s.",
				   UINT32_MAX - 1, what);
	narr = pprof_grow(&m->env, arr, n, cap, more, elem);
	m->bytes += (*cap - before) * elem;
	return narr;
}

#define GROW(m, name, more, what) \
	((m)->name = m_grow((m), (m)->name, (m)->n_##name, &(m)->cap_##name, (more), \
						sizeof(*(m)->name), (what)))

/* ---- hash tables ---- */

static void
htab_init(PprofMerger *m, HTab *t)
{
	t->mask = 255;
	t->used = 0;
	t->hashes = m_alloc(m, 256 * sizeof(uint64_t));
	t->ids = m_alloc(m, 256 * sizeof(uint32_t));
	memset(t->ids, 0, 256 * sizeof(uint32_t));
}

static void
htab_insert(PprofMerger *m, HTab *t, uint64_t h, uint32_t idx)
{
	size_t		i;

	if ((t->used + 1) * 2 > t->mask)
	{
		size_t		nmask = t->mask * 2 + 1;
		uint64_t   *nh = m_alloc(m, (nmask + 1) * sizeof(uint64_t));
		uint32_t   *ni = m_alloc(m, (nmask + 1) * sizeof(uint32_t));

		memset(ni, 0, (nmask + 1) * sizeof(uint32_t));
		for (size_t k = 0; k <= t->mask; k++)
		{
			if (t->ids[k] == 0)
				continue;
			i = (size_t) t->hashes[k] & nmask;
			while (ni[i] != 0)
				i = (i + 1) & nmask;
			ni[i] = t->ids[k];
			nh[i] = t->hashes[k];
		}
		m_free(m, t->hashes, (t->mask + 1) * sizeof(uint64_t));
		m_free(m, t->ids, (t->mask + 1) * sizeof(uint32_t));
		t->hashes = nh;
		t->ids = ni;
		t->mask = nmask;
	}
	i = (size_t) h & t->mask;
	while (t->ids[i] != 0)
		i = (i + 1) & t->mask;
	t->ids[i] = idx + 1;
	t->hashes[i] = h;
	t->used++;
}

/* Iterates the candidates of hash h: call with *pos = SIZE_MAX first. */
static inline int64_t
htab_next(const HTab *t, uint64_t h, size_t *pos)
{
	size_t		i = *pos == SIZE_MAX ? (size_t) h & t->mask : (*pos + 1) & t->mask;

	for (;;)
	{
		uint32_t	id = t->ids[i];

		if (id == 0)
			return -1;
		if (t->hashes[i] == h)
		{
			*pos = i;
			return (int64_t) id - 1;
		}
		i = (i + 1) & t->mask;
	}
}

/* ---- strings ---- */

static uint32_t
intern(PprofMerger *m, const uint8_t *p, size_t n)
{
	uint64_t	h = pprof_hash_mix(pprof_hash_bytes(p, n), n);
	size_t		pos = SIZE_MAX;
	int64_t		id;
	uint32_t	nid;

	while ((id = htab_next(&m->strings, h, &pos)) >= 0)
	{
		if (m->str_len[id] == n &&
			(n == 0 || memcmp(m->pool + m->str_off[id], p, n) == 0))
			return (uint32_t) id;
	}
	if (n >= UINT32_MAX)
		pprof_fail(&m->env, PPROF_TOO_LARGE, "A string of %zu bytes is longer than a merge can hold.", n);
	{
		size_t		before = m->cap_pool;

		m->pool = pprof_grow(&m->env, m->pool, m->n_pool, &m->cap_pool, n, 1);
		m->bytes += m->cap_pool - before;
	}
	if (n > 0)
		memcpy(m->pool + m->n_pool, p, n);
	GROW(m, str_off, 1, "strings");
	GROW(m, str_len, 1, "strings");
	nid = (uint32_t) m->n_str_off;
	m->str_off[m->n_str_off++] = m->n_pool;
	m->str_len[m->n_str_len++] = (uint32_t) n;
	m->n_pool += n;
	htab_insert(m, &m->strings, h, nid);
	return nid;
}

PprofMerger *
pprof_merger_create(const PprofEnv *env)
{
	PprofMerger *m = pprof_alloc(env, sizeof(PprofMerger));

	memset(m, 0, sizeof(*m));
	m->env = *env;
	m->bytes = sizeof(PprofMerger);
	htab_init(m, &m->strings);
	htab_init(m, &m->mapping_tab);
	htab_init(m, &m->function_tab);
	htab_init(m, &m->location_tab);
	htab_init(m, &m->sample_tab);
	intern(m, (const uint8_t *) "", 0);	/* id 0 is "" */
	return m;
}

uint64_t
pprof_merger_count(const PprofMerger *m)
{
	return m->count;
}

void
pprof_merger_set_count(PprofMerger *m, uint64_t count)
{
	m->count = count;
}

size_t
pprof_merger_bytes(const PprofMerger *m)
{
	return m->bytes;
}

/* ---- header ---- */

/* Appends "type/unit" (each cut short) to buf at *off. */
static void
describe_type(char *buf, size_t len, size_t *off, bool first, PprofStr t, PprofStr u)
{
	if (*off < len)
		*off += snprintf(buf + *off, len - *off, "%s%.*s/%.*s", first ? "" : " ",
						 (int) (t.len > 40 ? 40 : t.len), (const char *) t.data,
						 (int) (u.len > 20 ? 20 : u.len), (const char *) u.data);
}

/* The sample types of a profile, or of the merger when p is NULL, as [t/u t/u]. */
static void
describe_types(const PprofMerger *m, const PprofProfile *p, char *buf, size_t len)
{
	size_t		off = (size_t) snprintf(buf, len, "[");
	size_t		n = p ? p->n_sample_type : m->n_types;

	for (size_t i = 0; i < n; i++)
	{
		if (p)
			describe_type(buf, len, &off, i == 0, pprof_str(p, p->sample_types[i].type),
						  pprof_str(p, p->sample_types[i].unit));
		else
			describe_type(buf, len, &off, i == 0, merger_str(m, m->sample_types[2 * i]),
						  merger_str(m, m->sample_types[2 * i + 1]));
	}
	if (off < len)
		snprintf(buf + off, len - off, "]");
}

static PprofStatus
combine_header(PprofMerger *m, const PprofProfile *p, const uint32_t *smap, PprofError *err)
{
	if (!m->have_header)
	{
		m->have_header = true;
		m->n_types = p->n_sample_type;
		m->sample_types = m_alloc(m, (2 * m->n_types + 1) * sizeof(uint32_t));
		for (size_t i = 0; i < m->n_types; i++)
		{
			m->sample_types[2 * i] = smap[p->sample_types[i].type];
			m->sample_types[2 * i + 1] = smap[p->sample_types[i].unit];
		}
		m->period_type[0] = smap[p->period_type.type];
		m->period_type[1] = smap[p->period_type.unit];
		m->drop_frames = smap[p->drop_frames];
		m->keep_frames = smap[p->keep_frames];
	}
	else
	{
		bool		ok = m->n_types == p->n_sample_type;
		char		a[100],
					b[100];

		if (m->period_type[0] != smap[p->period_type.type] ||
			m->period_type[1] != smap[p->period_type.unit])
		{
			PprofStr	t = pprof_str(p, p->period_type.type),
						u = pprof_str(p, p->period_type.unit),
						mt = merger_str(m, m->period_type[0]),
						mu = merger_str(m, m->period_type[1]);

			return pprof_error(err, PPROF_INCOMPATIBLE,
							   "Incompatible period types %.*s/%.*s and %.*s/%.*s.",
							   (int) (mt.len > 40 ? 40 : mt.len), (const char *) mt.data,
							   (int) (mu.len > 40 ? 40 : mu.len), (const char *) mu.data,
							   (int) (t.len > 40 ? 40 : t.len), (const char *) t.data,
							   (int) (u.len > 40 ? 40 : u.len), (const char *) u.data);
		}
		for (size_t i = 0; ok && i < m->n_types; i++)
			ok = m->sample_types[2 * i] == smap[p->sample_types[i].type] &&
				m->sample_types[2 * i + 1] == smap[p->sample_types[i].unit];
		if (!ok)
		{
			describe_types(m, NULL, a, sizeof(a));
			describe_types(m, p, b, sizeof(b));
			return pprof_error(err, PPROF_INCOMPATIBLE, "Incompatible sample types %s and %s.", a, b);
		}
	}
	if (p->time_nanos != 0 && (m->time_nanos == 0 || p->time_nanos < m->time_nanos))
		m->time_nanos = p->time_nanos;
	/* wraps on overflow, like Go's int64 addition */
	m->duration_nanos = (int64_t) ((uint64_t) m->duration_nanos + (uint64_t) p->duration_nanos);
	if (m->period == 0 || m->period < p->period)
		m->period = p->period;
	for (size_t i = 0; i < p->n_comment; i++)
	{
		uint32_t	c = smap[p->comments[i]];
		bool		seen = false;

		for (size_t j = 0; j < m->n_comments && !seen; j++)
			seen = m->comments[j] == c;
		if (!seen)
		{
			GROW(m, comments, 1, "comments");
			m->comments[m->n_comments++] = c;
		}
	}
	if (m->default_sample_type == 0)
		m->default_sample_type = smap[p->default_sample_type];
	if (m->doc_url == 0)
		m->doc_url = smap[p->doc_url];
	return PPROF_OK;
}

/* ---- mappings and functions ---- */

/* Go's mapping key: size rounded up to 4 KiB, offset, build id or file. */
static uint64_t
mapping_hash(uint64_t size, uint64_t offset, uint32_t bof)
{
	return pprof_hash_mix(pprof_hash_mix(pprof_hash_mix(0x6d6170, size), offset), bof);
}

static uint64_t
rounded_size(uint64_t start, uint64_t limit)
{
	uint64_t	size = limit - start;

	size = size + 0x1000 - 1;
	return size - (size % 0x1000);
}

/* The build id, or if that is empty the file: string ids, so "" is 0 however it was spelled. */
static inline uint32_t
build_id_or_file(uint32_t build_id, uint32_t file)
{
	return build_id != 0 ? build_id : file;
}

typedef struct MapInfo
{
	uint32_t	mapping;		/* merged index + 1; 0 = none */
	int64_t		offset;			/* merged start - source start */
	bool		done;
} MapInfo;

static MapInfo
map_mapping(PprofMerger *m, const PprofProfile *p, const uint32_t *smap, size_t si, MapInfo *cache)
{
	const PprofMapping *src = &p->mappings[si];
	uint32_t	bof = build_id_or_file(smap[src->build_id], smap[src->filename]);
	uint64_t	size = rounded_size(src->memory_start, src->memory_limit);
	uint64_t	h = mapping_hash(size, src->file_offset, bof);
	size_t		pos = SIZE_MAX;
	int64_t		id;
	MapInfo		mi;

	if (cache[si].done)
		return cache[si];
	while ((id = htab_next(&m->mapping_tab, h, &pos)) >= 0)
	{
		const MMapping *mm = &m->mappings[id];

		if (rounded_size(mm->start, mm->limit) == size && mm->offset == src->file_offset &&
			build_id_or_file(mm->build_id, mm->file) == bof)
		{
			mi.mapping = (uint32_t) id + 1;
			mi.offset = (int64_t) mm->start - (int64_t) src->memory_start;
			mi.done = true;
			cache[si] = mi;
			return mi;
		}
	}
	GROW(m, mappings, 1, "mappings");
	{
		MMapping   *mm = &m->mappings[m->n_mappings];

		mm->start = src->memory_start;
		mm->limit = src->memory_limit;
		mm->offset = src->file_offset;
		mm->file = smap[src->filename];
		mm->build_id = smap[src->build_id];
		mm->flags = (src->has_functions ? 1 : 0) | (src->has_filenames ? 2 : 0) |
			(src->has_line_numbers ? 4 : 0) | (src->has_inline_frames ? 8 : 0);
	}
	htab_insert(m, &m->mapping_tab, h, (uint32_t) m->n_mappings);
	mi.mapping = (uint32_t) ++m->n_mappings;
	mi.offset = 0;
	mi.done = true;
	cache[si] = mi;
	return mi;
}

static uint32_t
map_function(PprofMerger *m, const PprofProfile *p, const uint32_t *smap, size_t fi, uint32_t *cache)
{
	const PprofFunction *f = &p->functions[fi];
	uint32_t	name = smap[f->name],
				sys = smap[f->system_name],
				file = smap[f->filename];
	uint64_t	h = pprof_hash_mix(pprof_hash_mix(pprof_hash_mix(pprof_hash_mix(0x66756e, (uint64_t) f->start_line),
															   name), sys), file);
	size_t		pos = SIZE_MAX;
	int64_t		id;

	if (cache[fi])
		return cache[fi] - 1;
	while ((id = htab_next(&m->function_tab, h, &pos)) >= 0)
	{
		const MFunction *mf = &m->functions[id];

		if (mf->start_line == f->start_line && mf->name == name && mf->system_name == sys &&
			mf->filename == file)
		{
			cache[fi] = (uint32_t) id + 1;
			return (uint32_t) id;
		}
	}
	GROW(m, functions, 1, "functions");
	m->functions[m->n_functions].start_line = f->start_line;
	m->functions[m->n_functions].name = name;
	m->functions[m->n_functions].system_name = sys;
	m->functions[m->n_functions].filename = file;
	htab_insert(m, &m->function_tab, h, (uint32_t) m->n_functions);
	cache[fi] = (uint32_t) ++m->n_functions;
	return cache[fi] - 1;
}

/* ---- locations ---- */

/* Per-profile tables of one pprof_merger_add, on the scratch environment. */
typedef struct Scratch
{
	const PprofProfile *p;
	const uint32_t *smap;		/* source string index -> merged string id */
	MapInfo    *map_cache;		/* per source mapping */
	uint32_t   *func_cache;		/* per source function: merged index + 1 */
	uint32_t   *loc_cache;		/* per source location: merged index + 1 */
	MLine	   *tmp_lines;
} Scratch;

static uint32_t
map_location(PprofMerger *m, Scratch *sc, size_t li)
{
	const PprofProfile *p = sc->p;
	const PprofLocation *src = &p->locations[li];
	MapInfo		mi = {0, 0, false};
	uint64_t	addr,
				rel,
				h;
	size_t		pos = SIZE_MAX;
	int64_t		id;

	if (sc->loc_cache[li])
		return sc->loc_cache[li] - 1;
	if (src->mapping_id != 0)
	{
		int64_t		si = pprof_idmap_find(&p->mapping_map, src->mapping_id);

		if (si >= 0)
			mi = map_mapping(m, p, sc->smap, (size_t) si, sc->map_cache);
	}
	addr = (uint64_t) ((int64_t) src->address + mi.offset);
	rel = mi.mapping ? addr - m->mappings[mi.mapping - 1].start : addr;
	h = pprof_hash_mix(pprof_hash_mix(pprof_hash_mix(0x6c6f63, rel), mi.mapping), src->is_folded);
	for (uint32_t j = 0; j < src->n_line; j++)
	{
		const PprofLine *ln = &p->lines[src->line_start + j];
		int64_t		fi = pprof_idmap_find(&p->function_map, ln->function_id);

		sc->tmp_lines[j].function = map_function(m, p, sc->smap, (size_t) fi, sc->func_cache);
		sc->tmp_lines[j].line = ln->line;
		sc->tmp_lines[j].column = ln->column;
		h = pprof_hash_mix(pprof_hash_mix(pprof_hash_mix(h, sc->tmp_lines[j].function), (uint64_t) ln->line),
						   (uint64_t) ln->column);
	}
	h = pprof_hash_mix(h, src->n_line);
	while ((id = htab_next(&m->location_tab, h, &pos)) >= 0)
	{
		const MLocation *ml = &m->locations[id];
		uint64_t	mrel = ml->mapping ? ml->address - m->mappings[ml->mapping - 1].start : ml->address;
		bool		same = mrel == rel && ml->mapping == mi.mapping &&
			ml->is_folded == src->is_folded && ml->n_line == src->n_line;

		for (uint32_t j = 0; same && j < src->n_line; j++)
		{
			const MLine *a = &m->lines[ml->line_start + j];

			same = a->function == sc->tmp_lines[j].function && a->line == sc->tmp_lines[j].line &&
				a->column == sc->tmp_lines[j].column;
		}
		if (same)
		{
			sc->loc_cache[li] = (uint32_t) id + 1;
			return (uint32_t) id;
		}
	}
	GROW(m, lines, src->n_line, "lines");
	if (src->n_line)
		memcpy(m->lines + m->n_lines, sc->tmp_lines, src->n_line * sizeof(MLine));
	GROW(m, locations, 1, "locations");
	m->locations[m->n_locations].address = addr;
	m->locations[m->n_locations].mapping = mi.mapping;
	m->locations[m->n_locations].line_start = (uint32_t) m->n_lines;
	m->locations[m->n_locations].n_line = src->n_line;
	m->locations[m->n_locations].is_folded = src->is_folded;
	m->n_lines += src->n_line;
	htab_insert(m, &m->location_tab, h, (uint32_t) m->n_locations);
	sc->loc_cache[li] = (uint32_t) ++m->n_locations;
	return sc->loc_cache[li] - 1;
}

/* ---- samples ---- */

static int
label_cmp(const MLabel *a, const MLabel *b)
{
	/* string labels before numeric ones, then by key; stable otherwise */
	if (a->is_str != b->is_str)
		return a->is_str ? -1 : 1;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return 0;
}

/*
 * Canonical label order for the sample key: grouped by kind and key, each
 * key's values in their original order (insertion sort keeps it stable;
 * samples carry a handful of labels).
 */
static void
sort_labels(MLabel *l, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++)
	{
		MLabel		v = l[i];
		uint32_t	j = i;

		while (j > 0 && label_cmp(&l[j - 1], &v) > 0)
		{
			l[j] = l[j - 1];
			j--;
		}
		l[j] = v;
	}
}

static bool
same_sample(const PprofMerger *m, const MSample *ms, const uint32_t *locs, uint32_t nloc,
			const MLabel *labs, uint32_t nlab)
{
	if (ms->n_loc != nloc || ms->n_label != nlab)
		return false;
	if (nloc > 0 && memcmp(m->sample_locs + ms->loc_start, locs, nloc * sizeof(uint32_t)) != 0)
		return false;
	for (uint32_t j = 0; j < nlab; j++)
		if (!mlabel_eq(&m->labels[ms->label_start + j], &labs[j]))
			return false;
	return true;
}

PprofStatus
pprof_merger_add(PprofMerger *m, const PprofEnv *scratch, const PprofProfile *p, PprofError *err)
{
	return pprof_merger_add_scaled(m, scratch, p, 1.0, false, err);
}

/* int64(math.Round(v * ratio)), or false when that does not fit */
static bool
scale_value(int64_t v, double ratio, int64_t *out)
{
	double		r = round((double) v * ratio);

	if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0))
		return false;
	*out = (int64_t) r;
	return true;
}

PprofStatus
pprof_merger_add_scaled(PprofMerger *m, const PprofEnv *scratch, const PprofProfile *p,
						double ratio, bool diff_base, PprofError *err)
{
	int64_t    *scaled;
	uint32_t	base_key = 0,
				base_true = 0;
	Scratch		sc;
	uint32_t   *smap;
	uint32_t   *locs;
	MLabel	   *labs;
	size_t		maxloc = 0,
				maxlab = 0,
				maxline = 1;
	PprofStatus st;

	/* the profile's strings, interned */
	smap = pprof_alloc_array(scratch, p->n_string, sizeof(uint32_t));
	for (size_t i = 0; i < p->n_string; i++)
	{
		smap[i] = intern(m, p->strings[i].data, p->strings[i].len);
		if ((i & 0xfff) == 0xfff)
			pprof_tick(&m->env);
	}
	st = combine_header(m, p, smap, err);
	if (st != PPROF_OK)
		return st;

	memset(&sc, 0, sizeof(sc));
	sc.p = p;
	sc.smap = smap;
	sc.map_cache = pprof_alloc0_array(scratch, p->n_mapping, sizeof(MapInfo));
	sc.func_cache = pprof_alloc0_array(scratch, p->n_function, sizeof(uint32_t));
	sc.loc_cache = pprof_alloc0_array(scratch, p->n_location, sizeof(uint32_t));
	for (size_t i = 0; i < p->n_location; i++)
		if (p->locations[i].n_line > maxline)
			maxline = p->locations[i].n_line;
	sc.tmp_lines = pprof_alloc_array(scratch, maxline, sizeof(MLine));
	for (size_t i = 0; i < p->n_sample; i++)
	{
		if (p->samples[i].n_loc > maxloc)
			maxloc = p->samples[i].n_loc;
		if (p->samples[i].n_label > maxlab)
			maxlab = p->samples[i].n_label;
	}
	locs = pprof_alloc_array(scratch, maxloc, sizeof(uint32_t));
	labs = pprof_alloc0_array(scratch, maxlab + 1, sizeof(MLabel));
	scaled = pprof_alloc_array(scratch, p->n_sample_type + 1, sizeof(int64_t));
	if (diff_base)
	{
		base_key = intern(m, (const uint8_t *) "pprof::base", 11);
		base_true = intern(m, (const uint8_t *) "true", 4);
	}

	/* The first mapping of the first profile with mappings stays first. */
	if (m->n_mappings == 0 && p->n_mapping > 0)
		map_mapping(m, p, smap, 0, sc.map_cache);

	for (size_t s = 0; s < p->n_sample; s++)
	{
		const PprofSample *src = &p->samples[s];
		const int64_t *v = pprof_sample_values(p, s);
		bool		zero = true;
		uint32_t	nlab = 0;
		uint64_t	h = 0x736d70;
		size_t		pos = SIZE_MAX;
		int64_t		id;

		if ((s & 0xfff) == 0xfff)
			pprof_tick(&m->env);
		if (ratio != 1.0)
		{
			/* pprof's Scale: round each value; drop samples left all zero */
			for (size_t i = 0; i < p->n_sample_type; i++)
			{
				if (!scale_value(v[i], ratio, &scaled[i]))
					return pprof_error(err, PPROF_OVERFLOW,
									   "Scaling the value %" PRId64 " by %g does not fit in 64 bits.",
									   v[i], ratio);
			}
			v = scaled;
		}
		for (size_t i = 0; i < p->n_sample_type && zero; i++)
			zero = v[i] == 0;
		if (zero)
			continue;			/* Go skips all-zero samples */

		for (uint32_t j = 0; j < src->n_loc; j++)
		{
			int64_t		li = pprof_idmap_find(&p->location_map, p->location_ids[src->loc_start + j]);

			locs[j] = map_location(m, &sc, (size_t) li);
			h = pprof_hash_mix(h, locs[j]);
		}
		h = pprof_hash_mix(h, src->n_loc);
		for (uint32_t j = 0; j < src->n_label; j++)
		{
			const PprofLabel *l = &p->labels[src->label_start + j];
			MLabel	   *ml = &labs[nlab];

			/* Go's decoder: a non-zero string index makes a string label */
			if (l->str == 0 && l->num == 0 && l->num_unit == 0)
				continue;		/* Go drops these on decode */
			if (diff_base && l->str != 0 && smap[l->key] == base_key)
				continue;		/* SetLabel replaces pprof::base */
			ml->key = smap[l->key];
			ml->is_str = l->str != 0;
			ml->str = ml->is_str ? smap[l->str] : 0;
			ml->num = ml->is_str ? 0 : l->num;
			ml->unit = ml->is_str ? 0 : smap[l->num_unit];
			nlab++;
		}
		if (diff_base)
		{
			labs[nlab].key = base_key;
			labs[nlab].is_str = true;
			labs[nlab].str = base_true;
			labs[nlab].num = 0;
			labs[nlab].unit = 0;
			nlab++;
		}
		sort_labels(labs, nlab);
		for (uint32_t j = 0; j < nlab; j++)
			h = pprof_hash_mix(pprof_hash_mix(pprof_hash_mix(pprof_hash_mix(pprof_hash_mix(h, labs[j].key),
																			labs[j].is_str), labs[j].str),
											  (uint64_t) labs[j].num), labs[j].unit);
		h = pprof_hash_mix(h, nlab);

		while ((id = htab_next(&m->sample_tab, h, &pos)) >= 0)
		{
			if (same_sample(m, &m->samples[id], locs, src->n_loc, labs, nlab))
				break;
		}
		if (id < 0)
		{
			GROW(m, samples, 1, "samples");
			GROW(m, sample_locs, src->n_loc, "sample locations");
			GROW(m, labels, nlab, "labels");
			GROW(m, values, m->n_types, "values");
			if (src->n_loc)
				memcpy(m->sample_locs + m->n_sample_locs, locs, src->n_loc * sizeof(uint32_t));
			if (nlab)
				memcpy(m->labels + m->n_labels, labs, nlab * sizeof(MLabel));
			memset(m->values + m->n_values, 0, m->n_types * sizeof(int64_t));
			m->samples[m->n_samples].loc_start = (uint32_t) m->n_sample_locs;
			m->samples[m->n_samples].n_loc = src->n_loc;
			m->samples[m->n_samples].label_start = (uint32_t) m->n_labels;
			m->samples[m->n_samples].n_label = nlab;
			m->n_sample_locs += src->n_loc;
			m->n_labels += nlab;
			m->n_values += m->n_types;
			id = (int64_t) m->n_samples++;
			htab_insert(m, &m->sample_tab, h, (uint32_t) id);
		}
		{
			int64_t    *dst = m->values + (size_t) id * m->n_types;

			/* wraps like Go's int64 addition */
			for (size_t i = 0; i < m->n_types; i++)
				dst[i] = (int64_t) ((uint64_t) dst[i] + (uint64_t) v[i]);
		}
	}
	m->count++;
	return PPROF_OK;
}
