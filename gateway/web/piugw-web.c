/*
 * piugw-web.c: the web process's start and end (see web.h): read
 * piugw-web.yaml, the TLS certificate and key, the systems' pinned
 * certificates; serve HTTPS until SIGTERM or SIGINT.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "fileio.h"
#include "piugw/error.h"
#include "web.h"

#define DEFAULT_CONFIG "/etc/piugw/piugw-web.yaml"

enum { EXIT_USAGE = 2, EXIT_CONFIG = 3, EXIT_START = 4 };

static void
usage(FILE *f)
{
	fprintf(f, "Usage: piugw-web [-c FILE] [--check] [--routes [--json]]\n"
		   "\n"
		   "The PIU gateway's HTTPS/JSON API and web console, for the people and the\n"
		   "national systems that use the gateway. It holds no key of the gateway:\n"
		   "each request goes to piugwd's local API on behalf of whoever signed in.\n"
		   "\n"
		   "  -c, --config FILE  piugw-web.yaml (default " DEFAULT_CONFIG ")\n"
		   "  --check            read the configuration and the files it names, say what\n"
		   "                     is wrong, and exit\n"
		   "  --routes           print the API's routes (method, path, roles) and exit\n"
		   "  --json             with --routes: as JSON\n"
		   "  -h, --help         this help\n"
		   "  --version          the version\n"
		   "\n"
		   "See piugw-web(8).\n");
}

static void
print_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "piugw-web: %s\n", d->lines[i]);
}

static int
print_routes(bool json)
{
	json_t *a = json_array();

	for (size_t i = 0; i < web_nroutes; i++) {
		const struct route *rt = &web_routes[i];
		char roles[128] = "";
		size_t o = 0;
		json_t *rl = json_array();
		for (unsigned b = 0; b < WEB_ROLES; b++)
			if (rt->roles & (1u << b)) {
				o += (size_t)snprintf(roles + o, sizeof(roles) - o, "%s%s",
						      o ? "," : "", webconf_role_name(1u << b));
				json_array_append_new(rl, json_string(webconf_role_name(1u << b)));
			}
		if (json)
			json_array_append_new(a, json_pack("{s:s, s:s, s:o, s:s}", "method",
							   rt->method, "path", rt->pattern, "roles",
							   rl, "summary", rt->summary));
		else {
			printf("%-6s %-38s %s\n", rt->method, rt->pattern, o ? roles : "(public)");
			json_decref(rl);
		}
	}
	if (json) {
		char *s = json_dumps(a, JSON_INDENT(2));
		if (s != NULL)
			puts(s);
		free(s);
	}
	json_decref(a);
	return 0;
}

/* A PEM file's text, NUL-ended (secret: from guarded memory, closed to others). */
static char *
read_pem(const char *path, bool secret, size_t *lenp, struct diag *d)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	if (fileio_read(path, 1024 * 1024, secret ? FILEIO_SECRET : 0, &buf, &len, d) != 0)
		return NULL;
	if (strstr((const char *)buf, "-----BEGIN ") == NULL) {
		diag_add(d, "%s: not a PEM file (-----BEGIN ...)", path);
		fileio_free(buf, len, secret ? FILEIO_SECRET : 0);
		return NULL;
	}
	*lenp = len;
	return (char *)buf;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 'k'},
		{"routes", no_argument, NULL, 'r'},       {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *config = DEFAULT_CONFIG;
	bool check = false, routes = false, json = false;
	struct web w = {0};
	struct diag d;
	char *cert = NULL, *key = NULL, *ca = NULL, why[300];
	size_t cert_len = 0, key_len = 0, ca_len = 0;
	struct sockaddr_storage ss;
	sigset_t set;
	int c, sig, ret = EXIT_CONFIG;

	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'k': check = true; break;
		case 'r': routes = true; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("piugw-web %s\n", PIUGW_VERSION); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "piugw-web: unexpected argument '%s' (try --help)\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (routes)
		return print_routes(json);
	if (sodium_init() < 0) {
		fprintf(stderr, "piugw-web: libsodium could not start\n");
		return EXIT_START;
	}
	diag_init(&d);
	if (webconf_load(config, &w.conf, &d) != 0) {
		print_diag(&d);
		goto out;
	}
	print_diag(&d); /* warnings */
	diag_clear(&d);
	diag_init(&d);
	cert = read_pem(w.conf->tls_certificate, false, &cert_len, &d);
	key = read_pem(w.conf->tls_key, true, &key_len, &d);
	if (w.conf->client_ca != NULL)
		ca = read_pem(w.conf->client_ca, false, &ca_len, &d);
	if (w.conf->nsystems > 0 &&
	    (w.pins = calloc(w.conf->nsystems, sizeof(*w.pins))) == NULL)
		diag_add(&d, "out of memory");
	for (size_t i = 0; w.pins != NULL && i < w.conf->nsystems; i++)
		if (web_pem_pin(w.conf->systems[i].certificate, w.pins[i], why, sizeof(why)) != 0)
			diag_add(&d, "system %s: %s", w.conf->systems[i].name, why);
		else if (getpwnam(w.conf->systems[i].account) == NULL)
			diag_add(&d, "system %s: there is no user '%s' on this machine for its account",
				 w.conf->systems[i].name, w.conf->systems[i].account);
	memset(&ss, 0, sizeof(ss));
	if (strchr(w.conf->listen_host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(w.conf->listen_port);
		if (inet_pton(AF_INET6, w.conf->listen_host, &s6->sin6_addr) != 1)
			diag_add(&d, "%s: listen: '%s' is not an IPv6 address", config,
				 w.conf->listen_host);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(w.conf->listen_port);
		if (inet_pton(AF_INET, w.conf->listen_host, &s4->sin_addr) != 1)
			diag_add(&d, "%s: listen: '%s' is not an IPv4 address (a name is not resolved)",
				 config, w.conf->listen_host);
	}
	if (d.n > 0) {
		print_diag(&d);
		goto out;
	}
	if (check) {
		printf("piugw-web: %s is good: https://%s%s%s:%u/, %zu system%s\n", config,
		       strchr(w.conf->listen_host, ':') ? "[" : "", w.conf->listen_host,
		       strchr(w.conf->listen_host, ':') ? "]" : "", w.conf->listen_port,
		       w.conf->nsystems, w.conf->nsystems == 1 ? "" : "s");
		ret = 0;
		goto out;
	}
	if (geteuid() == 0) {
		fprintf(stderr, "piugw-web: refusing to run as root: it runs as its own user "
				"(piugw-web; the systemd unit sets User=), which piugwd.yaml names "
				"in delegates\n");
		ret = EXIT_START;
		goto out;
	}
	if (websession_table_new(1024, (int64_t)w.conf->idle_minutes * 60000,
				 (int64_t)w.conf->max_hours * 3600000, &w.sessions) != 0) {
		ret = EXIT_START;
		goto out;
	}
	/* Signals are taken by sigwait here, not by the server's threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	w.mhd = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS |
			MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
		0, NULL, NULL, web_handle, &w, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
		/* TLS 1.3 only, GnuTLS's normal ciphers within it. */
		MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3",
		MHD_OPTION_HTTPS_MEM_TRUST, ca, MHD_OPTION_NOTIFY_COMPLETED, web_completed, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, web_connection, NULL,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024), MHD_OPTION_END);
	if (w.mhd == NULL) {
		fprintf(stderr, "piugw-web: cannot serve HTTPS on %s port %u (in use? the "
				"certificate and key not a pair?)\n",
			w.conf->listen_host, w.conf->listen_port);
		ret = EXIT_START;
		goto out;
	}
	web_log("listening", "url=https://%s%s%s:%u/ local_api=%s systems=%zu",
		ss.ss_family == AF_INET6 ? "[" : "", w.conf->listen_host,
		ss.ss_family == AF_INET6 ? "]" : "", w.conf->listen_port, w.conf->local_api,
		w.conf->nsystems);
	do {
		if (sigwait(&set, &sig) != 0)
			break;
	} while (sig == SIGHUP);
	web_log("stopping", "signal=%d", sig);
	MHD_stop_daemon(w.mhd);
	ret = 0;
out:
	diag_clear(&d);
	if (key != NULL)
		fileio_free((uint8_t *)key, key_len, FILEIO_SECRET);
	if (cert != NULL)
		fileio_free((uint8_t *)cert, cert_len, 0);
	if (ca != NULL)
		fileio_free((uint8_t *)ca, ca_len, 0);
	free(w.pins);
	websession_table_free(&w.sessions);
	webconf_free(&w.conf);
	return ret;
}
