/*
 * diag.c: see diag.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "diag.h"

/* See diag.h. */
void
diag_init(struct diag *d)
{
	d->lines = NULL;
	d->n = 0;
	d->cap = 0;
	d->truncated = false;
}

/* See diag.h. Out of memory drops the message and sets truncated. */
void
diag_add(struct diag *d, const char *fmt, ...)
{
	va_list ap;
	char *line = NULL;
	int len;

	if (d == NULL)
		return;
	if (d->n >= DIAG_MAX_LINES) {
		d->truncated = true;
		return;
	}
	if (d->n == d->cap) {
		size_t ncap = d->cap == 0 ? 8 : d->cap * 2;
		char **nl = realloc(d->lines, ncap * sizeof(*nl));
		if (nl == NULL) {
			d->truncated = true;
			return;
		}
		d->lines = nl;
		d->cap = ncap;
	}
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0 || (line = malloc((size_t)len + 1)) == NULL) {
		d->truncated = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, (size_t)len + 1, fmt, ap);
	va_end(ap);
	d->lines[d->n++] = line;
}

/* See diag.h. */
void
diag_clear(struct diag *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->lines[i]);
	free(d->lines);
	diag_init(d);
}
