/*
 * test_error.c: the error table names every code and maps the wire codes
 * of PROTOCOL.md section 7 one to one.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "body.pb-c.h"
#include "piugw/client.h"
#include "piugw/error.h"
#include "testutil.h"

static const int all_codes[] = {
#define CODE(name, value, wire, msg) name,
	PIUGW_ERRORS(CODE)
#undef CODE
};

static void
every_code_has_a_distinct_name_and_message(void **state)
{
	(void)state;
	size_t n = sizeof(all_codes) / sizeof(all_codes[0]);

	for (size_t i = 0; i < n; i++) {
		assert_true(all_codes[i] <= 0);
		assert_string_not_equal(piugw_strerror(all_codes[i]), "unknown error");
		assert_true(strncmp(piugw_error_name(all_codes[i]), "PIUGW_", 6) == 0);
		for (size_t j = i + 1; j < n; j++)
			assert_int_not_equal(all_codes[i], all_codes[j]);
	}
	assert_string_equal(piugw_strerror(-9999), "unknown error");
	assert_string_equal(piugw_error_name(PIUGW_EBADSIG), "PIUGW_EBADSIG");
}

static void
unknown_codes_map_to_internal_never_to_success(void **state)
{
	(void)state;
	assert_int_equal(piugw_error_wire_code(-9999), PIUGW_WIRE_INTERNAL);
	assert_int_equal(piugw_error_wire_code(PIUGW_EBADSIG), PIUGW_WIRE_BAD_SIGNATURE);
	assert_int_equal(piugw_error_wire_code(PIUGW_EDECRYPT), PIUGW_WIRE_BAD_SIGNATURE);
	assert_int_equal(piugw_error_wire_code(PIUGW_ESENDERMISMATCH), PIUGW_WIRE_UNKNOWN_SENDER);
	assert_int_equal(piugw_error_wire_code(PIUGW_EKEYFILE), PIUGW_WIRE_NONE);
}

/*
 * Every wire code of section 7 is reached by at least one library code, and
 * its number and name agree with ErrorCode in body.proto.
 */
static void
wire_codes_match_the_schema(void **state)
{
	(void)state;
	for (int w = PIUGW_WIRE_MALFORMED; w <= PIUGW_WIRE_LAST; w++) {
		const ProtobufCEnumValue *v =
			protobuf_c_enum_descriptor_get_value(&piugw__error_code__descriptor, w);
		bool reached = false;

		assert_non_null(v);
		/* ERROR_<NAME> in the schema, <NAME> in PROTOCOL.md. */
		assert_string_equal(v->name + strlen("ERROR_"), piugw_wire_error_name(w));
		for (size_t i = 0; i < sizeof(all_codes) / sizeof(all_codes[0]); i++)
			if ((int)piugw_error_wire_code(all_codes[i]) == w)
				reached = true;
		if (!reached)
			fail_msg("wire code %s has no library error", piugw_wire_error_name(w));
	}
	assert_int_equal(piugw__error_code__descriptor.n_values, PIUGW_WIRE_LAST + 1);
}

/*
 * PIUGW_EACCESS: a local API socket the caller may not use is refused at
 * once, with that code (not a connect that ZeroMQ would retry forever).
 * The caller is made someone else than the socket's owner in a child.
 */
static void
a_socket_one_may_not_use(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "api.sock"), ep[256];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), status = 0;
	struct piugw_client *c = NULL;
	pid_t pid;

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(ep, sizeof(ep), "ipc://%s", path);
	assert_int_equal(piugw_client_open("ipc:///no/such/api.sock", &c), PIUGW_ENOENT);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Root reads anything: become nobody first; a user closes the socket to itself. */
		if (geteuid() == 0) {
			if (setgid(65534) != 0 || setuid(65534) != 0)
				_exit(2);
		} else if (chmod(path, 0) != 0) {
			_exit(3);
		}
		int rc = piugw_client_open(ep, &c);
		free(path); /* what the child holds goes with it (valgrind checks it too) */
		free(dir);
		_exit(rc == PIUGW_EACCESS ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(fd);
	free(path);
	tu_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_code_has_a_distinct_name_and_message),
		cmocka_unit_test(unknown_codes_map_to_internal_never_to_success),
		cmocka_unit_test(wire_codes_match_the_schema),
		cmocka_unit_test(a_socket_one_may_not_use),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
