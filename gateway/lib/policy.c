/*
 * policy.c: see policy.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "body.pb-c.h"
#include "fileio.h"
#include "num.h"
#include "piugw/error.h"
#include "policy.h"

struct policy {
	struct config *cfg;
	struct directory *dir;
	struct keys_public self;
	struct policy_agreement *agreements;
	size_t n;
	int watch_fd; /* inotify on the suspensions; -1: none */
};

/* See policy.h. */
const struct config *
policy_config(const struct policy *p)
{
	return p->cfg;
}

/* See policy.h. */
const struct directory *
policy_directory(const struct policy *p)
{
	return p->dir;
}

/* See policy.h. */
size_t
policy_agreement_count(const struct policy *p)
{
	return p->n;
}

/* See policy.h. */
const struct policy_agreement *
policy_agreement_at(const struct policy *p, size_t i)
{
	return i < p->n ? &p->agreements[i] : NULL;
}

#define SUSPENDED_DIR "suspended"

/* ---- loading ---- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.yaml files of dir, sorted, as full paths. */
static int
list_agreements(const char *dir, char ***outp, size_t *np, struct diag *d)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;

	*outp = NULL;
	*np = 0;
	if (dh == NULL) {
		diag_add(d, "%s: cannot read the agreements folder: %s", dir, strerror(errno));
		return errno == ENOENT ? PIUGW_ENOENT : PIUGW_ESYSTEM;
	}
	while ((de = readdir(dh)) != NULL) {
		size_t l = strlen(de->d_name);
		char *path;
		if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".yaml") != 0)
			continue;
		if (n == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
			if (nv == NULL)
				break;
			v = nv;
		}
		if ((path = malloc(strlen(dir) + l + 2)) == NULL)
			break;
		snprintf(path, strlen(dir) + l + 2, "%s/%s", dir, de->d_name);
		v[n++] = path;
	}
	closedir(dh);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
	*outp = v;
	*np = n;
	return 0;
}

/*
 * Read the agreement's suspension file into reason; false if there is none.
 * Any trouble reading it other than absence counts as suspended: fail closed.
 */
static bool
read_suspension(const char *path, char *reason, size_t reason_len)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = fileio_read(path, 4096, 0, &buf, &len, NULL);

	if (rc == PIUGW_ENOENT)
		return false;
	if (rc == 0) {
		size_t l = strcspn((const char *)buf, "\n");
		if (l >= reason_len)
			l = reason_len - 1;
		memcpy(reason, buf, l);
		reason[l] = '\0';
	} else {
		snprintf(reason, reason_len, "(suspension file unreadable: %s)", piugw_strerror(rc));
	}
	fileio_free(buf, len, 0);
	return true;
}

/* See policy.h. */
void
policy_agreement_clear(struct policy_agreement *pa)
{
	agreement_free(&pa->a);
	free(pa->path);
	free(pa->suspend_path);
}

/* See policy.h. */
int
policy_agreement_load(const struct config *cfg, const struct directory *dir, const char *path,
		      struct policy_agreement *pa, struct diag *d)
{
	size_t n = strlen(path) + sizeof(".sig");
	char *sig_path = malloc(n);
	int ret;

	memset(pa, 0, sizeof(*pa));
	if (sig_path == NULL || (pa->path = strdup(path)) == NULL) {
		free(sig_path);
		return PIUGW_ENOMEM;
	}
	snprintf(sig_path, n, "%s.sig", path);
	if ((ret = agreement_load(path, &pa->a, d)) != 0)
		goto out;
	if (!agreement_has_party(pa->a, cfg->id)) {
		diag_add(d, "%s: agreement %s is between %s and %s, not this gateway (%s); move it "
			    "out of %s", path, pa->a->id, pa->a->parties[0], pa->a->parties[1],
			 cfg->id, cfg->agreements_dir);
		ret = PIUGW_ECONFIG;
		goto out;
	}
	snprintf(pa->peer, sizeof(pa->peer), "%s",
		 strcmp(pa->a->parties[0], cfg->id) == 0 ? pa->a->parties[1] : pa->a->parties[0]);
	/*
	 * The secretariat's word wins: a party the directory no longer lists
	 * leaves the agreement loaded but not in force (its partner is cut off
	 * at once), rather than the reload refused and the member served on.
	 */
	pa->not_member = directory_member(dir, pa->peer) == NULL;
	if ((ret = agreement_sigs_load(sig_path, &pa->sigs, d)) != 0)
		goto out;
	for (size_t i = 0; i < pa->sigs.n; i++) {
		if (!agreement_has_party(pa->a, pa->sigs.e[i].id)) {
			diag_add(d, "%s:%u: signature by %s, who is not a party to %s", sig_path,
				 pa->sigs.e[i].line, pa->sigs.e[i].id, pa->a->id);
			ret = PIUGW_ECONFIG;
		}
	}
	if (ret != 0)
		goto out;
	for (int i = 0; i < 2; i++) {
		const struct agreement_sig *s = agreement_sigs_get(&pa->sigs, pa->a->parties[i]);
		const struct directory_member *m = directory_member(dir, pa->a->parties[i]);
		pa->signed_by[i] = s != NULL;
		pa->valid_by[i] = s != NULL && m != NULL &&
				  agreement_verify(pa->a, m->keys.sign_pk, s->sig);
	}
	n = strlen(cfg->state_dir) + sizeof("/" SUSPENDED_DIR "/") + strlen(pa->a->id);
	if ((pa->suspend_path = malloc(n)) == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	snprintf(pa->suspend_path, n, "%s/%s/%s", cfg->state_dir, SUSPENDED_DIR, pa->a->id);
	pa->suspended = read_suspension(pa->suspend_path, pa->suspend_reason,
					sizeof(pa->suspend_reason));
	ret = 0;
out:
	free(sig_path);
	return ret;
}

/* See policy.h. */
int
policy_directory_load(const struct config *cfg, struct directory **outp, struct diag *d)
{
	struct minisign_pubkey anchor;
	int ret;

	*outp = NULL;
	if ((ret = minisign_pubkey_load(cfg->secretariat_key, &anchor, d)) != 0)
		return ret;
	return directory_load(cfg->directory, cfg->directory_sig, &anchor, outp, d);
}

/*
 * Our certificate (or, self given, the keys the running gateway holds) must
 * hold the keys the directory lists for us.
 */
static int
check_self(struct policy *p, const struct keys_public *self, struct diag *d)
{
	const struct directory_member *m;
	int ret;

	if (self != NULL)
		p->self = *self;
	else if ((ret = keys_public_load(p->cfg->certificate, &p->self, d)) != 0)
		return ret;
	if (strcmp(p->self.id, p->cfg->id) != 0) {
		diag_add(d, "%s: certificate of %s, but piugwd.yaml says this gateway is %s",
			 p->cfg->certificate, p->self.id, p->cfg->id);
		return PIUGW_ECONFIG;
	}
	if ((m = directory_member(p->dir, p->cfg->id)) == NULL) {
		diag_add(d, "%s: this gateway (%s) is not a member of the directory", p->cfg->directory,
			 p->cfg->id);
		return PIUGW_ECONFIG;
	}
	if (sodium_memcmp(m->keys.transport_pk, p->self.transport_pk, 32) != 0 ||
	    sodium_memcmp(m->keys.sign_pk, p->self.sign_pk, 32) != 0) {
		if (self != NULL)
			diag_add(d, "%s:%u: the directory lists other keys for %s than this running "
				    "gateway holds; new keys take a restart of piugwd",
				 p->cfg->directory, m->line, p->cfg->id);
		else
			diag_add(d, "%s:%u: the directory lists other keys for %s than %s holds; "
				    "send the secretariat your current .cert, or restore the "
				    "matching keys",
				 p->cfg->directory, m->line, p->cfg->id, p->cfg->certificate);
		return PIUGW_ECONFIG;
	}
	return 0;
}

/* See policy.h. */
int
policy_load(const char *config_path, int64_t now_ms, struct policy **outp, struct diag *d)
{
	return policy_load_as(config_path, now_ms, NULL, outp, d);
}

/* See policy.h. */
int
policy_load_as(const char *config_path, int64_t now_ms, const struct keys_public *self,
	       struct policy **outp, struct diag *d)
{
	int ret = PIUGW_EINTERNAL, rc;
	struct policy *p = NULL;
	char **files = NULL;
	size_t nfiles = 0;
	uint64_t highest = 0;
	int32_t today = num_day_of_ms(now_ms);

	*outp = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return PIUGW_ENOMEM;
	p->watch_fd = -1;
	if ((ret = config_load(config_path, &p->cfg, d)) != 0)
		goto out;
	if ((ret = policy_directory_load(p->cfg, &p->dir, d)) != 0)
		goto out;
	if ((ret = directory_serial_check(p->cfg->state_dir, p->dir->serial, &highest, d)) != 0)
		goto out;
	if (directory_expired(p->dir, today)) {
		char day[11];
		num_format_date(p->dir->expires_day, day);
		diag_add(d, "warning: %s: the directory expired on %s; ask the secretariat for the "
			    "current one (service continues)", p->cfg->directory, day);
	}
	if ((ret = check_self(p, self, d)) != 0)
		goto out;
	if ((ret = list_agreements(p->cfg->agreements_dir, &files, &nfiles, d)) != 0)
		goto out;
	if (nfiles > 0 && (p->agreements = calloc(nfiles, sizeof(*p->agreements))) == NULL) {
		ret = PIUGW_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nfiles; i++) {
		struct policy_agreement *pa = &p->agreements[p->n];
		if ((rc = policy_agreement_load(p->cfg, p->dir, files[i], pa, d)) != 0) {
			policy_agreement_clear(pa);
			ret = rc == PIUGW_ENOMEM ? rc : PIUGW_ECONFIG;
			continue;
		}
		for (size_t j = 0; j < p->n; j++) {
			if (strcmp(p->agreements[j].a->id, pa->a->id) == 0) {
				diag_add(d, "%s: agreement id %s is also used by %s", files[i],
					 pa->a->id, p->agreements[j].path);
				ret = PIUGW_ECONFIG;
			}
		}
		p->n++;
	}
	if (ret != 0)
		goto out;
	for (size_t i = 0; i < p->n; i++) {
		char why[256];
		if (policy_agreement_state(&p->agreements[i], now_ms, why, sizeof(why)) !=
		    POLICY_IN_FORCE)
			diag_add(d, "warning: %s: agreement %s with %s is not in force: %s",
				 p->agreements[i].path, p->agreements[i].a->id,
				 p->agreements[i].peer, why);
	}
	*outp = p;
	p = NULL;
	ret = 0;
out:
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	policy_free(&p);
	return ret;
}

/* See policy.h. */
void
policy_free(struct policy **pp)
{
	struct policy *p;

	if (pp == NULL || *pp == NULL)
		return;
	p = *pp;
	if (p->watch_fd >= 0)
		close(p->watch_fd);
	for (size_t i = 0; i < p->n; i++)
		policy_agreement_clear(&p->agreements[i]);
	free(p->agreements);
	directory_free(&p->dir);
	config_free(&p->cfg);
	free(p);
	*pp = NULL;
}

/* See policy.h. */
int
policy_activate(const struct policy *p, struct diag *d)
{
	return directory_serial_store(p->cfg->state_dir, p->dir->serial, d);
}

/* See policy.h. */
int
policy_reload(struct policy **current, const char *config_path, int64_t now_ms, struct diag *d)
{
	struct policy *np = NULL;
	int ret;

	/* Our keys as the running gateway holds them: the certificate file is not read again. */
	if ((ret = policy_load_as(config_path, now_ms, *current != NULL ? &(*current)->self : NULL,
				  &np, d)) == 0 &&
	    *current != NULL && strcmp(np->cfg->certificate, (*current)->cfg->certificate) != 0) {
		diag_add(d, "%s: gateway.certificate changed (%s): new keys take a restart of piugwd",
			 config_path, np->cfg->certificate);
		policy_free(&np);
		ret = PIUGW_ECONFIG;
	}
	if (ret != 0) {
		diag_add(d, "%s: not loaded; the running configuration stays in force",
			 config_path);
		return ret;
	}
	if ((ret = policy_activate(np, d)) != 0) {
		diag_add(d, "%s: not activated; the running configuration stays in force",
			 config_path);
		policy_free(&np);
		return ret;
	}
	/* The one step: until here nothing the running gateway uses has changed. */
	policy_free(current);
	*current = np;
	return 0;
}

/* See policy.h. */
enum policy_state
policy_agreement_state(const struct policy_agreement *pa, int64_t now_ms, char *why,
		       size_t why_len)
{
	int32_t today = num_day_of_ms(now_ms);
	char day[11];
	char dummy[1];

	if (why == NULL) {
		why = dummy;
		why_len = sizeof(dummy);
	}
	why[0] = '\0';
	if (pa->not_member) {
		snprintf(why, why_len, "party %s is not in the member directory", pa->peer);
		return POLICY_NOT_MEMBER;
	}
	/* Live, not as loaded: a suspension must not wait for a reload. */
	if (pa->suspend_path != NULL &&
	    (pa->watched ? pa->live_suspended : access(pa->suspend_path, F_OK) == 0)) {
		char reason[256] = "";
		read_suspension(pa->suspend_path, reason, sizeof(reason));
		snprintf(why, why_len, "suspended here: %s", reason[0] ? reason : "(no reason given)");
		return POLICY_SUSPENDED;
	}
	for (int i = 0; i < 2; i++) {
		if (!pa->signed_by[i]) {
			snprintf(why, why_len, "not signed by %s", pa->a->parties[i]);
			return POLICY_NOT_SIGNED;
		}
		if (!pa->valid_by[i]) {
			snprintf(why, why_len, "the signature of %s does not verify (the files differ, "
					       "or it was signed with another key)",
				 pa->a->parties[i]);
			return POLICY_BAD_SIGNATURE;
		}
	}
	if (today < pa->a->from_day) {
		num_format_date(pa->a->from_day, day);
		snprintf(why, why_len, "in force only from %s", day);
		return POLICY_NOT_YET;
	}
	if (today > pa->a->until_day) {
		num_format_date(pa->a->until_day, day);
		snprintf(why, why_len, "ended on %s", day);
		return POLICY_ENDED;
	}
	return POLICY_IN_FORCE;
}

/* See policy.h. */
const char *
policy_state_name(enum policy_state s)
{
	switch (s) {
	case POLICY_IN_FORCE: return "in force";
	case POLICY_NOT_SIGNED: return "not signed";
	case POLICY_BAD_SIGNATURE: return "bad signature";
	case POLICY_NOT_YET: return "not yet in force";
	case POLICY_ENDED: return "ended";
	case POLICY_SUSPENDED: return "suspended";
	case POLICY_NOT_MEMBER: return "party not in the directory";
	}
	return "?";
}

/* See policy.h. */
const struct policy_agreement *
policy_agreement(const struct policy *p, const char *id)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->agreements[i].a->id, id) == 0)
			return &p->agreements[i];
	return NULL;
}

/* ---- rates ---- */

/*
 * Sliding windows: the last hour in minute buckets, the last day in hour
 * buckets. Keyed by agreement id and direction, so a reload (a new policy)
 * does not reset them.
 */
struct rate_entry {
	char key[ENVELOPE_AGREEMENT_ID_MAX + 2 * KEYS_ID_MAX + 3];
	int64_t minute_at[60];
	uint32_t minute_n[60];
	int64_t hour_at[24];
	uint32_t hour_n[24];
};

struct policy_rates {
	struct rate_entry *e;
	size_t n, cap;
};

/* See policy.h. */
int
policy_rates_new(struct policy_rates **outp)
{
	*outp = calloc(1, sizeof(**outp));
	return *outp != NULL ? 0 : PIUGW_ENOMEM;
}

/* See policy.h. */
void
policy_rates_free(struct policy_rates **rp)
{
	if (rp == NULL || *rp == NULL)
		return;
	free((*rp)->e);
	free(*rp);
	*rp = NULL;
}

static struct rate_entry *
rate_entry(struct policy_rates *r, const char *agreement, const struct agreement_terms *t)
{
	char key[sizeof(((struct rate_entry *)0)->key)];

	snprintf(key, sizeof(key), "%s|%s|%s", agreement, t->requester, t->responder);
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->e[i].key, key) == 0)
			return &r->e[i];
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 8;
		struct rate_entry *ne = realloc(r->e, ncap * sizeof(*ne));
		if (ne == NULL)
			return NULL;
		r->e = ne;
		r->cap = ncap;
	}
	memset(&r->e[r->n], 0, sizeof(r->e[r->n]));
	memcpy(r->e[r->n].key, key, sizeof(key));
	return &r->e[r->n++];
}

static void
rate_counts(const struct rate_entry *e, int64_t now_ms, uint32_t *hour, uint32_t *day)
{
	int64_t m = now_ms / 60000, h = now_ms / 3600000;

	*hour = 0;
	*day = 0;
	for (int i = 0; i < 60; i++)
		if (e->minute_at[i] > m - 60 && e->minute_at[i] <= m)
			*hour += e->minute_n[i];
	for (int i = 0; i < 24; i++)
		if (e->hour_at[i] > h - 24 && e->hour_at[i] <= h)
			*day += e->hour_n[i];
}

static void
rate_count(struct rate_entry *e, int64_t now_ms)
{
	int64_t m = now_ms / 60000, h = now_ms / 3600000;
	int mi = (int)(m % 60), hi = (int)(h % 24);

	if (e->minute_at[mi] != m) {
		e->minute_at[mi] = m;
		e->minute_n[mi] = 0;
	}
	e->minute_n[mi]++;
	if (e->hour_at[hi] != h) {
		e->hour_at[hi] = h;
		e->hour_n[hi] = 0;
	}
	e->hour_n[hi]++;
}

/* ---- decisions ---- */

static int
refuse(struct policy_decision *out, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
refuse(struct policy_decision *out, int code, const char *fmt, ...)
{
	va_list ap;

	out->code = code;
	va_start(ap, fmt);
	vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
	va_end(ap);
	return code;
}

/* Does terms t allow purpose/offence and query type? (for choosing) */
static bool
terms_fit(const struct agreement_terms *t, const struct policy_request *req)
{
	if (req->lookout)
		return t->lookouts.allowed && (t->lookouts.purposes & VOCAB_BIT(req->purpose)) &&
		       (t->lookouts.query_types & VOCAB_BIT(req->query_type));
	return (t->purposes & VOCAB_BIT(req->purpose)) && (t->query_types & VOCAB_BIT(req->query_type));
}

static void
offence_list(uint32_t set, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = VOCAB_OFFENCE_MIN; i <= VOCAB_OFFENCE_MAX && o + 6 < len; i++)
		if (set & (1u << i))
			o += (size_t)snprintf(buf + o, len - o, "%sSC%02d", o ? ", " : "", i);
}

/* See policy.h. */
int
policy_decide(const struct policy *p, struct policy_rates *rates, const struct policy_request *req,
	      struct policy_decision *out)
{
	const char *me = p->cfg->id;
	const char *requester = req->direction == POLICY_OUTBOUND ? me : req->peer;
	const char *responder = req->direction == POLICY_OUTBOUND ? req->peer : me;
	const struct policy_agreement *pa = NULL;
	const struct agreement_terms *t;
	char why[256], hex[2 * AGREEMENT_HASH_BYTES + 1];
	struct rate_entry *re = NULL;

	memset(out, 0, sizeof(*out));
	/* Only members may ask; the envelope layer stops others first, this stays as a guard. */
	if (directory_member(p->dir, req->peer) == NULL)
		return refuse(out, req->direction == POLICY_INBOUND ? PIUGW_EUNKNOWNSENDER
								    : PIUGW_ENOAGREEMENT,
			      "%s is not a member of the directory", req->peer);

	if (req->agreement_id != NULL) {
		pa = policy_agreement(p, req->agreement_id);
		if (pa == NULL || strcmp(pa->peer, req->peer) != 0)
			return refuse(out, PIUGW_ENOAGREEMENT, "no agreement %s between %s and %s",
				      req->agreement_id, me, req->peer);
	} else {
		/* Outbound without an id: the agreement in force whose terms fit best. */
		const struct policy_agreement *any = NULL, *in_force = NULL;
		for (size_t i = 0; i < p->n; i++) {
			const struct policy_agreement *c = &p->agreements[i];
			const struct agreement_terms *ct;
			if (strcmp(c->peer, req->peer) != 0)
				continue;
			if (any == NULL)
				any = c;
			if ((ct = agreement_terms_for(c->a, requester, responder)) == NULL ||
			    policy_agreement_state(c, req->now_ms, NULL, 0) != POLICY_IN_FORCE)
				continue;
			if (in_force == NULL)
				in_force = c;
			if (terms_fit(ct, req)) {
				in_force = c;
				break;
			}
		}
		pa = in_force != NULL ? in_force : any;
		if (pa == NULL)
			return refuse(out, PIUGW_ENOAGREEMENT, "no agreement between %s and %s", me,
				      req->peer);
	}
	out->agreement = pa;
	if (req->agreement_hash != NULL &&
	    sodium_memcmp(req->agreement_hash, pa->a->hash, AGREEMENT_HASH_BYTES) != 0) {
		sodium_bin2hex(hex, sizeof(hex), pa->a->hash, AGREEMENT_HASH_BYTES);
		return refuse(out, PIUGW_EAGREEMENTMISMATCH, "%s", hex);
	}
	if (policy_agreement_state(pa, req->now_ms, why, sizeof(why)) != POLICY_IN_FORCE)
		return refuse(out, PIUGW_ENOTINFORCE, "agreement %s is not in force: %s", pa->a->id,
			      why);
	if ((t = agreement_terms_for(pa->a, requester, responder)) == NULL)
		return refuse(out, PIUGW_ENOAGREEMENT,
			      "agreement %s has no terms for requests from %s to %s", pa->a->id,
			      requester, responder);
	out->terms = t;

	if (req->lookout && !t->lookouts.allowed)
		return refuse(out, PIUGW_EQUERYTYPE,
			      "agreement %s allows no lookouts from %s to %s (its terms have no "
			      "lookouts block)", pa->a->id, requester, responder);
	if (req->lookout && !(t->lookouts.purposes & VOCAB_BIT(req->purpose)))
		return refuse(out, PIUGW_EPURPOSE,
			      "agreement %s does not allow lookouts for the purpose %s", pa->a->id,
			      vocab_name(vocab_purposes, req->purpose));
	if (req->lookout && !(t->lookouts.query_types & VOCAB_BIT(req->query_type)))
		return refuse(out, PIUGW_EQUERYTYPE, "agreement %s does not allow %s lookouts",
			      pa->a->id, vocab_name(vocab_query_types, req->query_type));
	if (!(t->purposes & VOCAB_BIT(req->purpose)))
		return refuse(out, PIUGW_EPURPOSE, "agreement %s does not allow the purpose %s",
			      pa->a->id, vocab_name(vocab_purposes, req->purpose));
	if (req->purpose == PIUGW__PURPOSE__PURPOSE_SERIOUS_CRIME && t->offences != 0 &&
	    (req->offence < VOCAB_OFFENCE_MIN || req->offence > VOCAB_OFFENCE_MAX ||
	     !(t->offences & (1u << req->offence)))) {
		offence_list(t->offences, why, sizeof(why));
		if (req->offence == 0)
			return refuse(out, PIUGW_EPURPOSE,
				      "agreement %s allows serious_crime only for offences %s; name "
				      "one", pa->a->id, why);
		return refuse(out, PIUGW_EPURPOSE,
			      "agreement %s allows serious_crime only for offences %s, not SC%02d",
			      pa->a->id, why, req->offence);
	}
	if (req->offence != 0 && req->purpose != PIUGW__PURPOSE__PURPOSE_SERIOUS_CRIME)
		return refuse(out, PIUGW_EPURPOSE,
			      "an offence code goes only with the purpose serious_crime");
	if (!(t->query_types & VOCAB_BIT(req->query_type)))
		return refuse(out, PIUGW_EQUERYTYPE, "agreement %s does not allow %s queries",
			      pa->a->id, vocab_name(vocab_query_types, req->query_type));
	if (t->justification_required && !req->has_justification)
		return refuse(out, PIUGW_EJUSTIFICATION,
			      "agreement %s requires a reasoned justification for every request",
			      pa->a->id);
	if (req->lookout) {
		/* A lookout counts against max_in_force, which its holder checks (state.db). */
		out->code = 0;
		out->categories = t->lookouts.categories;
		out->max_results = 1; /* one person per notification */
		out->mask_after_days = t->mask_after_days;
		out->disclosure = PIUGW__DISCLOSURE__DISCLOSURE_FULL;
		out->handling_code = t->handling_code;
		out->onward_transfer = t->onward_transfer;
		out->approval = t->lookouts.notify == VOCAB_NOTIFY_AFTER_APPROVAL
					? VOCAB_APPROVAL_MANUAL : VOCAB_APPROVAL_AUTOMATIC;
		out->min_score = t->min_score;
		return 0;
	}
	if (rates != NULL) {
		uint32_t hour, day;
		if ((re = rate_entry(rates, pa->a->id, t)) == NULL)
			return refuse(out, PIUGW_ENOMEM, "out of memory");
		rate_counts(re, req->now_ms, &hour, &day);
		if (hour >= t->rate_per_hour)
			return refuse(out, PIUGW_ERATELIMITED,
				      "agreement %s allows %u requests per hour from %s to %s; %u "
				      "in the last hour", pa->a->id, t->rate_per_hour, requester,
				      responder, hour);
		if (day >= t->rate_per_day)
			return refuse(out, PIUGW_ERATELIMITED,
				      "agreement %s allows %u requests per day from %s to %s; %u in "
				      "the last 24 hours", pa->a->id, t->rate_per_day, requester,
				      responder, day);
		rate_count(re, req->now_ms);
	}
	out->code = 0;
	out->categories = t->categories & (req->categories != 0 ? req->categories : ~(vocab_set)0);
	out->max_results = req->max_results != 0 && req->max_results < t->max_results
				   ? req->max_results : t->max_results;
	out->mask_after_days = t->mask_after_days;
	out->disclosure = t->disclosure;
	out->handling_code = t->handling_code;
	out->onward_transfer = t->onward_transfer;
	out->approval = t->approval;
	out->min_score = t->min_score;
	return 0;
}

/* ---- queries ---- */

/* See policy.h. */
int
policy_query_type(const Piugw__Query *q)
{
	switch (q->criteria_case) {
	case PIUGW__QUERY__CRITERIA_DOCUMENT: return PIUGW__QUERY_TYPE__QUERY_TYPE_DOCUMENT;
	case PIUGW__QUERY__CRITERIA_NAME: return PIUGW__QUERY_TYPE__QUERY_TYPE_NAME;
	case PIUGW__QUERY__CRITERIA_NAME_FUZZY: return PIUGW__QUERY_TYPE__QUERY_TYPE_NAME_FUZZY;
	case PIUGW__QUERY__CRITERIA_LOCATOR: return PIUGW__QUERY_TYPE__QUERY_TYPE_LOCATOR;
	case PIUGW__QUERY__CRITERIA_FLIGHT: return PIUGW__QUERY_TYPE__QUERY_TYPE_FLIGHT;
	case PIUGW__QUERY__CRITERIA_SELECTOR: return PIUGW__QUERY_TYPE__QUERY_TYPE_SELECTOR;
	default: return 0;
	}
}

static bool
blank(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	return true;
}

/*
 * Does s hold a control character (C0, DEL, or C1 as UTF-8)? Text a
 * partner sends reaches an approver's terminal and the audit log: a case
 * reference with an escape sequence or a line break could forge either.
 */
static bool
has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p != NULL && *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0))
			return true;
	return false;
}

/* A date of birth: a real calendar date, not after today (now_ms 0: the clock). */
static bool
dob_ok(const char *s, int64_t now_ms, char *why, size_t why_len)
{
	int32_t day;

	if (!num_parse_date(s, strlen(s), &day)) {
		snprintf(why, why_len, "date_of_birth is not a real YYYY-MM-DD date");
		return false;
	}
	if (now_ms == 0)
		now_ms = (int64_t)time(NULL) * 1000;
	if (day > num_day_of_ms(now_ms)) {
		snprintf(why, why_len, "date_of_birth is in the future");
		return false;
	}
	return true;
}

/* See policy.h. */
bool
policy_from_query(const Piugw__Query *q, struct policy_request *req, char *why, size_t why_len)
{
	const char *texts[] = {q->case_reference, q->justification, q->offence};
	const char *names[] = {"case_reference", "justification", "offence"};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (has_control(texts[i])) {
			snprintf(why, why_len, "%s holds control characters (an escape sequence or "
				 "a line break)", names[i]);
			return false;
		}
	req->purpose = (int)q->purpose;
	if (vocab_name(vocab_purposes, req->purpose)[0] == '?' || q->purpose == 0) {
		snprintf(why, why_len, "purpose %d is not one of %s", (int)q->purpose,
			 vocab_names(vocab_purposes));
		return false;
	}
	req->offence = 0;
	if (q->offence[0] != '\0' &&
	    (req->offence = vocab_offence(q->offence, strlen(q->offence))) < 0) {
		snprintf(why, why_len, "offence must be an Annex II code SC01..SC26");
		return false;
	}
	if ((req->query_type = policy_query_type(q)) == 0) {
		snprintf(why, why_len, "the query names no criteria");
		return false;
	}
	req->has_justification = !blank(q->justification);
	req->categories = 0;
	for (size_t i = 0; i < q->n_categories; i++) {
		if (vocab_name(vocab_categories, (int)q->categories[i])[0] == '?' ||
		    q->categories[i] == 0) {
			snprintf(why, why_len, "category %d is not one of %s", (int)q->categories[i],
				 vocab_names(vocab_categories));
			return false;
		}
		req->categories |= VOCAB_BIT(q->categories[i]);
	}
	req->max_results = q->max_results;
	switch (q->criteria_case) {
	case PIUGW__QUERY__CRITERIA_DOCUMENT:
		if (blank(q->document->number) || blank(q->document->issuing_state)) {
			snprintf(why, why_len, "a document query needs the number and issuing state");
			return false;
		}
		break;
	case PIUGW__QUERY__CRITERIA_NAME:
	case PIUGW__QUERY__CRITERIA_NAME_FUZZY: {
		const Piugw__NameCriteria *n = q->name != NULL ? q->name : q->name_fuzzy;
		if (blank(n->surname) || blank(n->date_of_birth)) {
			snprintf(why, why_len, "a name query needs the surname and date of birth");
			return false;
		}
		/* A date that no one has would only ever answer a false "no hit". */
		if (!dob_ok(n->date_of_birth, req->now_ms, why, why_len))
			return false;
		break;
	}
	case PIUGW__QUERY__CRITERIA_LOCATOR:
		if (blank(q->locator->record_locator)) {
			snprintf(why, why_len, "a locator query needs the record locator");
			return false;
		}
		break;
	case PIUGW__QUERY__CRITERIA_FLIGHT: {
		int32_t day;
		if (blank(q->flight->carrier) || blank(q->flight->flight_number) ||
		    blank(q->flight->departure_date)) {
			snprintf(why, why_len, "a flight query needs carrier, number and date");
			return false;
		}
		if (!num_parse_date(q->flight->departure_date, strlen(q->flight->departure_date),
				    &day)) {
			snprintf(why, why_len, "departure_date is not a real YYYY-MM-DD date");
			return false;
		}
		break;
	}
	case PIUGW__QUERY__CRITERIA_SELECTOR:
		if (q->selector->kind == 0 || q->selector->kind > 3 || blank(q->selector->value)) {
			snprintf(why, why_len, "a selector query needs a kind and a value");
			return false;
		}
		break;
	default:
		break;
	}
	return true;
}

/* ---- watching suspensions ---- */

/* (Re)add the watches and look at every agreement's suspension file. */
static void
watch_refresh(struct policy *p)
{
	char path[4096];
	const uint32_t what = IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE |
			      IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB | IN_ONLYDIR;

	/* The folder may come and go: watch its parent for it, and it when it is there. */
	snprintf(path, sizeof(path), "%s/%s", p->cfg->state_dir, SUSPENDED_DIR);
	(void)inotify_add_watch(p->watch_fd, path, what);
	for (size_t i = 0; i < p->n; i++) {
		struct policy_agreement *pa = &p->agreements[i];
		pa->live_suspended = pa->suspend_path != NULL && access(pa->suspend_path, F_OK) == 0;
	}
}

/* See policy.h. */
int
policy_watch(struct policy *p)
{
	if (p->watch_fd >= 0)
		return p->watch_fd;
	if ((p->watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		return -1;
	if (inotify_add_watch(p->watch_fd, p->cfg->state_dir,
			      IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ONLYDIR) < 0) {
		close(p->watch_fd);
		p->watch_fd = -1;
		return -1;
	}
	watch_refresh(p);
	for (size_t i = 0; i < p->n; i++)
		p->agreements[i].watched = true;
	return p->watch_fd;
}

/* See policy.h. */
void
policy_watch_changed(struct policy *p)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	if (p->watch_fd < 0)
		return;
	/* Whatever the events say (even a queue overflow), every file is looked at again. */
	while (read(p->watch_fd, buf, sizeof(buf)) > 0)
		;
	watch_refresh(p);
}

/* ---- suspension ---- */

static char *
suspension_path(const char *state_dir, const char *id, bool mkdirs, struct diag *d)
{
	size_t n = strlen(state_dir) + sizeof("/" SUSPENDED_DIR "/") + strlen(id);
	char *path = malloc(n);

	if (path == NULL)
		return NULL;
	if (state_dir[0] == '\0' || id[0] == '\0') {
		diag_add(d, "no state directory or agreement id given");
		free(path);
		return NULL;
	}
	for (const char *c = id; *c; c++) {
		if (*c == '/' || (c == id && *c == '.')) {
			diag_add(d, "'%s' is not an agreement id", id);
			free(path);
			return NULL;
		}
	}
	snprintf(path, n, "%s/%s", state_dir, SUSPENDED_DIR);
	if (mkdirs && mkdir(path, 0700) != 0 && errno != EEXIST) {
		diag_add(d, "%s: cannot create: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	snprintf(path, n, "%s/%s/%s", state_dir, SUSPENDED_DIR, id);
	return path;
}

/* See policy.h. */
int
policy_suspend(const char *state_dir, const char *id, const char *reason, struct diag *d)
{
	char *path = suspension_path(state_dir, id, true, d);
	char text[300];
	int ret;

	if (path == NULL)
		return PIUGW_EINVAL;
	snprintf(text, sizeof(text), "%.250s\n", reason != NULL ? reason : "");
	for (char *c = text; *c && c[1]; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	unlink(path); /* a new reason replaces the old one */
	ret = fileio_create_excl(path, 0600, text, strlen(text), d); /* the state is the gateway's own */
	free(path);
	return ret;
}

/* See policy.h. */
int
policy_resume(const char *state_dir, const char *id, struct diag *d)
{
	char *path = suspension_path(state_dir, id, false, d);
	int ret = 0;

	if (path == NULL)
		return PIUGW_EINVAL;
	if (unlink(path) != 0) {
		if (errno == ENOENT) {
			diag_add(d, "agreement %s is not suspended", id);
			ret = PIUGW_ENOENT;
		} else {
			diag_add(d, "%s: cannot remove: %s", path, strerror(errno));
			ret = PIUGW_ESYSTEM;
		}
	}
	free(path);
	return ret;
}

/* ---- who may: members over the network, users on this machine ---- */

/* See policy.h. */
bool
policy_admitted(const struct policy *p, const char *id, int64_t now_ms)
{
	if (strcmp(id, p->cfg->id) == 0 || directory_member(p->dir, id) == NULL)
		return false;
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->agreements[i].peer, id) == 0 &&
		    policy_agreement_state(&p->agreements[i], now_ms, NULL, 0) == POLICY_IN_FORCE)
			return true;
	return false;
}

/* See policy.h. */
bool
policy_member(const struct policy *p, const char *id)
{
	return strcmp(id, p->cfg->id) != 0 && directory_member(p->dir, id) != NULL;
}

/* See policy.h. */
bool
policy_local_admin(uint32_t uid)
{
	return uid == 0 || uid == (uint32_t)geteuid();
}

/* Is local user uid a member of one of the n groups? Unknown users: no. */
static bool
in_groups(uint32_t uid, char *const *names, size_t n)
{
	struct passwd pw, *pres = NULL;
	char buf[4096];
	gid_t groups[256];
	int ng = 256;

	if (n == 0 || getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &pres) != 0 || pres == NULL ||
	    getgrouplist(pw.pw_name, pw.pw_gid, groups, &ng) < 0)
		return false; /* unknown, or in more groups than we look at: fail closed */
	for (size_t i = 0; i < n; i++) {
		struct group gr, *gres = NULL;
		char gbuf[4096];
		if (getgrnam_r(names[i], &gr, gbuf, sizeof(gbuf), &gres) != 0 || gres == NULL)
			continue;
		for (int k = 0; k < ng; k++)
			if (groups[k] == gr.gr_gid)
				return true;
	}
	return false;
}

/* See policy.h. */
bool
policy_may_decide(const struct policy *p, uint32_t uid)
{
	const struct config *c = p->cfg;

	if (policy_local_admin(uid) || c->napprovers == 0)
		return true;
	return in_groups(uid, c->approvers, c->napprovers);
}

/* See policy.h. */
bool
policy_may_authorise(const struct policy *p, uint32_t uid)
{
	/* No one by default, and no one by being root: a separate role, named. */
	return in_groups(uid, p->cfg->authorisers, p->cfg->nauthorisers);
}

/* See policy.h. */
bool
policy_may_audit(const struct policy *p, uint32_t uid)
{
	return policy_local_admin(uid) || in_groups(uid, p->cfg->auditors, p->cfg->nauditors);
}

/* See policy.h. */
bool
policy_is_delegate(const struct policy *p, uint32_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (p->cfg->ndelegates == 0 || getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) != 0 ||
	    res == NULL)
		return false;
	for (size_t i = 0; i < p->cfg->ndelegates; i++)
		if (strcmp(p->cfg->delegates[i], pw.pw_name) == 0)
			return true;
	return false;
}

/* See policy.h. */
int
policy_agreement_check(const struct policy *p, const char *agreement_id, const char *peer,
		       const uint8_t *hash, const char *requester, const char *responder,
		       int64_t now_ms, const struct policy_agreement **pap,
		       const struct agreement_terms **tp, char *why, size_t n)
{
	const struct policy_agreement *pa = policy_agreement(p, agreement_id);
	char st[200], hex[2 * AGREEMENT_HASH_BYTES + 1];

	if (pa == NULL || strcmp(pa->peer, peer) != 0) {
		snprintf(why, n, "no agreement %s between %s and %s", agreement_id, p->cfg->id,
			 peer);
		return PIUGW_ENOAGREEMENT;
	}
	if (hash != NULL && sodium_memcmp(hash, pa->a->hash, AGREEMENT_HASH_BYTES) != 0) {
		sodium_bin2hex(hex, sizeof(hex), pa->a->hash, AGREEMENT_HASH_BYTES);
		snprintf(why, n, "%s", hex);
		return PIUGW_EAGREEMENTMISMATCH;
	}
	if (policy_agreement_state(pa, now_ms, st, sizeof(st)) != POLICY_IN_FORCE) {
		snprintf(why, n, "agreement %s is not in force: %s", pa->a->id, st);
		return PIUGW_ENOTINFORCE;
	}
	if ((*tp = agreement_terms_for(pa->a, requester, responder)) == NULL) {
		snprintf(why, n, "agreement %s has no terms for requests from %s to %s", pa->a->id,
			 requester, responder);
		return PIUGW_ENOAGREEMENT;
	}
	*pap = pa;
	return 0;
}
