/*
 * agreement.c: see agreement.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agreement.h"
#include "body.pb-c.h"
#include "fileio.h"
#include "piugw/error.h"
#include "yamlconf.h"

#define SIGN_LABEL "piugw v1 agreement"

static const char *const top_keys[] = {"agreement", "parties", "in_force", "terms", NULL};
static const char *const in_force_keys[] = {"from", "until", NULL};
static const char *const terms_keys[] = {
	"requester", "responder", "purposes", "query_types", "categories", "disclosure",
	"max_results", "rate", "approval", "justification", "mask_after_days", "handling_code",
	"onward_transfer", "min_score", "lookouts", "unmasking", NULL};
static const char *const lookouts_keys[] = {
	"purposes", "query_types", "categories", "max_in_force", "max_days", "notify",
	"ack_within_hours", NULL};
static const char *const rate_keys[] = {"per_hour", "per_day", NULL};

/* A gateway id value; copies it into out. */
static bool
read_id(struct yconf *y, yaml_node_t *n, const char *what, char out[KEYS_ID_MAX + 1])
{
	const char *s;
	size_t len;

	if (!yconf_str(y, n, what, &s, &len))
		return false;
	if (!keys_id_valid(s, len)) {
		yconf_error(y, n, "%s '%.*s' is not a gateway id (3 to 32 of A-Z 0-9 . _ -)", what,
			    (int)(len > 40 ? 40 : len), s);
		return false;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

/*
 * purposes: a list of words, where serious_crime may be narrowed to Annex II
 * offence codes as a one-key mapping: "- serious_crime: [SC01, SC05]".
 */
static void
read_purposes(struct yconf *y, yaml_node_t *n, struct agreement_terms *t)
{
	if (!yconf_seq(y, n, "purposes"))
		return;
	if (yconf_seq_len(n) == 0)
		yconf_error(y, n, "purposes is empty; list at least one of: %s",
			    vocab_names(vocab_purposes));
	for (size_t i = 0; i < yconf_seq_len(n); i++) {
		yaml_node_t *item = yconf_seq_at(y, n, i);
		int v;

		if (item->type == YAML_MAPPING_NODE) {
			static const char *const sc_keys[] = {"serious_crime", NULL};
			yaml_node_t *codes;
			if (!yconf_map(y, item, "a narrowed purpose", sc_keys) ||
			    (codes = yconf_get(y, item, "serious_crime")) == NULL)
				continue;
			v = PIUGW__PURPOSE__PURPOSE_SERIOUS_CRIME;
			if (yconf_seq(y, codes, "serious_crime offences")) {
				if (yconf_seq_len(codes) == 0)
					yconf_error(y, codes, "the offence list is empty; list "
							      "Annex II codes SC01..SC26 or write "
							      "plain 'serious_crime'");
				for (size_t k = 0; k < yconf_seq_len(codes); k++) {
					yaml_node_t *c = yconf_seq_at(y, codes, k);
					const char *s;
					size_t len;
					int off;
					if (!yconf_str(y, c, "offence", &s, &len))
						continue;
					if ((off = vocab_offence(s, len)) < 0) {
						yconf_error(y, c, "offence '%.*s' is not an Annex II "
								  "code SC01..SC26",
							    (int)(len > 40 ? 40 : len), s);
						continue;
					}
					if (t->offences & (1u << off))
						yconf_error(y, c, "offence '%.*s' listed twice", (int)len,
							    s);
					t->offences |= 1u << off;
				}
			}
		} else if (!yconf_word(y, item, "purpose", vocab_purposes, &v)) {
			continue;
		}
		if (t->purposes & VOCAB_BIT(v))
			yconf_error(y, item, "purpose '%s' listed twice", vocab_name(vocab_purposes, v));
		t->purposes |= VOCAB_BIT(v);
	}
}

/*
 * The `lookouts:` block of a direction's terms: every key but
 * ack_within_hours required, each within what the direction allows.
 */
static void
read_lookouts(struct yconf *y, yaml_node_t *n, const struct agreement_terms *t,
	      struct agreement_lookouts *l)
{
	const vocab_set lookout_types = VOCAB_BIT(PIUGW__QUERY_TYPE__QUERY_TYPE_DOCUMENT) |
					VOCAB_BIT(PIUGW__QUERY_TYPE__QUERY_TYPE_NAME) |
					VOCAB_BIT(PIUGW__QUERY_TYPE__QUERY_TYPE_NAME_FUZZY);
	yaml_node_t *v;
	uint64_t u;
	int w;

	memset(l, 0, sizeof(*l));
	l->ack_within_hours = AGREEMENT_ACK_HOURS_DEFAULT;
	if (!yconf_map(y, n, "lookouts", lookouts_keys))
		return;
	l->allowed = true;
	if ((v = yconf_need(y, n, "purposes", "lookouts")) != NULL &&
	    yconf_word_set(y, v, "purpose", vocab_purposes, false, &l->purposes) &&
	    (l->purposes & ~t->purposes) != 0)
		yconf_error(y, v, "lookouts purposes must be among the terms' purposes");
	if ((v = yconf_need(y, n, "query_types", "lookouts")) != NULL &&
	    yconf_word_set(y, v, "query type", vocab_query_types, false, &l->query_types)) {
		if ((l->query_types & ~lookout_types) != 0)
			yconf_error(y, v, "a lookout is by document, name or name_fuzzy only");
		else if ((l->query_types & ~t->query_types) != 0)
			yconf_error(y, v, "lookouts query_types must be among the terms' query_types");
	}
	if ((v = yconf_need(y, n, "categories", "lookouts")) != NULL &&
	    yconf_word_set(y, v, "category", vocab_categories, false, &l->categories) &&
	    (l->categories & ~t->categories) != 0)
		yconf_error(y, v, "lookouts categories must be among the terms' categories");
	if ((v = yconf_need(y, n, "max_in_force", "lookouts")) != NULL &&
	    yconf_uint(y, v, "max_in_force", 1, AGREEMENT_LOOKOUTS_MAX, &u))
		l->max_in_force = (uint32_t)u;
	if ((v = yconf_need(y, n, "max_days", "lookouts")) != NULL &&
	    yconf_uint(y, v, "max_days", 1, AGREEMENT_LOOKOUT_DAYS_MAX, &u))
		l->max_days = (uint32_t)u;
	if ((v = yconf_need(y, n, "notify", "lookouts")) != NULL &&
	    yconf_word(y, v, "notify", vocab_notify, &w))
		l->notify = w;
	if ((v = yconf_get(y, n, "ack_within_hours")) != NULL &&
	    yconf_uint(y, v, "ack_within_hours", 1, 24 * 30, &u))
		l->ack_within_hours = (uint32_t)u;
}

static void
read_terms(struct yconf *y, yaml_node_t *n, struct agreement_terms *t)
{
	yaml_node_t *v;
	uint64_t u;
	int w;

	memset(t, 0, sizeof(*t));
	t->line = yconf_line(n);
	t->mask_after_days = AGREEMENT_MASK_AFTER_DAYS_DEFAULT;
	t->min_score = AGREEMENT_MIN_SCORE_DEFAULT;
	if (!yconf_map(y, n, "terms", terms_keys))
		return;
	if ((v = yconf_need(y, n, "requester", "terms")) != NULL)
		read_id(y, v, "requester", t->requester);
	if ((v = yconf_need(y, n, "responder", "terms")) != NULL)
		read_id(y, v, "responder", t->responder);
	if ((v = yconf_need(y, n, "purposes", "terms")) != NULL)
		read_purposes(y, v, t);
	if ((v = yconf_need(y, n, "query_types", "terms")) != NULL)
		yconf_word_set(y, v, "query type", vocab_query_types, false, &t->query_types);
	if ((v = yconf_need(y, n, "categories", "terms")) != NULL)
		yconf_word_set(y, v, "category", vocab_categories, false, &t->categories);
	if ((v = yconf_need(y, n, "disclosure", "terms")) != NULL &&
	    yconf_word(y, v, "disclosure", vocab_disclosures, &w))
		t->disclosure = w;
	if ((v = yconf_need(y, n, "max_results", "terms")) != NULL &&
	    yconf_uint(y, v, "max_results", 1, AGREEMENT_MAX_RESULTS, &u))
		t->max_results = (uint32_t)u;
	if ((v = yconf_need(y, n, "rate", "terms")) != NULL &&
	    yconf_map(y, v, "rate", rate_keys)) {
		yaml_node_t *h = yconf_need(y, v, "per_hour", "rate");
		yaml_node_t *dd = yconf_need(y, v, "per_day", "rate");
		if (h != NULL && yconf_uint(y, h, "rate per_hour", 1, AGREEMENT_RATE_PER_HOUR_MAX, &u))
			t->rate_per_hour = (uint32_t)u;
		if (dd != NULL && yconf_uint(y, dd, "rate per_day", 1, AGREEMENT_RATE_PER_DAY_MAX, &u))
			t->rate_per_day = (uint32_t)u;
		if (t->rate_per_hour != 0 && t->rate_per_day != 0 &&
		    t->rate_per_hour > t->rate_per_day)
			yconf_error(y, v, "rate per_hour (%u) is more than per_day (%u)",
				    t->rate_per_hour, t->rate_per_day);
	}
	if ((v = yconf_need(y, n, "approval", "terms")) != NULL &&
	    yconf_word(y, v, "approval", vocab_approvals, &w))
		t->approval = w;
	if ((v = yconf_need(y, n, "justification", "terms")) != NULL &&
	    yconf_word(y, v, "justification", vocab_justifications, &w))
		t->justification_required = w == VOCAB_JUSTIFICATION_REQUIRED;
	if ((v = yconf_get(y, n, "mask_after_days")) != NULL &&
	    yconf_uint(y, v, "mask_after_days", 1, 3650, &u))
		t->mask_after_days = (uint32_t)u;
	if ((v = yconf_need(y, n, "handling_code", "terms")) != NULL &&
	    yconf_word(y, v, "handling code", vocab_handling_codes, &w))
		t->handling_code = w;
	if ((v = yconf_need(y, n, "onward_transfer", "terms")) != NULL &&
	    yconf_word(y, v, "onward_transfer", vocab_onward_transfers, &w))
		t->onward_transfer = w;
	if ((v = yconf_get(y, n, "min_score")) != NULL) {
		if (yconf_double(y, v, "min_score", 0.5, 1.0, &t->min_score) &&
		    !(t->query_types & VOCAB_BIT(PIUGW__QUERY_TYPE__QUERY_TYPE_NAME_FUZZY)))
			yconf_error(y, v, "min_score applies to name_fuzzy, which query_types does "
					  "not allow; remove it or allow name_fuzzy");
	}
	if ((v = yconf_get(y, n, "unmasking")) != NULL &&
	    yconf_word(y, v, "unmasking", vocab_unmasking, &w))
		t->unmasking_allowed = w == VOCAB_UNMASKING_ALLOWED;
	/* After purposes, query types and categories: the block is checked against them. */
	if ((v = yconf_get(y, n, "lookouts")) != NULL)
		read_lookouts(y, v, t, &t->lookouts);
}

/* See agreement.h. */
int
agreement_parse(const char *text, size_t len, const char *label, struct agreement **outp,
		struct diag *d)
{
	int ret = PIUGW_EINTERNAL;
	struct yconf y;
	struct agreement *a = NULL;
	yaml_node_t *root, *v;
	bool loaded = false;

	*outp = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return PIUGW_ENOMEM;
	if ((ret = yconf_load(&y, text, len, label, d)) != 0)
		goto out;
	loaded = true;
	root = yconf_root(&y);
	yconf_map(&y, root, "the agreement", top_keys);

	if ((v = yconf_need(&y, root, "agreement", "the agreement")) != NULL) {
		const char *s;
		size_t l;
		if (yconf_str(&y, v, "agreement", &s, &l)) {
			bool ok = l > 0 && l <= ENVELOPE_AGREEMENT_ID_MAX;
			for (size_t i = 0; ok && i < l; i++)
				ok = (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
				     (s[i] >= '0' && s[i] <= '9') || strchr("-_.", s[i]) != NULL;
			if (!ok)
				yconf_error(&y, v, "agreement id '%.*s' must be 1 to 64 of "
						   "A-Z a-z 0-9 - _ .", (int)(l > 70 ? 70 : l), s);
			else
				memcpy(a->id, s, l);
		}
	}
	if ((v = yconf_need(&y, root, "parties", "the agreement")) != NULL &&
	    yconf_seq(&y, v, "parties")) {
		if (yconf_seq_len(v) != 2) {
			yconf_error(&y, v, "parties must name exactly two gateways, e.g. "
					   "[XA-PIU, XB-PIU]");
		} else {
			bool ok0 = read_id(&y, yconf_seq_at(&y, v, 0), "party", a->parties[0]);
			bool ok1 = read_id(&y, yconf_seq_at(&y, v, 1), "party", a->parties[1]);
			if (ok0 && ok1 && strcmp(a->parties[0], a->parties[1]) == 0)
				yconf_error(&y, v, "the two parties must be different gateways");
		}
	}
	if ((v = yconf_need(&y, root, "in_force", "the agreement")) != NULL &&
	    yconf_map(&y, v, "in_force", in_force_keys)) {
		yaml_node_t *f = yconf_need(&y, v, "from", "in_force");
		yaml_node_t *u = yconf_need(&y, v, "until", "in_force");
		bool okf = f != NULL && yconf_date(&y, f, "in_force from", &a->from_day);
		bool oku = u != NULL && yconf_date(&y, u, "in_force until", &a->until_day);
		if (okf && oku && a->until_day < a->from_day)
			yconf_error(&y, u, "in_force until is before from");
	}
	if ((v = yconf_need(&y, root, "terms", "the agreement")) != NULL &&
	    yconf_seq(&y, v, "terms")) {
		size_t n = yconf_seq_len(v);
		if (n == 0 || n > 2)
			yconf_error(&y, v, "terms must hold one or two blocks, one per direction "
					   "(requester -> responder)");
		for (size_t i = 0; i < n && i < 2; i++) {
			yaml_node_t *tn = yconf_seq_at(&y, v, i);
			struct agreement_terms *t = &a->terms[a->nterms++];
			read_terms(&y, tn, t);
			if (t->requester[0] != '\0' && !agreement_has_party(a, t->requester))
				yconf_error(&y, yconf_get(&y, tn, "requester"),
					    "requester '%s' is not one of the parties", t->requester);
			if (t->responder[0] != '\0' && !agreement_has_party(a, t->responder))
				yconf_error(&y, yconf_get(&y, tn, "responder"),
					    "responder '%s' is not one of the parties", t->responder);
			if (t->requester[0] != '\0' && strcmp(t->requester, t->responder) == 0)
				yconf_error(&y, tn, "requester and responder are the same gateway");
			if (i == 1 && t->requester[0] != '\0' &&
			    strcmp(t->requester, a->terms[0].requester) == 0 &&
			    strcmp(t->responder, a->terms[0].responder) == 0)
				yconf_error(&y, tn, "a second block of terms for %s -> %s (first at "
						    "line %u); one block per direction",
					    t->requester, t->responder, a->terms[0].line);
		}
	}
	if ((ret = yconf_status(&y)) != 0)
		goto out;
	if ((a->bytes = malloc(len == 0 ? 1 : len)) == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	memcpy(a->bytes, text, len);
	a->len = len;
	crypto_generichash(a->hash, sizeof(a->hash), a->bytes, a->len, NULL, 0);
	*outp = a;
	a = NULL;
	ret = 0;
out:
	if (loaded)
		yconf_free(&y);
	agreement_free(&a);
	return ret;
}

/* See agreement.h. */
int
agreement_load(const char *path, struct agreement **outp, struct diag *d)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	*outp = NULL;
	if ((ret = fileio_read(path, YCONF_FILE_MAX, 0, &buf, &len, d)) != 0)
		return ret;
	ret = agreement_parse((const char *)buf, len, path, outp, d);
	fileio_free(buf, len, 0);
	return ret;
}

/* See agreement.h. */
void
agreement_free(struct agreement **ap)
{
	if (ap == NULL || *ap == NULL)
		return;
	free((*ap)->bytes);
	free(*ap);
	*ap = NULL;
}

/* See agreement.h. */
const struct agreement_terms *
agreement_terms_for(const struct agreement *a, const char *requester, const char *responder)
{
	for (size_t i = 0; i < a->nterms; i++)
		if (strcmp(a->terms[i].requester, requester) == 0 &&
		    strcmp(a->terms[i].responder, responder) == 0)
			return &a->terms[i];
	return NULL;
}

/* See agreement.h. */
bool
agreement_has_party(const struct agreement *a, const char *id)
{
	return strcmp(a->parties[0], id) == 0 || strcmp(a->parties[1], id) == 0;
}

static uint8_t *
sign_input(const struct agreement *a, size_t *lenp)
{
	size_t n = sizeof(SIGN_LABEL) + a->len; /* label, its 0x00, the file */
	uint8_t *m = malloc(n);

	if (m == NULL)
		return NULL;
	memcpy(m, SIGN_LABEL, sizeof(SIGN_LABEL)); /* includes the terminating 0x00 */
	memcpy(m + sizeof(SIGN_LABEL), a->bytes, a->len);
	*lenp = n;
	return m;
}

/* See agreement.h. */
int
agreement_sign(const struct agreement *a, const struct keys_secret *k,
	       uint8_t sig[KEYS_SIGNATURE_BYTES])
{
	size_t n;
	uint8_t *m = sign_input(a, &n);
	int ret;

	if (m == NULL)
		return PIUGW_ENOMEM;
	ret = keys_sign(k, sig, m, n);
	free(m);
	return ret;
}

/* See agreement.h. */
bool
agreement_verify(const struct agreement *a, const uint8_t sign_pk[KEYS_PUBLIC_BYTES],
		 const uint8_t sig[KEYS_SIGNATURE_BYTES])
{
	size_t n;
	uint8_t *m = sign_input(a, &n);
	bool ok;

	if (m == NULL)
		return false;
	ok = crypto_sign_verify_detached(sig, m, n, sign_pk) == 0;
	free(m);
	return ok;
}

/* ---- signature file ---- */

/* See agreement.h. */
int
agreement_sigs_parse(const char *text, size_t len, const char *label, struct agreement_sigs *out,
		     struct diag *d)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *sp, *hex;
		size_t idlen, hexlen, bin_len = 0;
		struct agreement_sig s;

		line++;
		const char *ln = p;
		p += l + (nl != NULL ? 1 : 0);
		if (l > 0 && ln[l - 1] == '\r')
			l--;
		while (l > 0 && (ln[l - 1] == ' ' || ln[l - 1] == '\t'))
			l--;
		if (l == 0 || ln[0] == '#')
			continue;
		sp = memchr(ln, ' ', l);
		if (sp == NULL) {
			diag_add(d, "%s:%u:1: expected '<gateway id> <signature in hex>'", label, line);
			ret = PIUGW_ESIGFILE;
			continue;
		}
		idlen = (size_t)(sp - ln);
		hex = sp;
		while (hex < ln + l && *hex == ' ')
			hex++;
		hexlen = (size_t)(ln + l - hex);
		memset(&s, 0, sizeof(s));
		s.line = line;
		if (!keys_id_valid(ln, idlen)) {
			diag_add(d, "%s:%u:1: '%.*s' is not a gateway id", label, line,
				 (int)(idlen > 40 ? 40 : idlen), ln);
			ret = PIUGW_ESIGFILE;
			continue;
		}
		memcpy(s.id, ln, idlen);
		if (hexlen != 2 * KEYS_SIGNATURE_BYTES ||
		    sodium_hex2bin(s.sig, sizeof(s.sig), hex, hexlen, NULL, &bin_len, NULL) != 0 ||
		    bin_len != KEYS_SIGNATURE_BYTES) {
			diag_add(d, "%s:%u:%zu: the signature must be %d hex digits", label, line,
				 (size_t)(hex - ln) + 1, 2 * KEYS_SIGNATURE_BYTES);
			ret = PIUGW_ESIGFILE;
			continue;
		}
		if (agreement_sigs_get(out, s.id) != NULL) {
			diag_add(d, "%s:%u:1: a second signature by %s (first on line %u)", label,
				 line, s.id, agreement_sigs_get(out, s.id)->line);
			ret = PIUGW_ESIGFILE;
			continue;
		}
		if (out->n == 2) {
			diag_add(d, "%s:%u:1: more than two signatures; an agreement has two parties",
				 label, line);
			ret = PIUGW_ESIGFILE;
			continue;
		}
		out->e[out->n++] = s;
	}
	return ret;
}

/* See agreement.h. */
int
agreement_sigs_load(const char *path, struct agreement_sigs *out, struct diag *d)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = fileio_read(path, 64 * 1024, 0, &buf, &len, NULL);
	if (ret == PIUGW_ENOENT)
		return 0;
	if (ret != 0)
		return fileio_read(path, 64 * 1024, 0, &buf, &len, d); /* again, to say why */
	ret = agreement_sigs_parse((const char *)buf, len, path, out, d);
	fileio_free(buf, len, 0);
	return ret;
}

/* See agreement.h. */
const struct agreement_sig *
agreement_sigs_get(const struct agreement_sigs *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i].id, id) == 0)
			return &s->e[i];
	return NULL;
}

/* See agreement.h. */
void
agreement_sigs_put(struct agreement_sigs *s, const char *id, const uint8_t sig[KEYS_SIGNATURE_BYTES])
{
	struct agreement_sig *e = (struct agreement_sig *)agreement_sigs_get(s, id);

	if (e == NULL) {
		if (s->n == 2)
			return; /* callers check the signer is a party first */
		e = &s->e[s->n++];
		memset(e, 0, sizeof(*e));
		memcpy(e->id, id, strnlen(id, KEYS_ID_MAX));
	}
	memcpy(e->sig, sig, KEYS_SIGNATURE_BYTES);
}

/* See agreement.h. */
char *
agreement_sigs_format(const struct agreement_sigs *s)
{
	size_t cap = 2 * (KEYS_ID_MAX + 2 + 2 * KEYS_SIGNATURE_BYTES) + 1, o = 0;
	char *out = malloc(cap);
	size_t order[2] = {0, 1};

	if (out == NULL)
		return NULL;
	if (s->n == 2 && strcmp(s->e[0].id, s->e[1].id) > 0) {
		order[0] = 1;
		order[1] = 0;
	}
	out[0] = '\0';
	for (size_t i = 0; i < s->n; i++) {
		const struct agreement_sig *e = &s->e[order[i]];
		char hex[2 * KEYS_SIGNATURE_BYTES + 1];
		sodium_bin2hex(hex, sizeof(hex), e->sig, KEYS_SIGNATURE_BYTES);
		o += (size_t)snprintf(out + o, cap - o, "%s %s\n", e->id, hex);
	}
	return out;
}

/* See agreement.h. */
int
agreement_install(const struct agreement *a, const struct agreement_sigs *sigs, const char *dir,
		  const char *path, char **installedp, struct diag *d)
{
	size_t n = strlen(dir) + strlen(a->id) + 16;
	char *file = NULL, *sig_path = NULL, *text = NULL;
	int ret;

	*installedp = NULL;
	if (path != NULL)
		file = strdup(path);
	else if ((file = malloc(n)) != NULL)
		snprintf(file, n, "%s/%s.yaml", dir, a->id);
	if (file == NULL || (sig_path = malloc(strlen(file) + 5)) == NULL ||
	    (text = agreement_sigs_format(sigs)) == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	snprintf(sig_path, strlen(file) + 5, "%s.sig", file);
	/*
	 * The signatures first, then the file: a new agreement is not there
	 * until its file is; an amendment cut between the two is an agreement
	 * whose signatures do not verify, which is never in force.
	 */
	if ((ret = fileio_replace(sig_path, text, strlen(text), 0644, d)) != 0 ||
	    (ret = fileio_replace(file, a->bytes, a->len, 0644, d)) != 0)
		goto out;
	*installedp = file;
	file = NULL;
out:
	free(text);
	free(sig_path);
	free(file);
	return ret;
}

/* ---- from a template ---- */

struct tmpl {
	const char *id, *from, *until;
	char was[2][KEYS_ID_MAX + 1]; /* the template's parties */
	const char *party[2];
};

static const char *
tmpl_subst(void *ctx, const char *key, const char *value)
{
	struct tmpl *t = ctx;

	if (key != NULL && strcmp(key, "agreement") == 0)
		return t->id;
	if (key != NULL && strcmp(key, "from") == 0)
		return t->from;
	if (key != NULL && strcmp(key, "until") == 0)
		return t->until;
	for (int i = 0; i < 2; i++)
		if (strcmp(value, t->was[i]) == 0)
			return t->party[i];
	return NULL;
}

/* See agreement.h. */
int
agreement_from_template(const char *text, size_t len, const char *label, const char *id,
			const char *const party[2], const char *from, const char *until,
			char **outp, size_t *lenp, struct diag *d)
{
	struct agreement *a = NULL, *check = NULL;
	struct tmpl t = {.id = id, .from = from, .until = until, .party = {party[0], party[1]}};
	struct yconf y;
	int rc;

	*outp = NULL;
	*lenp = 0;
	/* Any agreement is a template: its parties, first and second, become the new ones. */
	if ((rc = agreement_parse(text, len, label, &a, d)) != 0) {
		diag_add(d, "%s: a template is an agreement file like any other (its id, parties "
			    "and dates are replaced)", label);
		return rc;
	}
	memcpy(t.was, a->parties, sizeof(t.was));
	agreement_free(&a);
	if ((rc = yconf_load(&y, text, len, label, d)) != 0)
		return rc;
	rc = yconf_rewrite(&y, tmpl_subst, &t, outp, lenp);
	yconf_free(&y);
	if (rc != 0)
		return rc;
	/* What is written must be an agreement. */
	if ((rc = agreement_parse(*outp, *lenp, id, &check, d)) != 0) {
		free(*outp);
		*outp = NULL;
		*lenp = 0;
		return rc;
	}
	agreement_free(&check);
	return 0;
}
