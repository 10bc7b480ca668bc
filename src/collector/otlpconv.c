/*-------------------------------------------------------------------------
 *
 * otlpconv.c
 *	  OTLP profiles to pprof. The request is unpacked by protobuf-c (code
 *	  that protoc-c makes from proto/otlp_profiles.proto at build time),
 *	  checked whole, then converted:
 *
 *	  - Every index is checked against its table and every table's entry 0
 *	    against the zero value before anything is converted; one bad index
 *	    anywhere refuses the whole request (nothing is stored).
 *	  - The service is the resource's service.name, or a sample's own
 *	    service.name attribute (a host-wide agent's samples of several
 *	    services), else unknown_service[:process.executable.name] as
 *	    OpenTelemetry's SDKs name it.
 *	  - Profiles of one scope with the same service, time, duration,
 *	    period and profile attributes become one pprof profile with a sample
 *	    type each (Go's heap profile sent as four OTLP profiles comes back
 *	    as one heap profile with four sample types); samples with the same
 *	    stack, attributes and link add up into one pprof sample.
 *	  - A sample's value is the sum of its values, or the number of its
 *	    timestamps when it has none (timestamps themselves are dropped:
 *	    pprof has no per-sample time). samples/count with a cpu/nanoseconds
 *	    period (the eBPF profiler's) gets cpu/nanoseconds (count x period)
 *	    as a second sample type, as Go's CPU profiles have it.
 *	  - Resource, scope and profile attributes become the stored labels;
 *	    sample attributes pprof labels (integers numeric, with their unit);
 *	    a Link its trace_id and span_id labels (hex). Location attributes
 *	    and line columns have no place in pprof and are dropped; a
 *	    mapping's build-id attribute becomes its build_id.
 *
 * src/collector/otlpconv.c
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "otlp_profiles.pb-c.h"
#include "otlpconv.h"

#define MAX_TYPES 8				/* sample types in one converted profile */

typedef Otlp__ProfilesDictionary Dict;
typedef Otlp__AnyValue AnyValue;

/* ---- protobuf wire writing, into a Buf ---- */

static void
pb_varint(Buf *b, uint64_t v)
{
	char		t[10];
	int			n = 0;

	while (v >= 0x80)
	{
		t[n++] = (char) (v | 0x80);
		v >>= 7;
	}
	t[n++] = (char) v;
	buf_append(b, t, n);
}

/* a varint field, left out when zero (proto3) */
static void
pb_uint(Buf *b, uint32_t field, uint64_t v)
{
	if (v == 0)
		return;
	pb_varint(b, (uint64_t) field << 3);
	pb_varint(b, v);
}

static void
pb_bytes(Buf *b, uint32_t field, const void *p, size_t n)
{
	pb_varint(b, ((uint64_t) field << 3) | 2);
	pb_varint(b, n);
	if (n > 0)
		buf_append(b, p, n);
}

/* tmp as a length-delimited field of b; tmp emptied for the next one */
static void
pb_flush(Buf *b, uint32_t field, Buf *tmp)
{
	pb_bytes(b, field, tmp->data, tmp->len);
	tmp->len = 0;
	if (tmp->failed)
		b->failed = true;
}

/* ---- reading the wire, for the nesting check ---- */

static bool
rd_varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *i < len; shift += 7)
	{
		uint8_t		c = p[(*i)++];

		*v |= (uint64_t) (c & 0x7f) << shift;
		if (c < 0x80)
			return true;
	}
	return false;
}

/*
 * False when messages nest deeper than OTLP_MAX_DEPTH: protobuf-c's
 * unpacker recurses once per level and has no bound of its own (an
 * AnyValue array in an array ... 2 bytes a level would exhaust the
 * stack). Wire errors are left for the unpacker to report.
 */
static bool
depth_ok(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len, int depth)
{
	size_t		i = 0;

	if (depth > OTLP_MAX_DEPTH)
		return false;
	while (i < len)
	{
		uint64_t	key,
					v;

		if (!rd_varint(p, len, &i, &key))
			return true;
		switch (key & 7)
		{
			case 0:
				if (!rd_varint(p, len, &i, &v))
					return true;
				break;
			case 1:
				if (len - i < 8)
					return true;
				i += 8;
				break;
			case 5:
				if (len - i < 4)
					return true;
				i += 4;
				break;
			case 2:
				{
					const ProtobufCFieldDescriptor *f;

					if (!rd_varint(p, len, &i, &v) || v > len - i)
						return true;
					f = key >> 3 <= UINT32_MAX ?
						protobuf_c_message_descriptor_get_field(d, (unsigned) (key >> 3)) : NULL;
					if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
						!depth_ok(f->descriptor, p + i, (size_t) v, depth + 1))
						return false;
					i += (size_t) v;
					break;
				}
			default:
				return true;
		}
	}
	return true;
}

/* ---- the request and its checks ---- */

typedef struct Conv
{
	const Dict *d;
	size_t		nstr,
				nmap,
				nloc,
				nfun,
				nlink,
				nattr,
				nstack;
	bool	   *is_service;		/* attribute i is service.name with a string value */
	char	   *err;
	size_t		errlen;
} Conv;

static bool fail(Conv *c, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static bool
fail(Conv *c, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return false;
}

/* index 0 is "unset" and always in range; others must be < n */
#define IDX(i, n, table, ...) \
	do { \
		if ((i) < 0 || ((i) > 0 && (size_t) (i) >= (n))) \
		{ \
			char w_[400]; \
			snprintf(w_, sizeof(w_), __VA_ARGS__); \
			return fail(c, "%s = %" PRId64 " is out of range: dictionary.%s has %zu entries", \
						w_, (int64_t) (i), (table), (size_t) (n)); \
		} \
	} while (0)

static const char *
str(const Conv *c, int32_t i)
{
	return i <= 0 || (size_t) i >= c->nstr ? "" : c->d->string_table[i];
}

/* a string value (string_value or string_value_strindex), or NULL */
static const char *
any_string(const Conv *c, const AnyValue *v)
{
	if (v == NULL)
		return NULL;
	if (v->value_case == OTLP__ANY_VALUE__VALUE_STRING_VALUE)
		return v->string_value;
	if (v->value_case == OTLP__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX)
		return str(c, v->string_value_strindex);
	return NULL;
}

static bool
any_ok(Conv *c, const AnyValue *v, const char *where)
{
	if (v && v->value_case == OTLP__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX)
		IDX(v->string_value_strindex, c->nstr, "string_table", "%s.value.string_value_strindex", where);
	return true;
}

static bool
keyvalues_ok(Conv *c, Otlp__KeyValue **kv, size_t n, const char *where)
{
	char		w[256];

	for (size_t i = 0; i < n; i++)
	{
		snprintf(w, sizeof(w), "%s.attributes[%zu]", where, i);
		IDX(kv[i]->key_strindex, c->nstr, "string_table", "%s.key_strindex", w);
		if (!any_ok(c, kv[i]->value, w))
			return false;
	}
	return true;
}

static bool
indices_ok(Conv *c, const int32_t *idx, size_t n, const char *where)
{
	for (size_t i = 0; i < n; i++)
		IDX(idx[i], c->nattr, "attribute_table", "%s.attribute_indices[%zu]", where, i);
	return true;
}

static bool
all_zero(const ProtobufCBinaryData *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i])
			return false;
	return true;
}

/* the dictionary: entry 0 of every table the zero value, every index in range */
static bool
dictionary_ok(Conv *c)
{
	const Dict *d = c->d;
	char		w[96];

	if (d == NULL)
		return true;
	if (d->n_string_table > 0 && d->string_table[0][0] != '\0')
		return fail(c, "dictionary.string_table[0] is not the empty string");
	if (d->n_mapping_table > 0)
	{
		const Otlp__Mapping *m = d->mapping_table[0];

		if (m->memory_start || m->memory_limit || m->file_offset || m->filename_strindex || m->n_attribute_indices)
			return fail(c, "dictionary.mapping_table[0] is not the zero value");
	}
	if (d->n_location_table > 0)
	{
		const Otlp__Location *l = d->location_table[0];

		if (l->mapping_index || l->address || l->n_lines || l->n_attribute_indices)
			return fail(c, "dictionary.location_table[0] is not the zero value");
	}
	if (d->n_function_table > 0)
	{
		const Otlp__Function *f = d->function_table[0];

		if (f->name_strindex || f->system_name_strindex || f->filename_strindex || f->start_line)
			return fail(c, "dictionary.function_table[0] is not the zero value");
	}
	if (d->n_link_table > 0 && (!all_zero(&d->link_table[0]->trace_id) || !all_zero(&d->link_table[0]->span_id)))
		return fail(c, "dictionary.link_table[0] is not the zero value");
	if (d->n_attribute_table > 0)
	{
		const Otlp__KeyValueAndUnit *a = d->attribute_table[0];

		if (a->key_strindex || a->unit_strindex || (a->value && a->value->value_case != OTLP__ANY_VALUE__VALUE__NOT_SET))
			return fail(c, "dictionary.attribute_table[0] is not the zero value");
	}
	if (d->n_stack_table > 0 && d->stack_table[0]->n_location_indices > 0)
		return fail(c, "dictionary.stack_table[0] is not the zero value");

	for (size_t i = 1; i < d->n_mapping_table; i++)
	{
		const Otlp__Mapping *m = d->mapping_table[i];

		IDX(m->filename_strindex, c->nstr, "string_table", "dictionary.mapping_table[%zu].filename_strindex", i);
		snprintf(w, sizeof(w), "dictionary.mapping_table[%zu]", i);
		if (!indices_ok(c, m->attribute_indices, m->n_attribute_indices, w))
			return false;
		if (m->memory_limit && m->memory_limit < m->memory_start)
			return fail(c, "dictionary.mapping_table[%zu] ends (memory_limit) before it starts (memory_start)", i);
	}
	for (size_t i = 1; i < d->n_location_table; i++)
	{
		const Otlp__Location *l = d->location_table[i];

		IDX(l->mapping_index, c->nmap, "mapping_table", "dictionary.location_table[%zu].mapping_index", i);
		for (size_t k = 0; k < l->n_lines; k++)
			IDX(l->lines[k]->function_index, c->nfun, "function_table",
				"dictionary.location_table[%zu].lines[%zu].function_index", i, k);
		snprintf(w, sizeof(w), "dictionary.location_table[%zu]", i);
		if (!indices_ok(c, l->attribute_indices, l->n_attribute_indices, w))
			return false;
	}
	for (size_t i = 1; i < d->n_function_table; i++)
	{
		const Otlp__Function *f = d->function_table[i];

		IDX(f->name_strindex, c->nstr, "string_table", "dictionary.function_table[%zu].name_strindex", i);
		IDX(f->system_name_strindex, c->nstr, "string_table", "dictionary.function_table[%zu].system_name_strindex", i);
		IDX(f->filename_strindex, c->nstr, "string_table", "dictionary.function_table[%zu].filename_strindex", i);
	}
	for (size_t i = 1; i < d->n_link_table; i++)
	{
		const Otlp__Link *l = d->link_table[i];

		if ((l->trace_id.len != 0 && l->trace_id.len != 16) || (l->span_id.len != 0 && l->span_id.len != 8))
			return fail(c, "dictionary.link_table[%zu] has a %zu-byte trace_id and a %zu-byte span_id: "
						"they are 16 and 8 bytes", i, l->trace_id.len, l->span_id.len);
	}
	for (size_t i = 1; i < d->n_attribute_table; i++)
	{
		const Otlp__KeyValueAndUnit *a = d->attribute_table[i];

		IDX(a->key_strindex, c->nstr, "string_table", "dictionary.attribute_table[%zu].key_strindex", i);
		IDX(a->unit_strindex, c->nstr, "string_table", "dictionary.attribute_table[%zu].unit_strindex", i);
		snprintf(w, sizeof(w), "dictionary.attribute_table[%zu]", i);
		if (!any_ok(c, a->value, w))
			return false;
	}
	for (size_t i = 1; i < d->n_stack_table; i++)
	{
		const Otlp__Stack *s = d->stack_table[i];

		for (size_t k = 0; k < s->n_location_indices; k++)
		{
			IDX(s->location_indices[k], c->nloc, "location_table",
				"dictionary.stack_table[%zu].location_indices[%zu]", i, k);
			if (s->location_indices[k] == 0)
				return fail(c, "dictionary.stack_table[%zu].location_indices[%zu] is 0, the zero location", i, k);
		}
	}
	return true;
}

static bool
value_type_ok(Conv *c, const Otlp__ValueType *vt, const char *where)
{
	if (vt == NULL)
		return true;
	IDX(vt->type_strindex, c->nstr, "string_table", "%s.type_strindex", where);
	IDX(vt->unit_strindex, c->nstr, "string_table", "%s.unit_strindex", where);
	return true;
}

static bool
profile_ok(Conv *c, const Otlp__Profile *p, const char *where)
{
	char		w[256];

	if (p->sample_type == NULL)
		return fail(c, "%s has no sample_type", where);
	snprintf(w, sizeof(w), "%s.sample_type", where);
	if (!value_type_ok(c, p->sample_type, w))
		return false;
	snprintf(w, sizeof(w), "%s.period_type", where);
	if (!value_type_ok(c, p->period_type, w))
		return false;
	if (str(c, p->sample_type->type_strindex)[0] == '\0')
		return fail(c, "%s.sample_type has no type (type_strindex names the empty string)", where);
	if (p->period < 0)
		return fail(c, "%s.period is negative (%" PRId64 ")", where, p->period);
	if (p->time_unix_nano > INT64_MAX || p->duration_nano > INT64_MAX)
		return fail(c, "%s has a time_unix_nano or duration_nano past year 2262", where);
	if (!indices_ok(c, p->attribute_indices, p->n_attribute_indices, where))
		return false;
	for (size_t i = 0; i < p->n_samples; i++)
	{
		const Otlp__Sample *s = p->samples[i];

		snprintf(w, sizeof(w), "%s.samples[%zu]", where, i);
		IDX(s->stack_index, c->nstack, "stack_table", "%s.stack_index", w);
		IDX(s->link_index, c->nlink, "link_table", "%s.link_index", w);
		if (!indices_ok(c, s->attribute_indices, s->n_attribute_indices, w))
			return false;
		if (s->n_values == 0 && s->n_timestamps_unix_nano == 0)
			return fail(c, "%s has neither values nor timestamps_unix_nano", w);
		if (s->n_values > 0 && s->n_timestamps_unix_nano > 0 && s->n_values != s->n_timestamps_unix_nano)
			return fail(c, "%s has %zu values and %zu timestamps_unix_nano: with both, they pair up one to one",
						w, s->n_values, s->n_timestamps_unix_nano);
	}
	return true;
}

static bool
request_ok(Conv *c, const Otlp__ExportProfilesServiceRequest *r)
{
	char		w[160];

	if (!dictionary_ok(c))
		return false;
	for (size_t i = 0; i < r->n_resource_profiles; i++)
	{
		const Otlp__ResourceProfiles *rp = r->resource_profiles[i];

		snprintf(w, sizeof(w), "resource_profiles[%zu].resource", i);
		if (rp->resource && !keyvalues_ok(c, rp->resource->attributes, rp->resource->n_attributes, w))
			return false;
		for (size_t j = 0; j < rp->n_scope_profiles; j++)
		{
			const Otlp__ScopeProfiles *sp = rp->scope_profiles[j];

			snprintf(w, sizeof(w), "resource_profiles[%zu].scope_profiles[%zu].scope", i, j);
			if (sp->scope && !keyvalues_ok(c, sp->scope->attributes, sp->scope->n_attributes, w))
				return false;
			for (size_t k = 0; k < sp->n_profiles; k++)
			{
				snprintf(w, sizeof(w), "resource_profiles[%zu].scope_profiles[%zu].profiles[%zu]", i, j, k);
				if (!profile_ok(c, sp->profiles[k], w))
					return false;
			}
		}
	}
	return true;
}

/* ---- converted profiles: a group of OTLP profiles that become one ---- */

typedef struct Sample
{
	int32_t		stack;
	int32_t		link;
	uint32_t	attr_off;		/* into Group.attrs */
	uint32_t	nattr;
	uint64_t	hash;
	int64_t		v[MAX_TYPES];
} Sample;

typedef struct Group
{
	const char *service;		/* a string of the request's, or of otlp_convert's */
	const Otlp__ResourceProfiles *rp;
	const Otlp__ScopeProfiles *sp;
	const Otlp__Profile *key;	/* the first profile: time, duration, period, attributes */
	int			ntypes;
	const char *stype[MAX_TYPES];
	const char *sunit[MAX_TYPES];
	const Otlp__Profile *last;	/* the profile whose values go to [off, off + k) */
	int			off;
	int			k;
	int			nprofiles;
	Sample	   *samples;
	size_t		nsamples,
				capsamples;
	int32_t    *attrs;
	size_t		nattrs,
				capattrs;
	uint32_t   *slots;			/* hash table: sample index + 1, 0 empty */
	size_t		nslots;
} Group;

typedef struct Groups
{
	Group	   *g;
	size_t		n,
				cap;
} Groups;

static void *
grow(void *p, size_t *cap, size_t need, size_t elem)
{
	size_t		ncap = *cap ? *cap : 8;
	void	   *np;

	if (need <= *cap)
		return p;
	while (ncap < need)
		ncap *= 2;
	np = realloc(p, ncap * elem);
	if (np == NULL)
		return NULL;
	*cap = ncap;
	return np;
}

static bool
same_indices(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
	{
		bool		found = false;

		for (size_t j = 0; j < nb && !found; j++)
			found = a[i] == b[j];
		if (!found)
			return false;
	}
	return true;
}

static bool
same_value_type(const Conv *c, const Otlp__ValueType *a, const Otlp__ValueType *b)
{
	const char *at = a ? str(c, a->type_strindex) : "",
			   *au = a ? str(c, a->unit_strindex) : "",
			   *bt = b ? str(c, b->type_strindex) : "",
			   *bu = b ? str(c, b->unit_strindex) : "";

	return strcmp(at, bt) == 0 && strcmp(au, bu) == 0;
}

/* p may join g: same time, duration, period and profile attributes */
static bool
same_key(const Conv *c, const Otlp__Profile *a, const Otlp__Profile *b)
{
	return a->time_unix_nano == b->time_unix_nano && a->duration_nano == b->duration_nano &&
		a->period == b->period && same_value_type(c, a->period_type, b->period_type) &&
		same_indices(a->attribute_indices, a->n_attribute_indices, b->attribute_indices, b->n_attribute_indices);
}

/* the sample types a profile adds: its own, and cpu/nanoseconds for samples/count every cpu period */
static int
profile_types(const Conv *c, const Otlp__Profile *p, const char **t, const char **u)
{
	t[0] = str(c, p->sample_type->type_strindex);
	u[0] = str(c, p->sample_type->unit_strindex);
	if (strcmp(t[0], "samples") == 0 && strcmp(u[0], "count") == 0 && p->period > 0 && p->period_type &&
		strcmp(str(c, p->period_type->type_strindex), "cpu") == 0 &&
		strcmp(str(c, p->period_type->unit_strindex), "nanoseconds") == 0)
	{
		t[1] = "cpu";
		u[1] = "nanoseconds";
		return 2;
	}
	return 1;
}

static bool
has_type(const Group *g, const char *t, const char *u)
{
	for (int i = 0; i < g->ntypes; i++)
		if (strcmp(g->stype[i], t) == 0 && strcmp(g->sunit[i], u) == 0)
			return true;
	return false;
}

/*
 * The group of scope sp that profile p's samples of service svc go to:
 * the one p already feeds, one p can join (same key, room, none of p's
 * sample types yet), or a new one. NULL when out of memory.
 */
static Group *
group_for(const Conv *c, Groups *gs, size_t first, const Otlp__ResourceProfiles *rp,
		  const Otlp__ScopeProfiles *sp, const Otlp__Profile *p, const char *svc)
{
	const char *t[2],
			   *u[2];
	int			k = profile_types(c, p, t, u);
	Group	   *g;

	for (size_t i = gs->n; i-- > first;)
	{
		g = &gs->g[i];
		if (g->last == p && strcmp(g->service, svc) == 0)
			return g;
	}
	for (size_t i = first; i < gs->n; i++)
	{
		g = &gs->g[i];
		if (g->last != p && strcmp(g->service, svc) == 0 && g->ntypes + k <= MAX_TYPES &&
			same_key(c, g->key, p) && !has_type(g, t[0], u[0]) && (k < 2 || !has_type(g, t[1], u[1])))
			goto join;
	}
	{
		Group	   *ng = grow(gs->g, &gs->cap, gs->n + 1, sizeof(Group));

		if (ng == NULL)
			return NULL;
		gs->g = ng;
		g = &gs->g[gs->n++];
		memset(g, 0, sizeof(*g));
		g->service = svc;
		g->rp = rp;
		g->sp = sp;
		g->key = p;
	}
join:
	g->last = p;
	g->off = g->ntypes;
	g->k = k;
	for (int i = 0; i < k; i++)
	{
		g->stype[g->ntypes] = t[i];
		g->sunit[g->ntypes++] = u[i];
	}
	g->nprofiles++;
	return g;
}

static uint64_t
mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdULL;
}

static int
cmp_i32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

static bool
grow_slots(Group *g)
{
	size_t		n = g->nslots ? g->nslots * 2 : 64;
	uint32_t   *s = calloc(n, sizeof(uint32_t));

	if (s == NULL)
		return false;
	for (size_t i = 0; i < g->nsamples; i++)
	{
		size_t		j = g->samples[i].hash & (n - 1);

		while (s[j])
			j = (j + 1) & (n - 1);
		s[j] = (uint32_t) (i + 1);
	}
	free(g->slots);
	g->slots = s;
	g->nslots = n;
	return true;
}

/*
 * Adds sample s of the group's current profile: its identity is the stack,
 * the link and the set of attributes (service.name aside). False on
 * overflow (err set) or out of memory (err empty).
 */
static bool
group_add(Conv *c, Group *g, const Otlp__Sample *s, const Otlp__Profile *p)
{
	int32_t		a[64];
	int32_t    *attrs = a;
	size_t		na = 0;
	uint64_t	h = mix(mix(0, (uint32_t) s->stack_index), (uint32_t) s->link_index);
	int64_t		total = 0;
	Sample	   *x = NULL;
	size_t		j;
	bool		ok = true;

	if (s->n_attribute_indices > 64 && (attrs = malloc(s->n_attribute_indices * sizeof(int32_t))) == NULL)
		return false;
	for (size_t i = 0; i < s->n_attribute_indices; i++)
		if (s->attribute_indices[i] > 0 && !c->is_service[s->attribute_indices[i]])
			attrs[na++] = s->attribute_indices[i];
	qsort(attrs, na, sizeof(int32_t), cmp_i32);
	for (size_t i = 0; i < na; i++)
		h = mix(h, (uint32_t) attrs[i]);

	if (s->n_values > 0)
	{
		for (size_t i = 0; i < s->n_values; i++)
			if (__builtin_add_overflow(total, s->values[i], &total))
			{
				ok = fail(c, "a sample's values add up to more than 64 bits hold");
				goto out;
			}
	}
	else
		total = (int64_t) s->n_timestamps_unix_nano;

	if ((g->nsamples + 1) * 2 > g->nslots && !grow_slots(g))
	{
		ok = false;
		goto out;
	}
	for (j = h & (g->nslots - 1); g->slots[j]; j = (j + 1) & (g->nslots - 1))
	{
		Sample	   *y = &g->samples[g->slots[j] - 1];

		if (y->hash == h && y->stack == s->stack_index && y->link == s->link_index && y->nattr == na &&
			(na == 0 || memcmp(g->attrs + y->attr_off, attrs, na * sizeof(int32_t)) == 0))
		{
			x = y;
			break;
		}
	}
	if (x == NULL)
	{
		Sample	   *ns = grow(g->samples, &g->capsamples, g->nsamples + 1, sizeof(Sample));
		int32_t    *nattrs;

		if (ns == NULL)
		{
			ok = false;
			goto out;
		}
		g->samples = ns;
		if ((nattrs = grow(g->attrs, &g->capattrs, g->nattrs + na + 1, sizeof(int32_t))) == NULL)
		{
			ok = false;
			goto out;
		}
		g->attrs = nattrs;
		x = &g->samples[g->nsamples];
		memset(x, 0, sizeof(*x));
		x->stack = s->stack_index;
		x->link = s->link_index;
		x->hash = h;
		x->attr_off = (uint32_t) g->nattrs;
		x->nattr = (uint32_t) na;
		if (na > 0)
			memcpy(g->attrs + g->nattrs, attrs, na * sizeof(int32_t));
		g->nattrs += na;
		g->slots[j] = (uint32_t) (++g->nsamples);
	}
	if (__builtin_add_overflow(x->v[g->off], total, &x->v[g->off]))
		ok = fail(c, "sample values add up to more than 64 bits hold");
	else if (g->k == 2)
	{
		int64_t		ns;

		if (__builtin_mul_overflow(total, p->period, &ns) ||
			__builtin_add_overflow(x->v[g->off + 1], ns, &x->v[g->off + 1]))
			ok = fail(c, "samples times the period (%" PRId64 ") are more than 64 bits hold", p->period);
	}
out:
	if (attrs != a)
		free(attrs);
	return ok;
}

static void
group_free(Group *g)
{
	free(g->samples);
	free(g->attrs);
	free(g->slots);
}

/* ---- writing one group as a pprof profile ---- */

/* The profile's string table: each distinct string once, "" at 0. */
typedef struct StrTab
{
	const char **s;
	size_t	   *len;
	size_t		n,
				cap;
	uint32_t   *slots;			/* index + 1 */
	size_t		nslots;
	char	  **owned;			/* strings made here (hex ids, numbers) */
	size_t		nowned,
				capowned;
	bool		failed;
} StrTab;

static uint64_t
str_hash(const char *s, size_t n)
{
	uint64_t	h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t) s[i]) * 1099511628211ULL;
	return h;
}

static uint64_t
intern_n(StrTab *t, const char *s, size_t n)
{
	size_t		j;

	if (t->failed)
		return 0;
	if ((t->n + 1) * 2 > t->nslots)
	{
		size_t		ns = t->nslots ? t->nslots * 2 : 256;
		uint32_t   *sl = calloc(ns, sizeof(uint32_t));

		if (sl == NULL)
			goto oom;
		for (size_t i = 0; i < t->n; i++)
		{
			size_t		k = str_hash(t->s[i], t->len[i]) & (ns - 1);

			while (sl[k])
				k = (k + 1) & (ns - 1);
			sl[k] = (uint32_t) (i + 1);
		}
		free(t->slots);
		t->slots = sl;
		t->nslots = ns;
	}
	for (j = str_hash(s, n) & (t->nslots - 1); t->slots[j]; j = (j + 1) & (t->nslots - 1))
	{
		uint32_t	i = t->slots[j] - 1;

		if (t->len[i] == n && memcmp(t->s[i], s, n) == 0)
			return i;
	}
	if (t->n == t->cap)
	{
		size_t		nc = t->cap ? t->cap * 2 : 128;
		const char **ns = realloc(t->s, nc * sizeof(char *));
		size_t	   *nl;

		if (ns == NULL)
			goto oom;
		t->s = ns;
		if ((nl = realloc(t->len, nc * sizeof(size_t))) == NULL)
			goto oom;
		t->len = nl;
		t->cap = nc;
	}
	t->s[t->n] = s;
	t->len[t->n] = n;
	t->slots[j] = (uint32_t) (t->n + 1);
	return t->n++;
oom:
	t->failed = true;
	return 0;
}

static uint64_t
intern(StrTab *t, const char *s)
{
	return intern_n(t, s, strlen(s));
}

/* a string made here: kept until the table is freed */
static uint64_t
intern_owned(StrTab *t, char *s)
{
	char	  **no;

	if (s == NULL || (no = grow(t->owned, &t->capowned, t->nowned + 1, sizeof(char *))) == NULL)
	{
		free(s);
		t->failed = true;
		return 0;
	}
	t->owned = no;
	t->owned[t->nowned++] = s;
	return intern(t, s);
}

static char *
hex_of(const uint8_t *p, size_t n)
{
	char	   *s = malloc(2 * n + 1);

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	s[2 * n] = '\0';
	return s;
}

static void
strtab_free(StrTab *t)
{
	for (size_t i = 0; i < t->nowned; i++)
		free(t->owned[i]);
	free(t->owned);
	free(t->s);
	free(t->len);
	free(t->slots);
}

/* Ids in the output for the dictionary's entries: stamped per group, allocated once. */
typedef struct IdMap
{
	uint32_t   *id;
	uint32_t   *gen;
	int32_t    *order;			/* dictionary indices in the order their ids were given */
	size_t		n;				/* ids given this group */
} IdMap;

static bool
idmap_init(IdMap *m, size_t n)
{
	m->id = calloc(n ? n : 1, sizeof(uint32_t));
	m->gen = calloc(n ? n : 1, sizeof(uint32_t));
	m->order = calloc(n ? n : 1, sizeof(int32_t));
	m->n = 0;
	return m->id && m->gen && m->order;
}

static uint32_t
idmap_get(IdMap *m, int32_t i, uint32_t gen)
{
	if (m->gen[i] != gen)
	{
		m->gen[i] = gen;
		m->order[m->n] = i;
		m->id[i] = (uint32_t) ++m->n;
	}
	return m->id[i];
}

static void
idmap_free(IdMap *m)
{
	free(m->id);
	free(m->gen);
	free(m->order);
}

typedef struct Writer
{
	Conv	   *c;
	StrTab		st;
	IdMap		loc,
				fun,
				map;
	uint32_t	gen;
	Buf			tmp,
				tmp2,
				one;			/* a sample's message */
} Writer;

/* an attribute as a pprof label of a sample (non-scalar values have no label form) */
static void
write_label(Writer *w, Buf *out, const Otlp__KeyValueAndUnit *a)
{
	const Conv *c = w->c;
	const AnyValue *v = a->value;
	const char *key = str(c, a->key_strindex);
	const char *s = any_string(c, v);
	uint64_t	k,
				sv = 0,
				num = 0,
				unit = 0;
	char		b[40];

	if (key[0] == '\0' || v == NULL)
		return;
	k = intern(&w->st, key);
	if (s)
		sv = intern(&w->st, s);
	else if (v->value_case == OTLP__ANY_VALUE__VALUE_INT_VALUE)
	{
		num = (uint64_t) v->int_value;
		if (a->unit_strindex > 0)
			unit = intern(&w->st, str(c, a->unit_strindex));
	}
	else if (v->value_case == OTLP__ANY_VALUE__VALUE_BOOL_VALUE)
		sv = intern(&w->st, v->bool_value ? "true" : "false");
	else if (v->value_case == OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE)
	{
		snprintf(b, sizeof(b), "%.17g", v->double_value);
		sv = intern_owned(&w->st, strdup(b));
	}
	else if (v->value_case == OTLP__ANY_VALUE__VALUE_BYTES_VALUE)
		sv = intern_owned(&w->st, hex_of(v->bytes_value.data, v->bytes_value.len));
	else
		return;
	pb_uint(&w->tmp2, 1, k);
	pb_uint(&w->tmp2, 2, sv);
	pb_uint(&w->tmp2, 3, num);
	pb_uint(&w->tmp2, 4, unit);
	pb_flush(out, 3, &w->tmp2);
}

static void
write_str_label(Writer *w, Buf *out, const char *key, char *value)
{
	uint64_t	k = intern(&w->st, key);
	uint64_t	v = intern_owned(&w->st, value);

	pb_uint(&w->tmp2, 1, k);
	pb_uint(&w->tmp2, 2, v);
	pb_flush(out, 3, &w->tmp2);
}

static void
write_sample(Writer *w, Buf *out, const Group *g, const Sample *x)
{
	const Dict *d = w->c->d;

	/* location ids, packed, leaf first as both formats have them */
	if (x->stack > 0)
	{
		const Otlp__Stack *st = d->stack_table[x->stack];

		for (size_t i = 0; i < st->n_location_indices; i++)
			pb_varint(&w->tmp, idmap_get(&w->loc, st->location_indices[i], w->gen));
		if (w->tmp.len > 0)
			pb_flush(out, 1, &w->tmp);
	}
	for (int i = 0; i < g->ntypes; i++)
		pb_varint(&w->tmp, (uint64_t) x->v[i]);
	pb_flush(out, 2, &w->tmp);
	for (uint32_t i = 0; i < x->nattr; i++)
		write_label(w, out, d->attribute_table[g->attrs[x->attr_off + i]]);
	if (x->link > 0)
	{
		const Otlp__Link *l = d->link_table[x->link];

		if (l->trace_id.len && !all_zero(&l->trace_id))
			write_str_label(w, out, "trace_id", hex_of(l->trace_id.data, l->trace_id.len));
		if (l->span_id.len && !all_zero(&l->span_id))
			write_str_label(w, out, "span_id", hex_of(l->span_id.data, l->span_id.len));
	}
}

/* a mapping's build id: its process.executable.build_id.* attribute (gnu first) */
static const char *
build_id(const Conv *c, const Otlp__Mapping *m)
{
	const char *best = NULL;

	for (size_t i = 0; i < m->n_attribute_indices; i++)
	{
		const Otlp__KeyValueAndUnit *a;
		const char *key,
				   *v;

		if (m->attribute_indices[i] <= 0)
			continue;
		a = c->d->attribute_table[m->attribute_indices[i]];
		key = str(c, a->key_strindex);
		v = any_string(c, a->value);
		if (v == NULL || strncmp(key, "process.executable.build_id.", 28) != 0)
			continue;
		if (strcmp(key + 28, "gnu") == 0)
			return v;
		if (best == NULL)
			best = v;
	}
	return best;
}

/* pprof's Profile (profile.proto): the group's samples and what they reference */
static bool
write_group(Writer *w, const Group *g, Buf *out)
{
	const Conv *c = w->c;
	const Dict *d = c->d;
	const Otlp__Profile *p = g->key;
	Buf			samples = {0},
				locs = {0},
				funs = {0},
				maps = {0},
				period_type = {0};
	bool		ok;

	memset(&w->st, 0, sizeof(w->st));
	w->gen++;
	w->loc.n = w->fun.n = w->map.n = 0;
	intern(&w->st, "");
	if (p->period_type)
	{
		pb_uint(&w->tmp, 1, intern(&w->st, str(c, p->period_type->type_strindex)));
		pb_uint(&w->tmp, 2, intern(&w->st, str(c, p->period_type->unit_strindex)));
		pb_flush(&period_type, 11, &w->tmp);
	}
	for (int i = 0; i < g->ntypes; i++)
	{
		pb_uint(&w->tmp, 1, intern(&w->st, g->stype[i]));
		pb_uint(&w->tmp, 2, intern(&w->st, g->sunit[i]));
		pb_flush(out, 1, &w->tmp);
	}
	for (size_t i = 0; i < g->nsamples; i++)
	{
		write_sample(w, &w->one, g, &g->samples[i]);
		pb_flush(&samples, 2, &w->one);
	}
	/* locations as samples met them; their lines name functions and mappings */
	for (size_t n = 0; n < w->loc.n; n++)
	{
		const Otlp__Location *l = d->location_table[w->loc.order[n]];

		pb_uint(&w->tmp, 1, n + 1);
		if (l->mapping_index > 0)
			pb_uint(&w->tmp, 2, idmap_get(&w->map, l->mapping_index, w->gen));
		pb_uint(&w->tmp, 3, l->address);
		for (size_t k = 0; k < l->n_lines; k++)
		{
			if (l->lines[k]->function_index <= 0)
				continue;		/* a line of no function says nothing */
			pb_uint(&w->tmp2, 1, idmap_get(&w->fun, l->lines[k]->function_index, w->gen));
			pb_uint(&w->tmp2, 2, (uint64_t) l->lines[k]->line);
			pb_flush(&w->tmp, 4, &w->tmp2);
		}
		pb_flush(&locs, 4, &w->tmp);
	}
	for (size_t n = 0; n < w->fun.n; n++)
	{
		const Otlp__Function *f = d->function_table[w->fun.order[n]];

		pb_uint(&w->tmp, 1, n + 1);
		pb_uint(&w->tmp, 2, intern(&w->st, str(c, f->name_strindex)));
		pb_uint(&w->tmp, 3, intern(&w->st, str(c, f->system_name_strindex)));
		pb_uint(&w->tmp, 4, intern(&w->st, str(c, f->filename_strindex)));
		pb_uint(&w->tmp, 5, (uint64_t) f->start_line);
		pb_flush(&funs, 5, &w->tmp);
	}
	for (size_t n = 0; n < w->map.n; n++)
	{
		const Otlp__Mapping *m = d->mapping_table[w->map.order[n]];
		const char *bid = build_id(c, m);

		pb_uint(&w->tmp, 1, n + 1);
		pb_uint(&w->tmp, 2, m->memory_start);
		pb_uint(&w->tmp, 3, m->memory_limit);
		pb_uint(&w->tmp, 4, m->file_offset);
		pb_uint(&w->tmp, 5, intern(&w->st, str(c, m->filename_strindex)));
		if (bid)
			pb_uint(&w->tmp, 6, intern(&w->st, bid));
		/*
		 * has_functions: what came is all there will be. Without it go tool
		 * pprof asks the server to symbolize the addresses (/symbolz) and
		 * gives up; with it, unsymbolized frames show as addresses.
		 */
		pb_uint(&w->tmp, 7, 1);
		pb_flush(&maps, 3, &w->tmp);
	}

	buf_append(out, samples.data, samples.len);
	buf_append(out, maps.data, maps.len);
	buf_append(out, locs.data, locs.len);
	buf_append(out, funs.data, funs.len);
	for (size_t i = 0; i < w->st.n; i++)
		pb_bytes(out, 6, w->st.s[i], w->st.len[i]);
	pb_uint(out, 9, p->time_unix_nano);
	pb_uint(out, 10, p->duration_nano);
	buf_append(out, period_type.data, period_type.len);
	pb_uint(out, 12, (uint64_t) p->period);

	ok = !(samples.failed || maps.failed || locs.failed || funs.failed || period_type.failed || out->failed ||
		   w->st.failed || w->tmp.failed || w->tmp2.failed || w->one.failed);
	buf_free(&period_type);
	buf_free(&samples);
	buf_free(&maps);
	buf_free(&locs);
	buf_free(&funs);
	strtab_free(&w->st);
	return ok;
}

/* ---- labels of the stored profile ---- */

static bool
key_seen(const char **keys, size_t n, const char *k)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i], k) == 0)
			return true;
	return false;
}

/* a scalar as label text into b (false: no text form) */
static bool
any_text(const Conv *c, const AnyValue *v, Buf *b)
{
	const char *s = any_string(c, v);

	b->len = 0;
	if (s)
		buf_puts(b, s);
	else if (v == NULL)
		return false;
	else if (v->value_case == OTLP__ANY_VALUE__VALUE_BOOL_VALUE)
		buf_puts(b, v->bool_value ? "true" : "false");
	else if (v->value_case == OTLP__ANY_VALUE__VALUE_INT_VALUE)
		buf_printf(b, "%" PRId64, v->int_value);
	else if (v->value_case == OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE)
		buf_printf(b, "%.17g", v->double_value);
	else if (v->value_case == OTLP__ANY_VALUE__VALUE_BYTES_VALUE)
	{
		char	   *h = hex_of(v->bytes_value.data, v->bytes_value.len);

		if (h == NULL)
		{
			b->failed = true;
			return false;
		}
		buf_puts(b, h);
		free(h);
	}
	else
		return false;
	return b->len > 0 || s != NULL;
}

static bool
add_label(Conv *c, Buf *json, const char **keys, size_t *nkeys, const char *key, const AnyValue *v,
		  Buf *text)
{
	if (key[0] == '\0' || strcmp(key, "service.name") == 0 || key_seen(keys, *nkeys, key) || *nkeys >= 256 ||
		!any_text(c, v, text))
		return true;
	if (!utf8_valid(key, strlen(key)) || !utf8_valid(text->data ? text->data : "", text->len))
		return fail(c, "attribute \"%.60s\" is not valid UTF-8", key);
	keys[(*nkeys)++] = key;
	buf_puts(json, *nkeys == 1 ? "" : ",");
	buf_json_string(json, key, strlen(key));
	buf_puts(json, ":");
	buf_json_string(json, text->data ? text->data : "", text->len);
	return true;
}

/* resource, then scope, then profile attributes: the first of a key wins */
static bool
group_labels(Conv *c, const Group *g, Buf *json)
{
	const char *keys[256];
	size_t		nkeys = 0;
	Buf			text = {0};
	bool		ok = true;

	buf_puts(json, "{");
	if (g->rp->resource)
		for (size_t i = 0; ok && i < g->rp->resource->n_attributes; i++)
		{
			const Otlp__KeyValue *kv = g->rp->resource->attributes[i];

			ok = add_label(c, json, keys, &nkeys, kv->key_strindex > 0 ? str(c, kv->key_strindex) : kv->key,
						   kv->value, &text);
		}
	if (g->sp->scope)
		for (size_t i = 0; ok && i < g->sp->scope->n_attributes; i++)
		{
			const Otlp__KeyValue *kv = g->sp->scope->attributes[i];

			ok = add_label(c, json, keys, &nkeys, kv->key_strindex > 0 ? str(c, kv->key_strindex) : kv->key,
						   kv->value, &text);
		}
	for (size_t i = 0; ok && i < g->key->n_attribute_indices; i++)
	{
		const Otlp__KeyValueAndUnit *a;

		if (g->key->attribute_indices[i] <= 0)
			continue;
		a = c->d->attribute_table[g->key->attribute_indices[i]];
		ok = add_label(c, json, keys, &nkeys, str(c, a->key_strindex), a->value, &text);
	}
	buf_puts(json, "}");
	if (text.failed)
		json->failed = true;
	buf_free(&text);
	return ok;
}

/* ---- the service and the type ---- */

static const char *
resource_attr(const Conv *c, const Otlp__ResourceProfiles *rp, const char *key)
{
	if (rp->resource == NULL)
		return NULL;
	for (size_t i = 0; i < rp->resource->n_attributes; i++)
	{
		const Otlp__KeyValue *kv = rp->resource->attributes[i];
		const char *k = kv->key_strindex > 0 ? str(c, kv->key_strindex) : kv->key;
		const char *v = any_string(c, kv->value);

		if (strcmp(k, key) == 0 && v && v[0])
			return v;
	}
	return NULL;
}

/* The profile type the group's sample types say, as profefe.pprof_guess_type has it. */
static const char *
group_type(const Conv *c, const Group *g)
{
	bool		alloc = false,
				inuse = false,
				gor = false,
				cont = false,
				thr = false,
				cpu = false;
	const Otlp__ValueType *pt = g->key->period_type;

	for (int i = 0; i < g->ntypes; i++)
	{
		const char *t = g->stype[i];

		if (strcmp(t, "wall") == 0)
			return "wall";
		cpu |= strcmp(t, "cpu") == 0;
		alloc |= strncmp(t, "alloc_", 6) == 0;
		inuse |= strncmp(t, "inuse_", 6) == 0 || strcmp(t, "space") == 0 || strcmp(t, "objects") == 0;
		gor |= strcmp(t, "goroutine") == 0 || strcmp(t, "goroutines") == 0;
		cont |= strcmp(t, "contentions") == 0;
		thr |= strcmp(t, "threadcreate") == 0;
	}
	if (cpu || (pt && strcmp(str(c, pt->type_strindex), "cpu") == 0 && strcmp(g->stype[0], "off_cpu") != 0))
		return "cpu";
	if (inuse)
		return "heap";
	if (alloc)
		return "allocs";
	if (gor)
		return "goroutine";
	if (cont)
		return "mutex";
	if (thr)
		return "threadcreate";
	return "other";
}

/* ---- the whole request ---- */

static bool
res_add(OtlpResult *res, OtlpOut **o)
{
	OtlpOut    *n = grow(res->out, &res->cap, (size_t) res->nout + 1, sizeof(OtlpOut));

	if (n == NULL)
		return false;
	res->out = n;
	*o = &res->out[res->nout++];
	memset(*o, 0, sizeof(**o));
	return true;
}

bool
otlp_convert(const uint8_t *data, size_t len, OtlpResult *res, char *err, size_t errlen)
{
	Otlp__ExportProfilesServiceRequest *r;
	static const Dict empty = OTLP__PROFILES_DICTIONARY__INIT;
	Conv		c = {.err = err, .errlen = errlen};
	Groups		gs = {0};
	Writer		w = {0};
	char	  **owned = NULL;		/* service names made here */
	size_t		nowned = 0,
				capowned = 0;
	bool		ok = false;

	memset(res, 0, sizeof(*res));
	err[0] = '\0';
	if (!depth_ok(&otlp__export_profiles_service_request__descriptor, data, len, 0))
		return fail(&c, "messages nest deeper than %d levels", OTLP_MAX_DEPTH);
	r = otlp__export_profiles_service_request__unpack(NULL, len, data);
	if (r == NULL)
		return fail(&c, "not an ExportProfilesServiceRequest: the protobuf is truncated or malformed");

	c.d = r->dictionary ? r->dictionary : &empty;
	c.nstr = c.d->n_string_table;
	c.nmap = c.d->n_mapping_table;
	c.nloc = c.d->n_location_table;
	c.nfun = c.d->n_function_table;
	c.nlink = c.d->n_link_table;
	c.nattr = c.d->n_attribute_table;
	c.nstack = c.d->n_stack_table;
	if (!request_ok(&c, r))
		goto out;
	if ((c.is_service = calloc(c.nattr ? c.nattr : 1, sizeof(bool))) == NULL)
		goto oom;
	for (size_t i = 1; i < c.nattr; i++)
	{
		const Otlp__KeyValueAndUnit *a = c.d->attribute_table[i];

		c.is_service[i] = strcmp(str(&c, a->key_strindex), "service.name") == 0 && any_string(&c, a->value);
	}

	for (size_t i = 0; i < r->n_resource_profiles; i++)
	{
		const Otlp__ResourceProfiles *rp = r->resource_profiles[i];
		const char *svc = resource_attr(&c, rp, "service.name");

		if (svc == NULL)
		{
			/* OpenTelemetry's name for a service that has none */
			const char *exe = resource_attr(&c, rp, "process.executable.name");
			size_t		n = 32 + (exe ? strlen(exe) : 0);
			char	  **no = grow(owned, &capowned, nowned + 1, sizeof(char *));
			char	   *name;

			if (no == NULL)
				goto oom;
			owned = no;
			if ((name = malloc(n)) == NULL)
				goto oom;
			snprintf(name, n, exe ? "unknown_service:%s" : "unknown_service", exe);
			owned[nowned++] = name;
			svc = name;
		}
		for (size_t j = 0; j < rp->n_scope_profiles; j++)
		{
			const Otlp__ScopeProfiles *sp = rp->scope_profiles[j];
			size_t		first = gs.n;

			for (size_t k = 0; k < sp->n_profiles; k++)
			{
				const Otlp__Profile *p = sp->profiles[k];
				const char *last_svc = NULL;
				Group	   *g = NULL;

				res->nprofiles++;
				if (p->n_samples == 0)
					res->nempty++;
				for (size_t s = 0; s < p->n_samples; s++)
				{
					const Otlp__Sample *x = p->samples[s];
					const char *ssvc = svc;

					/* a host-wide agent names each sample's service */
					for (size_t a = 0; a < x->n_attribute_indices; a++)
						if (x->attribute_indices[a] > 0 && c.is_service[x->attribute_indices[a]])
						{
							const char *v = any_string(&c, c.d->attribute_table[x->attribute_indices[a]]->value);

							if (v[0])
								ssvc = v;
						}
					if (g == NULL || ssvc != last_svc)
					{
						if ((g = group_for(&c, &gs, first, rp, sp, p, ssvc)) == NULL)
							goto oom;
						last_svc = ssvc;
					}
					if (!group_add(&c, g, x, p))
					{
						if (err[0])
							goto out;
						goto oom;
					}
				}
			}
		}
	}

	if (!idmap_init(&w.loc, c.nloc) || !idmap_init(&w.fun, c.nfun) || !idmap_init(&w.map, c.nmap))
		goto oom;
	w.c = &c;
	for (size_t i = 0; i < gs.n; i++)
	{
		const Group *g = &gs.g[i];
		OtlpOut    *o;

		if (!utf8_valid(g->service, strlen(g->service)))
		{
			fail(&c, "service.name is not valid UTF-8");
			goto out;
		}
		if (!res_add(res, &o) || (o->service = strdup(g->service)) == NULL)
			goto oom;
		o->type = group_type(&c, g);
		o->time_nanos = (int64_t) g->key->time_unix_nano;
		o->nprofiles = g->nprofiles;
		if (!group_labels(&c, g, &o->labels_json))
			goto out;
		if (!write_group(&w, g, &o->pprof) || o->labels_json.failed)
			goto oom;
	}
	ok = true;
	goto out;

oom:
	fail(&c, "out of memory converting the request");
out:
	for (size_t i = 0; i < gs.n; i++)
		group_free(&gs.g[i]);
	free(gs.g);
	idmap_free(&w.loc);
	idmap_free(&w.fun);
	idmap_free(&w.map);
	buf_free(&w.tmp);
	buf_free(&w.tmp2);
	buf_free(&w.one);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	free(c.is_service);
	otlp__export_profiles_service_request__free_unpacked(r, NULL);
	if (!ok)
		otlp_result_free(res);
	return ok;
}

void
otlp_result_free(OtlpResult *res)
{
	for (int i = 0; i < res->nout; i++)
	{
		free(res->out[i].service);
		buf_free(&res->out[i].labels_json);
		buf_free(&res->out[i].pprof);
	}
	free(res->out);
	memset(res, 0, sizeof(*res));
}
