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

#endif
