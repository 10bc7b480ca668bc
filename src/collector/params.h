/*-------------------------------------------------------------------------
 *
 * params.h
 *	  Request parameters parsed with the rules of profefe's Go server (params.c),
 *	  and the profile types the collector knows.
 *
 * src/collector/params.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_PARAMS_H
#define PROFEFE_COLLECTOR_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define MAX_PARAMS 64

typedef struct Param
{
	char	   *key;
	char	   *value;			/* unescaped, NUL-terminated, no embedded NUL */
} Param;

typedef struct Query
{
	int			n;
	Param		p[MAX_PARAMS];
} Query;

#define MAX_LABELS 256

typedef struct Label
{
	char	   *key;
	char	   *value;
	int			seq;			/* position in the request */
} Label;

typedef struct Labels
{
	int			n;
	Label	   *l;				/* sorted by key, keys unique (the last wins) */
} Labels;

/*
 * The profile types, as profefe.profile_types() lists them (the test suite
 * checks the two agree); path is the net/http/pprof endpoint a scraper
 * fetches the type from, NULL for types that cannot be scraped.
 */
typedef struct ProfileType
{
	const char *name;
	const char *path;
	bool		seconds;		/* the endpoint takes ?seconds=N (cpu; delta mode for the others) */
} ProfileType;

extern const ProfileType profile_types[];
extern const int n_profile_types;

bool		query_parse(const char *raw, Query *q, char *err, size_t errlen);
const char *query_get(const Query *q, const char *key);
void		query_free(Query *q);
bool		url_unescape(const char *in, size_t n, bool plus_is_space, char **out);
bool		labels_parse(const char *s, Labels *out, char *err, size_t errlen);
void		labels_free(Labels *l);
void		labels_json_object(const Labels *l, Buf *b);
void		labels_json_array(const Labels *l, Buf *b);
bool		time_parse(const char *s, char out[64], char *err, size_t errlen);
int			time_compare(const char *a, const char *b);
int64_t		time_span_seconds(const char *a, const char *b);
bool		duration_parse(const char *s, int64_t *ms, char *err, size_t errlen);
const ProfileType *profile_type_find(const char *t);
void		profile_type_list(Buf *b);
bool		profile_id_valid(const char *s, size_t n);
int64_t		profile_id_seconds(const char *id);

#endif
