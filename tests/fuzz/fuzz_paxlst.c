/*
 * fuzz_paxlst.c: the paxlst import reader.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define FUZZ_FORMAT IMPORT_PAXLST
#include "fuzz_import.h"
