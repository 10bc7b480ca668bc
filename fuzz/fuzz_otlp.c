/*-------------------------------------------------------------------------
 *
 * fuzz_otlp.c
 *	  libFuzzer over the collector's OTLP profiles converter (otlpconv.c):
 *	  any bytes either are refused with a reason or become profiles that
 *	  profefe's own decoder accepts, with the sample types they claim and
 *	  labels that are a JSON object.
 *
 * fuzz/fuzz_otlp.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "engine/arena.h"
#include "engine/profile.h"
#include "otlpconv.h"
#include "settings.h"

Settings	settings = {.log_level = LOG_ERROR};

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static PprofArena *arena;
	OtlpResult	res;
	char		err[512];

	if (arena == NULL)
		arena = pprof_arena_create();
	if (!otlp_convert(data, size, &res, err, sizeof(err)))
	{
		if (err[0] == '\0' || res.nout != 0)
			abort();			/* a refusal says why and leaves nothing */
		return 0;
	}
	for (int i = 0; i < res.nout; i++)
	{
		const OtlpOut *o = &res.out[i];
		PprofEnv	env;
		PprofProfile prof;
		PprofError	perr;

		pprof_arena_env(arena, &env, 64u << 20);
		if (o->service == NULL || o->service[0] == '\0' || o->type == NULL ||
			o->labels_json.len < 2 || o->labels_json.data[0] != '{' ||
			o->labels_json.data[o->labels_json.len - 1] != '}')
			abort();
		if (pprof_decode(&env, (const uint8_t *) o->pprof.data, o->pprof.len, &prof, &perr) != PPROF_OK ||
			prof.n_sample_type < 1)
			abort();
		pprof_arena_reset(arena);
	}
	otlp_result_free(&res);
	return 0;
}
