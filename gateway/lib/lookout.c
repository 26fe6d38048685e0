/*
 * lookout.c: the index of lookouts in force (lookout.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lookout.h"
#include "match.h"
#include "piugw/error.h"

/* One sorted array per kind of key: exact documents, exact names, fuzzy names by date of birth. */
struct lookout_index {
	struct lookout_entry *v[3];
	size_t n[3], cap[3];
};

enum { BY_DOC, BY_NAME, BY_DOB };

/* See lookout.h. */
int
lookout_index_new(struct lookout_index **outp)
{
	return (*outp = calloc(1, sizeof(**outp))) != NULL ? 0 : PIUGW_ENOMEM;
}

/* See lookout.h. */
void
lookout_index_free(struct lookout_index **ixp)
{
	if (ixp == NULL || *ixp == NULL)
		return;
	for (int i = 0; i < 3; i++) {
		sodium_memzero((*ixp)->v[i], (*ixp)->n[i] * sizeof(*(*ixp)->v[i]));
		free((*ixp)->v[i]);
	}
	free(*ixp);
	*ixp = NULL;
}

/* See lookout.h. */
int
lookout_index_add(struct lookout_index *ix, const char *ref, const Piugw__LookoutPlace *lp,
		  double min_score, size_t user)
{
	struct lookout_entry e;
	int kind;

	memset(&e, 0, sizeof(e));
	snprintf(e.ref, sizeof(e.ref), "%s", ref);
	e.min_score = min_score;
	e.user = user;
	switch (lp->criteria_case) {
	case PIUGW__LOOKOUT_PLACE__CRITERIA_DOCUMENT:
		kind = BY_DOC;
		e.query_type = PIUGW__QUERY_TYPE__QUERY_TYPE_DOCUMENT;
		store_key_document(lp->document->issuing_state, lp->document->number, e.key,
				   sizeof(e.key));
		break;
	case PIUGW__LOOKOUT_PLACE__CRITERIA_NAME:
		kind = BY_NAME;
		e.query_type = PIUGW__QUERY_TYPE__QUERY_TYPE_NAME;
		store_key_name(lp->name->surname, lp->name->given_names, lp->name->date_of_birth,
			       e.key, sizeof(e.key));
		break;
	case PIUGW__LOOKOUT_PLACE__CRITERIA_NAME_FUZZY:
		kind = BY_DOB;
		e.query_type = PIUGW__QUERY_TYPE__QUERY_TYPE_NAME_FUZZY;
		store_key_dob(lp->name_fuzzy->date_of_birth, e.key, sizeof(e.key));
		store_key_full_name(lp->name_fuzzy->surname, lp->name_fuzzy->given_names, e.want);
		if (e.key[0] == '\0' || e.want[0] == '\0')
			return PIUGW_EMALFORMED;
		break;
	default:
		return PIUGW_EMALFORMED;
	}
	if (ix->n[kind] == ix->cap[kind]) {
		size_t nc = ix->cap[kind] ? 2 * ix->cap[kind] : 64;
		struct lookout_entry *nv = realloc(ix->v[kind], nc * sizeof(*nv));
		if (nv == NULL)
			return PIUGW_ENOMEM;
		ix->v[kind] = nv;
		ix->cap[kind] = nc;
	}
	ix->v[kind][ix->n[kind]++] = e;
	return 0;
}

static int
by_key(const void *a, const void *b)
{
	return strcmp(((const struct lookout_entry *)a)->key, ((const struct lookout_entry *)b)->key);
}

/* See lookout.h. */
void
lookout_index_ready(struct lookout_index *ix)
{
	for (int i = 0; i < 3; i++)
		if (ix->n[i] > 1)
			qsort(ix->v[i], ix->n[i], sizeof(*ix->v[i]), by_key);
}

/* See lookout.h. */
size_t
lookout_index_count(const struct lookout_index *ix)
{
	return ix->n[BY_DOC] + ix->n[BY_NAME] + ix->n[BY_DOB];
}

/* The first entry of v[0..n) whose key is key, or n. */
static size_t
lower(const struct lookout_entry *v, size_t n, const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(v[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* See lookout.h. */
size_t
lookout_index_match(const struct lookout_index *ix, const struct store_keys *k,
		    void (*fn)(void *arg, const struct lookout_entry *e, double score), void *arg)
{
	const char *keys[3] = {k->doc, k->name, k->dob};
	size_t hits = 0;

	for (int kind = 0; kind < 3; kind++) {
		const struct lookout_entry *v = ix->v[kind];
		size_t n = ix->n[kind];
		size_t len = strlen(keys[kind]);
		/* A key the row has not ("", or a document key without a number) never matches. */
		if (n == 0 || len == 0 || (kind == BY_DOC && keys[kind][len - 1] == ':'))
			continue;
		for (size_t i = lower(v, n, keys[kind]); i < n && strcmp(v[i].key, keys[kind]) == 0;
		     i++) {
			double score = 1.0;
			if (kind == BY_DOB) {
				score = match_name_score(v[i].want, k->name_norm);
				if (score < v[i].min_score)
					continue;
			}
			fn(arg, &v[i], score);
			hits++;
		}
	}
	return hits;
}

/* See lookout.h. */
void
lookout_as_query(const Piugw__LookoutPlace *lp, Piugw__Query *q)
{
	piugw__query__init(q);
	q->purpose = lp->purpose;
	q->offence = lp->offence;
	q->case_reference = lp->case_reference;
	q->justification = lp->justification;
	switch (lp->criteria_case) {
	case PIUGW__LOOKOUT_PLACE__CRITERIA_DOCUMENT:
		q->criteria_case = PIUGW__QUERY__CRITERIA_DOCUMENT;
		q->document = lp->document;
		break;
	case PIUGW__LOOKOUT_PLACE__CRITERIA_NAME:
		q->criteria_case = PIUGW__QUERY__CRITERIA_NAME;
		q->name = lp->name;
		break;
	case PIUGW__LOOKOUT_PLACE__CRITERIA_NAME_FUZZY:
		q->criteria_case = PIUGW__QUERY__CRITERIA_NAME_FUZZY;
		q->name_fuzzy = lp->name_fuzzy;
		break;
	default:
		break;
	}
}

/* See lookout.h. */
void
lookout_fire_key(const char *ref, const struct store_keys *k, int query_type,
		 uint8_t out[LOOKOUT_FIRE_KEY_BYTES])
{
	static const char label[] = "piugw v1 lookout fired";
	crypto_generichash_state st;
	const char *person = query_type == PIUGW__QUERY_TYPE__QUERY_TYPE_DOCUMENT ? k->doc
			     : query_type == PIUGW__QUERY_TYPE__QUERY_TYPE_NAME   ? k->name
										  : k->name_norm;

	crypto_generichash_init(&st, NULL, 0, LOOKOUT_FIRE_KEY_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)label, sizeof(label)); /* with its NUL */
	crypto_generichash_update(&st, (const uint8_t *)ref, strlen(ref) + 1);
	crypto_generichash_update(&st, (const uint8_t *)k->flight, strlen(k->flight) + 1);
	crypto_generichash_update(&st, (const uint8_t *)person, strlen(person));
	if (query_type == PIUGW__QUERY_TYPE__QUERY_TYPE_NAME_FUZZY)
		crypto_generichash_update(&st, (const uint8_t *)k->dob, strlen(k->dob) + 1);
	crypto_generichash_final(&st, out, LOOKOUT_FIRE_KEY_BYTES);
}
