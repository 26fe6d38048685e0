/*
 * client.c: see piugw/client.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "piugw/client.h"
#include "piugw/error.h"

#define CLIENT_REPLY_MAX (64 * 1024 * 1024)

struct piugw_client {
	void *ctx;
	void *sock;
	void *mon; /* PAIR end of sock's monitor: the gateway going away */
};

/* See piugw/client.h. */
int
piugw_client_open(const char *endpoint, struct piugw_client **outp)
{
	struct piugw_client *c = NULL;
	struct stat st;
	int linger = 0, ret = PIUGW_EINTERNAL;
	int64_t max = CLIENT_REPLY_MAX;

	*outp = NULL;
	if (endpoint == NULL || strncmp(endpoint, "ipc://", 6) != 0)
		return PIUGW_EINVAL;
	/* ZeroMQ would wait for a socket that never appears: say so now. */
	if (stat(endpoint + 6, &st) != 0)
		return errno == EACCES ? PIUGW_EACCESS : PIUGW_ENOENT;
	if (!S_ISSOCK(st.st_mode))
		return PIUGW_ENOENT;
	/* Access is by the socket's permissions; ZeroMQ would retry a refusal silently. */
	if (access(endpoint + 6, R_OK | W_OK) != 0)
		return PIUGW_EACCESS;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PIUGW_ENOMEM;
	/*
	 * A monitor tells when the connection closes: a gateway that dies while
	 * the caller waits is noticed at once, not at the end of the deadline.
	 */
	char mon[64];
	snprintf(mon, sizeof(mon), "inproc://piugw-client-%p", (void *)c);
	if ((c->ctx = zmq_ctx_new()) == NULL || (c->sock = zmq_socket(c->ctx, ZMQ_DEALER)) == NULL ||
	    zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &max, sizeof(max)) != 0 ||
	    zmq_socket_monitor(c->sock, mon, ZMQ_EVENT_DISCONNECTED) != 0 ||
	    (c->mon = zmq_socket(c->ctx, ZMQ_PAIR)) == NULL ||
	    zmq_setsockopt(c->mon, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_connect(c->mon, mon) != 0 || zmq_connect(c->sock, endpoint) != 0) {
		ret = PIUGW_ESYSTEM;
		goto out;
	}
	*outp = c;
	c = NULL;
	ret = 0;
out:
	piugw_client_close(&c);
	return ret;
}

/* See piugw/client.h. */
void
piugw_client_close(struct piugw_client **cp)
{
	struct piugw_client *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	if (c->sock != NULL) {
		zmq_socket_monitor(c->sock, NULL, 0);
		zmq_close(c->sock);
	}
	if (c->mon != NULL)
		zmq_close(c->mon);
	if (c->ctx != NULL)
		zmq_ctx_term(c->ctx);
	free(c);
	*cp = NULL;
}

/* See piugw/client.h. */
int
piugw_client_send(struct piugw_client *c, const Piugw__LocalRequest *req)
{
	size_t len = piugw__local_request__get_packed_size(req);
	uint8_t *buf = malloc(len ? len : 1);
	int ret = 0;

	if (buf == NULL)
		return PIUGW_ENOMEM;
	piugw__local_request__pack(req, buf);
	if (zmq_send(c->sock, buf, len, 0) != (int)len)
		ret = PIUGW_ESYSTEM;
	free(buf);
	return ret;
}

/* See piugw/client.h. */
int
piugw_client_recv(struct piugw_client *c, int timeout_ms, Piugw__LocalReply **replyp)
{
	zmq_msg_t msg;
	zmq_pollitem_t items[2] = {{.socket = c->sock, .events = ZMQ_POLLIN},
				   {.socket = c->mon, .events = ZMQ_POLLIN}};
	int ret = PIUGW_EINTERNAL, rc;

	*replyp = NULL;
	zmq_msg_init(&msg);
	do
		rc = zmq_poll(items, 2, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc <= 0) {
		errno = rc == 0 ? ETIMEDOUT : errno;
		ret = PIUGW_ESYSTEM;
		goto out;
	}
	/* The connection closed before an answer came: the gateway went away. */
	if (!(items[0].revents & ZMQ_POLLIN)) {
		errno = ECONNRESET;
		ret = PIUGW_ESYSTEM;
		goto out;
	}
	if (zmq_msg_recv(&msg, c->sock, 0) < 0) {
		ret = PIUGW_ESYSTEM;
		goto out;
	}
	if ((*replyp = piugw__local_reply__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg))) ==
	    NULL) {
		ret = PIUGW_EMALFORMED;
		goto out;
	}
	ret = 0;
out:
	zmq_msg_close(&msg);
	return ret;
}

/* See piugw/client.h. */
int
piugw_client_call(struct piugw_client *c, const Piugw__LocalRequest *req, int timeout_ms,
		  Piugw__LocalReply **replyp)
{
	int ret;

	*replyp = NULL;
	if ((ret = piugw_client_send(c, req)) != 0)
		return ret;
	return piugw_client_recv(c, timeout_ms, replyp);
}

/* See piugw/client.h. */
void
piugw_client_reply_free(Piugw__LocalReply **rp)
{
	if (rp == NULL || *rp == NULL)
		return;
	piugw__local_reply__free_unpacked(*rp, NULL);
	*rp = NULL;
}
