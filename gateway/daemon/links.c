/*
 * links.c: the sockets of piugwd (PROTOCOL.md section 2) and its log lines.
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

/*
 * ZMQ_ZAP_ENFORCE_DOMAIN is still a "draft" option in libzmq 4.3's header,
 * but Debian's library implements it. Setting it is checked, so a library
 * without it refuses to start instead of admitting everyone.
 */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

static int
set_int(void *s, int opt, int v)
{
	return zmq_setsockopt(s, opt, &v, sizeof(v));
}

static int
set_curve_secret(const uint8_t sk[KEYS_TRANSPORT_SECRET_BYTES], void *sock)
{
	return zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sk, KEYS_TRANSPORT_SECRET_BYTES);
}

/* The CURVE keys and limits every socket to or from a partner carries. */
static int
curve_socket(struct gw *g, void *s, bool server)
{
	const struct keys_public *me = keys_secret_public(g->keys);
	/*
	 * The transport cuts a connection that sends more than this; a little
	 * headroom over the protocol's limit lets an envelope that is only
	 * somewhat too large reach envelope_open() and get a TOO_LARGE answer.
	 */
	int64_t maxsize =
		(int64_t)policy_config(g->policy)->max_message_bytes + ENVELOPE_SIZE_SLACK;

	if (zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, me->transport_pk, KEYS_PUBLIC_BYTES) != 0 ||
	    keys_with_transport_secret(g->keys, set_curve_secret, s) != 0 ||
	    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize)) != 0 ||
	    set_int(s, ZMQ_LINGER, 0) != 0 ||
	    /* Heartbeats: a dead peer is noticed and reported, not waited on forever. */
	    set_int(s, ZMQ_HEARTBEAT_IVL, 2000) != 0 || set_int(s, ZMQ_HEARTBEAT_TIMEOUT, 6000) != 0 ||
	    set_int(s, ZMQ_HEARTBEAT_TTL, 6000) != 0)
		return PIUGW_ESYSTEM;
	if (server && set_int(s, ZMQ_CURVE_SERVER, 1) != 0)
		return PIUGW_ESYSTEM;
	return 0;
}

static void *
monitor(struct gw *g, void *s, const char *name)
{
	char ep[128];
	void *m;

	snprintf(ep, sizeof(ep), "inproc://monitor-%s", name);
	if (zmq_socket_monitor(s, ep, ZMQ_EVENT_ALL) != 0)
		return NULL;
	if ((m = zmq_socket(g->links.zctx, ZMQ_PAIR)) == NULL)
		return NULL;
	if (zmq_connect(m, ep) != 0) {
		zmq_close(m);
		return NULL;
	}
	return m;
}

/* Bind the public ROUTER (fail closed: ZAP domain enforced). quiet: a retry, log less. */
static int
router_open(struct gw *g, bool quiet)
{
	struct gw_links *l = &g->links;
	const char *ep = policy_config(g->policy)->listen;
	static unsigned generation;
	char name[32];

	if ((l->router = zmq_socket(l->zctx, ZMQ_ROUTER)) == NULL ||
	    curve_socket(g, l->router, true) != 0 ||
	    zmq_setsockopt(l->router, ZMQ_ZAP_DOMAIN, GW_ZAP_DOMAIN, strlen(GW_ZAP_DOMAIN)) != 0 ||
	    set_int(l->router, ZMQ_ZAP_ENFORCE_DOMAIN, 1) != 0 ||
	    set_int(l->router, ZMQ_ROUTER_MANDATORY, 1) != 0) {
		gw_log(GW_ERROR, "socket", "what=router error=%s", gw_esc(zmq_strerror(errno)));
		goto fail;
	}
	if (zmq_bind(l->router, ep) != 0) {
		if (!quiet)
			gw_log(GW_ERROR, "bind", "endpoint=%s error=%s hint=%s", gw_esc(ep),
			       gw_esc(zmq_strerror(errno)),
			       gw_esc("is another piugwd running, or the address wrong in "
				      "gateway.listen?"));
		goto fail;
	}
	snprintf(name, sizeof(name), "router-%u", generation++);
	/* Polled through its ZMQ_FD (see serve in piugwd.c): ask it once first. */
	l->router_mon_again = true;
	if ((l->router_mon = monitor(g, l->router, name)) == NULL)
		goto fail;
	return 0;
fail:
	if (l->router != NULL)
		zmq_close(l->router);
	l->router = NULL;
	return PIUGW_ESYSTEM;
}

static void
router_close(struct gw *g)
{
	struct gw_links *l = &g->links;
	if (l->router != NULL) {
		zmq_socket_monitor(l->router, NULL, 0);
		zmq_close(l->router);
		l->router = NULL;
	}
	if (l->router_mon != NULL) {
		zmq_close(l->router_mon);
		l->router_mon = NULL;
	}
}

/* See gw.h. */
int
links_open(struct gw *g)
{
	struct gw_links *l = &g->links;
	const char *api = policy_config(g->policy)->local_api;

	if ((l->zctx = zmq_ctx_new()) == NULL)
		return PIUGW_ESYSTEM;
	/* The ZAP handler must exist before any socket that needs it. */
	l->zap_again = true; /* polled through its ZMQ_FD: ask it once first */
	if ((l->zap = zmq_socket(l->zctx, ZMQ_REP)) == NULL ||
	    zmq_bind(l->zap, "inproc://zeromq.zap.01") != 0)
		return PIUGW_ESYSTEM;
	if (router_open(g, false) != 0)
		return PIUGW_ESYSTEM;

	/* The local API: ipc only, guarded by the socket file's permissions. */
	if (strncmp(api, "ipc://", 6) != 0) {
		gw_log(GW_ERROR, "config", "local_api=%s problem=%s", gw_esc(api),
		       gw_esc("the local API must be an ipc:// endpoint"));
		return PIUGW_ECONFIG;
	}
	free(l->api_path);
	if ((l->api_path = strdup(api + 6)) == NULL)
		return PIUGW_ENOMEM;
	/*
	 * Its folder (runtime: in piugwd.yaml) is where operators may go; the
	 * state is not. Created here if no service manager made it: 0750, the
	 * group is this process's, the operators' (piugw.sysusers).
	 */
	{
		char *slash = strrchr(l->api_path, '/');
		if (slash != NULL && slash != l->api_path) {
			*slash = '\0';
			/* chmod: the umask (077) took the group's bits */
			if (mkdir(l->api_path, 0750) == 0)
				chmod(l->api_path, 0750);
			else if (errno != EEXIST)
				gw_log(GW_WARN, "local_api", "path=%s problem=%s",
				       gw_esc(l->api_path), gw_esc(strerror(errno)));
			*slash = '/';
		}
	}
	if (unlink(l->api_path) != 0 && errno != ENOENT)
		gw_log(GW_WARN, "local_api", "path=%s problem=%s", gw_esc(l->api_path),
		       gw_esc(strerror(errno)));
	if ((l->api = zmq_socket(l->zctx, ZMQ_ROUTER)) == NULL ||
	    /* A ZAP domain on a NULL-mechanism socket makes libzmq ask who connects. */
	    zmq_setsockopt(l->api, ZMQ_ZAP_DOMAIN, GW_ZAP_DOMAIN_LOCAL,
			   strlen(GW_ZAP_DOMAIN_LOCAL)) != 0 ||
	    set_int(l->api, ZMQ_ZAP_ENFORCE_DOMAIN, 1) != 0 ||
	    set_int(l->api, ZMQ_LINGER, 0) != 0) {
		gw_log(GW_ERROR, "socket", "what=local_api error=%s", gw_esc(zmq_strerror(errno)));
		return PIUGW_ESYSTEM;
	}
	{
		int64_t maxsize = GW_LOCAL_MAX_BYTES;
		zmq_setsockopt(l->api, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize));
	}
	if (zmq_bind(l->api, api) != 0) {
		gw_log(GW_ERROR, "bind", "endpoint=%s error=%s", gw_esc(api),
		       gw_esc(zmq_strerror(errno)));
		return PIUGW_ESYSTEM;
	}
	/* Owner and group: the operators' group is given access by the administrator. */
	if (chmod(l->api_path, 0660) != 0)
		gw_log(GW_WARN, "local_api", "path=%s problem=%s", gw_esc(l->api_path),
		       gw_esc(strerror(errno)));
	return links_peers_sync(g);
}

/* See gw.h. */
int
links_router_rebind(struct gw *g)
{
	router_close(g);
	gw_log(GW_INFO, "connections_cut", "why=%s",
	       gw_esc("a member lost its admission; partners reconnect and are checked again"));
	g->links.rebind_since_ms = gw_now_ms();
	return links_router_retry(g);
}

/* See gw.h. */
int
links_router_retry(struct gw *g)
{
	int64_t waited = gw_now_ms() - g->links.rebind_since_ms;

	/*
	 * ZeroMQ closes the old listener in its I/O thread, so the port may
	 * still be taken for a moment: the loop tries again every few
	 * milliseconds, and says so loudly if it lasts.
	 */
	if (router_open(g, waited < 5000) == 0) {
		gw_log(GW_INFO, "listening", "endpoint=%s",
		       gw_esc(policy_config(g->policy)->listen));
		return 0;
	}
	return PIUGW_ESYSTEM;
}

static void
peer_close(struct peer *p)
{
	if (p->dealer != NULL) {
		zmq_socket_monitor(p->dealer, NULL, 0);
		zmq_close(p->dealer);
	}
	if (p->mon != NULL)
		zmq_close(p->mon);
	p->dealer = p->mon = NULL;
}

static int
peer_open(struct gw *g, struct peer *p)
{
	char name[64];

	if ((p->dealer = zmq_socket(g->links.zctx, ZMQ_DEALER)) == NULL ||
	    curve_socket(g, p->dealer, false) != 0 ||
	    zmq_setsockopt(p->dealer, ZMQ_CURVE_SERVERKEY, p->transport_pk, KEYS_PUBLIC_BYTES) != 0 ||
	    /* Queue only to a live connection: retries are ours, with identical bytes. */
	    set_int(p->dealer, ZMQ_IMMEDIATE, 1) != 0 ||
	    set_int(p->dealer, ZMQ_RECONNECT_IVL, 200) != 0 ||
	    set_int(p->dealer, ZMQ_RECONNECT_IVL_MAX, 5000) != 0)
		return PIUGW_ESYSTEM;
	snprintf(name, sizeof(name), "peer-%s-%p", p->id, (void *)p);
	p->mon_again = true; /* polled through its ZMQ_FD: ask it once first */
	if ((p->mon = monitor(g, p->dealer, name)) == NULL)
		return PIUGW_ESYSTEM;
	if (zmq_connect(p->dealer, p->endpoint) != 0) {
		gw_log(GW_ERROR, "connect", "peer=%s endpoint=%s error=%s", p->id, gw_esc(p->endpoint),
		       gw_esc(zmq_strerror(errno)));
		return PIUGW_ESYSTEM;
	}
	return 0;
}

/* See gw.h. */
int
links_peers_sync(struct gw *g)
{
	const struct policy *pol = g->policy;
	struct peer *np = NULL;
	struct state_proposal *pv = NULL;
	size_t n = 0, npv = 0, na = policy_agreement_count(pol);

	/*
	 * A partner is a member we hold an agreement with (in force or not:
	 * status shows it); a stranger, one we hold none with but have
	 * proposed one to, not decided yet (proposals.c).
	 */
	if (state_proposal_waiting(g->state, &pv, &npv) != 0)
		npv = 0;
	if ((np = calloc(na + npv + 1, sizeof(*np))) == NULL) {
		for (size_t i = 0; i < npv; i++)
			state_proposal_clear(&pv[i]);
		free(pv);
		return PIUGW_ENOMEM;
	}
	for (size_t i = 0; i < na + npv; i++) {
		const char *id = i < na ? policy_agreement_at(pol, i)->peer : pv[i - na].peer;
		const struct directory_member *m = directory_member(policy_directory(pol), id);
		struct peer *old;
		bool dup = false, stranger = i >= na;

		if (m == NULL || !policy_member(pol, id))
			continue;
		for (size_t j = 0; j < n; j++)
			dup |= strcmp(np[j].id, m->keys.id) == 0;
		if (dup)
			continue;
		old = gw_peer(g, m->keys.id);
		if (old != NULL && strcmp(old->endpoint, m->endpoint) == 0 &&
		    sodium_memcmp(old->transport_pk, m->keys.transport_pk, KEYS_PUBLIC_BYTES) == 0) {
			np[n] = *old; /* unchanged: keep the live connection */
			np[n].stranger = stranger;
			old->keep = true;
			n++;
			continue;
		}
		snprintf(np[n].id, sizeof(np[n].id), "%s", m->keys.id);
		snprintf(np[n].endpoint, sizeof(np[n].endpoint), "%s", m->endpoint);
		memcpy(np[n].transport_pk, m->keys.transport_pk, KEYS_PUBLIC_BYTES);
		np[n].down_since_ms = gw_now_ms();
		np[n].stranger = stranger;
		if (peer_open(g, &np[n]) != 0) {
			peer_close(&np[n]);
			for (size_t j = 0; j < n; j++)
				if (gw_peer(g, np[j].id) == NULL ||
				    !gw_peer(g, np[j].id)->keep)
					peer_close(&np[j]);
			for (size_t j = 0; j < g->npeers; j++)
				g->peers[j].keep = false;
			free(np);
			for (size_t j = 0; j < npv; j++)
				state_proposal_clear(&pv[j]);
			free(pv);
			return PIUGW_ESYSTEM;
		}
		n++;
	}
	for (size_t j = 0; j < npv; j++)
		state_proposal_clear(&pv[j]);
	free(pv);
	for (size_t j = 0; j < g->npeers; j++) {
		if (!g->peers[j].keep) {
			gw_log(GW_INFO, "peer_removed", "peer=%s", g->peers[j].id);
			peer_close(&g->peers[j]);
		}
	}
	for (size_t j = 0; j < n; j++)
		np[j].keep = false;
	free(g->peers);
	g->peers = np;
	g->npeers = n;
	return 0;
}

/* See gw.h. */
void
links_close(struct gw *g)
{
	struct gw_links *l = &g->links;
	for (size_t i = 0; i < g->npeers; i++)
		peer_close(&g->peers[i]);
	free(g->peers);
	g->peers = NULL;
	g->npeers = 0;
	router_close(g);
	if (l->api != NULL)
		zmq_close(l->api);
	if (l->zap != NULL)
		zmq_close(l->zap);
	l->api = l->zap = NULL;
	if (l->api_path != NULL)
		unlink(l->api_path);
	free(l->api_path);
	l->api_path = NULL;
	if (l->zctx != NULL)
		zmq_ctx_term(l->zctx);
	l->zctx = NULL;
}

/* ---- ZAP (ZeroMQ RFC 27) ---- */

#define ZAP_FRAMES_MAX 8

static void
zap_reply(struct gw *g, const zmq_msg_t *reqid, const char *code, const char *text,
	  const char *user)
{
	struct gw_links *l = &g->links;
	zmq_send(l->zap, "1.0", 3, ZMQ_SNDMORE);
	zmq_send(l->zap, zmq_msg_data((zmq_msg_t *)reqid), zmq_msg_size((zmq_msg_t *)reqid),
		 ZMQ_SNDMORE);
	zmq_send(l->zap, code, strlen(code), ZMQ_SNDMORE);
	zmq_send(l->zap, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(l->zap, user, strlen(user), ZMQ_SNDMORE);
	zmq_send(l->zap, "", 0, 0);
}

static bool
frame_is(zmq_msg_t *m, const char *s)
{
	return zmq_msg_size(m) == strlen(s) && memcmp(zmq_msg_data(m), s, strlen(s)) == 0;
}

/*
 * The local API's callers: libzmq puts ":uid:gid:pid" from SO_PEERCRED at
 * the end of an ipc connection's address. The kernel says who it is; the
 * caller cannot choose.
 */
static bool
peercred_uid(zmq_msg_t *addr, uint32_t *uid)
{
	char buf[128], *p, *q;
	size_t n = zmq_msg_size(addr);
	uint64_t v;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, zmq_msg_data(addr), n);
	buf[n] = '\0';
	/* ...:uid:gid:pid: the third colon from the end starts uid */
	if ((p = strrchr(buf, ':')) == NULL)
		return false;
	*p = '\0';
	if ((p = strrchr(buf, ':')) == NULL)
		return false;
	*p = '\0';
	if ((q = strrchr(buf, ':')) == NULL)
		return false;
	q++;
	if (!num_parse_u64(q, strlen(q), 0, UINT32_MAX, &v))
		return false;
	*uid = (uint32_t)v;
	return true;
}

/* See gw.h. */
void
links_zap_handle(struct gw *g)
{
	struct gw_links *l = &g->links;
	zmq_msg_t f[ZAP_FRAMES_MAX];
	size_t n = 0;
	int more = 1;
	char user[KEYS_ID_MAX + 16] = "";

	/* Read every frame whatever the shape (never assert on it, unlike zauth). */
	while (more) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, l->zap, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			break;
		}
		more = zmq_msg_more(&m);
		if (n < ZAP_FRAMES_MAX)
			f[n++] = m;
		else
			zmq_msg_close(&m);
	}
	/* version, request id, domain, address, identity, mechanism, credentials... */
	if (n < 6 || !frame_is(&f[0], "1.0")) {
		gw_log(GW_ERROR, "zap", "problem=%s", gw_esc("malformed ZAP request"));
		if (n >= 2)
			zap_reply(g, &f[1], "500", "malformed request", "");
		else
			/* A REP socket must answer something before it can read again. */
			zmq_send(l->zap, "", 0, 0);
		goto out;
	}
	if (frame_is(&f[2], GW_ZAP_DOMAIN_LOCAL)) {
		uint32_t uid;
		if (!frame_is(&f[5], "NULL") || !peercred_uid(&f[3], &uid)) {
			gw_log(GW_WARN, "local_refused", "problem=%s",
			       gw_esc("the caller's credentials could not be read"));
			zap_reply(g, &f[1], "400", "no credentials", "");
			goto out;
		}
		snprintf(user, sizeof(user), "%u", uid);
		zap_reply(g, &f[1], "200", "OK", user);
		goto out;
	}
	if (!frame_is(&f[2], GW_ZAP_DOMAIN) || !frame_is(&f[5], "CURVE") || n != 7 ||
	    zmq_msg_size(&f[6]) != KEYS_PUBLIC_BYTES) {
		gw_log(GW_WARN, "zap_refused", "problem=%s", gw_esc("not a CURVE client of our domain"));
		zap_reply(g, &f[1], "400", "refused", "");
		l->refused_at_zap++;
		goto out;
	}
	{
		const uint8_t *key = zmq_msg_data(&f[6]);
		const struct directory *dir = policy_directory(g->policy);
		const char *id = NULL;
		char z85[41];

		for (size_t i = 0; i < dir->n && id == NULL; i++)
			if (sodium_memcmp(dir->members[i].keys.transport_pk, key, KEYS_PUBLIC_BYTES) ==
			    0)
				id = dir->members[i].keys.id;
		/* Every member: one without an agreement in force may still propose one. */
		if (id == NULL || !policy_member(g->policy, id)) {
			zmq_z85_encode(z85, key, KEYS_PUBLIC_BYTES);
			gw_log(GW_WARN, "zap_refused", "key=%s member=%s problem=%s", gw_esc(z85),
			       id != NULL ? id : "-",
			       gw_esc(id == NULL ? "transport key of no directory member"
						 : "our own transport key"));
			l->refused_at_zap++;
			zap_reply(g, &f[1], "400", "not admitted", "");
			goto out;
		}
		snprintf(user, sizeof(user), "%s", id);
		zap_reply(g, &f[1], "200", "OK", user);
	}
out:
	for (size_t i = 0; i < n; i++)
		zmq_msg_close(&f[i]);
}

/* ---- monitors ---- */

/* See gw.h. */
bool
links_monitor_handle(struct gw *g, struct peer *p, void *mon)
{
	zmq_msg_t m;
	uint16_t ev = 0;
	uint32_t val = 0;
	char ep[128] = "";
	int more;

	(void)g;
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m);
		return false;
	}
	if (zmq_msg_size(&m) >= 6) {
		memcpy(&ev, zmq_msg_data(&m), 2);
		memcpy(&val, (uint8_t *)zmq_msg_data(&m) + 2, 4);
	}
	more = zmq_msg_more(&m);
	zmq_msg_close(&m);
	while (more) {
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			break;
		}
		more = zmq_msg_more(&m);
		if (zmq_msg_size(&m) < sizeof(ep)) {
			memcpy(ep, zmq_msg_data(&m), zmq_msg_size(&m));
			ep[zmq_msg_size(&m)] = '\0';
		}
		zmq_msg_close(&m);
	}
	if (p == NULL) {
		/* The public ROUTER: refused handshakes are worth a line. */
		if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
			gw_log(GW_WARN, "handshake_refused", "status=%u", val);
		else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
			 ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
			gw_log(GW_WARN, "handshake_failed", "code=%u", val);
		return false;
	}
	switch (ev) {
	case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
		p->connected = p->ever_connected = true;
		p->problem[0] = '\0';
		p->down_since_ms = 0;
		if (p->down_warned)
			gw_log(GW_WARN, "peer_back", "peer=%s endpoint=%s", p->id, gw_esc(p->endpoint));
		else
			gw_log(GW_INFO, "peer_connected", "peer=%s endpoint=%s", p->id,
			       gw_esc(p->endpoint));
		p->down_warned = false;
		return true; /* the caller sends what waited for it */
	case ZMQ_EVENT_DISCONNECTED:
		/* A partner's restart is routine: a warning only if it stays away (outbound_timers). */
		if (p->connected) {
			gw_log(GW_INFO, "peer_disconnected", "peer=%s", p->id);
			p->down_since_ms = gw_now_ms();
		}
		p->connected = false;
		p->reachable = false;
		snprintf(p->problem, sizeof(p->problem), "disconnected");
		break;
	case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
		p->connected = false;
		if (p->down_since_ms == 0)
			p->down_since_ms = gw_now_ms();
		snprintf(p->problem, sizeof(p->problem),
			 "the partner refused our key (ZAP status %u): does it hold an agreement "
			 "in force with us and our current key?", val);
		gw_log(GW_WARN, "peer_refused_us", "peer=%s status=%u", p->id, val);
		break;
	case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
	case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
		p->connected = false;
		if (p->down_since_ms == 0)
			p->down_since_ms = gw_now_ms();
		snprintf(p->problem, sizeof(p->problem),
			 "CURVE handshake failed: is the partner's transport key in the directory "
			 "current?");
		gw_log(GW_WARN, "peer_handshake_failed", "peer=%s code=%u", p->id, val);
		break;
	case ZMQ_EVENT_CONNECT_RETRIED:
		if (!p->connected && p->problem[0] == '\0')
			snprintf(p->problem, sizeof(p->problem), "no answer at %s", p->endpoint);
		break;
	default:
		break;
	}
	return false;
}

/* ---- sending ---- */

/* See gw.h. */
void
links_peer_redial(struct gw *g, struct peer *p, int64_t now)
{
	(void)g;
	if (p->connected || p->dealer == NULL || now - p->redial_ms < 1000)
		return;
	p->redial_ms = now;
	/* A new connect starts at once, with libzmq's backoff back at its first interval. */
	if (zmq_disconnect(p->dealer, p->endpoint) != 0 && errno != ENOENT)
		return;
	if (zmq_connect(p->dealer, p->endpoint) != 0)
		gw_log(GW_ERROR, "connect", "peer=%s endpoint=%s error=%s", p->id, gw_esc(p->endpoint),
		       gw_esc(zmq_strerror(errno)));
}

/* See gw.h. */
bool
links_peer_send(struct gw *g, struct peer *p, const uint8_t *env, size_t len)
{
	(void)g;
	if (p->dealer == NULL)
		return false;
	return zmq_send(p->dealer, env, len, ZMQ_DONTWAIT) == (int)len;
}

/* See gw.h. */
int
links_api_send(struct gw *g, const uint8_t *rid, size_t rid_len, const uint8_t *buf, size_t len)
{
	struct gw_links *l = &g->links;
	if (zmq_send(l->api, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_send(l->api, buf, len, ZMQ_DONTWAIT) < 0)
		return PIUGW_ESYSTEM;
	return 0;
}

/* See gw.h. */
int
links_router_send(struct gw *g, const uint8_t *rid, size_t rid_len, const uint8_t *env,
		  size_t len)
{
	struct gw_links *l = &g->links;
	if (l->router == NULL)
		return PIUGW_ESYSTEM;
	if (zmq_send(l->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_send(l->router, env, len, ZMQ_DONTWAIT) < 0) {
		/* ROUTER_MANDATORY: the connection went away; the requester will retry. */
		gw_log(GW_WARN, "reply_not_sent", "error=%s", gw_esc(zmq_strerror(errno)));
		return PIUGW_ESYSTEM;
	}
	return 0;
}
