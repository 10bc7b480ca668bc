/*-------------------------------------------------------------------------
 *
 * module.c
 *	  The extension's entry point and its settings.
 *
 * src/pg/module.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "utils/guc.h"
#include "utils/memutils.h"

#include "profefe.h"

PG_MODULE_MAGIC;

/* Default cap on a decompressed profile a client sends: 256MB. */
int			profefe_max_profile_size = 256 * 1024 * 1024;

char	   *profefe_retention = NULL;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("profefe.max_profile_size",
							"Largest decompressed profile profefe accepts from a client.",
							"Inputs that inflate past this are rejected before they can use "
							"more memory. Profiles already stored stay readable when it is lowered.",
							&profefe_max_profile_size,
							256 * 1024 * 1024,
							1024,
							(int) PROFEFE_MAX_DECODED,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	DefineCustomStringVariable("profefe.retention",
							   "How long stored profiles are kept.",
							   "apply_retention() drops partitions and deletes profiles older "
							   "than this interval.",
							   &profefe_retention,
							   "5 days",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	MarkGUCPrefixReserved("profefe");
}
