/*
 * directory.h: the member directory published by the IWG secretariat
 * (DESIGN.md section 3): who the members are, where they listen, and their
 * transport and signing keys. It is the only source of peers' keys.
 *
 *   serial: 7                  # never goes down (rollback protection)
 *   expires: 2027-06-30        # expired: a loud warning, not an outage
 *   members:
 *     - id: XA-PIU
 *       state: XA
 *       name: Passenger Information Unit of XA
 *       endpoint: tcp://gw.piu.xa.example:7401
 *       transport_key: "<Z85>"  # quote Z85: it uses YAML's special characters
 *       signing_key: "<Z85>"
 *       urgent_contact: "+00 555 0100 (24/7 duty officer)"
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_DIRECTORY_H
#define PIUGW_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "keys.h"
#include "minisign.h"

#define DIRECTORY_MEMBERS_MAX 1000

struct directory_member {
	struct keys_public keys; /* id, transport and signing public keys */
	char state[3];
	char *name;
	char *endpoint; /* tcp://host:port */
	char *urgent_contact;
	unsigned line;
};

struct directory {
	uint64_t serial;
	int32_t expires_day; /* UTC day number, inclusive */
	struct directory_member *members;
	size_t n;
	uint8_t hash[32]; /* BLAKE2b-256 of the file */
};

/* Parse and validate, reporting every problem. Returns 0 or PIUGW_ECONFIG. */
int directory_parse(const char *text, size_t len, const char *label, struct directory **outp,
		    struct diag *d);

/*
 * Read path once, verify sig_path (minisign, prehashed) over exactly those
 * bytes with the secretariat's key, then parse them. Returns 0, a
 * minisign_verify() error, or a parse error.
 */
int directory_load(const char *path, const char *sig_path, const struct minisign_pubkey *anchor,
		   struct directory **outp, struct diag *d);

void directory_free(struct directory **dp);

/*
 * dir as the YAML text directory_parse reads (the layout above, keys and
 * free text quoted), for the secretariat's commands (piugw directory add,
 * remove, set). *outp malloc'd. Comments of an earlier file are not kept.
 */
int directory_format(const struct directory *dir, char **outp, size_t *lenp);

/* The member with this id, or NULL. */
const struct directory_member *directory_member(const struct directory *dir, const char *id);

/* True if today (UTC day number) is after the expiry date. */
bool directory_expired(const struct directory *dir, int32_t today);

/*
 * Rollback protection. directory_serial_check() refuses (PIUGW_EROLLBACK)
 * a serial lower than the highest ever stored in state_dir; *highestp gets
 * that (0 if none). directory_serial_store() records serial atomically if it
 * is higher than the stored one.
 */
int directory_serial_check(const char *state_dir, uint64_t serial, uint64_t *highestp,
			   struct diag *d);
int directory_serial_store(const char *state_dir, uint64_t serial, struct diag *d);

/* True if endpoint is "tcp://HOST:PORT" with a port from 1 to 65535. */
bool directory_endpoint_valid(const char *endpoint);

#endif /* PIUGW_DIRECTORY_H */
