/*
 * yamlconf.c: see yamlconf.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdarg.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "piugw/error.h"
#include "yamlconf.h"

static void yconf_vreport(struct yconf *y, const yaml_node_t *n, const char *kind,
			  const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void
yconf_vreport(struct yconf *y, const yaml_node_t *n, const char *kind, const char *fmt,
	      va_list ap)
{
	char msg[768];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n != NULL)
		diag_add(y->d, "%s:%u:%u: %s%s", y->label, yconf_line(n), yconf_col(n), kind, msg);
	else
		diag_add(y->d, "%s: %s%s", y->label, kind, msg);
}

/* See yamlconf.h. */
void
yconf_error(struct yconf *y, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	yconf_vreport(y, n, "", fmt, ap);
	va_end(ap);
	y->errors++;
}

/* See yamlconf.h. */
void
yconf_warn(struct yconf *y, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	yconf_vreport(y, n, "warning: ", fmt, ap);
	va_end(ap);
}

/* See yamlconf.h. */
unsigned
yconf_line(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.line + 1;
}

/* See yamlconf.h. */
unsigned
yconf_col(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.column + 1;
}

/* Report a libyaml parser error with its position. */
static void
parser_error(struct yconf *y, const yaml_parser_t *p)
{
	const yaml_mark_t *m = p->problem != NULL ? &p->problem_mark : &p->context_mark;

	diag_add(y->d, "%s:%zu:%zu: YAML syntax error: %s%s%s", y->label, m->line + 1,
		 m->column + 1, p->problem != NULL ? p->problem : "unknown problem",
		 p->context != NULL ? " " : "", p->context != NULL ? p->context : "");
	y->errors++;
}

/*
 * Scan the event stream first: exactly one document, no anchors or aliases.
 * libyaml's document API would otherwise share one node between places.
 */
static bool
prescan(struct yconf *y, const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	unsigned docs = 0;
	bool ok = true, done = false;

	if (!yaml_parser_initialize(&p))
		return false;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			parser_error(y, &p);
			ok = false;
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				diag_add(y->d, "%s:%zu:1: a second YAML document; one file holds one",
					 y->label, ev.start_mark.line + 1);
				y->errors++;
				ok = false;
			}
			break;
		case YAML_ALIAS_EVENT:
			diag_add(y->d, "%s:%zu:%zu: aliases (*%s) are not allowed; write the value out",
				 y->label, ev.start_mark.line + 1, ev.start_mark.column + 1,
				 (const char *)ev.data.alias.anchor);
			y->errors++;
			ok = false;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			const yaml_char_t *anchor = ev.type == YAML_SCALAR_EVENT
							    ? ev.data.scalar.anchor
						    : ev.type == YAML_SEQUENCE_START_EVENT
							    ? ev.data.sequence_start.anchor
							    : ev.data.mapping_start.anchor;
			if (anchor != NULL) {
				diag_add(y->d, "%s:%zu:%zu: anchors (&%s) are not allowed",
					 y->label, ev.start_mark.line + 1,
					 ev.start_mark.column + 1, (const char *)anchor);
				y->errors++;
				ok = false;
			}
			break;
		}
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (ok && docs == 0) {
		diag_add(y->d, "%s: the file is empty", y->label);
		y->errors++;
		ok = false;
	}
	return ok;
}

static bool
scalar_eq(const yaml_node_t *n, const char *s)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
	       memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

/* Report duplicate keys in every mapping of the tree under n. */
static void
check_duplicates(struct yconf *y, yaml_node_t *n, unsigned depth)
{
	if (n == NULL || depth > 64)
		return;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++)
			check_duplicates(y, yaml_document_get_node(&y->doc, *it), depth + 1);
	} else if (n->type == YAML_MAPPING_NODE) {
		yaml_node_pair_t *start = n->data.mapping.pairs.start;
		for (yaml_node_pair_t *p = start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);
			if (k->type != YAML_SCALAR_NODE) {
				yconf_error(y, k, "keys must be plain words");
				continue;
			}
			for (yaml_node_pair_t *q = start; q < p; q++) {
				yaml_node_t *k2 = yaml_document_get_node(&y->doc, q->key);
				if (k2->type == YAML_SCALAR_NODE &&
				    k2->data.scalar.length == k->data.scalar.length &&
				    memcmp(k2->data.scalar.value, k->data.scalar.value,
					   k->data.scalar.length) == 0) {
					yconf_error(y, k, "duplicate key '%.*s' (first at line %u)",
						    (int)k->data.scalar.length,
						    (const char *)k->data.scalar.value, yconf_line(k2));
					break;
				}
			}
			check_duplicates(y, yaml_document_get_node(&y->doc, p->value), depth + 1);
		}
	}
}

/* See yamlconf.h. */
int
yconf_load(struct yconf *y, const char *text, size_t len, const char *label, struct diag *d)
{
	yaml_parser_t p;
	yaml_node_t *root;

	memset(y, 0, sizeof(*y));
	y->label = label;
	y->d = d;
	/* No bytes at all (an empty protobuf field is NULL): an empty text, not a NULL one. */
	if (text == NULL) {
		text = "";
		len = 0;
	}
	if (len > YCONF_FILE_MAX) {
		diag_add(d, "%s: %zu bytes, more than the %d allowed", label, len, YCONF_FILE_MAX);
		return PIUGW_ECONFIG;
	}
	if (memchr(text, '\0', len) != NULL) {
		diag_add(d, "%s: contains a NUL byte: not a text file", label);
		return PIUGW_ECONFIG;
	}
	if (!prescan(y, text, len))
		return PIUGW_ECONFIG;
	if (!yaml_parser_initialize(&p))
		return PIUGW_ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &y->doc)) {
		parser_error(y, &p);
		yaml_parser_delete(&p);
		return PIUGW_ECONFIG;
	}
	yaml_parser_delete(&p);
	y->loaded = true;
	root = yaml_document_get_root_node(&y->doc);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		yconf_error(y, root, "expected a mapping of 'key: value' lines at the top");
		yconf_free(y);
		return PIUGW_ECONFIG;
	}
	check_duplicates(y, root, 0);
	return 0;
}

/* See yamlconf.h. */
int
yconf_status(const struct yconf *y)
{
	if (y->oom)
		return PIUGW_ENOMEM;
	return y->errors != 0 ? PIUGW_ECONFIG : 0;
}

/* See yamlconf.h. */
void *
yconf_mem(struct yconf *y, void *p)
{
	if (p == NULL)
		y->oom = true;
	return p;
}

/* See yamlconf.h. */
void
yconf_free(struct yconf *y)
{
	if (y->loaded)
		yaml_document_delete(&y->doc);
	y->loaded = false;
}

/* See yamlconf.h. */
yaml_node_t *
yconf_root(struct yconf *y)
{
	return yaml_document_get_root_node(&y->doc);
}

/* Edit distance, for "did you mean". Small strings only. */
static size_t
distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

/* See yamlconf.h. */
bool
yconf_map(struct yconf *y, yaml_node_t *n, const char *what, const char *const allowed[])
{
	if (n == NULL || n->type != YAML_MAPPING_NODE) {
		yconf_error(y, n, "%s must be a mapping of 'key: value' lines", what);
		return false;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);
		const char *best = NULL;
		size_t best_d = 99;
		bool known = false;
		char list[512];
		size_t o = 0;

		if (k->type != YAML_SCALAR_NODE)
			continue; /* reported by check_duplicates */
		for (size_t i = 0; allowed[i] != NULL; i++) {
			size_t dd;
			if (scalar_eq(k, allowed[i])) {
				known = true;
				break;
			}
			dd = distance((const char *)k->data.scalar.value, k->data.scalar.length,
				      allowed[i]);
			if (dd < best_d) {
				best_d = dd;
				best = allowed[i];
			}
			o += (size_t)snprintf(list + o, o < sizeof(list) ? sizeof(list) - o : 0,
					      "%s%s", i == 0 ? "" : ", ", allowed[i]);
			if (o >= sizeof(list))
				o = sizeof(list) - 1;
		}
		if (known)
			continue;
		if (best != NULL && best_d <= 2)
			yconf_error(y, k, "unknown key '%.*s' in %s; did you mean '%s'?",
				    (int)k->data.scalar.length, (const char *)k->data.scalar.value,
				    what, best);
		else
			yconf_error(y, k, "unknown key '%.*s' in %s; expected one of: %s",
				    (int)k->data.scalar.length, (const char *)k->data.scalar.value,
				    what, list);
	}
	return true;
}

/* See yamlconf.h. */
yaml_node_t *
yconf_get(struct yconf *y, yaml_node_t *m, const char *key)
{
	if (m == NULL || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
		if (scalar_eq(yaml_document_get_node(&y->doc, p->key), key))
			return yaml_document_get_node(&y->doc, p->value);
	return NULL;
}

/* See yamlconf.h. */
yaml_node_t *
yconf_need(struct yconf *y, yaml_node_t *m, const char *key, const char *what)
{
	yaml_node_t *v = yconf_get(y, m, key);

	if (v == NULL && m != NULL && m->type == YAML_MAPPING_NODE)
		yconf_error(y, m, "missing '%s' in %s", key, what);
	return v;
}

/* See yamlconf.h. */
bool
yconf_seq(struct yconf *y, yaml_node_t *n, const char *what)
{
	if (n == NULL || n->type != YAML_SEQUENCE_NODE) {
		yconf_error(y, n, "%s must be a list, e.g. [a, b]", what);
		return false;
	}
	return true;
}

/* See yamlconf.h. */
size_t
yconf_seq_len(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SEQUENCE_NODE)
		return 0;
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

/* See yamlconf.h. */
yaml_node_t *
yconf_seq_at(struct yconf *y, yaml_node_t *n, size_t i)
{
	return yaml_document_get_node(&y->doc, n->data.sequence.items.start[i]);
}

/* See yamlconf.h. */
bool
yconf_str(struct yconf *y, yaml_node_t *n, const char *what, const char **out, size_t *lenp)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE) {
		yconf_error(y, n, "%s must be a single value, not a list or mapping", what);
		return false;
	}
	*out = (const char *)n->data.scalar.value;
	*lenp = n->data.scalar.length;
	return true;
}

/* See yamlconf.h. */
bool
yconf_uint(struct yconf *y, yaml_node_t *n, const char *what, uint64_t min, uint64_t max,
	   uint64_t *out)
{
	const char *s;
	size_t len;

	if (!yconf_str(y, n, what, &s, &len))
		return false;
	if (!num_parse_u64(s, len, min, max, out)) {
		yconf_error(y, n, "%s '%.*s' is not a whole number from %ju to %ju", what,
			    (int)(len > 40 ? 40 : len), s, (uintmax_t)min, (uintmax_t)max);
		return false;
	}
	return true;
}

/* See yamlconf.h. */
bool
yconf_double(struct yconf *y, yaml_node_t *n, const char *what, double min, double max,
	     double *out)
{
	const char *s;
	size_t len;

	if (!yconf_str(y, n, what, &s, &len))
		return false;
	if (!num_parse_double(s, len, min, max, out)) {
		yconf_error(y, n, "%s '%.*s' is not a number from %g to %g", what,
			    (int)(len > 40 ? 40 : len), s, min, max);
		return false;
	}
	return true;
}

/* See yamlconf.h. */
bool
yconf_date(struct yconf *y, yaml_node_t *n, const char *what, int32_t *days)
{
	const char *s;
	size_t len;

	if (!yconf_str(y, n, what, &s, &len))
		return false;
	if (!num_parse_date(s, len, days)) {
		yconf_error(y, n, "%s '%.*s' is not a date; write YYYY-MM-DD, e.g. 2026-01-31", what,
			    (int)(len > 40 ? 40 : len), s);
		return false;
	}
	return true;
}

/* See yamlconf.h. */
bool
yconf_word(struct yconf *y, yaml_node_t *n, const char *what, const struct vocab *list, int *out)
{
	const char *s;
	size_t len;
	int v;

	if (!yconf_str(y, n, what, &s, &len))
		return false;
	if ((v = vocab_value(list, s, len)) < 0) {
		yconf_error(y, n, "unknown %s '%.*s'; expected one of: %s", what,
			    (int)(len > 40 ? 40 : len), s, vocab_names(list));
		return false;
	}
	*out = v;
	return true;
}

/* See yamlconf.h. */
bool
yconf_bool(struct yconf *y, yaml_node_t *n, const char *what, bool *out)
{
	if (n != NULL && (scalar_eq(n, "true") || scalar_eq(n, "yes"))) {
		*out = true;
		return true;
	}
	if (n != NULL && (scalar_eq(n, "false") || scalar_eq(n, "no"))) {
		*out = false;
		return true;
	}
	yconf_error(y, n, "%s must be true or false", what);
	return false;
}

/* See yamlconf.h. */
bool
yconf_word_set(struct yconf *y, yaml_node_t *n, const char *what, const struct vocab *list,
	       bool allow_empty, vocab_set *out)
{
	vocab_set set = 0;
	bool ok = true;

	if (!yconf_seq(y, n, what))
		return false;
	if (yconf_seq_len(n) == 0 && !allow_empty) {
		yconf_error(y, n, "%s is empty; list at least one of: %s", what, vocab_names(list));
		return false;
	}
	for (size_t i = 0; i < yconf_seq_len(n); i++) {
		yaml_node_t *item = yconf_seq_at(y, n, i);
		int v;
		if (!yconf_word(y, item, what, list, &v)) {
			ok = false;
			continue;
		}
		if (set & VOCAB_BIT(v)) {
			yconf_error(y, item, "%s '%s' listed twice", what, vocab_name(list, v));
			ok = false;
		}
		set |= VOCAB_BIT(v);
	}
	*out = set;
	return ok;
}

/* See yamlconf.h. */
char *
yconf_strdup(struct yconf *y, yaml_node_t *n, const char *what)
{
	const char *s;
	size_t len;
	char *c;

	if (!yconf_str(y, n, what, &s, &len))
		return NULL;
	if ((c = yconf_mem(y, malloc(len + 1))) == NULL)
		return NULL;
	memcpy(c, s, len);
	c[len] = '\0';
	return c;
}

/* ---- writing ---- */

static int
out_write(void *ctx, unsigned char *b, size_t n)
{
	struct yconf_out *o = ctx;

	if (o->n + n + 1 > o->cap) {
		size_t cap = (o->n + n + 1) * 2;
		char *np = realloc(o->p, cap);
		if (np == NULL)
			return 0;
		o->p = np;
		o->cap = cap;
	}
	memcpy(o->p + o->n, b, n);
	o->n += n;
	o->p[o->n] = '\0';
	return 1;
}

static int
emit(yaml_emitter_t *e, yaml_event_t *ev)
{
	return yaml_emitter_emit(e, ev) ? 0 : PIUGW_EINTERNAL;
}

/* See yamlconf.h. */
int
yconf_emit_begin(yaml_emitter_t *e, struct yconf_out *o)
{
	yaml_event_t ev;

	memset(o, 0, sizeof(*o));
	if (!yaml_emitter_initialize(e))
		return PIUGW_ENOMEM;
	yaml_emitter_set_output(e, out_write, o);
	yaml_emitter_set_unicode(e, 1);
	yaml_emitter_set_width(e, -1);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || emit(e, &ev) != 0 ||
	    !yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) || emit(e, &ev) != 0) {
		yaml_emitter_delete(e);
		free(o->p);
		return PIUGW_ENOMEM;
	}
	return 0;
}

/* See yamlconf.h. */
int
yconf_emit_end(yaml_emitter_t *e, struct yconf_out *o, int rc, char **outp, size_t *lenp)
{
	yaml_event_t ev;

	if (rc == 0 && (!yaml_document_end_event_initialize(&ev, 1) || emit(e, &ev) != 0 ||
			!yaml_stream_end_event_initialize(&ev) || emit(e, &ev) != 0))
		rc = PIUGW_EINTERNAL;
	yaml_emitter_delete(e);
	if (rc != 0) {
		free(o->p);
		return rc;
	}
	*outp = o->p;
	*lenp = o->n;
	return 0;
}

/* See yamlconf.h. */
int
yconf_emit_scalar(yaml_emitter_t *e, const char *v, bool quoted)
{
	yaml_event_t ev;

	/* Untagged, a plain string either way; quoted where free text or Z85 could be misread. */
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)v, (int)strlen(v), 1, 1,
					  quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
						 : YAML_PLAIN_SCALAR_STYLE))
		return PIUGW_ENOMEM;
	return emit(e, &ev);
}

/* See yamlconf.h. */
int
yconf_emit_pair(yaml_emitter_t *e, const char *k, const char *v, bool quoted)
{
	int rc = yconf_emit_scalar(e, k, false);

	return rc != 0 ? rc : yconf_emit_scalar(e, v, quoted);
}

/* See yamlconf.h. */
int
yconf_emit_block(yaml_emitter_t *e, bool map, bool start)
{
	yaml_event_t ev;
	int ok;

	if (map)
		ok = start ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
								 YAML_BLOCK_MAPPING_STYLE)
			   : yaml_mapping_end_event_initialize(&ev);
	else
		ok = start ? yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
								  YAML_BLOCK_SEQUENCE_STYLE)
			   : yaml_sequence_end_event_initialize(&ev);
	return ok ? emit(e, &ev) : PIUGW_ENOMEM;
}

/* n of y's document and what it holds, each scalar through f (key: its mapping key, or NULL). */
static int
emit_tree(yaml_emitter_t *e, struct yconf *y, yaml_node_t *n, const char *key, int depth,
	  yconf_subst_fn f, void *ctx)
{
	yaml_event_t ev;
	int rc = 0;

	if (n == NULL || depth > 64)
		return PIUGW_ECONFIG;
	switch (n->type) {
	case YAML_SCALAR_NODE: {
		const char *v = (const char *)n->data.scalar.value, *w = f != NULL ? f(ctx, key, v) : v;
		bool plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
			     n->data.scalar.style == YAML_ANY_SCALAR_STYLE;
		if (w == NULL)
			w = v;
		/* A plain value stays plain; the emitter quotes what would be misread. */
		if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)w, (int)strlen(w),
						  1, 1,
						  plain ? YAML_PLAIN_SCALAR_STYLE
							: n->data.scalar.style))
			return PIUGW_ENOMEM;
		return emit(e, &ev);
	}
	case YAML_SEQUENCE_NODE:
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							  n->data.sequence.style) ||
		    emit(e, &ev) != 0)
			return PIUGW_ENOMEM;
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top && rc == 0; it++)
			rc = emit_tree(e, y, yaml_document_get_node(&y->doc, *it), key, depth + 1, f,
				       ctx);
		if (rc == 0 && (!yaml_sequence_end_event_initialize(&ev) || emit(e, &ev) != 0))
			rc = PIUGW_ENOMEM;
		return rc;
	case YAML_MAPPING_NODE:
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, n->data.mapping.style) ||
		    emit(e, &ev) != 0)
			return PIUGW_ENOMEM;
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top && rc == 0; p++) {
			yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);
			const char *kn = k != NULL && k->type == YAML_SCALAR_NODE
						 ? (const char *)k->data.scalar.value
						 : NULL;
			rc = emit_tree(e, y, k, NULL, depth + 1, NULL, NULL);
			if (rc == 0)
				rc = emit_tree(e, y, yaml_document_get_node(&y->doc, p->value), kn,
					       depth + 1, f, ctx);
		}
		if (rc == 0 && (!yaml_mapping_end_event_initialize(&ev) || emit(e, &ev) != 0))
			rc = PIUGW_ENOMEM;
		return rc;
	default:
		return PIUGW_ECONFIG;
	}
}

/* See yamlconf.h. */
int
yconf_rewrite(struct yconf *y, yconf_subst_fn f, void *ctx, char **outp, size_t *lenp)
{
	struct yconf_out o;
	yaml_emitter_t e;
	int rc;

	*outp = NULL;
	*lenp = 0;
	if ((rc = yconf_emit_begin(&e, &o)) != 0)
		return rc;
	rc = emit_tree(&e, y, yconf_root(y), NULL, 0, f, ctx);
	return yconf_emit_end(&e, &o, rc, outp, lenp);
}

/* ---- paths ---- */

/* See yamlconf.h. */
char *
yconf_join(const char *base, const char *rel)
{
	size_t n;
	char *p;

	if (rel[0] == '/' || base == NULL)
		return strdup(rel);
	n = strlen(base) + 1 + strlen(rel) + 1;
	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "%s/%s", base, rel);
	return p;
}

/* See yamlconf.h. */
char *
yconf_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *d;

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	if ((d = malloc((size_t)(slash - path) + 1)) != NULL) {
		memcpy(d, path, (size_t)(slash - path));
		d[slash - path] = '\0';
	}
	return d;
}

/* See yamlconf.h. */
char *
yconf_path(struct yconf *y, yaml_node_t *n, const char *what, const char *base, const char *def)
{
	char *raw, *p;

	if (n == NULL)
		return def != NULL ? yconf_mem(y, yconf_join(base, def)) : NULL;
	if ((raw = yconf_strdup(y, n, what)) == NULL)
		return NULL;
	if (raw[0] == '\0') {
		yconf_error(y, n, "%s is empty", what);
		free(raw);
		return NULL;
	}
	p = yconf_mem(y, yconf_join(base, raw));
	free(raw);
	return p;
}

/* ---- users and groups ---- */

/* See yamlconf.h. */
void
yconf_names(struct yconf *y, yaml_node_t *v, const char *key, const char *why_none, bool users,
	   char ***vp, size_t *np)
{
	const char *what = users ? "user" : "group";

	size_t n;

	if (v == NULL || !yconf_seq(y, v, key))
		return;
	n = yconf_seq_len(v);
	if (n == 0 || n > 16) {
		yconf_error(y, v, "%s lists 1 to 16 %ss (%s)", key, what, why_none);
		return;
	}
	if ((*vp = yconf_mem(y, calloc(n, sizeof(**vp)))) == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *it = yconf_seq_at(y, v, i);
		const char *grp;
		size_t l;
		if (it == NULL || !yconf_str(y, it, what, &grp, &l))
			continue;
		if (l == 0 || l > 64 || strlen(grp) != l || memchr(grp, ':', l) != NULL) {
			yconf_error(y, it, "'%.64s' is not a %s name", grp, what);
			continue;
		}
		/* A group dropped would let someone else decide: all or none. */
		if (((*vp)[*np] = yconf_mem(y, strndup(grp, l))) == NULL)
			continue;
		if (users && getpwnam((*vp)[*np]) == NULL)
			yconf_warn(y, it, "%s: there is no user '%s' on this machine", key,
				   (*vp)[*np]);
		else if (!users && getgrnam((*vp)[*np]) == NULL)
			yconf_warn(y, it, "%s: there is no group '%s' on this machine (nobody in it "
					  "may decide)", key, (*vp)[*np]);
		(*np)++;
	}
}
