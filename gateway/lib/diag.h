/*
 * diag.h: a list of diagnostics, so that a parser can report every problem
 * of an input at once ("path:line:col: what is wrong, and what would be
 * right") instead of stopping at the first.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_DIAG_H
#define PIUGW_DIAG_H

#include <stdbool.h>
#include <stddef.h>

struct diag {
	char **lines;
	size_t n;
	size_t cap;
	bool truncated; /* a message was dropped: out of memory or too many */
};

#define DIAG_MAX_LINES 1000

/* Start an empty list. */
void diag_init(struct diag *d);

/*
 * Add one formatted message. d may be NULL: the message is dropped, so a
 * caller that does not care about details passes NULL.
 */
void diag_add(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Free every message; the list is empty and reusable afterwards. */
void diag_clear(struct diag *d);

#endif /* PIUGW_DIAG_H */
