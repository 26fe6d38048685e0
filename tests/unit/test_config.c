/*
 * test_config.c: piugwd.yaml from strings: defaults, relative paths, and
 * the mistakes an administrator can make.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "config.h"
#include "piugw/error.h"
#include "testutil.h"

static void
defaults_and_relative_paths(void **state)
{
	(void)state;
	const char *text = "gateway:\n  id: XA-PIU\n  listen: tcp://127.0.0.1:7401\n";
	struct config *c = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(config_parse(text, strlen(text), "/etc/piugw/piugwd.yaml", &c, &d), 0);
	assert_string_equal(c->id, "XA-PIU");
	assert_string_equal(c->certificate, "/etc/piugw/certs/XA-PIU.cert_secret");
	assert_string_equal(c->directory, "/etc/piugw/directory.yaml");
	assert_string_equal(c->directory_sig, "/etc/piugw/directory.yaml.minisig");
	assert_string_equal(c->secretariat_key, "/etc/piugw/secretariat.pub");
	assert_string_equal(c->agreements_dir, "/etc/piugw/agreements");
	assert_string_equal(c->state_dir, "/var/lib/piugw");
	assert_string_equal(c->store_file, "/var/lib/piugw/store.db");
	/* The operators' door is not in the state directory, which is closed to them. */
	assert_string_equal(c->runtime_dir, "/run/piugw");
	assert_string_equal(c->local_api, "ipc:///run/piugw/api.sock");
	assert_null(c->metrics_listen);
	assert_int_equal(c->max_message_bytes, 1024 * 1024);
	assert_int_equal(c->freshness_seconds, 300);
	assert_int_equal(c->query_deadline_seconds, 30);
	assert_int_equal(c->audit_retention_days, 1826);
	assert_int_equal(c->answers_keep_days, 30);
	config_free(&c);
	assert_null(c);

	text = "gateway:\n  id: XB-PIU\n  listen: tcp://gw.example:7402\n"
	       "  certificate: /keys/xb.cert_secret\n"
	       "directory: {file: dir/d.yaml, signature: dir/d.sig}\n"
	       "state: run\nlocal_api: ipc:///tmp/x.sock\n"
	       "store: {file: /data/s.db}\nmetrics: {listen: 127.0.0.1:9741}\n";
	assert_int_equal(config_parse(text, strlen(text), "conf/piugwd.yaml", &c, &d), 0);
	assert_string_equal(c->certificate, "/keys/xb.cert_secret");
	assert_string_equal(c->directory, "conf/dir/d.yaml");
	assert_string_equal(c->directory_sig, "conf/dir/d.sig");
	assert_string_equal(c->state_dir, "conf/run");
	assert_string_equal(c->store_file, "/data/s.db");
	assert_string_equal(c->local_api, "ipc:///tmp/x.sock");
	assert_string_equal(c->metrics_listen, "127.0.0.1:9741");
	config_free(&c);
	diag_clear(&d);
}

/* Approvers: groups by name; one this machine does not know is a warning, not an error. */
static void
approvers(void **state)
{
	(void)state;
	const char *text = "gateway:\n  id: XA-PIU\n  listen: tcp://h:1\n"
			   "approvers: [root, no-such-group-here]\n";
	struct config *c = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(config_parse(text, strlen(text), "p.yaml", &c, &d), 0);
	assert_int_equal(c->napprovers, 2);
	assert_string_equal(c->approvers[0], "root");
	assert_string_equal(c->approvers[1], "no-such-group-here");
	assert_true(tu_diag_has(&d, "there is no group 'no-such-group-here' on this machine"));
	assert_false(tu_diag_has(&d, "group 'root'"));
	config_free(&c);
	diag_clear(&d);

	diag_init(&d);
	text = "gateway:\n  id: XA-PIU\n  listen: tcp://h:1\n";
	assert_int_equal(config_parse(text, strlen(text), "p.yaml", &c, &d), 0);
	assert_int_equal(c->napprovers, 0);
	assert_null(c->approvers);
	config_free(&c);
	diag_clear(&d);
}

/* store.backend postgresql: the store is named for store_open by its connection string. */
static void
postgresql_store(void **state)
{
	(void)state;
	const char *text = "gateway:\n  id: XA-PIU\n  listen: tcp://h:1\n"
			   "store:\n  backend: postgresql\n  conninfo: 'host=/run/postgresql "
			   "dbname=piugw passfile=/etc/piugw/pgpass'\n";
	struct config *c = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(config_parse(text, strlen(text), "p.yaml", &c, &d), 0);
	assert_string_equal(c->store_file, "postgresql:host=/run/postgresql dbname=piugw "
					   "passfile=/etc/piugw/pgpass");
	config_free(&c);
	diag_clear(&d);
}

/* Delegates are users (piugw-web), auditors groups; both are checked like approvers. */
static void
delegates_and_auditors(void **state)
{
	(void)state;
	const char *text = "gateway:\n  id: XA-PIU\n  listen: tcp://h:1\n"
			   "delegates: [root, no-such-user-here]\nauditors: [root]\n";
	struct config *c = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(config_parse(text, strlen(text), "p.yaml", &c, &d), 0);
	assert_int_equal(c->ndelegates, 2);
	assert_string_equal(c->delegates[1], "no-such-user-here");
	assert_true(tu_diag_has(&d, "delegates: there is no user 'no-such-user-here'"));
	assert_int_equal(c->nauditors, 1);
	assert_string_equal(c->auditors[0], "root");
	config_free(&c);
	diag_clear(&d);
}

static void
mistakes(void **state)
{
	(void)state;
	static const struct {
		const char *text, *expect;
	} cases[] = {
		{"gateway:\n  listen: tcp://127.0.0.1:1\n", "p.yaml:2:3: missing 'id' in gateway"},
		{"gateway:\n  id: XA-PIU\n", "missing 'listen' in gateway"},
		{"listen: x\n", "p.yaml:1:1: unknown key 'listen' in piugwd.yaml"},
		{"gateway:\n  id: XA-PIU\n  listen: http://x:1\n", "listen 'http://x:1' is not tcp://"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\nlocal_api: tcp://h:2\n",
		 "local_api must be ipc://PATH"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\nlimits:\n  query_deadline_seconds: 600\n",
		 "query_deadline_seconds (600) is longer than freshness_seconds (300)"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\nlimits:\n  max_message_bytes: 12\n",
		 "max_message_bytes '12' is not a whole number from 4096"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\naudit: {retention_dayz: 3}\n",
		 "did you mean 'retention_days'?"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\nstate: ''\n", "state is empty"},
		{"- a\n- b\n", "expected a mapping of 'key: value' lines at the top"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\napprovers: []\n",
		 "approvers lists 1 to 16 groups"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\napprovers: ['a:b']\n",
		 "'a:b' is not a group name"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\napprovers: \"root\"\n",
		 "approvers"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\nstore: {backend: postgresql, "
		 "conninfo: 'dbname=piugw password=secret'}\n",
		 "conninfo holds a password: never in piugwd.yaml; use peer or certificate"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\nstore: {backend: postgresql}\n",
		 "backend: postgresql needs store.conninfo"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\nstore: {backend: postgresql, "
		 "conninfo: 'dbname=x', file: s.db}\n",
		 "file is for backend: sqlite"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\nstore: {conninfo: 'dbname=x'}\n",
		 "conninfo is for backend: postgresql"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\nstore: {backend: postgresql, "
		 "conninfo: 'dbname=x nosuchkey=1'}\n",
		 "conninfo is not a libpq connection string"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\nstore: {backend: mysql}\n",
		 "store backend"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\ndelegates: []\n",
		 "delegates lists 1 to 16 users (leave it out and nobody may act for another user)"},
		{"gateway:\n  id: XA-PIU\n  listen: tcp://h:1\ndelegates: ['a:b']\n",
		 "'a:b' is not a user name"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *c = NULL;
		struct diag d;

		diag_init(&d);
		assert_int_equal(config_parse(cases[i].text, strlen(cases[i].text), "p.yaml", &c, &d),
				 PIUGW_ECONFIG);
		assert_null(c);
		if (!tu_diag_has(&d, cases[i].expect)) {
			tu_diag_dump(&d);
			fail_msg("case %zu: no \"%s\"", i, cases[i].expect);
		}
		diag_clear(&d);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_and_relative_paths),
		cmocka_unit_test(delegates_and_auditors),
		cmocka_unit_test(postgresql_store),
		cmocka_unit_test(mistakes),
		cmocka_unit_test(approvers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
