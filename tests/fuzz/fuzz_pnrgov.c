/*
 * fuzz_pnrgov.c: the PNRGOV import reader.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define FUZZ_FORMAT IMPORT_PNRGOV
#include "fuzz_import.h"
