/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Differences between PostgreSQL server versions, in one place.
 *
 * src/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROFEFE_COMPAT_H
#define PROFEFE_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000
#error "profefe needs PostgreSQL 15 or later"
#endif

/*
 * Soft input errors (PG16+): let text/binary input report through
 * escontext so that pg_input_is_valid() works. On PG15 it is ereport.
 */
#if PG_VERSION_NUM >= 160000
#define PROFEFE_INPUT_ERROR(fcinfo, ...) \
	ereturn((fcinfo)->context, (Datum) 0, __VA_ARGS__)
#else
#define PROFEFE_INPUT_ERROR(fcinfo, ...) \
	ereport(ERROR, __VA_ARGS__)
#endif

/* This backend's local transaction id (PG17 moved it into vxid). */
#if PG_VERSION_NUM >= 170000
#define PROFEFE_MY_LXID (MyProc->vxid.lxid)
#else
#define PROFEFE_MY_LXID (MyProc->lxid)
#endif

#endif							/* PROFEFE_COMPAT_H */
