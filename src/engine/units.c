/*-------------------------------------------------------------------------
 *
 * units.c
 *	  pprof's measurement units and their conversions (units.h), as in
 *	  github.com/google/pprof/internal/measurement.
 *
 * src/engine/units.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "units.h"

typedef struct Unit
{
	const char *canonical;
	const char *aliases[5];
	double		factor;			/* to the type's base unit */
} Unit;

typedef struct UnitType
{
	Unit		units[9];
	int			n;
	Unit		def;			/* when the unit converted to is not of this type */
} UnitType;

static const UnitType unit_types[] = {
	{{{"B", {"b", "byte"}, 1}, {"kB", {"kb", "kbyte", "kilobyte"}, 1024.0},
	  {"MB", {"mb", "mbyte", "megabyte"}, 1048576.0}, {"GB", {"gb", "gbyte", "gigabyte"}, 1073741824.0},
	  {"TB", {"tb", "tbyte", "terabyte"}, 1099511627776.0},
	  {"PB", {"pb", "pbyte", "petabyte"}, 1125899906842624.0}}, 6, {"B", {"b", "byte"}, 1}},
	{{{"ns", {"ns", "nanosecond"}, 1}, {"us", {"\xce\xbcs", "us", "microsecond"}, 1e3},
	  {"ms", {"ms", "millisecond"}, 1e6}, {"s", {"s", "sec", "second"}, 1e9},
	  {"hrs", {"hour", "hr"}, 3600e9}}, 5, {"s", {NULL}, 1e9}},
	{{{"n*GCU", {"nanogcu"}, 1e-9}, {"u*GCU", {"microgcu"}, 1e-6}, {"m*GCU", {"milligcu"}, 1e-3},
	  {"GCU", {"gcu"}, 1}, {"k*GCU", {"kilogcu"}, 1e3}, {"M*GCU", {"megagcu"}, 1e6},
	  {"G*GCU", {"gigagcu"}, 1e9}, {"T*GCU", {"teragcu"}, 1e12}, {"P*GCU", {"petagcu"}, 1e15}},
	 9, {"GCU", {NULL}, 1}},
};

#define N_UNIT_TYPES (sizeof(unit_types) / sizeof(unit_types[0]))

/* unitType.sniffUnit: lower case, a plural 's' dropped, found by alias. */
static const Unit *
sniff_unit(const UnitType *ut, PprofStr u)
{
	char		low[64];
	size_t		len = u.len;

	if (len >= sizeof(low))
		return NULL;
	for (size_t i = 0; i < len; i++)
		low[i] = (char) tolower(u.data[i]);
	low[len] = '\0';
	if (len > 2 && low[len - 1] == 's')
		low[--len] = '\0';
	for (int i = 0; i < ut->n; i++)
		for (int a = 0; a < 5 && ut->units[i].aliases[a]; a++)
			if (strcmp(ut->units[i].aliases[a], low) == 0)
				return &ut->units[i];
	return NULL;
}

/* unitType.autoScale: the largest unit the value is at least one of. */
static const Unit *
auto_unit(const UnitType *ut, double v)
{
	const Unit *best = NULL;

	for (int i = 0; i < ut->n; i++)
		if ((best == NULL || ut->units[i].factor >= best->factor) && v / ut->units[i].factor >= 1.0)
			best = &ut->units[i];
	return best;
}

double
pprof_units_scale(int64_t value, PprofStr from, PprofStr to, const char **unit)
{
	bool		auto_ = pprof_str_is(to, "auto") || pprof_str_is(to, "minimum");

	/* as Go: the magnitude, then the sign (the most negative value keeps its own) */
	if (value < 0 && value != INT64_MIN)
		return -pprof_units_scale(-value, from, to, unit);
	for (size_t t = 0; t < N_UNIT_TYPES; t++)
	{
		const UnitType *ut = &unit_types[t];
		const Unit *fu = sniff_unit(ut, from);
		const Unit *tu;
		double		v;

		if (fu == NULL)
			continue;
		v = (double) value * fu->factor;
		tu = auto_ ? auto_unit(ut, v) : sniff_unit(ut, to);
		if (tu == NULL)
			tu = &ut->def;
		*unit = tu->canonical;
		return v / tu->factor;
	}
	if (auto_ || pprof_str_is(to, "count") || pprof_str_is(to, "sample") || pprof_str_is(to, "unit"))
		*unit = "";
	else
		*unit = NULL;			/* the caller's own `to` */
	return (double) value;
}

void
pprof_units_label(int64_t value, PprofStr unit, char *buf, size_t len)
{
	const char *u;
	double		v = pprof_units_scale(value, unit, pprof_str_of("auto"), &u);
	char		num[48];
	size_t		n;

	snprintf(num, sizeof(num), "%.2f", v);
	n = strlen(num);
	if (n > 3 && strcmp(num + n - 3, ".00") == 0)
		num[n - 3] = '\0';
	if (strcmp(num, "0") == 0 || strcmp(num, "-0") == 0)
		snprintf(buf, len, "0");
	else
		snprintf(buf, len, "%s%s", num, u ? u : "");
}
