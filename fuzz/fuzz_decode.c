/*
 * fuzz_decode.c
 *	  libFuzzer target for the profile decoder: gzip detection and inflate,
 *	  the protobuf unpacker, the schema diagnosis and every validity check.
 *	  Accepted inputs are also re-encoded and decoded again, which must
 *	  succeed.
 *
 *	  make fuzz FUZZ_SECONDS=600
 *
 * fuzz/fuzz_decode.c
 */
#include <stdlib.h>

#include "pprof_arena.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static PprofArena *arena;
	PprofEnv	env;
	PprofProfile prof,
				again;
	PprofError	err;

	if (arena == NULL)
		arena = pprof_arena_create();
	/* A small cap keeps gzip bombs cheap while still exercising the limit. */
	pprof_arena_env(arena, &env, 4u << 20);
	if (pprof_decode(&env, data, size, &prof, &err) == PPROF_OK)
	{
		uint8_t    *raw;
		size_t		rawlen;

		if (pprof_pack(&env, prof.pb, &raw, &rawlen, &err) == PPROF_OK &&
			rawlen > 0 &&
			pprof_decode(&env, raw, rawlen, &again, &err) != PPROF_OK)
			abort();			/* what we accepted must survive re-encoding */
	}
	else if (err.detail[0] == '\0')
		abort();				/* every refusal names its reason */
	pprof_arena_reset(arena);
	return 0;
}
