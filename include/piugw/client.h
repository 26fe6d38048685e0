/*
 * piugw/client.h: the C client library of the PIU gateway's local API.
 *
 * A national targeting system (or the piugw command) talks to its own
 * piugwd over the local API socket (ipc://, see piugwd.yaml local_api):
 * one LocalRequest, one LocalReply, both protobuf messages of local.proto
 * (the generated header local.pb-c.h is installed beside this one).
 *
 *     struct piugw_client *c = NULL;
 *     Piugw__LocalRequest req = PIUGW__LOCAL_REQUEST__INIT;
 *     Piugw__LocalReply *reply = NULL;
 *     ... fill req ...
 *     if (piugw_client_open("ipc:///var/lib/piugw/api.sock", &c) == 0 &&
 *         piugw_client_call(c, &req, 35000, &reply) == 0) { ... }
 *     piugw_client_reply_free(&reply);
 *     piugw_client_close(&c);
 *
 * Who asks is what the kernel says of the calling process (its user id);
 * access is by the socket file's permissions.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_CLIENT_H
#define PIUGW_CLIENT_H

#include "local.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

struct piugw_client;

/*
 * Connect to the local API at endpoint ("ipc://PATH"). Returns 0,
 * PIUGW_ENOENT if no gateway listens there, PIUGW_EACCESS if this user may
 * not use the socket, or another PIUGW_E*.
 */
int piugw_client_open(const char *endpoint, struct piugw_client **outp);

/* Close c and set *cp to NULL. NULL is fine. */
void piugw_client_close(struct piugw_client **cp);

/*
 * Send req and wait up to timeout_ms for the reply (free it with
 * piugw_client_reply_free). Returns 0, PIUGW_ENOENT if no gateway listens
 * at the endpoint, PIUGW_ESYSTEM on a timeout (errno ETIMEDOUT), or
 * PIUGW_EMALFORMED if the reply does not parse.
 */
int piugw_client_call(struct piugw_client *c, const Piugw__LocalRequest *req, int timeout_ms,
		      Piugw__LocalReply **replyp);

/*
 * The same in two steps, for a request answered more than once (a
 * LocalQuery with stream set: one LocalReply per answer with more set,
 * then the final one): send, then receive each reply in turn, waiting up
 * to timeout_ms for each. The same returns as piugw_client_call.
 */
int piugw_client_send(struct piugw_client *c, const Piugw__LocalRequest *req);
int piugw_client_recv(struct piugw_client *c, int timeout_ms, Piugw__LocalReply **replyp);

void piugw_client_reply_free(Piugw__LocalReply **rp);

#ifdef __cplusplus
}
#endif

#endif /* PIUGW_CLIENT_H */
