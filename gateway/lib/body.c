/*
 * body.c: see body.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>

#include "body.h"
#include "piugw/error.h"

/* See body.h. */
int
body_unpack(const uint8_t *buf, size_t len, Piugw__Body **outp)
{
	Piugw__Body *b;

	*outp = NULL;
	if (len > BODY_MAX_SIZE)
		return PIUGW_ETOOLARGE;
	if ((b = piugw__body__unpack(NULL, len, buf)) == NULL)
		return PIUGW_EMALFORMED;
	switch (b->kind_case) {
	case PIUGW__BODY__KIND_HELLO:
	case PIUGW__BODY__KIND_HELLO_REPLY:
	case PIUGW__BODY__KIND_QUERY:
	case PIUGW__BODY__KIND_QUERY_RESULT:
	case PIUGW__BODY__KIND_POLL:
	case PIUGW__BODY__KIND_ERROR:
		break;
	default:
		/* No kind, or one from a newer version: nothing we could act on. */
		piugw__body__free_unpacked(b, NULL);
		return PIUGW_EMALFORMED;
	}
	*outp = b;
	return 0;
}

/* See body.h. */
void
body_free(Piugw__Body **bp)
{
	if (bp == NULL || *bp == NULL)
		return;
	piugw__body__free_unpacked(*bp, NULL);
	*bp = NULL;
}

/* See body.h. */
int
body_pack(const Piugw__Body *b, uint8_t **outp, size_t *lenp)
{
	size_t len = piugw__body__get_packed_size(b);
	uint8_t *buf = malloc(len == 0 ? 1 : len);

	*outp = NULL;
	if (buf == NULL)
		return PIUGW_ENOMEM;
	piugw__body__pack(b, buf);
	*outp = buf;
	*lenp = len;
	return 0;
}
