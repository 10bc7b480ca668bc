/*-------------------------------------------------------------------------
 *
 * encode.c
 *	  Writing a merged profile as uncompressed protobuf (the encoding half
 *	  of Go's profile/encode.go): what compact.c keeps, with its own string
 *	  table numbered in the order the encoding first uses each string.
 *	  Fields are written as Go writes them: zero values omitted, repeated
 *	  integers packed.
 *
 * src/engine/encode.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "buf.h"
#include "merger.h"
#include "pbwrite.h"

/* ---- the output string table ---- */

typedef struct Strings
{
	uint32_t   *new_id;			/* merged id -> output index + 1, 0 = unused */
	uint32_t   *order;			/* output index -> merged id */
	size_t		n;
} Strings;

/* The output index of merged string id, assigned on first use. */
static inline uint32_t
str_index(Strings *st, uint32_t id)
{
	if (st->new_id[id] == 0)
	{
		st->order[st->n] = id;
		st->new_id[id] = (uint32_t) ++st->n;
	}
	return st->new_id[id] - 1;
}

/* ---- messages ---- */

static void
write_sample_types(const PprofMerger *m, Strings *st, PprofBuf *w)
{
	for (size_t i = 0; i < m->n_types; i++)
	{
		uint32_t	t = str_index(st, m->sample_types[2 * i]),
					u = str_index(st, m->sample_types[2 * i + 1]);

		put_header(w, 1, field_size(1, t) + field_size(2, u));
		put_field(w, 1, t);
		put_field(w, 2, u);
	}
}

/* Label fields: key, then a string value or a number and its unit. */
static size_t
label_size(const MLabel *l, Strings *st)
{
	uint32_t	k = str_index(st, l->key);
	uint32_t	sv = l->is_str ? str_index(st, l->str) : 0;
	uint32_t	u = l->is_str ? 0 : str_index(st, l->unit);

	return field_size(1, k) + field_size(2, sv) + field_size(3, (uint64_t) l->num) + field_size(4, u);
}

static void
write_label(const MLabel *l, Strings *st, PprofBuf *w)
{
	uint32_t	k = str_index(st, l->key);
	uint32_t	sv = l->is_str ? str_index(st, l->str) : 0;
	uint32_t	u = l->is_str ? 0 : str_index(st, l->unit);

	put_header(w, 3, field_size(1, k) + field_size(2, sv) + field_size(3, (uint64_t) l->num) +
			   field_size(4, u));
	put_field(w, 1, k);
	put_field(w, 2, sv);
	put_field(w, 3, (uint64_t) l->num);
	put_field(w, 4, u);
}

static void
write_samples(const PprofMerger *m, const Compaction *c, Strings *st, const PprofEnv *env, PprofBuf *w)
{
	for (size_t s = 0; s < m->n_samples; s++)
	{
		const MSample *ms = &m->samples[s];
		const int64_t *vals = c->values + s * m->n_types;
		size_t		locs_len = 0,
					vals_len = 0,
					size = 0;

		if (!c->keep[s])
			continue;
		if ((s & 0xfff) == 0xfff)
			pprof_tick(env);
		for (uint32_t j = 0; j < ms->n_loc; j++)
			locs_len += varint_size(c->loc_new[m->sample_locs[ms->loc_start + j]]);
		for (size_t i = 0; i < m->n_types; i++)
			vals_len += varint_size((uint64_t) vals[i]);
		if (ms->n_loc)
			size += 1 + varint_size(locs_len) + locs_len;
		if (m->n_types)
			size += 1 + varint_size(vals_len) + vals_len;
		for (uint32_t j = 0; j < ms->n_label; j++)
		{
			size_t		ls = label_size(&m->labels[ms->label_start + j], st);

			size += 1 + varint_size(ls) + ls;
		}
		put_header(w, 2, size);
		if (ms->n_loc)
		{
			put_header(w, 1, locs_len);
			for (uint32_t j = 0; j < ms->n_loc; j++)
				put_varint(w, c->loc_new[m->sample_locs[ms->loc_start + j]]);
		}
		if (m->n_types)
		{
			put_header(w, 2, vals_len);
			for (size_t i = 0; i < m->n_types; i++)
				put_varint(w, (uint64_t) vals[i]);
		}
		for (uint32_t j = 0; j < ms->n_label; j++)
			write_label(&m->labels[ms->label_start + j], st, w);
	}
}

static void
write_mappings(const PprofMerger *m, const Compaction *c, Strings *st, PprofBuf *w)
{
	for (size_t i = 0; i < c->n_map; i++)
	{
		const MMapping *mm = &m->mappings[c->map_order[i]];
		uint32_t	file = str_index(st, mm->file),
					bid = str_index(st, mm->build_id);
		size_t		size = field_size(1, i + 1) + field_size(2, mm->start) + field_size(3, mm->limit) +
			field_size(4, mm->offset) + field_size(5, file) + field_size(6, bid) +
			field_size(7, mm->flags & 1) + field_size(8, (mm->flags >> 1) & 1) +
			field_size(9, (mm->flags >> 2) & 1) + field_size(10, (mm->flags >> 3) & 1);

		put_header(w, 3, size);
		put_field(w, 1, i + 1);
		put_field(w, 2, mm->start);
		put_field(w, 3, mm->limit);
		put_field(w, 4, mm->offset);
		put_field(w, 5, file);
		put_field(w, 6, bid);
		put_field(w, 7, mm->flags & 1);
		put_field(w, 8, (mm->flags >> 1) & 1);
		put_field(w, 9, (mm->flags >> 2) & 1);
		put_field(w, 10, (mm->flags >> 3) & 1);
	}
}

static size_t
line_size(const MLine *ln, const Compaction *c)
{
	return field_size(1, c->fn_new[ln->function]) + field_size(2, (uint64_t) ln->line) +
		field_size(3, (uint64_t) ln->column);
}

static void
write_locations(const PprofMerger *m, const Compaction *c, PprofBuf *w)
{
	for (size_t i = 0; i < c->n_loc; i++)
	{
		const MLocation *ml = &m->locations[c->loc_order[i]];
		uint32_t	mapping = ml->mapping ? c->map_new[ml->mapping - 1] : 0;
		size_t		size = field_size(1, i + 1) + field_size(2, mapping) + field_size(3, ml->address) +
			field_size(5, ml->is_folded);

		for (uint32_t k = 0; k < ml->n_line; k++)
		{
			size_t		ls = line_size(&m->lines[ml->line_start + k], c);

			size += 1 + varint_size(ls) + ls;
		}
		put_header(w, 4, size);
		put_field(w, 1, i + 1);
		put_field(w, 2, mapping);
		put_field(w, 3, ml->address);
		for (uint32_t k = 0; k < ml->n_line; k++)
		{
			const MLine *ln = &m->lines[ml->line_start + k];

			put_header(w, 4, line_size(ln, c));
			put_field(w, 1, c->fn_new[ln->function]);
			put_field(w, 2, (uint64_t) ln->line);
			put_field(w, 3, (uint64_t) ln->column);
		}
		put_field(w, 5, ml->is_folded);
	}
}

static void
write_functions(const PprofMerger *m, const Compaction *c, Strings *st, PprofBuf *w)
{
	for (size_t i = 0; i < c->n_fn; i++)
	{
		const MFunction *mf = &m->functions[c->fn_order[i]];
		uint32_t	name = str_index(st, mf->name),
					sys = str_index(st, mf->system_name),
					file = str_index(st, mf->filename);

		put_header(w, 5, field_size(1, i + 1) + field_size(2, name) + field_size(3, sys) +
				   field_size(4, file) + field_size(5, (uint64_t) mf->start_line));
		put_field(w, 1, i + 1);
		put_field(w, 2, name);
		put_field(w, 3, sys);
		put_field(w, 4, file);
		put_field(w, 5, (uint64_t) mf->start_line);
	}
}

/* The header's strings get their indexes, then the string table, then the header. */
static void
write_strings_and_header(const PprofMerger *m, Strings *st, const PprofEnv *env, PprofBuf *w)
{
	uint32_t	drop = str_index(st, m->drop_frames),
				keep = str_index(st, m->keep_frames),
				pt = str_index(st, m->period_type[0]),
				pu = str_index(st, m->period_type[1]),
				dst = str_index(st, m->default_sample_type),
				doc = str_index(st, m->doc_url);
	uint32_t   *com = pprof_alloc_array(env, m->n_comments + 1, sizeof(uint32_t));
	size_t		com_len = 0;

	for (size_t i = 0; i < m->n_comments; i++)
	{
		com[i] = str_index(st, m->comments[i]);
		com_len += varint_size(com[i]);
	}
	for (size_t i = 0; i < st->n; i++)
	{
		PprofStr	s = merger_str(m, st->order[i]);

		put_header(w, 6, s.len);
		pprof_buf_append(w, s.data, s.len);
	}
	put_field(w, 7, drop);
	put_field(w, 8, keep);
	put_field(w, 9, (uint64_t) m->time_nanos);
	put_field(w, 10, (uint64_t) m->duration_nanos);
	if (pt || pu)
	{
		put_header(w, 11, field_size(1, pt) + field_size(2, pu));
		put_field(w, 1, pt);
		put_field(w, 2, pu);
	}
	put_field(w, 12, (uint64_t) m->period);
	if (m->n_comments)
	{
		put_header(w, 13, com_len);
		for (size_t i = 0; i < m->n_comments; i++)
			put_varint(w, com[i]);
	}
	put_field(w, 14, dst);
	put_field(w, 15, doc);
}

PprofStatus
pprof_merger_encode(const PprofMerger *m, const PprofEnv *env, int64_t divisor,
					uint8_t **out, size_t *outlen, PprofError *err)
{
	Compaction	c;
	Strings		st;
	PprofBuf	w;

	pprof_merger_compact(m, env, divisor, &c);
	st.new_id = pprof_alloc0_array(env, m->n_str_off, sizeof(uint32_t));
	st.order = pprof_alloc_array(env, m->n_str_off, sizeof(uint32_t));
	st.n = 0;
	str_index(&st, 0);			/* "" is index 0 */
	pprof_buf_init(&w, env, 4096);

	write_sample_types(m, &st, &w);
	write_samples(m, &c, &st, env, &w);
	write_mappings(m, &c, &st, &w);
	write_locations(m, &c, &w);
	write_functions(m, &c, &st, &w);
	write_strings_and_header(m, &st, env, &w);

	if (w.len > env->max_size)
		return pprof_error(err, PPROF_TOO_LARGE,
						   "The merged profile takes %zu bytes, more than the limit of %zu bytes.",
						   w.len, env->max_size);
	*out = (uint8_t *) w.data;
	*outlen = w.len;
	return PPROF_OK;
}
