/*
 * codec_bench.c
 *	  Decode throughput of profefe's codec (the code the extension runs),
 *	  in process, per file, for each way a profile could be kept:
 *
 *	  gzip    the bytes as received: gunzip + parse + validate
 *	  stored  profefe's stored form: zstd + parse + validate (what every read does)
 *	  raw     uncompressed protobuf: parse + validate only
 *
 *	  Prints tab-separated: file gzip_bytes raw_bytes stored_bytes
 *	  gzip_us stored_us raw_us (microseconds per decode).
 *
 * Usage: codec_bench [-t SECONDS] FILE...
 *
 * bench/codec_bench.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchio.h"
#include "engine/arena.h"
#include "engine/gzip.h"
#include "engine/profile.h"
#include "engine/store.h"

/* Runs fn until `secs` have passed (at least 3 times); returns seconds per call. */
#define TIMEIT(secs, body) ({ \
	double _t0 = now(), _t; long _n = 0; \
	do { body; _n++; _t = now() - _t0; } while (_t < (secs) || _n < 3); \
	_t / _n; })

int
main(int argc, char **argv)
{
	double		secs = 1.0;
	int			i = 1;
	PprofArena *arena = pprof_arena_create();

	if (argc > 2 && strcmp(argv[1], "-t") == 0)
	{
		secs = atof(argv[2]);
		i = 3;
	}
	for (; i < argc; i++)
	{
		size_t		len;
		uint8_t    *data = slurp(argv[i], &len);
		const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		PprofEnv	env;
		PprofProfile prof;
		PprofError	err;
		uint8_t    *raw = NULL,
				   *stored = NULL;
		size_t		rawlen,
					stored_len;
		double		t_gzip,
					t_stored,
					t_raw;

		pprof_arena_env(arena, &env, 1u << 30);
		if (pprof_decode(&env, data, len, &prof, &err) != PPROF_OK)
		{
			fprintf(stderr, "%s: %s\n", name, err.detail);
			return 1;
		}
		/* keep private copies of the raw and stored forms */
		rawlen = prof.raw_size;
		raw = malloc(rawlen);
		memcpy(raw, prof.raw, rawlen);
		{
			uint8_t    *st;

			if (pprof_store_pack(&env, raw, rawlen, 3, &st, &stored_len, &err) != PPROF_OK)
				return 1;
			stored = malloc(stored_len);
			memcpy(stored, st, stored_len);
		}
		pprof_arena_reset(arena);

		t_gzip = pprof_is_gzip(data, len) ? TIMEIT(secs, {
			pprof_arena_env(arena, &env, 1u << 30);
			pprof_decode(&env, data, len, &prof, &err);
			pprof_arena_reset(arena);
		}) : 0;
		t_stored = TIMEIT(secs, {
			pprof_arena_env(arena, &env, 1u << 30);
			pprof_store_decode(&env, stored, stored_len, &prof, &err);
			pprof_arena_reset(arena);
		});
		t_raw = TIMEIT(secs, {
			pprof_arena_env(arena, &env, 1u << 30);
			pprof_decode(&env, raw, rawlen, &prof, &err);
			pprof_arena_reset(arena);
		});
		printf("%s\t%zu\t%zu\t%zu\t%.1f\t%.1f\t%.1f\n", name, len, rawlen, stored_len,
			   t_gzip * 1e6, t_stored * 1e6, t_raw * 1e6);
		free(stored);
		free(raw);
		free(data);
	}
	pprof_arena_destroy(arena);
	return 0;
}
