/*
 * pbjson.c: any protobuf-c message as JSON, from its own descriptor, so
 * that the piugw command's --json and piugw-web's API show every field of
 * local.proto, body.proto and audit.proto the same way.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pbjson.h"
#include "piugw/error.h"
#include "vocab.h"

/* The JSON name of an enum value: "RESULT_HIT" -> "hit", CATEGORY_* as in agreements. */
static json_t *
enum_json(const ProtobufCEnumDescriptor *ed, int v)
{
	static const char *prefixes[] = {"RESULT_STATUS_", "RESULT_", "OUTCOME_", "ERROR_",
					 "PURPOSE_", "QUERY_TYPE_", "DISCLOSURE_", "HANDLING_",
					 "ONWARD_TRANSFER_", "SELECTOR_", "AUDIT_", NULL};
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, v);
	char buf[64];
	const char *n;
	size_t i = 0;

	if (ev == NULL)
		return json_integer(v);
	if (strcmp(ed->short_name, "Category") == 0)
		return json_string(vocab_name(vocab_categories, v));
	if (strcmp(ed->short_name, "ErrorCode") == 0)
		return json_string(piugw_wire_error_name((enum piugw_wire_error)v));
	n = ev->name;
	for (const char **p = prefixes; *p != NULL; p++)
		if (strncmp(n, *p, strlen(*p)) == 0) {
			n += strlen(*p);
			break;
		}
	for (; n[i] != '\0' && i + 1 < sizeof(buf); i++)
		buf[i] = (char)tolower((unsigned char)n[i]);
	buf[i] = '\0';
	if (strcmp(ed->short_name, "HandlingCode") == 0 && i > 0)
		buf[0] = 'H';
	return json_string(buf);
}

static json_t *
value_json(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: return json_integer(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: return json_integer((json_int_t) * (const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT: return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE: return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM: return enum_json(f->descriptor, *(const int *)p);
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return json_string(s != NULL ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		char *hex = malloc(2 * b->len + 1);
		json_t *j;
		if (hex == NULL)
			return json_null();
		sodium_bin2hex(hex, 2 * b->len + 1, b->data, b->len);
		j = json_string(hex);
		free(hex);
		return j;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
		return m != NULL ? pbjson(m) : json_null();
	}
	}
	return json_null();
}

static size_t
type_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE: return 8;
	case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	default: return 4;
	}
}

static bool
is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return s == NULL || *s == '\0';
	}
	case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE: return *(void *const *)p == NULL;
	case PROTOBUF_C_TYPE_FLOAT: return *(const float *)p == 0;
	case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)p == 0;
	case PROTOBUF_C_TYPE_BOOL: return !*(const protobuf_c_boolean *)p;
	default: {
		static const uint8_t zero[8];
		return memcmp(p, zero, type_size(f)) == 0;
	}
	}
}

/* See pbjson.h. */
json_t *
pbjson(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_t *o = json_object();

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const uint8_t *base = (const uint8_t *)m;
		const void *p = base + f->offset;

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t which = *(const uint32_t *)(base + f->quantifier_offset);
			if (which != f->id)
				continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const uint8_t *arr = *(const uint8_t *const *)p;
			json_t *a;
			if (n == 0)
				continue;
			a = json_array();
			for (size_t k = 0; k < n; k++)
				json_array_append_new(a, value_json(f, arr + k * type_size(f)));
			json_object_set_new(o, f->name, a);
			continue;
		}
		if (is_default(f, p) && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
			continue;
		json_object_set_new(o, f->name, value_json(f, p));
	}
	return o;
}
