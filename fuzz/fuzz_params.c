/*
 * fuzz_params.c
 *	  libFuzzer target for the collector's request parsing (params.c) and
 *	  JSON escaping (util.c): any query string is either parsed or refused,
 *	  never crashes, and every JSON string the collector writes is valid
 *	  UTF-8 with no raw control characters, whatever bytes it quotes.
 */
#include "params.h"
#include "settings.h"

#include <stdlib.h>
#include <string.h>

Settings	settings = {.log_level = LOG_ERROR};

static void
check_json(const char *s, size_t n)
{
	Buf			b = {0};

	buf_json_string(&b, s, n);
	if (!b.failed)
	{
		if (!utf8_valid(b.data, b.len) || b.len < 2 || b.data[0] != '"' || b.data[b.len - 1] != '"')
			abort();
		for (size_t i = 0; i < b.len; i++)
			if ((unsigned char) b.data[i] < 0x20)
				abort();
	}
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *raw = malloc(size + 1);
	char		err[256];
	Query		q;

	memcpy(raw, data, size);
	raw[size] = '\0';
	check_json((const char *) data, size);
	if (query_parse(raw, &q, err, sizeof(err)))
	{
		for (int i = 0; i < q.n; i++)
		{
			Labels		l;
			char		t[64];
			Buf			b = {0};

			if (strlen(q.p[i].value) > 4096)
				continue;
			if (labels_parse(q.p[i].value, &l, err, sizeof(err)))
			{
				/* sorted, unique keys, valid UTF-8 in and out */
				for (int k = 1; k < l.n; k++)
					if (strcmp(l.l[k - 1].key, l.l[k].key) >= 0)
						abort();
				labels_json_object(&l, &b);
				labels_json_array(&l, &b);
				if (!b.failed && !utf8_valid(b.data, b.len))
					abort();
				buf_free(&b);
				labels_free(&l);
			}
			if (time_parse(q.p[i].value, t, err, sizeof(err)))
			{
				if (strlen(t) < 20)
					abort();
				(void) time_span_seconds(t, t);
			}
			{
				int64_t		ms;

				/* a step is never negative; what is refused says why */
				if (duration_parse(q.p[i].value, &ms, err, sizeof(err)) ? ms < 0 : err[0] == '\0')
					abort();
			}
			if (profile_id_valid(q.p[i].value, strlen(q.p[i].value)))
				(void) profile_id_seconds(q.p[i].value);
			check_json(q.p[i].key, strlen(q.p[i].key));
		}
		query_free(&q);
	}
	free(raw);
	return 0;
}
