/*
 * body.h: decoding a Body (proto/body.proto) received from a peer.
 *
 * The envelope delivers Sealed.body as opaque, authenticated bytes; this is
 * where they become a message. The size is bounded before unpacking and the
 * kind must be one this version knows.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_BODY_H
#define PIUGW_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "body.pb-c.h"

#define BODY_MAX_SIZE (1024 * 1024)

/*
 * Unpack buf into *outp (free with body_free()). Returns 0,
 * PIUGW_ETOOLARGE, or PIUGW_EMALFORMED if it does not parse or carries no
 * known kind.
 */
int body_unpack(const uint8_t *buf, size_t len, Piugw__Body **outp);

/* Free a body from body_unpack() and set *bp to NULL. NULL is fine. */
void body_free(Piugw__Body **bp);

/* Serialize b into a new buffer (caller frees). */
int body_pack(const Piugw__Body *b, uint8_t **outp, size_t *lenp);

/*
 * The fields of m, and of every message inside it, that this version does
 * not know (protobuf keeps them): "Query.17, Match.30" into out (NUL-
 * terminated, cut short with "..." when it does not fit). Returns how many.
 * A newer peer's fields are safe to ignore (PROTOCOL.md section 11); they
 * are named in the audit record of the message, so that none goes unseen.
 */
size_t body_unknown_fields(const ProtobufCMessage *m, char *out, size_t size);

/*
 * A received AuditCheckpoint (Hello, HelloReply) as audit.h's struct:
 * PIUGW_EMALFORMED if a field is missing or out of range (the signature is
 * checked by the caller, with the key of the gateway it names).
 */
int body_checkpoint_get(const Piugw__AuditCheckpoint *m, struct audit_checkpoint *out);

/* m (initialised here) pointing at cp's fields: cp must outlive m. */
void body_checkpoint_set(Piugw__AuditCheckpoint *m, const struct audit_checkpoint *cp);

#endif /* PIUGW_BODY_H */
