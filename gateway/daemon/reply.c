/*
 * reply.c: the replies to the local API's callers. A reply that speaks of
 * work on record waits until that record is durable (the end of the turn,
 * gw_turn_end), and becomes an error if the audit log fails first; one that
 * cannot be built for want of memory is still answered, from the stack.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "body.h"
#include "encoding.h"
#include "gw.h"
#include "num.h"
#include "piugw/error.h"

static struct api_out *
local_pack(const uint8_t *rid, size_t rid_len, uint64_t tag, const Piugw__LocalReply *reply)
{
	Piugw__LocalReply r = *reply;
	size_t len;
	struct api_out *o;

	r.tag = tag;
	len = piugw__local_reply__get_packed_size(&r);
	if ((o = malloc(sizeof(*o) + (len ? len : 1))) == NULL)
		return NULL;
	piugw__local_reply__pack(&r, o->buf);
	o->len = len;
	memcpy(o->rid, rid, rid_len);
	o->rid_len = rid_len;
	o->tag = tag;
	o->seq = 0;
	o->next = NULL;
	return o;
}

/*
 * No memory for the reply: the caller is told so at once, from the stack
 * (an error of a few dozen bytes), rather than left to wait for its deadline.
 */
static void
local_send_oom(struct gw *g, const uint8_t *rid, size_t rid_len, uint64_t tag)
{
	Piugw__LocalReply r = PIUGW__LOCAL_REPLY__INIT;
	Piugw__LocalError e = PIUGW__LOCAL_ERROR__INIT;
	uint8_t buf[128];

	e.code = PIUGW__ERROR_CODE__ERROR_INTERNAL;
	e.detail = (char *)"the gateway is out of memory: try again";
	r.kind_case = PIUGW__LOCAL_REPLY__KIND_ERROR;
	r.error = &e;
	r.tag = tag;
	gw_log(GW_ERROR, "local_reply_failed", "error=%s", gw_esc("out of memory"));
	if (piugw__local_reply__get_packed_size(&r) > sizeof(buf))
		return;
	if (links_api_send(g, rid, rid_len, buf, piugw__local_reply__pack(&r, buf)) != 0)
		gw_log(GW_WARN, "local_reply_lost", "error=%s", gw_esc(zmq_strerror(errno)));
}

/* See gw.h. */
void
reply_local_durable(struct gw *g, uint64_t seq, const uint8_t *rid, size_t rid_len,
			  const Piugw__LocalReply *reply)
{
	struct api_out *o;
	uint64_t tag;

	if (rid_len < sizeof(tag) || rid_len - sizeof(tag) > sizeof(o->rid))
		return; /* not a caller handle (a bug): nobody to answer */
	rid_len -= sizeof(tag);
	memcpy(&tag, rid + rid_len, sizeof(tag));
	if ((o = local_pack(rid, rid_len, tag, reply)) == NULL) {
		local_send_oom(g, rid, rid_len, tag);
		return;
	}
	o->seq = seq;
	*g->turn.api_out_tail = o;
	g->turn.api_out_tail = &o->next;
	if (!g->turn.open)
		reply_local_flush(g);
}

/* See gw.h. */
void
reply_local(struct gw *g, const uint8_t *rid, size_t rid_len, const Piugw__LocalReply *reply)
{
	reply_local_durable(g, 0, rid, rid_len, reply);
}

/* See gw.h. */
bool
reply_local_waiting(const struct gw *g)
{
	uint64_t durable = audit_durable(g->audit);

	for (const struct api_out *o = g->turn.api_out; o != NULL; o = o->next)
		if (o->seq > durable && audit_status(g->audit) == 0)
			return true;
	return false;
}

/* See gw.h. */
void
reply_local_flush(struct gw *g)
{
	uint64_t durable = 0;
	bool failed = false, asked = false;
	struct api_out **pp = &g->turn.api_out, *o;

	while ((o = *pp) != NULL) {
		/* Most replies wait for nothing: the log (a lock) is asked only for those that do. */
		if (o->seq != 0 && !asked) {
			durable = audit_durable(g->audit);
			failed = audit_status(g->audit) != 0;
			asked = true;
		}
		if (o->seq > durable && !failed) {
			pp = &o->next; /* its record is not on disk yet */
			continue;
		}
		*pp = o->next;
		if (o->seq > durable) {
			/* The log failed before the record was durable: say so instead. */
			Piugw__LocalReply r = PIUGW__LOCAL_REPLY__INIT;
			Piugw__LocalError e = PIUGW__LOCAL_ERROR__INIT;
			struct api_out *err;
			e.code = PIUGW__ERROR_CODE__ERROR_INTERNAL;
			e.detail = (char *)"the audit log could not be written (see the gateway's "
					   "health): the change is not on record";
			r.kind_case = PIUGW__LOCAL_REPLY__KIND_ERROR;
			r.error = &e;
			if ((err = local_pack(o->rid, o->rid_len, o->tag, &r)) == NULL)
				local_send_oom(g, o->rid, o->rid_len, o->tag);
			sodium_memzero(o->buf, o->len);
			free(o);
			if ((o = err) == NULL)
				continue;
		}
		if (links_api_send(g, o->rid, o->rid_len, o->buf, o->len) != 0)
			gw_log(GW_WARN, "local_reply_lost", "error=%s", gw_esc(zmq_strerror(errno)));
		sodium_memzero(o->buf, o->len);
		free(o);
	}
	g->turn.api_out_tail = pp;
}

/* See gw.h. */
void
reply_local_error(struct gw *g, const uint8_t *rid, size_t rid_len, int wire_code, const char *fmt,
		  ...)
{
	Piugw__LocalReply r = PIUGW__LOCAL_REPLY__INIT;
	Piugw__LocalError e = PIUGW__LOCAL_ERROR__INIT;
	char detail[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	e.code = (Piugw__ErrorCode)wire_code;
	e.detail = detail;
	r.kind_case = PIUGW__LOCAL_REPLY__KIND_ERROR;
	r.error = &e;
	reply_local(g, rid, rid_len, &r);
}
