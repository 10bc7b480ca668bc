/*
 * pprofcheck.c
 *	  Runs profefe's codec (the same code the extension uses) over files and
 *	  prints one verdict per file: "NAME ok" or "NAME error: DETAIL", the
 *	  format of test/ref/pprofref.go's check command.
 *
 * Usage: pprofcheck [-max BYTES] FILE...
 *        pprofcheck -label UNIT < VALUES
 *          one value per line in, each as the engine writes it for people
 *          (units.h, pprof's measurement.Label) out
 *
 * test/pprofcheck.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/arena.h"
#include "engine/profile.h"
#include "engine/units.h"

static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf = NULL;
	size_t		cap = 0,
				n = 0;

	if (f == NULL)
	{
		perror(path);
		exit(1);
	}
	for (;;)
	{
		if (n == cap)
		{
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
		}
		size_t		r = fread(buf + n, 1, cap - n, f);

		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return buf;
}

int
main(int argc, char **argv)
{
	size_t		max = 256u << 20;
	int			i = 1;
	PprofArena *arena = pprof_arena_create();

	if (argc == 3 && strcmp(argv[1], "-label") == 0)
	{
		long long	v;
		char		label[PPROF_LABEL_LEN];

		while (scanf("%lld", &v) == 1)
		{
			pprof_units_label((int64_t) v, pprof_str_of(argv[2]), label, sizeof(label));
			printf("%s\n", label);
		}
		pprof_arena_destroy(arena);
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "-max") == 0)
	{
		max = strtoull(argv[2], NULL, 10);
		i = 3;
	}
	for (; i < argc; i++)
	{
		size_t		len;
		uint8_t    *data = read_file(argv[i], &len);
		const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		PprofEnv	env;
		PprofProfile prof;
		PprofError	err;

		pprof_arena_env(arena, &env, max);
		if (pprof_decode(&env, data, len, &prof, &err) == PPROF_OK)
			printf("%s ok\n", name);
		else
			printf("%s error: %s\n", name, err.detail);
		pprof_arena_reset(arena);
		free(data);
	}
	pprof_arena_destroy(arena);
	return 0;
}
