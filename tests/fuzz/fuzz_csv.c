/*
 * fuzz_csv.c: the csv import reader.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define FUZZ_FORMAT IMPORT_CSV
#include "fuzz_import.h"
