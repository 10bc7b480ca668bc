/*-------------------------------------------------------------------------
 *
 * pprof_merge.c
 *	  Merge profiles as Go's profile.Merge does (github.com/google/pprof).
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
 * values are all zero are skipped on input; samples that sum to zero are
 * dropped when encoding. Header: sample and period types, drop/keep frames
 * from the first profile; durations add; the period is the largest; the
 * time is the earliest non-zero one; comments are unioned in order; the
 * default sample type and doc URL are the first non-empty ones.
 *
 * Strings are interned into the merger's own table, so every key compares
 * integers, never bytes, once a profile's strings are mapped.
 *
 * src/pprof_merge.c
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"

/* ---- merged objects ---- */

typedef struct MMapping
{
	uint64_t	start,
				limit,
				offset;
	uint32_t	file,
				build_id;
	uint8_t		flags;			/* has_functions .. has_inline_frames, bits 0-3 */
} MMapping;

typedef struct MFunction
{
	int64_t		start_line;
	uint32_t	name,
				system_name,
				filename;
} MFunction;

typedef struct MLine
{
	uint32_t	function;		/* merged function index */
	int64_t		line;
	int64_t		column;
} MLine;

typedef struct MLocation
{
	uint64_t	address;		/* absolute, in the merged mapping's placement */
	uint32_t	mapping;		/* merged index + 1, 0 = none */
	uint32_t	line_start;
	uint32_t	n_line;
	bool		is_folded;
} MLocation;

typedef struct MLabel
{
	uint32_t	key;
	uint32_t	str;			/* 0: numeric */
	uint32_t	unit;
	int64_t		num;
} MLabel;

typedef struct MSample
{
	uint32_t	loc_start;
	uint32_t	n_loc;
	uint32_t	label_start;
	uint32_t	n_label;
} MSample;

/* Open-addressing table of object indexes, keyed by caller-computed hashes. */
typedef struct HTab
{
	uint64_t   *hashes;
	uint32_t   *ids;			/* index + 1; 0 = empty */
	size_t		mask;
	size_t		used;
} HTab;

#define ARRAY(type, name) type *name; size_t n_##name; size_t cap_##name

struct PprofMerger
{
	PprofEnv	env;
	uint64_t	count;			/* profiles added */

	/* header */
	bool		have_header;
	uint32_t   *sample_types;	/* 2 string ids per type */
	size_t		n_types;
	uint32_t	period_type[2];
	int64_t		period;
	int64_t		time_nanos;
	int64_t		duration_nanos;
	uint32_t	drop_frames,
				keep_frames,
				default_sample_type,
				doc_url;
	ARRAY(uint32_t, comments);

	/* strings: bytes in a pool, (offset, len) per id */
	ARRAY(char, pool);
	ARRAY(uint64_t, str_off);	/* per string id: offset into pool */
	ARRAY(uint32_t, str_len);	/* per string id: length */
	HTab		strings;

	ARRAY(MMapping, mappings);
	HTab		mapping_tab;
	ARRAY(MFunction, functions);
	HTab		function_tab;
	ARRAY(MLocation, locations);
	ARRAY(MLine, lines);
	HTab		location_tab;
	ARRAY(MSample, samples);
	ARRAY(uint32_t, sample_locs);
	ARRAY(MLabel, labels);
	ARRAY(int64_t, values);		/* n_types per sample */
	HTab		sample_tab;
	size_t		bytes;
};

/* ---- memory ---- */

static void *
m_alloc(PprofMerger *m, size_t n)
{
	m->bytes += n;
	return m->env.alloc.alloc(m->env.alloc.allocator_data, n > 0 ? n : 1);
}

static void
m_free(PprofMerger *m, void *p, size_t n)
{
	if (p != NULL && m->env.alloc.free != NULL)
	{
		m->env.alloc.free(m->env.alloc.allocator_data, p);
		m->bytes -= n;
	}
}

/* Makes room for `more` elements in a growable array, counting the bytes. */
static void *
m_grow(PprofMerger *m, void *arr, size_t n, size_t *cap, size_t more, size_t elem)
{
	size_t		before = *cap;
	void	   *narr = pprof_grow(&m->env, arr, n, cap, more, elem);

	m->bytes += (*cap - before) * elem;
	return narr;
}

#define GROW(m, name, more) \
	((m)->name = m_grow((m), (m)->name, (m)->n_##name, &(m)->cap_##name, (more), sizeof(*(m)->name)))

/* ---- hashing ---- */

static inline uint64_t
mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xBF58476D1CE4E5B9ULL;
	return h ^ (h >> 29);
}

static uint64_t
hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t	h = 1469598103934665603ULL ^ n;

	for (size_t i = 0; i < n; i++)
	{
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return mix(h, n);
}

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
	uint64_t	h = hash_bytes(p, n);
	size_t		pos = SIZE_MAX;
	int64_t		id;
	uint32_t	nid;

	while ((id = htab_next(&m->strings, h, &pos)) >= 0)
	{
		if (m->str_len[id] == n &&
			(n == 0 || memcmp(m->pool + m->str_off[id], p, n) == 0))
			return (uint32_t) id;
	}
	GROW(m, pool, n);
	if (n > 0)
		memcpy(m->pool + m->n_pool, p, n);
	GROW(m, str_off, 1);
	GROW(m, str_len, 1);
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
	PprofMerger *m = env->alloc.alloc(env->alloc.allocator_data, sizeof(PprofMerger));

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

static void
describe_types(const PprofProfile *p, char *buf, size_t len)
{
	size_t		off = 0;

	off += snprintf(buf + off, len - off, "[");
	for (size_t i = 0; i < p->n_sample_type && off < len; i++)
	{
		PprofStr	t = pprof_str(p, p->sample_types[i].type);
		PprofStr	u = pprof_str(p, p->sample_types[i].unit);

		off += snprintf(buf + off, len - off, "%s%.*s/%.*s", i ? " " : "",
						(int) (t.len > 40 ? 40 : t.len), (const char *) t.data,
						(int) (u.len > 20 ? 20 : u.len), (const char *) u.data);
	}
	if (off < len)
		snprintf(buf + off, len - off, "]");
}

static void
describe_merged_types(const PprofMerger *m, char *buf, size_t len)
{
	size_t		off = 0;

	off += snprintf(buf + off, len - off, "[");
	for (size_t i = 0; i < m->n_types && off < len; i++)
	{
		uint32_t	t = m->sample_types[2 * i],
					u = m->sample_types[2 * i + 1];

		off += snprintf(buf + off, len - off, "%s%.*s/%.*s", i ? " " : "",
						(int) (m->str_len[t] > 40 ? 40 : m->str_len[t]), m->pool + m->str_off[t],
						(int) (m->str_len[u] > 20 ? 20 : m->str_len[u]), m->pool + m->str_off[u]);
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
						u = pprof_str(p, p->period_type.unit);
			uint32_t	mt = m->period_type[0],
						mu = m->period_type[1];

			err->status = PPROF_MALFORMED;
			snprintf(err->detail, sizeof(err->detail),
					 "Incompatible period types %.*s/%.*s and %.*s/%.*s.",
					 (int) (m->str_len[mt] > 40 ? 40 : m->str_len[mt]), m->pool + m->str_off[mt],
					 (int) (m->str_len[mu] > 40 ? 40 : m->str_len[mu]), m->pool + m->str_off[mu],
					 (int) (t.len > 40 ? 40 : t.len), (const char *) t.data,
					 (int) (u.len > 40 ? 40 : u.len), (const char *) u.data);
			return PPROF_MALFORMED;
		}
		for (size_t i = 0; ok && i < m->n_types; i++)
			ok = m->sample_types[2 * i] == smap[p->sample_types[i].type] &&
				m->sample_types[2 * i + 1] == smap[p->sample_types[i].unit];
		if (!ok)
		{
			describe_merged_types(m, a, sizeof(a));
			describe_types(p, b, sizeof(b));
			err->status = PPROF_MALFORMED;
			snprintf(err->detail, sizeof(err->detail), "Incompatible sample types %s and %s.", a, b);
			return PPROF_MALFORMED;
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
			GROW(m, comments, 1);
			m->comments[m->n_comments++] = c;
		}
	}
	if (m->default_sample_type == 0)
		m->default_sample_type = smap[p->default_sample_type];
	if (m->doc_url == 0)
		m->doc_url = smap[p->doc_url];
	return PPROF_OK;
}

/* ---- objects ---- */

/* Go's mapping key: size rounded up to 4 KiB, offset, build id or file. */
static uint64_t
mapping_hash(uint64_t size, uint64_t offset, uint32_t bof)
{
	return mix(mix(mix(0x6d6170, size), offset), bof);
}

static uint64_t
rounded_size(uint64_t start, uint64_t limit)
{
	uint64_t	size = limit - start;

	size = size + 0x1000 - 1;
	return size - (size % 0x1000);
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
	uint32_t	bof = src->build_id != 0 ? smap[src->build_id] : smap[src->filename];
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
		uint32_t	mbof = mm->build_id != 0 ? mm->build_id : mm->file;

		if (rounded_size(mm->start, mm->limit) == size && mm->offset == src->file_offset && mbof == bof)
		{
			mi.mapping = (uint32_t) id + 1;
			mi.offset = (int64_t) mm->start - (int64_t) src->memory_start;
			mi.done = true;
			cache[si] = mi;
			return mi;
		}
	}
	GROW(m, mappings, 1);
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
	uint64_t	h = mix(mix(mix(mix(0x66756e, (uint64_t) f->start_line), name), sys), file);
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
	GROW(m, functions, 1);
	m->functions[m->n_functions].start_line = f->start_line;
	m->functions[m->n_functions].name = name;
	m->functions[m->n_functions].system_name = sys;
	m->functions[m->n_functions].filename = file;
	htab_insert(m, &m->function_tab, h, (uint32_t) m->n_functions);
	cache[fi] = (uint32_t) ++m->n_functions;
	return cache[fi] - 1;
}

typedef struct Scratch
{
	const PprofProfile *p;
	const uint32_t *smap;		/* source string index -> merged string id */
	MapInfo    *map_cache;		/* per source mapping */
	uint32_t   *func_cache;		/* per source function: merged index + 1 */
	uint32_t   *loc_cache;		/* per source location: merged index + 1 */
	MLine	   *tmp_lines;
	size_t		cap_tmp_lines;
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
	h = mix(mix(mix(0x6c6f63, rel), mi.mapping), src->is_folded);
	for (uint32_t j = 0; j < src->n_line; j++)
	{
		const PprofLine *ln = &p->lines[src->line_start + j];
		int64_t		fi = pprof_idmap_find(&p->function_map, ln->function_id);

		sc->tmp_lines[j].function = map_function(m, p, sc->smap, (size_t) fi, sc->func_cache);
		sc->tmp_lines[j].line = ln->line;
		sc->tmp_lines[j].column = ln->column;
		h = mix(mix(mix(h, sc->tmp_lines[j].function), (uint64_t) ln->line), (uint64_t) ln->column);
	}
	h = mix(h, src->n_line);
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
	GROW(m, lines, src->n_line);
	if (src->n_line)
		memcpy(m->lines + m->n_lines, sc->tmp_lines, src->n_line * sizeof(MLine));
	GROW(m, locations, 1);
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

static int
label_cmp(const void *x, const void *y)
{
	const MLabel *a = x,
			   *b = y;
	int			ka = a->str != 0 ? 0 : 1,
				kb = b->str != 0 ? 0 : 1;

	/* string labels before numeric ones, then by key; stable otherwise */
	if (ka != kb)
		return ka - kb;
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

#define SALLOC(n) scratch->alloc.alloc(scratch->alloc.allocator_data, (n) > 0 ? (n) : 1)

	/* the profile's strings, interned */
	smap = SALLOC(p->n_string * sizeof(uint32_t));
	for (size_t i = 0; i < p->n_string; i++)
	{
		smap[i] = intern(m, p->strings[i].data, p->strings[i].len);
		if ((i & 0xfff) == 0xfff && m->env.tick)
			m->env.tick(m->env.tick_arg);
	}
	st = combine_header(m, p, smap, err);
	if (st != PPROF_OK)
		return st;

	memset(&sc, 0, sizeof(sc));
	sc.p = p;
	sc.smap = smap;
	sc.map_cache = SALLOC(p->n_mapping * sizeof(MapInfo));
	memset(sc.map_cache, 0, p->n_mapping * sizeof(MapInfo));
	sc.func_cache = SALLOC(p->n_function * sizeof(uint32_t));
	memset(sc.func_cache, 0, p->n_function * sizeof(uint32_t));
	sc.loc_cache = SALLOC(p->n_location * sizeof(uint32_t));
	memset(sc.loc_cache, 0, p->n_location * sizeof(uint32_t));
	for (size_t i = 0; i < p->n_location; i++)
		if (p->locations[i].n_line > maxline)
			maxline = p->locations[i].n_line;
	sc.tmp_lines = SALLOC(maxline * sizeof(MLine));
	for (size_t i = 0; i < p->n_sample; i++)
	{
		if (p->samples[i].n_loc > maxloc)
			maxloc = p->samples[i].n_loc;
		if (p->samples[i].n_label > maxlab)
			maxlab = p->samples[i].n_label;
	}
	locs = SALLOC(maxloc * sizeof(uint32_t));
	labs = SALLOC((maxlab + 1) * sizeof(MLabel));
	scaled = SALLOC((p->n_sample_type + 1) * sizeof(int64_t));
	if (diff_base)
	{
		base_key = intern(m, (const uint8_t *) "pprof::base", 11);
		base_true = intern(m, (const uint8_t *) "true", 4);
	}
	/* labels are compared with memcmp: no stray padding bytes */
	memset(labs, 0, (maxlab + 1) * sizeof(MLabel));

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

		if ((s & 0xfff) == 0xfff && m->env.tick)
			m->env.tick(m->env.tick_arg);
		if (ratio != 1.0)
		{
			/* pprof's Scale: round each value; drop samples left all zero */
			for (size_t i = 0; i < p->n_sample_type; i++)
			{
				if (!scale_value(v[i], ratio, &scaled[i]))
				{
					err->status = PPROF_OVERFLOW;
					snprintf(err->detail, sizeof(err->detail),
							 "Scaling the value %" PRId64 " by %g does not fit in 64 bits.", v[i], ratio);
					return PPROF_OVERFLOW;
				}
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
			h = mix(h, locs[j]);
		}
		h = mix(h, src->n_loc);
		for (uint32_t j = 0; j < src->n_label; j++)
		{
			const PprofLabel *l = &p->labels[src->label_start + j];

			if (l->str == 0 && l->num == 0 && l->num_unit == 0)
				continue;		/* Go drops these on decode */
			if (diff_base && l->str != 0 && smap[l->key] == base_key)
				continue;		/* SetLabel replaces pprof::base */
			labs[nlab].key = smap[l->key];
			labs[nlab].str = l->str != 0 ? smap[l->str] : 0;
			labs[nlab].num = l->str != 0 ? 0 : l->num;
			labs[nlab].unit = l->str != 0 ? 0 : smap[l->num_unit];
			nlab++;
		}
		if (diff_base)
		{
			labs[nlab].key = base_key;
			labs[nlab].str = base_true;
			labs[nlab].num = 0;
			labs[nlab].unit = 0;
			nlab++;
		}
		sort_labels(labs, nlab);
		for (uint32_t j = 0; j < nlab; j++)
			h = mix(mix(mix(mix(h, labs[j].key), labs[j].str), (uint64_t) labs[j].num), labs[j].unit);
		h = mix(h, nlab);

		while ((id = htab_next(&m->sample_tab, h, &pos)) >= 0)
		{
			const MSample *ms = &m->samples[id];

			if (ms->n_loc == src->n_loc && ms->n_label == nlab &&
				(src->n_loc == 0 ||
				 memcmp(m->sample_locs + ms->loc_start, locs, src->n_loc * sizeof(uint32_t)) == 0) &&
				(nlab == 0 || memcmp(m->labels + ms->label_start, labs, nlab * sizeof(MLabel)) == 0))
				break;
		}
		if (id < 0)
		{
			GROW(m, samples, 1);
			GROW(m, sample_locs, src->n_loc);
			GROW(m, labels, nlab);
			GROW(m, values, m->n_types);
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
#undef SALLOC
}

/* ---- encoding ---- */

typedef struct Writer
{
	uint8_t    *buf;
	size_t		len;
	size_t		cap;
	const PprofEnv *env;
} Writer;

static void
w_reserve(Writer *w, size_t more)
{
	if (w->len + more > w->cap)
	{
		size_t		ncap = w->cap ? w->cap * 2 : 4096;
		uint8_t    *nb;

		while (ncap < w->len + more)
			ncap *= 2;
		nb = w->env->alloc.alloc(w->env->alloc.allocator_data, ncap);
		if (w->len)
			memcpy(nb, w->buf, w->len);
		if (w->buf && w->env->alloc.free)
			w->env->alloc.free(w->env->alloc.allocator_data, w->buf);
		w->buf = nb;
		w->cap = ncap;
	}
}

static inline size_t
varint_size(uint64_t v)
{
	size_t		n = 1;

	while (v >= 0x80)
	{
		v >>= 7;
		n++;
	}
	return n;
}

static inline void
w_varint(Writer *w, uint64_t v)
{
	w_reserve(w, 10);
	while (v >= 0x80)
	{
		w->buf[w->len++] = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	w->buf[w->len++] = (uint8_t) v;
}

/* A varint field, omitted when zero (proto3). */
static inline void
w_field(Writer *w, uint32_t field, uint64_t v)
{
	if (v == 0)
		return;
	w_varint(w, (uint64_t) field << 3);
	w_varint(w, v);
}

static inline size_t
field_size(uint32_t field, uint64_t v)
{
	return v == 0 ? 0 : varint_size((uint64_t) field << 3) + varint_size(v);
}

static inline void
w_header(Writer *w, uint32_t field, size_t len)
{
	w_varint(w, (uint64_t) field << 3 | 2);
	w_varint(w, len);
}

/* The output index of merged string id, assigned on first use. */
static inline uint32_t
new_str(uint32_t *str_new, uint32_t *str_order, size_t *n_str, uint32_t id)
{
	if (str_new[id] == 0)
	{
		str_order[*n_str] = id;
		str_new[id] = (uint32_t) ++*n_str;
	}
	return str_new[id] - 1;
}

PprofStatus
pprof_merger_encode(const PprofMerger *m, const PprofEnv *env, int64_t divisor,
					uint8_t **out, size_t *outlen, PprofError *err)
{
	Writer		w = {NULL, 0, 0, env};
	uint32_t   *loc_new,
			   *fn_new,
			   *map_new,
			   *str_new;
	uint32_t   *loc_order,
			   *fn_order,
			   *map_order,
			   *str_order;
	size_t		n_loc = 0,
				n_fn = 0,
				n_map = 0,
				n_str = 0;
	bool	   *keep;
	int64_t    *vals;
	double		ratio = divisor > 1 ? 1.0 / (double) divisor : 1.0;

#define EALLOC(n) env->alloc.alloc(env->alloc.allocator_data, (n) > 0 ? (n) : 1)
#define NEWSTR(id) new_str(str_new, str_order, &n_str, (id))

	loc_new = EALLOC(m->n_locations * sizeof(uint32_t));
	fn_new = EALLOC(m->n_functions * sizeof(uint32_t));
	map_new = EALLOC(m->n_mappings * sizeof(uint32_t));
	str_new = EALLOC(m->n_str_off * sizeof(uint32_t));
	loc_order = EALLOC(m->n_locations * sizeof(uint32_t));
	fn_order = EALLOC(m->n_functions * sizeof(uint32_t));
	map_order = EALLOC(m->n_mappings * sizeof(uint32_t));
	str_order = EALLOC(m->n_str_off * sizeof(uint32_t));
	memset(loc_new, 0, m->n_locations * sizeof(uint32_t));
	memset(fn_new, 0, m->n_functions * sizeof(uint32_t));
	memset(map_new, 0, m->n_mappings * sizeof(uint32_t));
	memset(str_new, 0, m->n_str_off * sizeof(uint32_t));
	keep = EALLOC(m->n_samples * sizeof(bool));
	vals = EALLOC((m->n_values + 1) * sizeof(int64_t));

	/* values (scaled for averages) and which samples survive */
	for (size_t s = 0; s < m->n_samples; s++)
	{
		bool		nz = false;

		for (size_t i = 0; i < m->n_types; i++)
		{
			int64_t		v = m->values[s * m->n_types + i];

			if (divisor > 1)
				v = (int64_t) round((double) v * ratio);
			vals[s * m->n_types + i] = v;
			nz = nz || v != 0;
		}
		keep[s] = nz;
	}

	/* Renumber what the kept samples reference, in first-seen order. */
	NEWSTR(0);
	if (m->n_mappings > 0)
	{
		map_order[n_map] = 0;
		map_new[0] = (uint32_t) ++n_map;
	}
	for (size_t s = 0; s < m->n_samples; s++)
	{
		const MSample *ms = &m->samples[s];

		if (!keep[s])
			continue;
		if ((s & 0xfff) == 0xfff && env->tick)
			env->tick(env->tick_arg);
		for (uint32_t j = 0; j < ms->n_loc; j++)
		{
			uint32_t	l = m->sample_locs[ms->loc_start + j];
			const MLocation *ml = &m->locations[l];

			if (loc_new[l])
				continue;
			loc_order[n_loc] = l;
			loc_new[l] = (uint32_t) ++n_loc;
			if (ml->mapping && !map_new[ml->mapping - 1])
			{
				map_order[n_map] = ml->mapping - 1;
				map_new[ml->mapping - 1] = (uint32_t) ++n_map;
			}
			for (uint32_t k = 0; k < ml->n_line; k++)
			{
				uint32_t	f = m->lines[ml->line_start + k].function;

				if (!fn_new[f])
				{
					fn_order[n_fn] = f;
					fn_new[f] = (uint32_t) ++n_fn;
				}
			}
		}
	}

	/* sample types */
	for (size_t i = 0; i < m->n_types; i++)
	{
		uint32_t	t = NEWSTR(m->sample_types[2 * i]),
					u = NEWSTR(m->sample_types[2 * i + 1]);

		w_reserve(&w, 24);
		w_header(&w, 1, field_size(1, t) + field_size(2, u));
		w_field(&w, 1, t);
		w_field(&w, 2, u);
	}
	/* samples */
	for (size_t s = 0; s < m->n_samples; s++)
	{
		const MSample *ms = &m->samples[s];
		size_t		locs_len = 0,
					vals_len = 0,
					size = 0;

		if (!keep[s])
			continue;
		for (uint32_t j = 0; j < ms->n_loc; j++)
			locs_len += varint_size(loc_new[m->sample_locs[ms->loc_start + j]]);
		for (size_t i = 0; i < m->n_types; i++)
			vals_len += varint_size((uint64_t) vals[s * m->n_types + i]);
		if (ms->n_loc)
			size += 1 + varint_size(locs_len) + locs_len;
		if (m->n_types)
			size += 1 + varint_size(vals_len) + vals_len;
		for (uint32_t j = 0; j < ms->n_label; j++)
		{
			const MLabel *l = &m->labels[ms->label_start + j];
			uint32_t	k = NEWSTR(l->key);
			uint32_t	sv = l->str ? NEWSTR(l->str) : 0;
			uint32_t	u = l->unit ? NEWSTR(l->unit) : 0;
			size_t		ls = field_size(1, k) + field_size(2, sv) + field_size(3, (uint64_t) l->num) +
				field_size(4, u);

			size += 1 + varint_size(ls) + ls;
		}
		w_header(&w, 2, size);
		if (ms->n_loc)
		{
			w_header(&w, 1, locs_len);
			for (uint32_t j = 0; j < ms->n_loc; j++)
				w_varint(&w, loc_new[m->sample_locs[ms->loc_start + j]]);
		}
		if (m->n_types)
		{
			w_header(&w, 2, vals_len);
			for (size_t i = 0; i < m->n_types; i++)
				w_varint(&w, (uint64_t) vals[s * m->n_types + i]);
		}
		for (uint32_t j = 0; j < ms->n_label; j++)
		{
			const MLabel *l = &m->labels[ms->label_start + j];
			uint32_t	k = NEWSTR(l->key),
						sv = l->str ? NEWSTR(l->str) : 0,
						u = l->unit ? NEWSTR(l->unit) : 0;

			w_header(&w, 3, field_size(1, k) + field_size(2, sv) + field_size(3, (uint64_t) l->num) +
					 field_size(4, u));
			w_field(&w, 1, k);
			w_field(&w, 2, sv);
			w_field(&w, 3, (uint64_t) l->num);
			w_field(&w, 4, u);
		}
	}
	/* mappings */
	for (size_t i = 0; i < n_map; i++)
	{
		const MMapping *mm = &m->mappings[map_order[i]];
		uint32_t	file = NEWSTR(mm->file),
					bid = NEWSTR(mm->build_id);
		size_t		size = field_size(1, i + 1) + field_size(2, mm->start) + field_size(3, mm->limit) +
			field_size(4, mm->offset) + field_size(5, file) + field_size(6, bid) +
			field_size(7, mm->flags & 1) + field_size(8, (mm->flags >> 1) & 1) +
			field_size(9, (mm->flags >> 2) & 1) + field_size(10, (mm->flags >> 3) & 1);

		w_header(&w, 3, size);
		w_field(&w, 1, i + 1);
		w_field(&w, 2, mm->start);
		w_field(&w, 3, mm->limit);
		w_field(&w, 4, mm->offset);
		w_field(&w, 5, file);
		w_field(&w, 6, bid);
		w_field(&w, 7, mm->flags & 1);
		w_field(&w, 8, (mm->flags >> 1) & 1);
		w_field(&w, 9, (mm->flags >> 2) & 1);
		w_field(&w, 10, (mm->flags >> 3) & 1);
	}
	/* locations */
	for (size_t i = 0; i < n_loc; i++)
	{
		const MLocation *ml = &m->locations[loc_order[i]];
		uint32_t	mapping = ml->mapping ? map_new[ml->mapping - 1] : 0;
		size_t		size = field_size(1, i + 1) + field_size(2, mapping) + field_size(3, ml->address) +
			field_size(5, ml->is_folded);

		for (uint32_t k = 0; k < ml->n_line; k++)
		{
			const MLine *ln = &m->lines[ml->line_start + k];
			size_t		ls = field_size(1, fn_new[ln->function]) + field_size(2, (uint64_t) ln->line) +
				field_size(3, (uint64_t) ln->column);

			size += 1 + varint_size(ls) + ls;
		}
		w_header(&w, 4, size);
		w_field(&w, 1, i + 1);
		w_field(&w, 2, mapping);
		w_field(&w, 3, ml->address);
		for (uint32_t k = 0; k < ml->n_line; k++)
		{
			const MLine *ln = &m->lines[ml->line_start + k];

			w_header(&w, 4, field_size(1, fn_new[ln->function]) + field_size(2, (uint64_t) ln->line) +
					 field_size(3, (uint64_t) ln->column));
			w_field(&w, 1, fn_new[ln->function]);
			w_field(&w, 2, (uint64_t) ln->line);
			w_field(&w, 3, (uint64_t) ln->column);
		}
		w_field(&w, 5, ml->is_folded);
	}
	/* functions */
	for (size_t i = 0; i < n_fn; i++)
	{
		const MFunction *mf = &m->functions[fn_order[i]];
		uint32_t	name = NEWSTR(mf->name),
					sys = NEWSTR(mf->system_name),
					file = NEWSTR(mf->filename);

		w_header(&w, 5, field_size(1, i + 1) + field_size(2, name) + field_size(3, sys) +
				 field_size(4, file) + field_size(5, (uint64_t) mf->start_line));
		w_field(&w, 1, i + 1);
		w_field(&w, 2, name);
		w_field(&w, 3, sys);
		w_field(&w, 4, file);
		w_field(&w, 5, (uint64_t) mf->start_line);
	}
	/* header strings, then the string table */
	{
		uint32_t	drop = NEWSTR(m->drop_frames),
					keepf = NEWSTR(m->keep_frames),
					pt = NEWSTR(m->period_type[0]),
					pu = NEWSTR(m->period_type[1]),
					dst = NEWSTR(m->default_sample_type),
					doc = NEWSTR(m->doc_url);
		uint32_t   *com = EALLOC((m->n_comments + 1) * sizeof(uint32_t));
		size_t		com_len = 0;

		for (size_t i = 0; i < m->n_comments; i++)
		{
			com[i] = NEWSTR(m->comments[i]);
			com_len += varint_size(com[i]);
		}
		for (size_t i = 0; i < n_str; i++)
		{
			uint32_t	id = str_order[i];

			w_header(&w, 6, m->str_len[id]);
			w_reserve(&w, m->str_len[id]);
			if (m->str_len[id])
				memcpy(w.buf + w.len, m->pool + m->str_off[id], m->str_len[id]);
			w.len += m->str_len[id];
		}
		w_field(&w, 7, drop);
		w_field(&w, 8, keepf);
		w_field(&w, 9, (uint64_t) m->time_nanos);
		w_field(&w, 10, (uint64_t) m->duration_nanos);
		if (pt || pu)
		{
			w_header(&w, 11, field_size(1, pt) + field_size(2, pu));
			w_field(&w, 1, pt);
			w_field(&w, 2, pu);
		}
		w_field(&w, 12, (uint64_t) m->period);
		if (m->n_comments)
		{
			w_header(&w, 13, com_len);
			for (size_t i = 0; i < m->n_comments; i++)
				w_varint(&w, com[i]);
		}
		w_field(&w, 14, dst);
		w_field(&w, 15, doc);
	}
	if (w.len > env->max_size)
	{
		err->status = PPROF_TOO_LARGE;
		snprintf(err->detail, sizeof(err->detail),
				 "The merged profile takes %zu bytes, more than the limit of %zu bytes.",
				 w.len, env->max_size);
		return PPROF_TOO_LARGE;
	}
	*out = w.buf;
	*outlen = w.len;
	return PPROF_OK;
#undef EALLOC
#undef NEWSTR
}
