/*
 * gw.c: what every part of piugwd uses and nothing of it calls back: the
 * log lines, the clocks, users' names, and appending to the audit log.
 * The bottom of the daemon's files (gw.h lists the order).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "body.h"
#include "gw.h"
#include "piugw/error.h"

int gw_log_level = GW_INFO;
bool gw_log_syslog = false;

/* See gw.h. */
const char *
gw_esc(const char *s)
{
	static char ring[4][300];
	static unsigned next;
	char *b = ring[next++ % 4];
	size_t o = 0;
	bool quote = false;

	if (s == NULL)
		return "-";
	for (const char *p = s; *p != '\0'; p++)
		if (*p == ' ' || *p == '=' || *p == '"')
			quote = true;
	if (quote)
		b[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && o < 290; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			b[o++] = (char)*p;
		else
			o += (size_t)snprintf(b + o, 300 - o, "\\x%02x", *p);
	}
	if (quote)
		b[o++] = '"';
	b[o] = '\0';
	return o == 0 ? "\"\"" : b;
}

/* See gw.h. */
void
gw_log(enum gw_level lvl, const char *event, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	char ts[32], line[8192];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int k;

	if ((int)lvl < gw_log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	/*
	 * One write(2) a line: the key holder and the metrics process share
	 * stderr with the daemon, and a line made of several writes could be cut
	 * by another process's.
	 */
	k = snprintf(line, sizeof(line), "%s.%03ldZ level=%s event=%s%s", ts, now.tv_nsec / 1000000,
		     names[lvl], event, fmt != NULL && fmt[0] != '\0' ? " " : "");
	if (k > 0 && (size_t)k < sizeof(line) && fmt != NULL) {
		va_start(ap, fmt);
		int more = vsnprintf(line + k, sizeof(line) - (size_t)k, fmt, ap);
		va_end(ap);
		k = more < 0 ? k : k + more;
	}
	if (k < 0)
		return;
	if ((size_t)k >= sizeof(line) - 1) {
		/* Longer than a log line should be: cut, and said so. */
		static const char cut[] = " truncated=yes";
		k = (int)(sizeof(line) - sizeof(cut));
		memcpy(line + k, cut, sizeof(cut) - 1);
		k += (int)sizeof(cut) - 1;
	}
	line[k++] = '\n';
	fflush(stderr);
	while (write(STDERR_FILENO, line, (size_t)k) < 0 && errno == EINTR)
		;
	if (gw_log_syslog) {
		static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
		const char *e = strstr(line, " event=");
		/* syslog stamps its own time and level: from event= on, without the newline. */
		syslog(prio[lvl], "%.*s", (int)(line + k - 1 - (e + 1)), e + 1);
	}
}

int64_t (*gw_clock_ms)(void);

/* See gw.h. */
int64_t
gw_now_ms(void)
{
	struct timespec ts;

	if (gw_clock_ms != NULL)
		return gw_clock_ms();
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* See gw.h. */
int64_t
gw_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* See gw.h. */
void
gw_user_name(uint32_t uid, char *out, size_t size)
{
	/*
	 * A lookup reads /etc/passwd (or asks NSS): remembered for a minute for
	 * the few users of a gateway, so that a renamed user shows soon enough.
	 */
	static struct {
		uint32_t uid;
		int64_t at_ms;
		char name[64];
	} cache[8];
	static unsigned next;
	int64_t now = gw_now_ms();
	struct passwd pw, *res = NULL;
	char buf[1024];
	unsigned i;

	for (i = 0; i < 8; i++)
		if (cache[i].at_ms != 0 && cache[i].uid == uid && now - cache[i].at_ms < 60000) {
			snprintf(out, size, "%s", cache[i].name);
			return;
		}
	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(out, size, "%s", pw.pw_name);
	else
		snprintf(out, size, "uid:%u", uid);
	i = next++ % 8;
	cache[i].uid = uid;
	cache[i].at_ms = now;
	snprintf(cache[i].name, sizeof(cache[i].name), "%s", out);
}

/* See gw.h. */
int
gw_audit(struct gw *g, Piugw__AuditRecord *r, uint64_t *seqp)
{
	uint64_t seq = 0;
	int rc = PIUGW_EINTERNAL;
	char *via = r->via; /* put back: r may be the caller's to free */

	/* A person's request made through a delegate: both are recorded. */
	if (g->req_via != NULL && r->operator_ != NULL && r->operator_[0] != '\0' &&
	    (r->via == NULL || r->via[0] == '\0'))
		r->via = (char *)g->req_via;
	/* A record whose digests the key holder could not make is not written. */
	if (g->kh == NULL || keyholder_problem(g->kh) == NULL)
		rc = audit_append(g->audit, r, &seq);
	r->via = via;
	if (rc != 0)
		gw_log(GW_ERROR, "audit_append_failed", "error=%s", gw_esc(piugw_strerror(rc)));
	if (seqp != NULL)
		*seqp = seq;
	return rc;
}

/* See gw.h. */
size_t
gw_digests(struct gw *g, const struct audit_digest_input *in, size_t n,
	   uint8_t out[][AUDIT_DIGEST_BYTES])
{
	for (size_t at = 0; at < n; at += KH_BATCH_MAX) {
		size_t k = n - at < KH_BATCH_MAX ? n - at : KH_BATCH_MAX;
		if (keyholder_digest(g->kh, in + at, k, out + at) != 0)
			return 0;
	}
	return n;
}

/* See gw.h. */
size_t
gw_result_digests(struct gw *g, const Piugw__QueryResult *r, uint8_t out[][AUDIT_DIGEST_BYTES],
		  size_t max)
{
	static struct audit_digest_input in[KH_BATCH_MAX]; /* 50 KB: not on the stack */

	if (max > KH_BATCH_MAX)
		max = KH_BATCH_MAX;
	return gw_digests(g, in, audit_result_digest_inputs(r, in, max), out);
}

/* See gw.h. */
void
gw_set_str(char **field, const char *v)
{
	if (*field != NULL && *field != protobuf_c_empty_string)
		free(*field);
	*field = v != NULL ? strdup(v) : NULL;
}

/*
 * The header of a message from us to peer: a fresh id, now, the reply and
 * agreement fields as given.
 */
static void
header_for(struct gw *g, const char *peer, const uint8_t *in_reply_to, const char *agreement_id,
	   const uint8_t *agreement_hash, struct envelope_header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = ENVELOPE_VERSION;
	snprintf(h->sender, sizeof(h->sender), "%s", policy_config(g->policy)->id);
	snprintf(h->recipient, sizeof(h->recipient), "%s", peer);
	randombytes_buf(h->message_id, sizeof(h->message_id));
	if (in_reply_to != NULL) {
		h->has_in_reply_to = true;
		memcpy(h->in_reply_to, in_reply_to, ENVELOPE_MESSAGE_ID_BYTES);
	}
	h->sent_at_ms = gw_now_ms();
	if (agreement_id != NULL)
		snprintf(h->agreement_id, sizeof(h->agreement_id), "%s", agreement_id);
	if (agreement_hash != NULL) {
		h->has_agreement_hash = true;
		memcpy(h->agreement_hash, agreement_hash, ENVELOPE_AGREEMENT_HASH_BYTES);
	}
}

/* See gw.h. */
int
gw_seal_begin(struct gw *g, const char *peer, const uint8_t *in_reply_to,
	      const char *agreement_id, const uint8_t *agreement_hash, const Piugw__Body *body,
	      uint8_t mid[16], struct envelope_sealing **sp)
{
	struct envelope_header h;
	uint8_t *b = NULL;
	size_t blen = 0;
	int ret;

	header_for(g, peer, in_reply_to, agreement_id, agreement_hash, &h);
	if ((ret = body_pack(body, &b, &blen)) != 0)
		return ret;
	ret = envelope_seal_begin(g->env, &h, b, blen, sp);
	sodium_memzero(b, blen);
	free(b);
	if (ret == 0 && mid != NULL)
		memcpy(mid, h.message_id, ENVELOPE_MESSAGE_ID_BYTES);
	return ret;
}

/* See gw.h. */
int
gw_seal(struct gw *g, const char *peer, const uint8_t *in_reply_to, const char *agreement_id,
	const uint8_t *agreement_hash, const Piugw__Body *body, uint8_t mid[16], uint8_t **envp,
	size_t *lenp)
{
	struct envelope_sealing *s = NULL;
	uint8_t sig[KEYS_SIGNATURE_BYTES];
	const uint8_t *m;
	size_t mlen;
	int ret;

	*envp = NULL;
	*lenp = 0;
	if ((ret = gw_seal_begin(g, peer, in_reply_to, agreement_id, agreement_hash, body, mid,
				 &s)) != 0)
		return ret;
	envelope_sealing_input(s, &m, &mlen);
	if ((ret = keys_sign(g->keys, sig, m, mlen)) == 0)
		ret = envelope_seal_finish(s, sig, NULL, envp, lenp);
	envelope_sealing_free(&s);
	return ret;
}

/* See gw.h. */
int
gw_seal_finish_digests(struct gw *g, struct envelope_sealing **s, size_t n, uint8_t **env,
		       size_t *len, const struct audit_digest_input *in, size_t nin,
		       uint8_t out[][AUDIT_DIGEST_BYTES], size_t *ndp)
{
	const uint8_t *m[KH_BATCH_MAX] = {NULL};
	size_t mlen[KH_BATCH_MAX] = {0};
	uint8_t sig[KH_BATCH_MAX][KEYS_SIGNATURE_BYTES];
	int rc;

	*ndp = 0;
	if (n + nin < 1 || n + nin > KH_BATCH_MAX)
		return PIUGW_EINVAL;
	for (size_t i = 0; i < n; i++) {
		env[i] = NULL;
		envelope_sealing_input(s[i], &m[i], &mlen[i]);
	}
	if ((rc = keyholder_sign_digest(g->kh, m, mlen, n, in, nin, sig, out)) != 0)
		return rc;
	*ndp = nin;
	for (size_t i = 0; i < n; i++)
		if ((rc = envelope_seal_finish(s[i], sig[i], NULL, &env[i], &len[i])) != 0)
			gw_log(GW_ERROR, "seal_failed", "error=%s", gw_esc(piugw_strerror(rc)));
	return 0;
}

/* See gw.h. */
int
gw_seal_finish(struct gw *g, struct envelope_sealing **s, size_t n, uint8_t **env, size_t *len)
{
	size_t nd;

	if (n < 1)
		return PIUGW_EINVAL;
	return gw_seal_finish_digests(g, s, n, env, len, NULL, 0, NULL, &nd);
}

/* See gw.h. */
struct peer *
gw_peer(struct gw *g, const char *id)
{
	for (size_t i = 0; i < g->npeers; i++)
		if (strcmp(g->peers[i].id, id) == 0)
			return &g->peers[i];
	return NULL;
}

#ifdef PIUGW_TEST_HOOKS
/* See gw.h. */
void
gw_test_escape(const char *process, const char *variable)
{
	const char *what = getenv(variable);
	char path[64];
	int fd = -1;

	if (what == NULL)
		return;
	errno = 0;
	if (strcmp(what, "shadow") == 0)
		fd = open("/etc/shadow", O_RDONLY | O_CLOEXEC);
	else if (strcmp(what, "socket") == 0)
		fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	else if (strncmp(what, "read:", 5) == 0)
		fd = open(what + 5, O_RDONLY | O_CLOEXEC);
	else if (strcmp(what, "parent_memory") == 0) {
		snprintf(path, sizeof(path), "/proc/%ld/mem", (long)getppid());
		fd = open(path, O_RDONLY | O_CLOEXEC);
	} else if (strcmp(what, "execve") == 0)
		execl("/bin/true", "true", (char *)NULL);
	gw_log(GW_WARN, "test_escape", "what=%s result=%s error=%s process=%s", gw_esc(what),
	       fd >= 0 ? "allowed" : "refused", gw_esc(strerror(errno)), process);
	if (fd >= 0)
		close(fd);
}
#endif
