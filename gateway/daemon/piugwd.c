/*
 * piugwd.c: the gateway daemon (DESIGN.md section 2).
 *
 *   piugwd [-c FILE] [-n] [-v] [--ready-fd N]
 *
 * Loads the configuration tree (refusing to start on any problem), opens
 * the audit log, the traveller store and the state database, binds the
 * public endpoint and the local API, and serves (loop.c) until SIGTERM,
 * which drains in-flight work first. SIGHUP reloads the configuration
 * atomically: a failed reload leaves the running one in force; a member
 * who lost its admission is cut off at once, open connections included.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "gw.h"
#include "fileio.h"
#include "num.h"
#include "piugw/error.h"
#include "sandbox.h"

#ifndef PIUGW_VERSION
#define PIUGW_VERSION "0.1.0"
#endif

#define EXIT_CONFIG 1
#define EXIT_USAGE 2
#define EXIT_AUDIT 3 /* the audit log is behind or forks from state.db: a restart cannot help */
static void
usage(FILE *f)
{
	fprintf(f, "Usage: piugwd [-c FILE] [-n] [-v] [--log-level L] [--syslog] [--ready-fd N]\n\n"
		   "Run a PIU gateway: answer partners' queries under the bilateral agreements,\n"
		   "send this unit's queries, keep the audit trail.\n\n"
		   "  -c, --config FILE  configuration (default /etc/piugw/piugwd.yaml)\n"
		   "  -n, --check        check the configuration tree and exit (0 ok, 1 problems)\n"
		   "  -v, --verbose      log debug lines too (same as --log-level debug)\n"
		   "  --log-level L      debug, info (default), warn or error\n"
		   "  --syslog           log to syslog (facility daemon) as well as stderr\n"
		   "  --ready-fd N       write \"READY=1\\n\" to file descriptor N once serving\n"
		   "  --version          print the version\n"
		   "  -h, --help         show this help\n\n"
		   "Signals: SIGHUP reloads the configuration (the running one stays if the new\n"
		   "one fails), SIGTERM finishes in-flight work and exits 0.\n");
}

static void
print_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "piugwd: %s\n", d->lines[i]);
}

static char *
join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/*
 * The audit log is behind what state.db recorded of it: nothing is written
 * and nothing served. With metrics.listen, the gateway stays up answering
 * /healthz 503 with the reason (monitoring sees why, not a dead port) until
 * it is stopped; without it, it exits at once. Either way the exit status
 * is 3, which the unit does not restart on.
 */
static void
refuse_to_serve(struct gw *g, const sigset_t *mask)
{
	if (metrics_fd(g) < 0 || (g->sigfd = signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return;
	gw_log(GW_ERROR, "refusing", "why=%s", gw_esc(g->refusal));
	while (metrics_fd(g) >= 0) {
		zmq_pollitem_t p[2] = {{.fd = g->sigfd, .events = ZMQ_POLLIN},
				       {.fd = metrics_fd(g), .events = metrics_events(g)}};
		if (zmq_poll(p, 2, 1000) < 0 && errno != EINTR)
			return;
		if (p[0].revents & ZMQ_POLLIN) {
			struct signalfd_siginfo si;
			if (read(g->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
			    (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT))
				return;
		}
		if (p[1].revents != 0)
			metrics_run(g);
	}
}

/*
 * The state (traveller store, state.db, the audit log and its key) holds
 * personal data and what the gateway trusts: only its own user may read it,
 * operators go through the local API. Refuse a state any other may open.
 */
static int
state_private(const struct config *cfg, struct diag *d)
{
	size_t n = strlen(cfg->state_dir);
	int ret = fileio_check_private(cfg->state_dir, d);

	/* A store kept elsewhere (store.file) is checked where it is; PostgreSQL's is its DBA's. */
	if (strncmp(cfg->store_file, "postgresql:", 11) != 0 &&
	    (strncmp(cfg->store_file, cfg->state_dir, n) != 0 || cfg->store_file[n] != '/')) {
		static const char *const ext[] = {"", "-wal", "-shm"};
		for (size_t i = 0; i < 3; i++) {
			char p[4096];
			int rc;
			snprintf(p, sizeof(p), "%s%s", cfg->store_file, ext[i]);
			if ((rc = fileio_check_private(p, d)) != 0 && ret == 0)
				ret = rc;
		}
	}
	return ret;
}

/* The folder of path, in a buffer of the caller's ("." for a bare name). */
static const char *
folder_of(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return ".";
	snprintf(buf, size, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	return buf;
}

/*
 * Descriptors: about 30 of its own, and 5 a partner (its DEALER and the
 * DEALER's monitor, 3; the connections both ways, 2), measured on the
 * example mesh (doc/SCALING.md); the local API's and the metrics' clients
 * come on top. Raise the soft limit to what that needs, within the hard
 * one; say so if even that is short.
 */
static void
fd_budget(size_t partners)
{
	rlim_t need = 30 + 5 * (rlim_t)partners + 256;
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur >= need)
		return;
	r.rlim_cur = r.rlim_max == RLIM_INFINITY || r.rlim_max >= need ? need : r.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur >= need)
		return;
	gw_log(GW_WARN, "limits", "nofile=%ju need=%ju partners=%zu why=%s",
	       (uintmax_t)r.rlim_cur, (uintmax_t)need, partners,
	       gw_esc("too few file descriptors for this many partners: raise LimitNOFILE= "
		      "(systemd) or ulimit -n"));
}

/* Is path (a file) in folder dir, or dir itself? By their real paths. */
static bool
beneath(const char *path, const char *dir)
{
	char rp[PATH_MAX], rd[PATH_MAX];
	size_t n;

	if (path == NULL || dir == NULL || realpath(path, rp) == NULL || realpath(dir, rd) == NULL)
		return false;
	n = strlen(rd);
	return strcmp(rp, rd) == 0 || (strncmp(rp, rd, n) == 0 && (rp[n] == '/' || n == 1));
}

/*
 * Landlock, before the first thread: the configuration tree read, the
 * state, runtime and store folders written, and the agreements folder,
 * where agreements co-signed over the mesh are installed (proposals.c: a
 * file there is in force only with both parties' signatures, which this
 * process cannot make); nothing else of the file system but what every
 * process reads (sandbox.c). A kernel without Landlock is said once and
 * the gateway runs. 0, or -1: refusing to start.
 */
static int
limit_files(const struct config *c, const char *config)
{
	char cfgdir[PATH_MAX], storedir[PATH_MAX], apidir[PATH_MAX];
	/* Not the certificate: once the key holder runs, the keys are never read again. */
	const char *ro[] = {folder_of(config, cfgdir, sizeof(cfgdir)), c->directory,
			    c->directory_sig, c->secretariat_key};
	/* A PostgreSQL store is reached by a socket, not a file of ours (state_dir stands in). */
	const char *rw[5] = {c->state_dir, c->runtime_dir,
			     strncmp(c->store_file, "postgresql:", 11) == 0
				     ? c->state_dir
				     : folder_of(c->store_file, storedir, sizeof(storedir)),
			     c->agreements_dir};
	size_t nrw = 4;
	int abi = 0, rc;

	/* The local API's socket (ipc://PATH) is made where it says, the runtime folder or not. */
	if (strncmp(c->local_api, "ipc://", 6) == 0) {
		const char *f = folder_of(c->local_api + 6, apidir, sizeof(apidir));
		rw[nrw++] = f;
		/* Made now, as links_open would make it: a rule needs what it names to be there. */
		if (mkdir(f, 0750) == 0)
			chmod(f, 0750); /* the umask (077) took the group's bits */
	}
	rc = sandbox_files(ro, sizeof(ro) / sizeof(ro[0]), rw, nrw, &abi);
	if (rc == SANDBOX_NO_LANDLOCK) {
		gw_log(GW_WARN, "sandbox", "landlock=none why=%s",
		       gw_esc("no Landlock here (not in this kernel, or hidden by a container's "
			      "filter): the files this process may touch are not limited beyond "
			      "the file modes (and systemd's ReadWritePaths)"));
		return 0;
	}
	if (rc != 0) {
		fprintf(stderr, "piugwd: the Landlock rules could not be applied: %s\n",
			sandbox_strerror(rc));
		return -1;
	}
	/* Landlock allows whole folders: a key file kept in one is still this process's to read. */
	{
		const char *keys[] = {c->certificate, c->audit_key_file};
		const char *what[] = {"gateway.certificate", "audit.key_file"};
		for (size_t k = 0; k < 2; k++) {
			const char *in = NULL;
			for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]) && in == NULL; i++)
				if (beneath(keys[k], ro[i]))
					in = ro[i];
			for (size_t i = 0; i < nrw && in == NULL; i++)
				if (beneath(keys[k], rw[i]))
					in = rw[i];
			if (in != NULL)
				gw_log(GW_WARN, "sandbox", "key_readable=%s folder=%s why=%s", what[k],
				       gw_esc(in),
				       gw_esc("the key file lies in a folder this process keeps "
					      "access to, so a flaw in it could read the key the key "
					      "holder guards: keep the key files in a folder of their "
					      "own (piugwd.yaml(5))"));
		}
	}
	gw_log(GW_DEBUG, "sandbox", "landlock_abi=%d", abi);
	return 0;
}


int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'n'},
		{"verbose", no_argument, NULL, 'v'},
		{"ready-fd", required_argument, NULL, 'r'},
		{"log-level", required_argument, NULL, 'L'},
		{"syslog", no_argument, NULL, 'S'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct rlimit no_core = {0, 0};
	struct gw g;
	struct diag d;
	struct audit_opts ao;
	struct audit_anchor anchor;
	struct config *cfg = NULL; /* piugwd.yaml alone, before the key holder */
	uint8_t audit_key[AUDIT_KEY_BYTES];
	sigset_t mask;
	const char *config = "/etc/piugw/piugwd.yaml";
	char *p = NULL;
	bool check = false;
	int c, rc, ready_fd = -1, ret = EXIT_CONFIG;
	uint64_t v;

	while ((c = getopt_long(argc, argv, "c:nvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'n': check = true; break;
		case 'v': gw_log_level = GW_DEBUG; break;
		case 'L': {
			static const char *levels[] = {"debug", "info", "warn", "error"};
			int l = -1;
			for (int k = 0; k < 4; k++)
				if (strcmp(optarg, levels[k]) == 0)
					l = k;
			if (l < 0) {
				fprintf(stderr, "piugwd: --log-level takes debug, info, warn or error\n");
				return EXIT_USAGE;
			}
			gw_log_level = l;
			break;
		}
		case 'S':
			gw_log_syslog = true;
			openlog("piugwd", LOG_PID, LOG_DAEMON);
			break;
		case 'r':
			if (!num_parse_u64(optarg, strlen(optarg), 3, 1024, &v)) {
				fprintf(stderr, "piugwd: --ready-fd takes a descriptor number 3..1024\n");
				return EXIT_USAGE;
			}
			ready_fd = (int)v;
			break;
		case 'V': printf("piugwd %s\n", PIUGW_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "piugwd: unexpected argument '%s' (try --help)\n", argv[optind]);
		return EXIT_USAGE;
	}
	/* Secret keys and personal data pass through this process: no core files. */
	setrlimit(RLIMIT_CORE, &no_core);
	/* Everything it creates is its own: the state is closed to the operators too. */
	umask(077);
	if (sodium_init() < 0) {
		fprintf(stderr, "piugwd: libsodium failed to initialise\n");
		return EXIT_USAGE;
	}
	/*
	 * Block the signals we serve through a signalfd before any thread starts
	 * (ZeroMQ's I/O thread): it inherits the mask, so SIGTERM reaches the
	 * loop and drains instead of killing the process.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Past a file-size limit a write fails (EFBIG) and the audit fails closed; no kill. */
	signal(SIGXFSZ, SIG_IGN);
	memset(&g, 0, sizeof(g));
	g.sigfd = -1;
	g.turn.deferred_tail = &g.turn.deferred;
	g.turn.api_out_tail = &g.turn.api_out;
	g.started_ms = gw_now_ms();
	diag_init(&d);
	if ((g.config_path = strdup(config)) == NULL)
		goto out;
	if (check) {
		/* -n checks what a start checks: the tree, the secret key's mode, the state's. */
		if (policy_load(config, g.started_ms, &g.policy, &d) != 0 ||
		    keys_secret_load(policy_config(g.policy)->certificate, &g.keys, &d) != 0 ||
		    state_private(policy_config(g.policy), &d) != 0) {
			print_diag(&d);
			fprintf(stderr, "piugwd: %s: refusing to start (above)\n", config);
			goto out;
		}
		print_diag(&d);
		printf("%s: ok\n", config);
		ret = 0;
		goto out;
	}
	/*
	 * Its own piugwd.yaml (the administrators' file), its keys and the
	 * audit key first: the key holder is forked before anything that
	 * others wrote is read, the member directory and the partners'
	 * agreements included.
	 */
	if (config_load(config, &cfg, &d) != 0 ||
	    keys_secret_load(cfg->certificate, &g.keys, &d) != 0 || state_private(cfg, &d) != 0) {
		print_diag(&d);
		fprintf(stderr, "piugwd: %s: refusing to start (check it with: piugw policy check -c %s)\n",
			config, config);
		goto out;
	}
	ret = EXIT_USAGE;
	if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "piugwd: %s: cannot create the state directory: %s\n", cfg->state_dir,
			strerror(errno));
		goto out;
	}
	if (audit_key_load(cfg->audit_key_file, true, audit_key, &d) != 0) {
		print_diag(&d);
		goto out;
	}
	/*
	 * From here on this process holds neither the signing key nor the audit
	 * key: its key holder does, which signs and digests on request.
	 * Before the first socket, and before the directory, the agreements,
	 * the audit log and the stores are read (keyholder.h).
	 */
	if (keyholder_start(g.keys, audit_key, CONFIG_MESSAGE_BYTES_MAX + ENVELOPE_SIZE_SLACK, true,
			    &g.kh, &d) != 0) {
		print_diag(&d);
		goto out;
	}
	ret = EXIT_CONFIG;
	if (policy_load_as(config, g.started_ms, keys_secret_public(g.keys), &g.policy, &d) != 0) {
		print_diag(&d);
		fprintf(stderr, "piugwd: %s: refusing to start (check it with: piugw policy check -c %s)\n",
			config, config);
		goto out;
	}
	print_diag(&d);
	diag_clear(&d);
	/* The same file read twice: what the key holder was started from must be what runs. */
	if (strcmp(policy_config(g.policy)->certificate, cfg->certificate) != 0 ||
	    strcmp(policy_config(g.policy)->state_dir, cfg->state_dir) != 0 ||
	    strcmp(policy_config(g.policy)->audit_key_file, cfg->audit_key_file) != 0) {
		fprintf(stderr, "piugwd: %s changed while piugwd started (certificate, state "
				"directory or audit key): start it again\n", config);
		goto out;
	}
	fd_budget(policy_agreement_count(g.policy));
	ret = EXIT_USAGE;
	if (policy_activate(g.policy, &d) != 0) {
		print_diag(&d);
		goto out;
	}
	/* Metrics parse what anyone on the host sends: a process of its own (metricsd.h). */
	if (metrics_open(&g) != 0) {
		fprintf(stderr, "piugwd: the metrics process could not be started (see above)\n");
		goto out;
	}
	if (limit_files(policy_config(g.policy), config) != 0)
		goto out;
	/* The newest record this gateway made durable: the log must reach it. */
	if ((p = join(policy_config(g.policy)->state_dir, "state.db")) == NULL ||
	    state_anchor_load(p, &anchor.seq, anchor.hash, &d) != 0) {
		print_diag(&d);
		goto out;
	}
	free(p);
	if ((p = join(policy_config(g.policy)->state_dir, "audit")) == NULL)
		goto out;
	memset(&ao, 0, sizeof(ao));
	ao.dir = p;
	ao.anchor = &anchor;
	ao.signer = g.keys;
	ao.checkpoint_records = policy_config(g.policy)->audit_checkpoint_records;
	ao.checkpoint_ms = policy_config(g.policy)->audit_checkpoint_seconds * 1000;
	ao.inline_writes = true; /* the loop's one durable step a turn (gw_turn_end) */
	if ((rc = audit_open(&ao, &g.audit, &d)) != 0) {
		print_diag(&d);
		if (rc == PIUGW_EAUDITBEHIND) {
			fprintf(stderr, "piugwd: refusing to start: the audit log does not reach what "
					"this gateway recorded of it (above)\n");
			snprintf(g.refusal, sizeof(g.refusal), "%s", d.n > 0 ? d.lines[d.n - 1] : "");
			refuse_to_serve(&g, &mask);
			ret = EXIT_AUDIT;
		}
		goto out;
	}
	g.turn.anchor_seq = anchor.seq;
	free(p);
	if ((p = join(policy_config(g.policy)->state_dir, "state.db")) == NULL ||
	    state_open(p, &g.state, &d) != 0 ||
	    store_open(policy_config(g.policy)->store_file, &g.store, &d) != 0 ||
	    policy_rates_new(&g.rates) != 0 || loop_envelope_build(&g, &g.env) != 0) {
		print_diag(&d);
		goto out;
	}
	{
		/* Replies kept for repeats whose records a crash kept from the log never left. */
		uint64_t undone = 0;
		if (state_replay_unaudited(g.state, audit_found_head(g.audit), &undone) != 0) {
			fprintf(stderr, "piugwd: state.db: the replay cache cannot be written\n");
			goto out;
		}
		if (undone > 0)
			gw_log(GW_WARN, "replies_unaudited", "count=%ju why=%s", (uintmax_t)undone,
			       gw_esc("a stop before their audit records were written: repeats of "
				      "those requests stay unanswered until they expire"));
	}
	if ((g.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		goto out;
	if ((g.turn.inbox = calloc(GW_BATCH, sizeof(*g.turn.inbox))) == NULL) {
		fprintf(stderr, "piugwd: out of memory\n");
		goto out;
	}
	if ((rc = sandbox_no_netlink()) != 0) {
		fprintf(stderr, "piugwd: a seccomp filter could not be installed: %s\n",
			sandbox_strerror(rc));
		goto out;
	}
	if (links_open(&g) != 0) {
		fprintf(stderr, "piugwd: could not open the gateway's sockets (see above)\n");
		goto out;
	}
	/* Its sockets open (libzmq's threads run), the filter for what it does from now on. */
	if ((rc = sandbox_main(keyholder_pid(g.kh), metrics_pid(&g))) != 0) {
		fprintf(stderr, "piugwd: the seccomp filter could not be installed: %s\n",
			sandbox_strerror(rc));
		goto out;
	}
	loop_audit_config(&g, "gateway started");
	/* What opening and starting recorded, on disk before the first message: a full disk shows now. */
	if ((rc = audit_flush(g.audit)) != 0) {
		gw_log(GW_ERROR, "audit_failed", "error=%s", gw_esc(piugw_strerror(rc)));
		g.turn.audit_failed = true;
	}
	gw_log(GW_INFO, "ready",
	       "gateway=%s listen=%s local_api=%s partners=%zu store=%s version=%s",
	       policy_config(g.policy)->id, gw_esc(policy_config(g.policy)->listen),
	       gw_esc(policy_config(g.policy)->local_api), g.npeers, store_backend_name(g.store),
	       PIUGW_VERSION);
	if (ready_fd >= 0) {
		if (write(ready_fd, "READY=1\n", 8) != 8)
			gw_log(GW_WARN, "ready_fd", "error=%s", gw_esc(strerror(errno)));
		close(ready_fd);
	}
#ifdef PIUGW_TEST_HOOKS
	gw_test_escape("main", "PIUGW_TEST_ESCAPE");
#endif
	/* From here on, one state.db transaction per turn of the loop (gw_turn_end). */
	state_batch(g.state, true);
	ret = loop_run(&g) == 0 ? 0 : EXIT_USAGE;
	gw_log(GW_INFO, "stopped", "gateway=%s", policy_config(g.policy)->id);
out:
	free(p);
	outbound_abort_all(&g, "the gateway is stopping");
	while (g.turn.deferred != NULL) {
		struct deferred *x = g.turn.deferred;
		g.turn.deferred = x->next;
		envelope_sealing_free(&x->sealing);
		free(x->env);
		free(x);
	}
	metrics_close(&g);
	links_close(&g);
	if (g.audit != NULL) {
		/* The clean stop's signed checkpoint is the anchor from now on. */
		if (audit_close_head(&g.audit, &anchor) != 0 && ret == 0)
			ret = EXIT_USAGE;
		else if (g.state != NULL && anchor.seq > 0 &&
			 (state_anchor_set(g.state, anchor.seq, anchor.hash, gw_now_ms()) != 0 ||
			  state_commit(g.state) != 0))
			gw_log(GW_WARN, "state", "problem=%s",
			       gw_esc("the audit log's final head could not be kept in state.db"));
	}
	free(g.early);
	free(g.purge);
	free(g.turn.inbox);
	envelope_ctx_free(&g.env);
	lookouts_free(&g);
	store_close(&g.store);
	state_close(&g.state);
	policy_rates_free(&g.rates);
	keys_secret_free(&g.keys);
	policy_free(&g.policy);
	config_free(&cfg);
	keyholder_stop(&g.kh);
	sodium_memzero(audit_key, sizeof(audit_key));
	if (g.sigfd >= 0)
		close(g.sigfd);
	free(g.config_path);
	diag_clear(&d);
	return ret;
}
