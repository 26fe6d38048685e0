/*
 * fuzz_jsonl.c: the jsonl import reader.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#define FUZZ_FORMAT IMPORT_JSONL
#include "fuzz_import.h"
