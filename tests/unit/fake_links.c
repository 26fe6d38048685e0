/*
 * fake_links.c: links.c for test_daemon, without a socket. What the daemon
 * would send is kept, with how far the audit log was durable at that
 * moment, so that a test can say not only what left but whether it left
 * after its record.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "fake_links.h"

struct fake_sent fake_sent[FAKE_SENT_MAX];
size_t fake_nsent;

static void
keep(struct gw *g, bool to_router, const uint8_t *env, size_t len)
{
	struct fake_sent *s;

	if (fake_nsent == FAKE_SENT_MAX)
		return;
	s = &fake_sent[fake_nsent++];
	s->env = malloc(len);
	memcpy(s->env, env, len);
	s->len = len;
	s->router = to_router;
	s->api = false;
	s->durable = audit_durable(g->audit);
	s->head = audit_head(g->audit);
}

void
fake_sent_clear(void)
{
	for (size_t i = 0; i < fake_nsent; i++)
		free(fake_sent[i].env);
	fake_nsent = 0;
}

int
links_open(struct gw *g)
{
	(void)g;
	return 0;
}

int
links_router_rebind(struct gw *g)
{
	(void)g;
	return 0;
}

int
links_router_retry(struct gw *g)
{
	(void)g;
	return 0;
}

int
links_peers_sync(struct gw *g)
{
	(void)g;
	return 0;
}

void
links_close(struct gw *g)
{
	(void)g;
}

void
links_zap_handle(struct gw *g)
{
	(void)g;
}

bool
links_monitor_handle(struct gw *g, struct peer *p, void *mon)
{
	(void)g;
	(void)p;
	(void)mon;
	return false;
}

void
links_peer_redial(struct gw *g, struct peer *p, int64_t now)
{
	(void)g;
	(void)p;
	(void)now;
}

bool
links_peer_send(struct gw *g, struct peer *p, const uint8_t *env, size_t len)
{
	(void)p;
	keep(g, false, env, len);
	return true;
}

int
links_api_send(struct gw *g, const uint8_t *rid, size_t rid_len, const uint8_t *buf, size_t len)
{
	(void)rid;
	(void)rid_len;
	keep(g, false, buf, len);
	fake_sent[fake_nsent - 1].api = true;
	return 0;
}

int
links_router_send(struct gw *g, const uint8_t *rid, size_t rid_len, const uint8_t *env,
		  size_t len)
{
	(void)rid;
	(void)rid_len;
	keep(g, true, env, len);
	return 0;
}
