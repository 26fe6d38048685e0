/*
 * test_webconf.c: piugw-web.yaml from strings: defaults, paths, roles,
 * systems, and the mistakes an administrator can make.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "piugw/error.h"
#include "testutil.h"
#include "webconf.h"

static void
defaults(void **state)
{
	(void)state;
	const char *text = "tls:\n  certificate: web.crt\n  key: /k/web.key\n";
	struct webconf *c = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(webconf_parse(text, strlen(text), "/etc/piugw/piugw-web.yaml", &c, &d), 0);
	assert_string_equal(c->listen_host, "127.0.0.1");
	assert_int_equal(c->listen_port, 8443);
	assert_string_equal(c->local_api, "ipc:///run/piugw/api.sock");
	assert_string_equal(c->tls_certificate, "/etc/piugw/web.crt");
	assert_string_equal(c->tls_key, "/k/web.key");
	assert_null(c->client_ca);
	assert_string_equal(c->pam_service, "piugw-web");
	assert_int_equal(c->nroles[0], 1);
	assert_string_equal(c->roles[0][0], "piugw-operators");
	assert_string_equal(c->roles[3][0], "piugw-dpo");
	assert_int_equal(c->idle_minutes, 15);
	assert_int_equal(c->max_hours, 12);
	assert_int_equal(c->nsystems, 0);
	assert_string_equal(webconf_role_name(WEB_ROLE_DPO), "dpo");
	assert_null(webconf_role_name(3));
	webconf_free(&c);
	diag_clear(&d);
}

static void
everything(void **state)
{
	(void)state;
	const char *text = "listen: '[::1]:9443'\n"
			   "local_api: ipc:///tmp/x/api.sock\n"
			   "tls: {certificate: a.crt, key: a.key, client_ca: ca.crt}\n"
			   "pam_service: piugw-web-test\n"
			   "roles:\n  operators: [root, adm]\n  admins: [root]\n"
			   "sessions: {idle_minutes: 5, max_hours: 2}\n"
			   "systems:\n  - name: gotravel\n    certificate: sys/gt.crt\n"
			   "    account: nobody\n";
	struct webconf *c = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(webconf_parse(text, strlen(text), "conf/w.yaml", &c, &d), 0);
	assert_string_equal(c->listen_host, "::1");
	assert_int_equal(c->listen_port, 9443);
	assert_string_equal(c->client_ca, "conf/ca.crt");
	assert_string_equal(c->pam_service, "piugw-web-test");
	assert_int_equal(c->nroles[0], 2);
	assert_string_equal(c->roles[0][1], "adm");
	assert_string_equal(c->roles[1][0], "piugw-approvers");
	assert_int_equal(c->idle_minutes, 5);
	assert_int_equal(c->max_hours, 2);
	assert_int_equal(c->nsystems, 1);
	assert_string_equal(c->systems[0].name, "gotravel");
	assert_string_equal(c->systems[0].certificate, "conf/sys/gt.crt");
	assert_string_equal(c->systems[0].account, "nobody");
	webconf_free(&c);
	diag_clear(&d);
}

static void
mistakes(void **state)
{
	(void)state;
	static const struct {
		const char *text, *expect;
	} cases[] = {
		{"listen: x:1\n", "w.yaml:1:1: missing 'tls' in piugw-web.yaml"},
		{"tls: {certificate: a, key: b}\nlisten: localhost\n",
		 "listen 'localhost' is not HOST:PORT (e.g. 127.0.0.1:8443)"},
		{"tls: {certificate: a, key: b}\nlisten: 'h:99999'\n",
		 "is not HOST:PORT with a port of 1 to 65535"},
		{"tls: {certificate: a, key: b}\nlisten: '[::1:80'\n", "is not [IPV6]:PORT"},
		{"tls: {certificate: a}\n", "missing 'key' in tls"},
		{"tls: {certificate: a, key: b, ca: c}\n", "unknown key 'ca' in tls"},
		{"tls: {certificate: a, key: b}\nlocal_api: tcp://h:1\n", "is not ipc://PATH"},
		{"tls: {certificate: a, key: b}\npam_service: ../etc/x\n",
		 "is not a file name of /etc/pam.d"},
		{"tls: {certificate: a, key: b}\nroles: {dpos: [x]}\n", "did you mean 'dpo'?"},
		{"tls: {certificate: a, key: b}\nroles: {dpo: []}\n", "dpo lists 1 to 16 groups"},
		{"tls: {certificate: a, key: b}\nsessions: {idle_minutes: 0}\n", "idle_minutes"},
		{"tls: {certificate: a, key: b}\nsystems:\n  - {name: gt, certificate: c, account: "
		 "nobody}\n",
		 "name their issuer in tls client_ca"},
		{"tls: {certificate: a, key: b, client_ca: c}\nsystems:\n  - {name: 'g t', "
		 "certificate: c, account: nobody}\n",
		 "system name 'g t' is not 1 to 32 of"},
		{"tls: {certificate: a, key: b, client_ca: c}\nsystems:\n  - {name: gt, certificate: "
		 "c, account: nobody}\n  - {name: gt, certificate: d, account: nobody}\n",
		 "system 'gt' is listed twice"},
		{"tls: {certificate: a, key: b, client_ca: c}\nsystems:\n  - {name: gt, account: x}\n",
		 "missing 'certificate' in a system"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct webconf *c = NULL;
		struct diag d;

		diag_init(&d);
		assert_int_equal(webconf_parse(cases[i].text, strlen(cases[i].text), "w.yaml", &c, &d),
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
		cmocka_unit_test(defaults),
		cmocka_unit_test(everything),
		cmocka_unit_test(mistakes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
