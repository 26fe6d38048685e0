/*
 * vocab.h: the words of agreements and queries (DESIGN.md sections 3 and 5)
 * and the numbers they have on the wire (proto/body.proto). One table each,
 * used by the agreement parser, the policy, the CLI and the JSON output.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_VOCAB_H
#define PIUGW_VOCAB_H

#include <stddef.h>
#include <stdint.h>

struct vocab {
	const char *name;
	int value; /* the proto enum value */
};

/* Each list ends with {NULL, 0}. */
extern const struct vocab vocab_purposes[];
extern const struct vocab vocab_query_types[];
extern const struct vocab vocab_categories[];
extern const struct vocab vocab_disclosures[];
extern const struct vocab vocab_handling_codes[];
extern const struct vocab vocab_onward_transfers[];
extern const struct vocab vocab_approvals[];
extern const struct vocab vocab_justifications[];
extern const struct vocab vocab_notify[]; /* lookouts: notify immediate | after_approval */
extern const struct vocab vocab_unmasking[]; /* unmasking: allowed | forbidden */

enum { VOCAB_APPROVAL_AUTOMATIC = 1, VOCAB_APPROVAL_MANUAL = 2 };
enum { VOCAB_JUSTIFICATION_REQUIRED = 1, VOCAB_JUSTIFICATION_OPTIONAL = 2 };
enum { VOCAB_NOTIFY_IMMEDIATE = 1, VOCAB_NOTIFY_AFTER_APPROVAL = 2 };
enum { VOCAB_UNMASKING_ALLOWED = 1, VOCAB_UNMASKING_FORBIDDEN = 2 };

#define VOCAB_OFFENCE_MIN 1
#define VOCAB_OFFENCE_MAX 26 /* Annex II of Directive 2016/681: SC01..SC26 */

/* The value of name[0..len) in list, or -1. */
int vocab_value(const struct vocab *list, const char *name, size_t len);

/* The name of value in list, or "?". */
const char *vocab_name(const struct vocab *list, int value);

/* "a, b, c": the names of list, for messages. Static storage per list. */
const char *vocab_names(const struct vocab *list);

/* Parse "SC01".."SC26" into 1..26, or -1. */
int vocab_offence(const char *s, size_t len);

/* A bit set of values (bit value set for each). */
typedef uint32_t vocab_set;
#define VOCAB_BIT(v) ((vocab_set)1u << (v))

#endif /* PIUGW_VOCAB_H */
