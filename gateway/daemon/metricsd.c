/*
 * metricsd.c: the metrics process (metricsd.h): libmicrohttpd on
 * metrics.listen, away from the keys and the travellers, and the daemon's
 * side of its socket.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "encoding.h"
#include "gw.h"
#include "metricsd.h"
#include "piugw/error.h"
#include "sandbox.h"

/* nobody: who the metrics process runs as when piugwd runs as root. */
#define NOBODY 65534

/* The monotonic clock in ms (gw.c's). */
static int64_t
mono_ms(void)
{
	return gw_mono_us() / 1000;
}

/* ---- the metrics process ---- */

struct child {
	int fd;            /* to the daemon */
	int wait_ms;       /* for a snapshot */
	unsigned asked;    /* snapshots asked for and not read yet */
	uint8_t *rx;       /* the frame being read: 4 + MX_FRAME_MAX */
	size_t have;       /* bytes of it read */
};

static _Noreturn void
child_end(const char *why)
{
	gw_log(GW_ERROR, "metrics_failed", "problem=%s", gw_esc(why));
	_exit(2);
}

/*
 * Read on at the frame being read until it is whole (1) or deadline (a
 * monotonic ms) passes (0: what was read stays for the next call). The
 * daemon gone: the process ends. A frame that breaks metricsd.h: too.
 */
static int
child_frame(struct child *c, int64_t deadline)
{
	for (;;) {
		size_t need = c->have < 4 ? 4 : 4 + (size_t)be32_get(c->rx);
		ssize_t r;

		if (c->have >= 4 && (be32_get(c->rx) > MX_FRAME_MAX || be32_get(c->rx) < 9))
			child_end("the daemon sent a frame of a size metricsd.h does not allow");
		if (c->have == need && need > 4)
			return 1;
		{
			int64_t left = deadline - mono_ms();
			struct pollfd p = {.fd = c->fd, .events = POLLIN};
			int k = poll(&p, 1, left < 0 ? 0 : (int)left);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				child_end(strerror(errno));
			if (k == 0)
				return 0;
		}
		r = read(c->fd, c->rx + c->have, need - c->have);
		if (r == 0)
			_exit(0); /* the daemon closed its side: it stops */
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			child_end(strerror(errno));
		if (r > 0)
			c->have += (size_t)r;
	}
}

struct snapshot {
	unsigned metrics_status, health_status;
	const char *metrics, *health;
	size_t mlen, hlen;
};

/*
 * Ask the daemon for a snapshot and wait for it (c->wait_ms at most).
 * Snapshots owed to earlier scrapes that gave up are read and dropped
 * first. true: *s points into c->rx until the next call.
 */
static bool
child_snapshot(struct child *c, struct snapshot *s)
{
	const uint8_t want = MX_WANT;
	int64_t deadline = mono_ms() + c->wait_ms;
	uint32_t len;

	if (write(c->fd, &want, 1) != 1)
		_exit(0);
	c->asked++;
	for (;;) {
		if (child_frame(c, deadline) == 0)
			return false;
		c->asked--;
		if (c->asked > 0) {
			c->have = 0; /* an earlier scrape's, too late */
			continue;
		}
		break;
	}
	c->have = 0;
	len = be32_get(c->rx);
	s->metrics_status = (unsigned)c->rx[5] << 8 | c->rx[6];
	s->health_status = (unsigned)c->rx[7] << 8 | c->rx[8];
	s->mlen = be32_get(c->rx + 9);
	if (c->rx[4] != MX_SNAPSHOT || s->mlen > len - 9 || s->metrics_status < 200 ||
	    s->metrics_status > 599 || s->health_status < 200 || s->health_status > 599)
		child_end("the daemon sent a snapshot metricsd.h does not describe");
	s->metrics = (const char *)c->rx + 13;
	s->health = s->metrics + s->mlen;
	s->hlen = len - 9 - s->mlen;
	return true;
}

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, const char *type, const char *body, size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *upload, size_t *upload_len, void **ctx)
{
	static const char late[] = "the gateway did not answer in time\n";
	struct child *c = cls;
	struct snapshot s;

	(void)version;
	(void)upload;
	(void)ctx;
	if (*upload_len != 0 || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET only\n", 9);
	if (strcmp(url, "/metrics") != 0 && strcmp(url, "/healthz") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", "/metrics or /healthz\n", 21);
	if (!child_snapshot(c, &s))
		return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", late,
			     sizeof(late) - 1);
	if (strcmp(url, "/metrics") == 0)
		return reply(conn, s.metrics_status,
			     s.metrics_status == 200 ? "text/plain; version=0.0.4" : "text/plain",
			     s.metrics, s.mlen);
	return reply(conn, s.health_status, "application/json", s.health, s.hlen);
}

/* Root's process runs on as nobody: it needs nothing of root's once it listens. */
static void
child_unprivileged(void)
{
	if (geteuid() != 0)
		return;
	if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
		child_end("it could not become nobody");
}

/* The child's side of metricsd_start: never returns. */
static _Noreturn void
child_main(int fd, const struct sockaddr_storage *ss, const char *listen, struct keys_secret *k,
	   int wait_ms, bool sandbox)
{
	struct child c = {.fd = 3, .wait_ms = wait_ms};
	struct MHD_Daemon *mhd;
	const union MHD_DaemonInfo *info;
	sigset_t all;
	int rc, abi = 0, efd;
	const uint8_t ready = MX_READY;

	prctl(PR_SET_NAME, "piugwd-metrics", 0, 0, 0);
	/* What it does not need: the CURVE secret (inherited with the daemon's memory). */
	keys_secret_forget_transport(k);
	/* Signals are the daemon's: this process ends when the daemon closes the socket. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if (dup2(fd, 3) != 3 || close_range(4, ~0U, 0) != 0)
		child_end("its descriptors could not be set up");
	if ((c.rx = malloc(4 + MX_FRAME_MAX)) == NULL)
		child_end("out of memory at start");
	mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
				       (ss->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			       0, NULL, NULL, handle, &c, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss,
			       MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
			       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
			       MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_END);
	if (mhd == NULL || (info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
		gw_log(GW_ERROR, "bind", "metrics.listen=%s problem=%s", gw_esc(listen),
		       gw_esc("cannot listen there (in use?)"));
		_exit(2);
	}
	efd = info->epoll_fd;
	/* The time zone read now: libmicrohttpd's Date header would open /etc/localtime. */
	tzset();
	child_unprivileged();
	if (sandbox) {
		rc = sandbox_nothing(&abi);
		if (rc != 0 && rc != SANDBOX_NO_LANDLOCK) {
			char why[200];
			snprintf(why, sizeof(why), "its Landlock rules could not be applied: %s",
				 sandbox_strerror(rc));
			child_end(why);
		}
		if ((rc = sandbox_metrics()) != 0) {
			char why[300];
			snprintf(why, sizeof(why), "its seccomp filter could not be installed: %s",
				 sandbox_strerror(rc));
			child_end(why);
		}
	}
	if (write(c.fd, &ready, 1) != 1)
		_exit(0);
#ifdef PIUGW_TEST_HOOKS
	gw_test_escape("metrics", "PIUGW_TEST_ESCAPE_METRICS");
#endif
	for (;;) {
		struct pollfd p[2] = {{.fd = efd, .events = POLLIN}, {.fd = c.fd, .events = POLLIN}};
		MHD_UNSIGNED_LONG_LONG t;
		int timeout = MHD_get_timeout(mhd, &t) == MHD_YES ? (t > 1000 ? 1000 : (int)t) : 1000;

		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			child_end(strerror(errno));
		if (p[1].revents != 0) {
			/* A late snapshot for a scrape that gave up; else the daemon is gone. */
			if (c.asked == 0) {
				uint8_t b;
				if (read(c.fd, &b, 1) == 0)
					_exit(0);
				child_end("the daemon sent what no scrape asked for");
			}
			if (child_frame(&c, mono_ms()) == 1) {
				c.asked--;
				c.have = 0;
			}
		}
		MHD_run(mhd);
	}
}

/* ---- the daemon's side ---- */

struct metricsd {
	pid_t pid;
	int fd;
	uint8_t *out; /* a snapshot being written */
	size_t out_len, out_at;
	char problem[256];
};

/* Wait for it to end; how it did, for a log line. */
static void
reap(struct metricsd *m, char *how, size_t size)
{
	sandbox_reap(&m->pid, how, size);
}

/* It failed: end it if it still runs (kill: it broke the protocol), say why once. */
static int
failed(struct metricsd *m, const char *why, bool kill_it)
{
	char how[160];

	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	if (kill_it && m->pid > 0)
		kill(m->pid, SIGKILL);
	reap(m, how, sizeof(how));
	snprintf(m->problem, sizeof(m->problem), "%s%s", why, how);
	free(m->out);
	m->out = NULL;
	return -1;
}

/* See metricsd.h. */
int
metricsd_start(const struct sockaddr_storage *ss, const char *listen, struct keys_secret *k,
	       int wait_ms, bool sandbox, struct metricsd **outp, struct diag *d)
{
	struct metricsd *m = calloc(1, sizeof(*m));
	struct pollfd p;
	uint8_t b = 0;
	ssize_t r = -1;
	int sv[2];

	*outp = NULL;
	if (m == NULL)
		return PIUGW_ENOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		diag_add(d, "the metrics process's socket: %s", strerror(errno));
		free(m);
		return PIUGW_ESYSTEM;
	}
	fflush(NULL); /* nothing buffered is written twice */
	if ((m->pid = fork()) < 0) {
		diag_add(d, "the metrics process could not be started: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		free(m);
		return PIUGW_ESYSTEM;
	}
	if (m->pid == 0) {
		close(sv[0]);
		child_main(sv[1], ss, listen, k, wait_ms, sandbox);
	}
	close(sv[1]);
	m->fd = sv[0];
	p = (struct pollfd){.fd = m->fd, .events = POLLIN};
	while (poll(&p, 1, MX_WAIT_MS) < 0 && errno == EINTR)
		;
	if (p.revents != 0)
		while ((r = read(m->fd, &b, 1)) < 0 && errno == EINTR)
			;
	if (r != 1 || b != MX_READY) {
		failed(m, r == 0 ? "it ended" : "it did not say it serves", true);
		diag_add(d, "the metrics process did not start: %s (see above)", m->problem);
		free(m);
		return PIUGW_ESYSTEM;
	}
	if (fcntl(m->fd, F_SETFL, O_NONBLOCK) != 0) {
		diag_add(d, "the metrics process's socket: %s", strerror(errno));
		metricsd_stop(&m);
		return PIUGW_ESYSTEM;
	}
	*outp = m;
	return 0;
}

/* See metricsd.h. */
int
metricsd_fd(const struct metricsd *m)
{
	return m != NULL ? m->fd : -1;
}

/* See metricsd.h. */
short
metricsd_events(const struct metricsd *m)
{
	if (m == NULL || m->fd < 0)
		return 0;
	return m->out != NULL ? POLLOUT : POLLIN;
}

/* Write what the socket takes of the snapshot being written. 0, or -1 (failed). */
static int
flush_out(struct metricsd *m)
{
	while (m->out != NULL) {
		ssize_t w = send(m->fd, m->out + m->out_at, m->out_len - m->out_at, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w < 0)
			return failed(m, "it no longer reads its socket", true);
		m->out_at += (size_t)w;
		if (m->out_at == m->out_len) {
			free(m->out);
			m->out = NULL;
		}
	}
	return 0;
}

/* See metricsd.h. */
int
metricsd_wanted(struct metricsd *m)
{
	uint8_t b;
	ssize_t r;
	char why[80];

	if (m == NULL || m->fd < 0)
		return -1;
	if (flush_out(m) != 0)
		return -1;
	if (m->out != NULL)
		return 0;
	while ((r = read(m->fd, &b, 1)) < 0 && errno == EINTR)
		;
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (r <= 0)
		return failed(m, "it ended", false);
	if (b != MX_WANT) {
		snprintf(why, sizeof(why), "it sent a byte of kind %u, which metricsd.h does not know",
			 b);
		return failed(m, why, true);
	}
	return 1;
}

/* See metricsd.h. */
int
metricsd_send(struct metricsd *m, unsigned metrics_status, const char *metrics, size_t mlen,
	      unsigned health_status, const char *health, size_t hlen)
{
	size_t len = 9 + mlen + hlen;

	if (m == NULL || m->fd < 0)
		return -1;
	if (mlen > MX_BODY_MAX || hlen > MX_BODY_MAX || m->out != NULL)
		return failed(m, "a snapshot larger than metricsd.h allows", true);
	if ((m->out = malloc(4 + len)) == NULL)
		return failed(m, "out of memory", true);
	be32_put(m->out, (uint32_t)len);
	m->out[4] = MX_SNAPSHOT;
	be16_put(m->out + 5, metrics_status);
	be16_put(m->out + 7, health_status);
	be32_put(m->out + 9, (uint32_t)mlen);
	memcpy(m->out + 13, metrics, mlen);
	memcpy(m->out + 13 + mlen, health, hlen);
	m->out_len = 4 + len;
	m->out_at = 0;
	return flush_out(m);
}

/* See metricsd.h. */
const char *
metricsd_problem(const struct metricsd *m)
{
	return m != NULL && m->problem[0] != '\0' ? m->problem : NULL;
}

/* See metricsd.h. */
pid_t
metricsd_pid(const struct metricsd *m)
{
	return m != NULL ? m->pid : 0;
}

/* See metricsd.h. */
void
metricsd_stop(struct metricsd **mp)
{
	struct metricsd *m;
	char how[160];

	if (mp == NULL || (m = *mp) == NULL)
		return;
	if (m->fd >= 0)
		close(m->fd);
	reap(m, how, sizeof(how));
	free(m->out);
	free(m);
	*mp = NULL;
}
