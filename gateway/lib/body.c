/*
 * body.c: see body.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
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
	case PIUGW__BODY__KIND_AGREEMENT_PROPOSAL:
	case PIUGW__BODY__KIND_AGREEMENT_RESPONSE:
	case PIUGW__BODY__KIND_LOOKOUT_PLACE:
	case PIUGW__BODY__KIND_LOOKOUT_WITHDRAW:
	case PIUGW__BODY__KIND_LOOKOUT_REPLY:
	case PIUGW__BODY__KIND_NOTIFICATION:
	case PIUGW__BODY__KIND_NOTIFICATION_ACK:
	case PIUGW__BODY__KIND_UNMASK_REQUEST:
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

static size_t
unknown_walk(const ProtobufCMessage *m, char *out, size_t size, size_t *o, unsigned depth)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;
	size_t n = m->n_unknown_fields;

	for (size_t i = 0; i < m->n_unknown_fields; i++)
		if (*o + 1 < size)
			*o += (size_t)snprintf(out + *o, size - *o, "%s%s.%u", *o ? ", " : "",
					       desc->short_name, m->unknown_fields[i].tag);
	if (depth > 16)
		return n;
	for (unsigned f = 0; f < desc->n_fields; f++) {
		const ProtobufCFieldDescriptor *fd = &desc->fields[f];
		const char *base = (const char *)m;
		if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t cnt = *(const size_t *)(base + fd->quantifier_offset);
			const ProtobufCMessage *const *v = *(const ProtobufCMessage *const *const *)(base + fd->offset);
			for (size_t k = 0; v != NULL && k < cnt; k++)
				n += unknown_walk(v[k], out, size, o, depth + 1);
		} else {
			/* A oneof member that is not the one set holds another member's pointer. */
			if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			    *(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
				continue;
			const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)(base + fd->offset);
			if (sub != NULL)
				n += unknown_walk(sub, out, size, o, depth + 1);
		}
	}
	return n;
}

/* See body.h. */
size_t
body_unknown_fields(const ProtobufCMessage *m, char *out, size_t size)
{
	size_t o = 0, n;

	if (size > 0)
		out[0] = '\0';
	n = unknown_walk(m, out, size, &o, 0);
	if (size > 4 && o + 1 >= size)
		memcpy(out + size - 4, "...", 4);
	return n;
}
