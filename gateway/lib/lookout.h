/*
 * lookout.h: lookouts in force, matched against the traveller store's new
 * rows (doc/protocol-notes.md section 6).
 *
 * A partner's lookout is a standing query: a document, a name with a date
 * of birth, or a fuzzy name with a date of birth. Its holder keeps every
 * lookout in force in an index by the store's own keys (store.h), and
 * checks each row an import stored against it, so an import costs one
 * binary search per row and key whatever the number of lookouts; a fuzzy
 * lookout is scored only against rows of its date of birth, as the fuzzy
 * search is blocked.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_LOOKOUT_H
#define PIUGW_LOOKOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "body.pb-c.h"
#include "store.h"

#define LOOKOUT_REF_MAX 64
#define LOOKOUT_FIRE_KEY_BYTES 32

struct lookout_entry {
	char ref[LOOKOUT_REF_MAX + 1];
	int query_type;            /* document, name or name_fuzzy */
	char key[STORE_KEY_NAME_MAX]; /* document: doc key; name: name key; fuzzy: dob key */
	char want[256];            /* fuzzy: the normalised full name */
	double min_score;          /* fuzzy: the terms' threshold */
	size_t user;               /* the caller's index */
};

struct lookout_index;

int lookout_index_new(struct lookout_index **outp);
void lookout_index_free(struct lookout_index **ixp);
/* Add lp (not yet searchable: lookout_index_ready). PIUGW_EMALFORMED if lp has no criteria. */
int lookout_index_add(struct lookout_index *ix, const char *ref, const Piugw__LookoutPlace *lp,
		      double min_score, size_t user);
/* Sort what was added: call after the last add, before matching. */
void lookout_index_ready(struct lookout_index *ix);
size_t lookout_index_count(const struct lookout_index *ix);

/*
 * Each lookout row k matches: fn(arg, entry, score) with score 1.0 for an
 * exact key, the Jaro-Winkler score for a fuzzy one. How many matched.
 */
size_t lookout_index_match(const struct lookout_index *ix, const struct store_keys *k,
			   void (*fn)(void *arg, const struct lookout_entry *e, double score),
			   void *arg);

/*
 * The Query a LookoutPlace stands for (q's fields point into lp): the
 * policy, the audit digests and the store search treat it as one.
 */
void lookout_as_query(const Piugw__LookoutPlace *lp, Piugw__Query *q);

/*
 * What fires once: BLAKE2b-256 of "piugw v1 lookout fired" || 0x00 || ref
 * || 0x00 || the flight key || 0x00 || the person's key (its document, or
 * name, or normalised name with date of birth). Local, never sent.
 */
void lookout_fire_key(const char *ref, const struct store_keys *k, int query_type,
		      uint8_t out[LOOKOUT_FIRE_KEY_BYTES]);

#endif /* PIUGW_LOOKOUT_H */
