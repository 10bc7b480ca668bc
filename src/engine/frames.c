/*-------------------------------------------------------------------------
 *
 * frames.c
 *	  Frame names and stacks of a decoded profile.
 *
 * Each (location, line) slot gets a frame id; slots with the same key
 * share it. The key and the display name depend on the naming mode (see
 * pprof_report.h): PPROF_NAMES_FUNCTIONS follows the node identity of
 * pprof's report package at "functions" granularity (graph.NodeInfo after
 * profile.Aggregate), so that top rows match `go tool pprof -top`.
 *
 * src/engine/frames.c
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "report.h"

typedef struct FrameKey
{
	const uint8_t *data;
	size_t		len;
	int64_t		extra;			/* start line, for nameless functions */
	uint8_t		kind;			/* 0: by name; 1: by binary */
} FrameKey;

typedef struct FrameMap
{
	uint32_t   *slots;			/* frame id + 1, or 0 */
	size_t		mask;
	FrameKey   *keys;			/* per frame */
	size_t		n;
	size_t		cap;
} FrameMap;

static uint64_t
key_hash(const FrameKey *k)
{
	return pprof_hash_mix(pprof_hash_mix(pprof_hash_bytes(k->data, k->len), (uint64_t) k->extra), k->kind);
}

static bool
key_eq(const FrameKey *a, const FrameKey *b)
{
	return a->kind == b->kind && a->extra == b->extra && a->len == b->len &&
		(a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Finds or adds a key; returns its frame id. */
static uint32_t
frame_intern(const PprofEnv *env, FrameMap *m, const FrameKey *k)
{
	uint64_t	h = key_hash(k);
	size_t		i = (size_t) h & m->mask;

	for (;;)
	{
		uint32_t	v = m->slots[i];

		if (v == 0)
			break;
		if (key_eq(&m->keys[v - 1], k))
			return v - 1;
		i = (i + 1) & m->mask;
	}
	m->keys = pprof_grow(env, m->keys, m->n, &m->cap, 1, sizeof(FrameKey));
	m->keys[m->n] = *k;
	m->slots[i] = (uint32_t) ++m->n;
	return (uint32_t) (m->n - 1);
}

/* The mapping file of a location, or empty. */
static PprofStr
loc_objfile(const PprofProfile *p, const PprofLocation *l)
{
	PprofStr	none = {(const uint8_t *) "", 0};
	int64_t		mi;

	if (l->mapping_id == 0)
		return none;
	mi = pprof_idmap_find(&p->mapping_map, l->mapping_id);
	if (mi < 0)
		return none;
	return pprof_str(p, p->mappings[mi].filename);
}

static PprofStr
make_str(const PprofEnv *env, const char *s)
{
	size_t		n = strlen(s);
	uint8_t    *d = pprof_alloc(env, n + 1);
	PprofStr	r;

	memcpy(d, s, n + 1);
	r.data = d;
	r.len = n;
	return r;
}

/* "[base]" of a binary's path, as pprof's NameComponents; "<unknown>" if empty. */
static PprofStr
binary_label(const PprofEnv *env, PprofStr file)
{
	size_t		end = file.len,
				start;
	uint8_t    *d;
	PprofStr	r;

	if (file.len == 0)
		return make_str(env, "<unknown>");
	while (end > 1 && file.data[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && file.data[start - 1] != '/')
		start--;
	if (start == end)			/* the path was "/" */
		start = end - 1;
	d = pprof_alloc(env, end - start + 3);
	d[0] = '[';
	memcpy(d + 1, file.data + start, end - start);
	d[end - start + 1] = ']';
	d[end - start + 2] = '\0';
	r.data = d;
	r.len = end - start + 2;
	return r;
}

void
pprof_frames_build(const PprofEnv *env, const PprofProfile *p, PprofNaming naming,
				   PprofFrames *out)
{
	FrameMap	m;
	size_t		nslots = 0;
	size_t		tsize = 64;
	uint32_t	slot = 0;

	out->loc_start = pprof_alloc_array(env, p->n_location, sizeof(uint32_t));
	out->loc_count = pprof_alloc_array(env, p->n_location, sizeof(uint32_t));
	for (size_t i = 0; i < p->n_location; i++)
	{
		out->loc_start[i] = (uint32_t) nslots;
		out->loc_count[i] = p->locations[i].n_line > 0 ? p->locations[i].n_line : 1;
		nslots += out->loc_count[i];
	}
	if (nslots > UINT32_MAX)
		pprof_fail(env, PPROF_TOO_LARGE, "The profile has more than %u frames.", UINT32_MAX);
	out->slot_frame = pprof_alloc_array(env, nslots, sizeof(uint32_t));

	while (tsize < nslots * 2)
		tsize *= 2;
	memset(&m, 0, sizeof(m));
	m.slots = pprof_alloc0_array(env, tsize, sizeof(uint32_t));
	m.mask = tsize - 1;

	for (size_t i = 0; i < p->n_location; i++)
	{
		const PprofLocation *l = &p->locations[i];

		if ((i & 0xfff) == 0xfff)
			pprof_tick(env);
		for (uint32_t j = 0; j < out->loc_count[i]; j++)
		{
			FrameKey	k;
			const PprofFunction *f = NULL;

			memset(&k, 0, sizeof(k));
			if (l->n_line > 0)
			{
				f = pprof_line_function(p, &p->lines[l->line_start + j]);
			}
			if (naming == PPROF_NAMES_FUNCTIONS)
			{
				PprofStr	name = f ? pprof_str(p, f->name) : (PprofStr) {NULL, 0};

				if (name.len > 0)
				{
					k.data = name.data;
					k.len = name.len;
				}
				else
				{
					PprofStr	obj = loc_objfile(p, l);

					k.kind = 1;
					k.data = obj.data;
					k.len = obj.len;
					k.extra = f ? f->start_line : 0;
				}
			}
			else
			{
				PprofStr	name = {NULL, 0};

				if (f)
				{
					name = pprof_str(p, f->name);
					if (name.len == 0)
						name = pprof_str(p, f->system_name);
				}
				if (name.len == 0)
				{
					char		hex[24];

					snprintf(hex, sizeof(hex), "0x%" PRIx64, l->address);
					name = make_str(env, hex);
				}
				k.data = name.data;
				k.len = name.len;
			}
			out->slot_frame[slot++] = frame_intern(env, &m, &k);
		}
	}

	out->n_frames = m.n;
	out->names = pprof_alloc_array(env, m.n, sizeof(PprofStr));
	for (size_t i = 0; i < m.n; i++)
	{
		if (m.keys[i].kind == 1)
			out->names[i] = binary_label(env, (PprofStr) {m.keys[i].data, m.keys[i].len});
		else
		{
			out->names[i].data = m.keys[i].data;
			out->names[i].len = m.keys[i].len;
		}
	}
}

size_t
pprof_stack_depth(const PprofProfile *p, const PprofFrames *fr, size_t s)
{
	size_t		d = 0;

	for (size_t j = 0; j < p->samples[s].n_loc; j++)
		d += fr->loc_count[pprof_sample_loc(p, s, j)];
	return d;
}

size_t
pprof_sample_stack(const PprofProfile *p, const PprofFrames *fr, size_t s, uint32_t *out)
{
	size_t		d = 0;

	for (size_t j = 0; j < p->samples[s].n_loc; j++)
	{
		uint32_t	li = pprof_sample_loc(p, s, j);
		uint32_t	start = fr->loc_start[li];

		for (uint32_t k = 0; k < fr->loc_count[li]; k++)
			out[d++] = fr->slot_frame[start + k];
	}
	return d;
}
