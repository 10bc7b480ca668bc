/*-------------------------------------------------------------------------
 *
 * type_io.c
 *	  Input, output and casts of the pprof type.
 *
 * A pprof value is stored in profefe's own form (zstd-compressed protobuf,
 * engine/store.h). Every way out - text, binary, the cast to bytea - gives
 * gzip-compressed protobuf, the portable form pprof tools read; every way
 * in accepts gzip or raw protobuf and validates it. Text and binary forms
 * are bytea's, so pg_dump and COPY work unchanged.
 *
 * src/pg/type_io.c
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "profefe.h"

PG_FUNCTION_INFO_V1(pprof_in);
PG_FUNCTION_INFO_V1(pprof_out);
PG_FUNCTION_INFO_V1(pprof_recv);
PG_FUNCTION_INFO_V1(pprof_send);
PG_FUNCTION_INFO_V1(pprof_from_bytea);
PG_FUNCTION_INFO_V1(pprof_to_bytea);

/* pprof_in: bytea's text form (hex or escape), then validation. */
Datum
pprof_in(PG_FUNCTION_ARGS)
{
	Datum		raw = DirectFunctionCall1(byteain, PG_GETARG_DATUM(0));
	bytea	   *b = DatumGetByteaPP(raw);

	PG_RETURN_BYTEA_P(pprof_make_value((const uint8_t *) VARDATA_ANY(b),
									   VARSIZE_ANY_EXHDR(b)));
}

/* pprof_out: gzip-compressed protobuf in bytea's text form. */
Datum
pprof_out(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(byteaout, PointerGetDatum(pprof_to_gzip(PG_GETARG_PPROF_P(0))));
}

/* pprof_recv: the binary form is the profile's bytes, validated. */
Datum
pprof_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	const char *data = buf->data + buf->cursor;
	int			len = buf->len - buf->cursor;
	bytea	   *result;

	result = pprof_make_value((const uint8_t *) data, (size_t) len);
	buf->cursor = buf->len;
	PG_RETURN_BYTEA_P(result);
}

/* pprof_send: gzip-compressed protobuf. */
Datum
pprof_send(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(byteasend, PointerGetDatum(pprof_to_gzip(PG_GETARG_PPROF_P(0))));
}

/* pprof::bytea: gzip-compressed protobuf. */
Datum
pprof_to_bytea(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(pprof_to_gzip(PG_GETARG_PPROF_P(0)));
}

/* bytea::pprof, validating. */
Datum
pprof_from_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);

	PG_RETURN_BYTEA_P(pprof_make_value((const uint8_t *) VARDATA_ANY(b),
									   VARSIZE_ANY_EXHDR(b)));
}
