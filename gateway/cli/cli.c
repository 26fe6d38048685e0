/*
 * cli.c: helpers shared by the piugw subcommands; see cli.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "fileio.h"
#include "match.h"
#include "piugw/error.h"
#include "state.h"

/* See cli.h. */
void
cli_print_diag(const char *verb, const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "piugw %s: %s\n", verb, d->lines[i]);
	if (d->truncated)
		fprintf(stderr, "piugw %s: (further messages were dropped)\n", verb);
}

/* See cli.h. */
json_t *
cli_diag_json(const struct diag *d)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < d->n; i++)
		json_array_append_new(a, json_string(d->lines[i]));
	return a;
}

/* See cli.h. */
int
cli_usage(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "piugw %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'piugw %s --help'.\n", verb);
	return CLI_EXIT_USAGE;
}

/* See cli.h. */
int
cli_exit_for(int err)
{
	switch (err) {
	case 0:
		return CLI_EXIT_OK;
	case PIUGW_EINTERNAL:
	case PIUGW_ENOMEM:
	case PIUGW_EINVAL:
	case PIUGW_ESYSTEM:
	case PIUGW_EBADID:
		return CLI_EXIT_USAGE;
	default:
		return CLI_EXIT_FAILED;
	}
}

/* See cli.h. */
int
cli_json_print(json_t *o)
{
	int rc;

	if (o == NULL) {
		fprintf(stderr, "piugw: cannot format JSON (out of memory)\n");
		return CLI_EXIT_USAGE;
	}
	rc = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
	return rc == 0 ? 0 : CLI_EXIT_USAGE;
}

/* See cli.h. */
int
cli_replace_file(const char *path, const void *buf, size_t len, unsigned mode, struct diag *d)
{
	return fileio_replace(path, buf, len, mode, d);
}

/* See cli.h. */
char *
cli_read_password(const char *file, const char *prompt, struct diag *d)
{
	char *pw = sodium_malloc(1024);
	size_t len = 0;

	if (pw == NULL)
		return NULL;
	if (file != NULL) {
		uint8_t *buf = NULL;
		size_t blen = 0;
		if (fileio_read(file, 1023, FILEIO_SECRET, &buf, &blen, d) != 0) {
			sodium_free(pw);
			return NULL;
		}
		len = strcspn((const char *)buf, "\r\n");
		memcpy(pw, buf, len);
		fileio_free(buf, blen, FILEIO_SECRET);
	} else {
		/* From the terminal, without echo, as minisign asks. */
		int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
		struct termios old, quiet;
		ssize_t r;
		if (fd < 0) {
			diag_add(d, "no terminal to ask for the password; use --password-file");
			sodium_free(pw);
			return NULL;
		}
		if (write(fd, prompt, strlen(prompt)) < 0) {
			/* the prompt is a courtesy */
		}
		tcgetattr(fd, &old);
		quiet = old;
		quiet.c_lflag &= (tcflag_t)~ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
		r = read(fd, pw, 1023);
		tcsetattr(fd, TCSAFLUSH, &old);
		if (write(fd, "\n", 1) < 0) {
			/* nothing to do */
		}
		close(fd);
		if (r < 0)
			r = 0;
		len = strcspn(pw, "\r\n");
		if ((size_t)r < len)
			len = (size_t)r;
	}
	pw[len] = '\0';
	return pw;
}

/* See cli.h. */
void
cli_free_password(char *pw)
{
	if (pw != NULL)
		sodium_free(pw);
}

/* See cli.h. */
int64_t
cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* See cli.h. */
const char *
cli_ago(int64_t ms)
{
	static char buf[32];
	int64_t s = ms < 0 ? 0 : ms / 1000;

	if (s < 120)
		snprintf(buf, sizeof(buf), "%lld s", (long long)s);
	else if (s < 2 * 3600)
		snprintf(buf, sizeof(buf), "%lld min", (long long)(s / 60));
	else if (s < 2 * 86400)
		snprintf(buf, sizeof(buf), "%lld h", (long long)(s / 3600));
	else
		snprintf(buf, sizeof(buf), "%lld days", (long long)(s / 86400));
	return buf;
}

/* See cli.h. */
char *
cli_concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 1);

	if (p != NULL) {
		memcpy(p, a, la);
		memcpy(p + la, b, lb + 1);
	}
	return p;
}

/* See cli.h. */
int
cli_audit_open(const struct config *cfg, struct audit_opts *ao, struct audit_log **logp,
	       struct diag *d)
{
	struct audit_anchor anchor;
	char *path = cli_concat(cfg->state_dir, "/state.db");
	int rc;

	if (path == NULL)
		return PIUGW_ENOMEM;
	rc = state_anchor_load(path, &anchor.seq, anchor.hash, d);
	free(path);
	if (rc != 0)
		return rc;
	ao->anchor = &anchor;
	rc = audit_open(ao, logp, d);
	ao->anchor = NULL;
	return rc;
}

/* See cli.h. */
int
cli_audit_close(const struct config *cfg, struct audit_log **logp)
{
	struct audit_anchor head;
	struct state *st = NULL;
	struct diag d;
	char *path;
	int rc;

	if (logp == NULL || *logp == NULL)
		return 0;
	if ((rc = audit_close_head(logp, &head)) != 0 || head.seq == 0)
		return rc;
	diag_init(&d);
	if ((path = cli_concat(cfg->state_dir, "/state.db")) == NULL ||
	    (rc = state_open(path, &st, &d)) != 0 ||
	    (rc = state_anchor_set(st, head.seq, head.hash, cli_now_ms())) != 0) {
		cli_print_diag("audit", &d);
		fprintf(stderr, "piugw: the audit log's new head (record %ju) could not be kept in "
				"state.db; the gateway still starts (its anchor is older)\n",
			(uintmax_t)head.seq);
		rc = rc != 0 ? rc : PIUGW_ENOMEM;
	}
	state_close(&st);
	free(path);
	diag_clear(&d);
	return rc;
}

/* See cli.h. */
void
cli_whoami(char *out, size_t size)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL)
		snprintf(out, size, "%s", pw->pw_name);
	else
		snprintf(out, size, "uid:%u", (unsigned)getuid());
}

/* See cli.h. */
const char *
cli_safe(const char *s)
{
	static char ring[8][1024];
	static unsigned next;
	char *out = ring[next++ % 8];
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t n = strlen((const char *)p), o = 0;

	while (*p != '\0' && o + 8 < sizeof(ring[0])) {
		size_t l = match_utf8_len(p, n);
		if (l == 1 && *p >= 0x20 && *p != 0x7f) {
			out[o++] = (char)*p;
		} else if (l == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
			o += (size_t)snprintf(out + o, sizeof(ring[0]) - o, "\\u00%02X", p[1]);
		} else if (l > 1) {
			memcpy(out + o, p, l);
			o += l;
		} else {
			o += (size_t)snprintf(out + o, sizeof(ring[0]) - o, "\\x%02X", *p);
			l = 1;
		}
		p += l;
		n -= l;
	}
	if (*p != '\0')
		o += (size_t)snprintf(out + o, sizeof(ring[0]) - o, "...");
	out[o] = '\0';
	return out;
}

/* See cli.h. */
bool
cli_as_gateway_user(const struct config *cfg, const char *verb)
{
	struct stat st;
	struct passwd *pw;
	char user[64];

	if (stat(cfg->state_dir, &st) != 0 || st.st_uid == geteuid())
		return true;
	if ((pw = getpwuid(st.st_uid)) != NULL)
		snprintf(user, sizeof(user), "%s", pw->pw_name);
	else
		snprintf(user, sizeof(user), "#%u", (unsigned)st.st_uid);
	fprintf(stderr, "piugw %s: %s belongs to the gateway's user %s, and this needs that user "
			"(the store, the audit log and the keys are its own): run it as "
			"'sudo -u %s piugw %s ...'; nothing was changed\n",
		verb, cfg->state_dir, user, user, verb);
	return false;
}
