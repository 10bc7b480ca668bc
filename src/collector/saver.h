/*-------------------------------------------------------------------------
 *
 * saver.h
 *	  Saving profiles, batched into shared transactions (saver.c).
 *
 * src/collector/saver.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COLLECTOR_SAVER_H
#define PROFEFE_COLLECTOR_SAVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "db.h"

/* Collapsed stacks to convert with profefe.pprof_from_folded (its arguments as text). */
typedef struct FoldedArgs
{
	const char *sample_type;
	const char *unit;
	const char *scale;
	const char *period_type;	/* or NULL */
	const char *period_unit;	/* or NULL */
	const char *period;
	const char *profile_time;	/* or NULL */
	const char *duration;		/* an interval, or NULL */
	bool		lines;
} FoldedArgs;

typedef struct SaveItem
{
	/* in */
	const char *service;
	const char *type;
	const char *labels_json;
	const char *created_at;		/* NULL or normalized time */
	const char *instance_id;	/* NULL or the id */
	const char *data;
	size_t		len;
	const char *tenant;			/* whose profile: acted for before the save (NULL: the role's own) */
	const char *key;			/* idempotency key, or NULL */
	const char *type_hint;		/* with type NULL: profefe.pprof_guess_type(data, type_hint) picks it */
	const FoldedArgs *folded;	/* data is collapsed stacks, not pprof */
	char		type_out[16];	/* out: the type pprof_guess_type picked */
	bool		replayed;		/* out: the key's first save answered, nothing stored */
	/* out */
	int			status;			/* 200, or an HTTP error status */
	char		id[32];
	DbError		err;
	/* queue bookkeeping */
	bool		done;
	pthread_cond_t *wake;		/* the submitter's, to wake it */
	struct SaveItem *next;
} SaveItem;

void		saver_init(int max_batches);
void		saver_submit(SaveItem *item);

/* Saves items[0..n) (each in whichever batch takes it); returns when all are known. */
void		saver_submit_all(SaveItem **items, int n);

#endif
