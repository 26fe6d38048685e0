/*
 * fuzz_config.c: piugwd.yaml.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = NULL;
	struct diag d;

	diag_init(&d);
	(void)config_parse((const char *)data, size, "/etc/piugw/piugwd.yaml", &c, &d);
	config_free(&c);
	diag_clear(&d);
	return 0;
}
