/*
 * body.c: see body.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

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

/* See body.h. */
int
body_checkpoint_get(const Piugw__AuditCheckpoint *m, struct audit_checkpoint *out)
{
	size_t idl;

	memset(out, 0, sizeof(*out));
	if (m == NULL || m->gateway_id == NULL || m->seq == 0 || m->head_hash.len != 32 ||
	    m->signature.len != 64 || m->first_seq > m->seq)
		return PIUGW_EMALFORMED;
	idl = strlen(m->gateway_id);
	if (idl < 3 || idl > KEYS_ID_MAX)
		return PIUGW_EMALFORMED;
	memcpy(out->gateway_id, m->gateway_id, idl + 1);
	out->seq = m->seq;
	out->time_ms = m->time_ms;
	memcpy(out->head, m->head_hash.data, 32);
	out->first_seq = m->first_seq;
	memcpy(out->signature, m->signature.data, 64);
	return 0;
}

/* See body.h. */
void
body_checkpoint_set(Piugw__AuditCheckpoint *m, const struct audit_checkpoint *cp)
{
	piugw__audit_checkpoint__init(m);
	m->gateway_id = (char *)cp->gateway_id;
	m->seq = cp->seq;
	m->time_ms = cp->time_ms;
	m->head_hash.data = (uint8_t *)cp->head;
	m->head_hash.len = 32;
	m->first_seq = cp->first_seq;
	m->signature.data = (uint8_t *)cp->signature;
	m->signature.len = 64;
}
