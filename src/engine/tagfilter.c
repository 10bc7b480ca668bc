/*-------------------------------------------------------------------------
 *
 * tagfilter.c
 *	  pprof's tag filters (-tagfocus -tagignore): parsing them as the CLI
 *	  does (driver_focus.go's compileTagFilter and parseTagFilterRange) and
 *	  keeping the samples they select (Go's FilterSamplesByTag).
 *
 * src/engine/tagfilter.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "units.h"

/* ---- parsing ---- */

/* One tagFilterRangeRx match at s: [+-]?digits then letters. */
static size_t
range_token(const char *s, int64_t *v, PprofStr *unit)
{
	size_t		i = 0,
				d0;
	char		buf[24];

	if (s[i] == '+' || s[i] == '-')
		i++;
	d0 = i;
	while (isdigit((unsigned char) s[i]))
		i++;
	if (i == d0 || i >= sizeof(buf))
		return 0;
	memcpy(buf, s, i);
	buf[i] = '\0';
	*v = strtoll(buf, NULL, 10);
	unit->data = (const uint8_t *) s + i;
	while (isalpha((unsigned char) s[i]))
		i++;
	unit->len = (size_t) ((const uint8_t *) s + i - unit->data);
	return i;
}

/* measurement.Scale's unit as a string: its canonical name, or `to` itself. */
static PprofStr
scaled_unit(const char *u, PprofStr to)
{
	return u ? pprof_str_of(u) : to;
}

/* Scales v from unit u to its own canonical unit, as parseTagFilterRange does. */
static double
own_unit(int64_t v, PprofStr u, char *unit_out, size_t unit_len)
{
	const char *unit;
	double		r = pprof_units_scale(v, u, u, &unit);
	PprofStr	got = scaled_unit(unit, u);

	snprintf(unit_out, unit_len, "%.*s", (int) got.len, (const char *) got.data);
	return r;
}

/*
 * parseTagFilterRange: "N", "N:", ":N" or "N:M", numbers with optional
 * units. Returns 0 for "not a range", 1 for a range, -1 when the units of
 * "N:M" differ in kind (pprof then falls back to treating the value as
 * regexes; we refuse it, which is clearer).
 */
static int
parse_range(const char *value, PprofTagFilter *t)
{
	int64_t		v1,
				v2;
	PprofStr	u1,
				u2;
	const char *unit2;
	size_t		n1,
				n2;

	if (value[0] == ':')
	{
		n1 = range_token(value + 1, &v1, &u1);
		if (n1 == 0 || value[1 + n1] != '\0')
			return 0;
		t->has_hi = true;
		t->hi = own_unit(v1, u1, t->unit, sizeof(t->unit));
		return 1;
	}
	n1 = range_token(value, &v1, &u1);
	if (n1 == 0)
		return 0;
	if (value[n1] == '\0')
	{
		t->has_lo = t->has_hi = true;
		t->lo = t->hi = own_unit(v1, u1, t->unit, sizeof(t->unit));
		return 1;
	}
	if (value[n1] != ':')
		return 0;
	t->has_lo = true;
	t->lo = own_unit(v1, u1, t->unit, sizeof(t->unit));
	if (value[n1 + 1] == '\0')
		return 1;
	n2 = range_token(value + n1 + 1, &v2, &u2);
	if (n2 == 0 || value[n1 + 1 + n2] != '\0')
		return 0;
	t->has_hi = true;
	t->hi = pprof_units_scale(v2, u2, pprof_str_of(t->unit), &unit2);
	if (!pprof_str_is(scaled_unit(unit2, pprof_str_of(t->unit)), t->unit))
		return -1;
	return 1;
}

bool
pprof_tagfilter_parse(const PprofEnv *env, const char *text, PprofTagFilter *out,
					  PprofRegex *(*compile) (void *arg, const char *re, size_t len),
					  void *arg, const char **why)
{
	const char *eq = strchr(text, '=');
	const char *value = text;
	int			r;

	memset(out, 0, sizeof(*out));
	out->present = true;
	*why = NULL;
	if (eq)
	{
		out->key.data = (const uint8_t *) text;
		out->key.len = (size_t) (eq - text);
		value = eq + 1;
	}

	r = parse_range(value, out);
	if (r < 0)
	{
		*why = "The two ends of the range have units of different kinds.";
		return false;
	}
	if (r > 0)
	{
		out->numeric = true;
		return true;
	}
	out->has_lo = out->has_hi = false;

	/* comma-separated regexes */
	{
		int			n = 1;
		const char *s = value;

		for (const char *c = value; *c; c++)
			n += *c == ',';
		out->regexes = pprof_alloc_array(env, (size_t) n, sizeof(PprofRegex));
		for (int i = 0; i < n; i++)
		{
			const char *e = strchr(s, ',');
			size_t		len = e ? (size_t) (e - s) : strlen(s);
			PprofRegex *re = compile(arg, s, len);

			out->regexes[out->n_regexes++] = *re;
			s += len + 1;
		}
	}
	return true;
}

/* ---- matching ---- */

/*
 * Profile.NumLabelUnits: per key, the first non-empty unit any sample
 * gives it; keys with none are "bytes" for alignment and request, else the
 * key itself.
 */
static PprofStr
label_unit(const PprofProfile *p, PprofStr key)
{
	for (size_t i = 0; i < p->n_labels; i++)
	{
		const PprofLabel *l = &p->labels[i];
		PprofStr	u;

		if (l->str != 0 || l->num_unit == 0)
			continue;
		u = pprof_str(p, l->num_unit);
		if (u.len > 0 && pprof_str_eq(pprof_str(p, l->key), key))
			return u;
	}
	if (pprof_str_is(key, "alignment") || pprof_str_is(key, "request"))
		return pprof_str_of("bytes");
	return key;
}

/* A numeric label value against the range, converted as pprof converts it. */
static bool
in_range(const PprofTagFilter *t, int64_t v, PprofStr unit)
{
	const char *su;
	double		sv = pprof_units_scale(v, unit, pprof_str_of(t->unit), &su);

	if (!pprof_str_is(scaled_unit(su, pprof_str_of(t->unit)), t->unit))
		return false;
	return (!t->has_lo || sv >= t->lo) && (!t->has_hi || sv <= t->hi);
}

/* Scratch for "key:value" strings. */
typedef struct KeyValue
{
	const PprofEnv *env;
	char	   *buf;
	size_t		cap;
} KeyValue;

static PprofStr
key_value(KeyValue *kv, PprofStr k, PprofStr v)
{
	PprofStr	r;

	if (k.len + v.len + 1 > kv->cap)
	{
		kv->cap = (k.len + v.len + 1) * 2;
		kv->buf = pprof_alloc(kv->env, kv->cap);
	}
	if (k.len)
		memcpy(kv->buf, k.data, k.len);
	kv->buf[k.len] = ':';
	if (v.len)
		memcpy(kv->buf + k.len + 1, v.data, v.len);
	r.data = (const uint8_t *) kv->buf;
	r.len = k.len + v.len + 1;
	return r;
}

/* The tag filter's verdict on sample s (compileTagFilter's closures). */
static bool
tag_matches(const PprofProfile *p, const PprofSample *s, const PprofTagFilter *t, KeyValue *kv)
{
	const PprofLabel *labels = p->labels + s->label_start;

	if (t->numeric)
	{
		for (uint32_t i = 0; i < s->n_label; i++)
		{
			const PprofLabel *l = &labels[i];

			if (l->str != 0 || (l->num == 0 && l->num_unit == 0))
				continue;
			if (t->key.len > 0 && !pprof_str_eq(pprof_str(p, l->key), t->key))
				continue;
			if (in_range(t, l->num, label_unit(p, pprof_str(p, l->key))))
				return true;
		}
		return false;
	}
	if (t->key.len > 0)
	{
		/* any regex matching any value of the key */
		for (int r = 0; r < t->n_regexes; r++)
			for (uint32_t i = 0; i < s->n_label; i++)
				if (labels[i].str != 0 && pprof_str_eq(pprof_str(p, labels[i].key), t->key) &&
					t->regexes[r].match(t->regexes[r].ctx, pprof_str(p, labels[i].str)))
					return true;
		return false;
	}
	/* without a key: every regex must match some "key:value" */
	for (int r = 0; r < t->n_regexes; r++)
	{
		bool		found = false;

		for (uint32_t i = 0; i < s->n_label && !found; i++)
		{
			if (labels[i].str == 0)
				continue;
			found = t->regexes[r].match(t->regexes[r].ctx,
										key_value(kv, pprof_str(p, labels[i].key),
												  pprof_str(p, labels[i].str)));
		}
		if (!found)
			return false;
	}
	return true;
}

/* ---- FilterSamplesByTag ---- */

void
pprof_filter_by_tag(const PprofEnv *env, PprofProfile *p, const PprofTagFilter *focus,
					const PprofTagFilter *ignore)
{
	PprofSample *samples;
	size_t		n = 0;
	KeyValue	kv = {env, NULL, 0};

	if (!focus->present && !ignore->present)
		return;
	samples = pprof_alloc_array(env, p->n_sample + 1, sizeof(PprofSample));
	for (size_t s = 0; s < p->n_sample; s++)
	{
		const PprofSample *smp = &p->samples[s];

		if ((s & 0xfff) == 0xfff)
			pprof_tick(env);
		if (focus->present && !tag_matches(p, smp, focus, &kv))
			continue;
		if (ignore->present && tag_matches(p, smp, ignore, &kv))
			continue;
		samples[n++] = *smp;
	}
	p->samples = samples;
	p->n_sample = n;
}
