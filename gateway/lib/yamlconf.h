/*
 * yamlconf.h: reading the administrator's YAML files with libyaml, strictly.
 *
 * Every problem becomes one diagnostic "label:line:col: what is wrong, and
 * what would be right"; a reader keeps going after an error so that all of
 * them are reported at once. Unknown and duplicate keys are errors (a typo
 * must never silently drop a restriction), and so are anchors and aliases
 * (they make one node appear in several places, and billion-laughs files).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_YAMLCONF_H
#define PIUGW_YAMLCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "diag.h"
#include "vocab.h"

#define YCONF_FILE_MAX (1024 * 1024)

struct yconf {
	yaml_document_t doc;
	bool loaded;
	const char *label; /* borrowed: the caller keeps it alive */
	struct diag *d;
	unsigned errors;   /* diagnostics added through this reader */
	bool oom;          /* an allocation failed: the result is PIUGW_ENOMEM */
};

/*
 * Parse text as one YAML document whose root is a mapping. Returns 0, or
 * PIUGW_ECONFIG with the reasons in d (and y unusable).
 */
int yconf_load(struct yconf *y, const char *text, size_t len, const char *label, struct diag *d);

/*
 * What a parse built on y comes to: PIUGW_ENOMEM if an allocation failed
 * (the file may be fine), else PIUGW_ECONFIG if any error was reported,
 * else 0.
 */
int yconf_status(const struct yconf *y);

/* p, noting in y that an allocation failed when it is NULL. */
void *yconf_mem(struct yconf *y, void *p);

/* Free the document. Safe on a failed or zeroed yconf. */
void yconf_free(struct yconf *y);

yaml_node_t *yconf_root(struct yconf *y);

/* Report a problem at node n (or at the start of the file if n is NULL). */
void yconf_error(struct yconf *y, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Report a warning at node n, without counting it as an error. */
void yconf_warn(struct yconf *y, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* 1-based line and column of n. */
unsigned yconf_line(const yaml_node_t *n);
unsigned yconf_col(const yaml_node_t *n);

/*
 * Check that n is a mapping whose keys are all in allowed (NULL-ended);
 * report each other key with the closest allowed one. Returns false if n is
 * not a mapping.
 */
bool yconf_map(struct yconf *y, yaml_node_t *n, const char *what, const char *const allowed[]);

/* ---- writing YAML (libyaml's emitter) ---- */

/* What an emitter writes: a growing, NUL-ended buffer. */
struct yconf_out {
	char *p;
	size_t n, cap;
};

/* Start a one-document stream into o (UTF-8, no line folding). */
int yconf_emit_begin(yaml_emitter_t *e, struct yconf_out *o);
/* End it if rc is 0 (else only clean up): *outp (malloc'd) and *lenp, or rc. */
int yconf_emit_end(yaml_emitter_t *e, struct yconf_out *o, int rc, char **outp, size_t *lenp);
/* A string, double-quoted with quoted, else plain. */
int yconf_emit_scalar(yaml_emitter_t *e, const char *v, bool quoted);
int yconf_emit_pair(yaml_emitter_t *e, const char *k, const char *v, bool quoted);
/* Start or end a block mapping (map) or sequence. */
int yconf_emit_block(yaml_emitter_t *e, bool map, bool start);

/*
 * A scalar's replacement: key is the mapping key it is the value of (NULL
 * for a key itself or outside a mapping); NULL keeps value.
 */
typedef const char *(*yconf_subst_fn)(void *ctx, const char *key, const char *value);
/*
 * y's document written back, each value passed through f, the styles of its
 * collections and quoted scalars kept (comments are lost: libyaml keeps
 * none).
 */
int yconf_rewrite(struct yconf *y, yconf_subst_fn f, void *ctx, char **outp, size_t *lenp);

/* The value of key in mapping m, or NULL. */
yaml_node_t *yconf_get(struct yconf *y, yaml_node_t *m, const char *key);

/* The value of key in mapping m; reports "missing 'key' in WHAT" if absent. */
yaml_node_t *yconf_need(struct yconf *y, yaml_node_t *m, const char *key, const char *what);

/* True if n is a sequence (else reports it, naming what). */
bool yconf_seq(struct yconf *y, yaml_node_t *n, const char *what);
size_t yconf_seq_len(const yaml_node_t *n);
yaml_node_t *yconf_seq_at(struct yconf *y, yaml_node_t *n, size_t i);

/*
 * Scalars. Each returns false after reporting what was wrong and what was
 * expected. Strings are NUL-free and borrowed from the document.
 */
bool yconf_str(struct yconf *y, yaml_node_t *n, const char *what, const char **out, size_t *lenp);
bool yconf_uint(struct yconf *y, yaml_node_t *n, const char *what, uint64_t min, uint64_t max,
		uint64_t *out);
bool yconf_double(struct yconf *y, yaml_node_t *n, const char *what, double min, double max,
		  double *out);
bool yconf_date(struct yconf *y, yaml_node_t *n, const char *what, int32_t *days);
bool yconf_word(struct yconf *y, yaml_node_t *n, const char *what, const struct vocab *list,
		int *out);
bool yconf_bool(struct yconf *y, yaml_node_t *n, const char *what, bool *out);

/*
 * A sequence of words from list, as a bit set. Duplicates are errors.
 * An empty sequence is an error unless allow_empty.
 */
bool yconf_word_set(struct yconf *y, yaml_node_t *n, const char *what, const struct vocab *list,
		    bool allow_empty, vocab_set *out);

/* Copy a string value into a new malloc'd string (NULL on failure). */
char *yconf_strdup(struct yconf *y, yaml_node_t *n, const char *what);

/* ---- paths ---- */

/* base/rel, or rel itself when absolute or base is NULL (malloc'd; NULL: no memory). */
char *yconf_join(const char *base, const char *rel);
/* The directory part of path ("." for none), malloc'd. */
char *yconf_dir_of(const char *path);
/*
 * A path value at n resolved against base; or def (also resolved) when n is
 * NULL; NULL after reporting an empty or non-string value.
 */
char *yconf_path(struct yconf *y, yaml_node_t *n, const char *what, const char *base,
		 const char *def);

/* ---- users and groups ---- */

/*
 * A list of 1 to 16 group names (or with users, user names) at v (NULL:
 * nothing) into *vp and *np, each malloc'd; an empty or longer list is an
 * error saying why_none (what leaving the key out means). A name that does
 * not exist on this machine is a warning.
 */
void yconf_names(struct yconf *y, yaml_node_t *v, const char *key, const char *why_none,
		 bool users, char ***vp, size_t *np);

#endif /* PIUGW_YAMLCONF_H */
