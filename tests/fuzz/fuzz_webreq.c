/*
 * fuzz_webreq.c: what piugw-web does with a request body from whoever
 * reaches its HTTPS port (before any sign-in for /v1/session): jansson,
 * then webreq's readers for each route; and its route matcher with the
 * same bytes as a URL. What a reader accepts must be a request the daemon
 * can be sent (packs, and a query passes policy_from_query's shape
 * checks or says why not); what it refuses it must say why.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "policy.h"
#include "webreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Accepted: it packs. Refused: a status and words. */
static void
judged(bool ok, const ProtobufCMessage *m, const struct webreq_err *e)
{
	if (ok) {
		size_t len = protobuf_c_message_get_packed_size(m);
		uint8_t *b = malloc(len ? len : 1);
		if (b == NULL || protobuf_c_message_pack(m, b) != len)
			abort();
		free(b);
	} else if (e->status < 400 || e->status > 499 || e->code == NULL || e->detail[0] == '\0') {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const patterns[] = {"/v1/queries/{request_id}",
					       "/v1/pending/{approval_ref}/approve", "/v1/session"};
	const int64_t now = 1795564800000; /* 2026-11-28 */
	struct webreq_query q;
	struct webreq_lookout l;
	Piugw__LocalDecision d;
	Piugw__LocalAuditSubject s;
	struct webreq_err e;
	const char *user, *pw;
	char url[512], arg[96];
	json_t *body;
	bool ok;

	/* The bytes as a URL. */
	if (size < sizeof(url) && memchr(data, 0, size) == NULL) {
		memcpy(url, data, size);
		url[size] = '\0';
		for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
			if (webreq_route_match(patterns[i], url, arg, sizeof(arg)) &&
			    strchr(patterns[i], '{') != NULL && (arg[0] == '\0' || strchr(arg, '/')))
				abort(); /* a matched argument is one non-empty segment */
	}
	/* The bytes as a body. */
	if ((body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return 0;
	memset(&e, 0, sizeof(e));
	ok = webreq_query(body, now, &q, &e);
	judged(ok, &q.lq.base, &e);
	if (ok) {
		struct policy_request req = {0};
		char why[200] = "";
		if (!policy_from_query(&q.q, &req, why, sizeof(why)) && why[0] == '\0')
			abort();
	}
	memset(&e, 0, sizeof(e));
	judged(webreq_lookout(body, now, &l, &e), &l.lp.base, &e);
	memset(&e, 0, sizeof(e));
	judged(webreq_decision(body, false, "AP-1", &d, &e), &d.base, &e);
	memset(&e, 0, sizeof(e));
	judged(webreq_subject(body, &s, &e), &s.base, &e);
	memset(&e, 0, sizeof(e));
	if (webreq_signin(body, &user, &pw, &e)) {
		if (user[0] == '\0' || strlen(user) > 64)
			abort();
	} else if (e.code == NULL) {
		abort();
	}
	json_decref(body);
	return 0;
}
