/*
 * config.h: piugwd.yaml, this gateway's own configuration.
 *
 *   gateway:
 *     id: XA-PIU                          # required
 *     listen: tcp://127.0.0.1:7401        # required: the public ROUTER endpoint
 *     certificate: certs/XA-PIU.cert_secret   # default certs/<id>.cert_secret
 *   directory:
 *     file: directory.yaml                # default
 *     signature: directory.yaml.minisig   # default: file + .minisig
 *     secretariat_key: secretariat.pub    # default
 *   agreements: agreements                # default: a folder of *.yaml (+ .sig)
 *   state: /var/lib/piugw                 # default; the gateway's user only (0700)
 *   runtime: /run/piugw                   # default; the operators' door: its group
 *   local_api: ipc:///run/piugw/api.sock  # default: ipc://<runtime>/api.sock
 *   approvers: [piugw-approvers]        # default: every operator of the local API
 *   authorisers: [piugw-authorisers]    # who records an authority's decision to unmask; default: nobody
 *   auditors: [piugw-dpo]               # who may search the audit log by subject over the
 *                                       # local API; default: only root and the gateway's user
 *   delegates: [piugw-web]              # users whose requests may name the operator they act
 *                                       # for (piugw-web); default: none
 *   limits:
 *     max_message_bytes: 1048576          # ZMQ_MAXMSGSIZE
 *     freshness_seconds: 300
 *     query_deadline_seconds: 30
 *     retry_interval_ms: 1000
 *     unreachable_grace_ms: 2000          # a partner down this long: PEER_UNREACHABLE at once
 *     directory_expiry_warning_days: 14
 *     answers_keep_days: 30               # then kept answers are deleted (see state.h)
 *     proposals_per_day: 10               # agreement proposals taken from one member a day
 *   metrics:
 *     listen: 127.0.0.1:9741              # default: off
 *   audit:
 *     checkpoint_records: 1000
 *     checkpoint_seconds: 60
 *     retention_days: 1826
 *     key_file: audit.key                 # relative to state; outside state and the
 *                                         # configuration folder, the main process cannot
 *                                         # read it (Landlock)
 *   store:
 *     backend: sqlite                     # default; or postgresql
 *     file: store.db                      # sqlite: relative to state
 *     conninfo: "host=/run/postgresql dbname=piugw"   # postgresql: libpq's, no password
 *     retention_days: 1826
 *
 * Relative paths are taken from the directory that holds piugwd.yaml (state
 * relative ones from state).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_CONFIG_H
#define PIUGW_CONFIG_H

/* The largest limits.max_message_bytes a configuration may set (a reload too). */
#define CONFIG_MESSAGE_BYTES_MAX (64 * 1024 * 1024)

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "keys.h"

struct config {
	char *path; /* of piugwd.yaml */
	char id[KEYS_ID_MAX + 1];
	char *listen;
	char *certificate;
	char *directory;
	char *directory_sig;
	char *secretariat_key;
	char *agreements_dir;
	char *state_dir;
	char *runtime_dir;
	char *local_api;
	char *metrics_listen; /* NULL: off */
	char *store_file;     /* a SQLite file, or "postgresql:CONNINFO" (store_open) */
	char *audit_key_file; /* the audit key (digests of identifiers) */
	char **approvers;     /* groups whose members may see and decide held requests */
	size_t napprovers;    /* 0: every operator (and always root and the gateway's user) */
	char **authorisers;   /* groups whose members may authorise an unmasking (Art 12(3)) */
	size_t nauthorisers;  /* 0: nobody may (root and the gateway's user neither) */
	char **auditors;      /* groups whose members may search the audit log by subject */
	size_t nauditors;     /* 0: only root and the gateway's user */
	char **delegates;     /* users who may act for an operator (LocalRequest.on_behalf_of) */
	size_t ndelegates;
	uint64_t max_message_bytes;
	uint32_t freshness_seconds;
	uint32_t query_deadline_seconds;
	uint32_t retry_interval_ms;
	uint32_t unreachable_grace_ms; /* a query to a partner down this long is not waited for */
	uint32_t directory_expiry_warning_days;
	uint32_t answers_keep_days;
	uint32_t proposals_per_day; /* agreement proposals taken from one member in 24 hours */
	uint32_t audit_checkpoint_records;
	uint32_t audit_checkpoint_seconds;
	uint32_t audit_retention_days;
	uint32_t store_retention_days;
};

/*
 * Parse piugwd.yaml text; path locates relative paths and labels
 * diagnostics. Returns 0 or PIUGW_ECONFIG with every problem in d.
 */
int config_parse(const char *text, size_t len, const char *path, struct config **outp,
		 struct diag *d);
int config_load(const char *path, struct config **outp, struct diag *d);
void config_free(struct config **cp);

#endif /* PIUGW_CONFIG_H */
