/* One JSON line of `medner context` (context_line.c); also the entry point
 * of the fuzz target tests/fuzz/fuzz_context_input.c. */
#ifndef MEDNER_CLI_CONTEXT_LINE_H
#define MEDNER_CLI_CONTEXT_LINE_H

#include <stddef.h>

#include "json/json.h"
#include "medner.h"

/*
 * Process one input line (`len` bytes, no line break) numbered `lineno`:
 * append exactly one '\n'-terminated JSON line to `out` -- the input object
 * with the context of each entity added, or an error record
 * {"id": ID or lineno, "line": N, "error": "..."} -- and return MEDNER_OK,
 * or the status of the error (its message also in medner_last_error()).
 * When there is no memory even for the error record, nothing is appended
 * and MEDNER_E_OUT_OF_MEMORY is returned. Never writes to stdout or stderr.
 * Thread-safe (no shared state besides the rules, which are immutable).
 */
int medner_cli_context_line(medner__buf *out, const medner_context_rules *rules,
                            const char *line, size_t len, size_t lineno);

#endif
