/*-------------------------------------------------------------------------
 *
 * units.h
 *	  pprof's measurement units (internal/measurement): memory, time and
 *	  GCU, each unit with its aliases and factor. One table serves both
 *	  ways pprof uses it: converting the numbers of a tag filter's range to
 *	  a label's unit, and writing a value for people.
 *
 * src/engine/units.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_UNITS_H
#define PPROF_UNITS_H

#include "profile.h"

/*
 * measurement.Scale(value, from, to): the value converted from unit `from`
 * to unit `to` ("auto" and "minimum" pick a unit that fits the value);
 * *unit is set to the canonical name of the unit converted to, or "" when
 * the unit is uninteresting (counts). Units pprof does not know are
 * returned unchanged, with *unit = to.
 */
extern double pprof_units_scale(int64_t value, PprofStr from, PprofStr to, const char **unit);

/*
 * measurement.Label: the value in its unit for people, as `go tool pprof`
 * prints it: "1.50s", "3.20MB", "17". Fits in PPROF_LABEL_LEN bytes.
 */
#define PPROF_LABEL_LEN 64
extern void pprof_units_label(int64_t value, PprofStr unit, char *buf, size_t len);

#endif							/* PPROF_UNITS_H */
