/*
 * error.c: names and messages of the error table in piugw/error.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stddef.h>

#include "piugw/error.h"

struct error_entry {
	int code;
	const char *name;
	enum piugw_wire_error wire;
	const char *message;
};

static const struct error_entry error_table[] = {
#define PIUGW_ERROR_ENTRY(name, value, wire, msg) {value, #name, PIUGW_WIRE_##wire, msg},
	PIUGW_ERRORS(PIUGW_ERROR_ENTRY)
#undef PIUGW_ERROR_ENTRY
};

static const char *const wire_names[] = {
	[PIUGW_WIRE_NONE] = "NONE",
	[PIUGW_WIRE_MALFORMED] = "MALFORMED",
	[PIUGW_WIRE_UNSUPPORTED_VERSION] = "UNSUPPORTED_VERSION",
	[PIUGW_WIRE_TOO_LARGE] = "TOO_LARGE",
	[PIUGW_WIRE_NOT_FOR_ME] = "NOT_FOR_ME",
	[PIUGW_WIRE_UNKNOWN_SENDER] = "UNKNOWN_SENDER",
	[PIUGW_WIRE_BAD_SIGNATURE] = "BAD_SIGNATURE",
	[PIUGW_WIRE_STALE] = "STALE",
	[PIUGW_WIRE_REPLAYED] = "REPLAYED",
	[PIUGW_WIRE_NO_AGREEMENT] = "NO_AGREEMENT",
	[PIUGW_WIRE_AGREEMENT_MISMATCH] = "AGREEMENT_MISMATCH",
	[PIUGW_WIRE_AGREEMENT_NOT_IN_FORCE] = "AGREEMENT_NOT_IN_FORCE",
	[PIUGW_WIRE_PURPOSE_NOT_ALLOWED] = "PURPOSE_NOT_ALLOWED",
	[PIUGW_WIRE_QUERY_TYPE_NOT_ALLOWED] = "QUERY_TYPE_NOT_ALLOWED",
	[PIUGW_WIRE_JUSTIFICATION_REQUIRED] = "JUSTIFICATION_REQUIRED",
	[PIUGW_WIRE_RATE_LIMITED] = "RATE_LIMITED",
	[PIUGW_WIRE_UNKNOWN_QUERY] = "UNKNOWN_QUERY",
	[PIUGW_WIRE_INTERNAL] = "INTERNAL",
	[PIUGW_WIRE_TOO_MANY_LOOKOUTS] = "TOO_MANY_LOOKOUTS",
	[PIUGW_WIRE_UNMASKING_NOT_ALLOWED] = "UNMASKING_NOT_ALLOWED",
};

static const struct error_entry *
error_find(int code)
{
	for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
		if (error_table[i].code == code)
			return &error_table[i];
	return NULL;
}

/* See piugw/error.h. */
const char *
piugw_strerror(int code)
{
	const struct error_entry *e = error_find(code);
	return e != NULL ? e->message : "unknown error";
}

/* See piugw/error.h. */
const char *
piugw_error_name(int code)
{
	const struct error_entry *e = error_find(code);
	return e != NULL ? e->name : "PIUGW_E?";
}

/* See piugw/error.h. Unknown codes are internal errors: never answer OK by accident. */
enum piugw_wire_error
piugw_error_wire_code(int code)
{
	const struct error_entry *e = error_find(code);
	return e != NULL ? e->wire : PIUGW_WIRE_INTERNAL;
}

/* See piugw/error.h. */
const char *
piugw_wire_error_name(enum piugw_wire_error wire)
{
	if ((unsigned)wire >= sizeof(wire_names) / sizeof(wire_names[0]))
		return "UNKNOWN";
	return wire_names[wire];
}
