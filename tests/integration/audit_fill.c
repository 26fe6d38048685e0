/*
 * audit_fill.c: writes a small, realistic audit log for cli_audit.sh, through
 * the library as the daemon will: usage: audit_fill STATE_DIR CERT_SECRET
 * [AUDIT_KEY]. Events: a query from XB about document P1234567 (XBA), its
 * answer, a refusal, a query sent to XC about a name, an import. Digests
 * use the audit key (default STATE_DIR/audit.key; created if missing).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "body.pb-c.h"

int
main(int argc, char **argv)
{
	struct keys_secret *k = NULL;
	struct audit_log *log = NULL;
	struct diag d;
	char dir[4096], keyp[4096];
	uint8_t key[AUDIT_KEY_BYTES], doc[32], name[32], mid[16];
	uint64_t seq = 0;

	if ((argc != 3 && argc != 4) || sodium_init() < 0)
		return 2;
	diag_init(&d);
	snprintf(dir, sizeof(dir), "%s/audit", argv[1]);
	if (argc == 4)
		snprintf(keyp, sizeof(keyp), "%s", argv[3]);
	else
		snprintf(keyp, sizeof(keyp), "%s/audit.key", argv[1]);
	if (keys_secret_load(argv[2], &k, &d) != 0 || audit_key_load(keyp, true, key, &d) != 0)
		goto fail;
	struct audit_opts o = {.dir = dir, .signer = k, .checkpoint_records = 4};
	if (audit_open(&o, &log, &d) != 0)
		goto fail;
	audit_digest_document(key, "XBA", "P1234567", doc);
	audit_digest_name(key, "MUELLER", "ANNA", "1985-04-12", name);
	randombytes_buf(mid, sizeof(mid));
	ProtobufCBinaryData docd = {32, doc}, named = {32, name};
	uint32_t cats[2] = {PIUGW__CATEGORY__CATEGORY_API_IDENTITY,
			    PIUGW__CATEGORY__CATEGORY_API_DOCUMENT};

	Piugw__AuditRecord r = PIUGW__AUDIT_RECORD__INIT;
	r.event = PIUGW__AUDIT_EVENT__AUDIT_QUERY_RECEIVED;
	r.peer = "XB-PIU";
	r.agreement_id = "XA-XB-2026-001";
	r.message_id.data = mid;
	r.message_id.len = 16;
	r.purpose = PIUGW__PURPOSE__PURPOSE_TERRORISM;
	r.case_reference = "XB-CASE-1";
	r.query_type = PIUGW__QUERY_TYPE__QUERY_TYPE_DOCUMENT;
	r.n_subject_digests = 1;
	r.subject_digests = &docd;
	if (audit_append(log, &r, &seq) != 0)
		goto fail;
	r.event = PIUGW__AUDIT_EVENT__AUDIT_ANSWERED;
	r.n_categories = 2;
	r.categories = cats;
	r.record_count = 1;
	if (audit_append(log, &r, &seq) != 0)
		goto fail;
	Piugw__AuditRecord x = PIUGW__AUDIT_RECORD__INIT;
	x.event = PIUGW__AUDIT_EVENT__AUDIT_REFUSED;
	x.peer = "XB-PIU";
	x.agreement_id = "XA-XB-2026-001";
	x.purpose = PIUGW__PURPOSE__PURPOSE_SERIOUS_CRIME;
	x.case_reference = "XB-CASE-7";
	x.refusal = PIUGW__ERROR_CODE__ERROR_PURPOSE_NOT_ALLOWED;
	x.detail = "agreement XA-XB-2026-001 does not allow the purpose serious_crime";
	if (audit_append(log, &x, &seq) != 0)
		goto fail;
	Piugw__AuditRecord s = PIUGW__AUDIT_RECORD__INIT;
	s.event = PIUGW__AUDIT_EVENT__AUDIT_QUERY_SENT;
	s.outbound = true;
	s.peer = "XC-PIU";
	s.agreement_id = "XA-XC-2026-002";
	s.operator_ = "analyst1";
	s.case_reference = "XA-CASE-9";
	s.n_subject_digests = 1;
	s.subject_digests = &named;
	if (audit_append(log, &s, &seq) != 0)
		goto fail;
	Piugw__AuditRecord im = PIUGW__AUDIT_RECORD__INIT;
	im.event = PIUGW__AUDIT_EVENT__AUDIT_IMPORTED;
	im.record_count = 120;
	im.detail = "paxlst: 120 stored, 0 rejected";
	if (audit_append(log, &im, &seq) != 0 || audit_close(&log) != 0)
		goto fail;
	keys_secret_free(&k);
	return 0;
fail:
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "audit_fill: %s\n", d.lines[i]);
	return 1;
}
