/*
 * pbjson.h: protobuf-c messages as JSON objects.
 *
 * Fields at their default value are left out; enums are lower-case names
 * without their prefix ("RESULT_HIT" -> "hit"), categories as agreements
 * spell them ("api.identity"), error codes by name; bytes in hex.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_PBJSON_H
#define PIUGW_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* A new JSON object (never NULL but out of memory). */
json_t *pbjson(const ProtobufCMessage *m);

#endif /* PIUGW_PBJSON_H */
