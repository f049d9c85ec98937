/*
 * libFuzzer target: one input line of `medner context` (src/cli/context_line.c)
 * on arbitrary bytes, with the built-in rules. Each call appends exactly one
 * '\n'-terminated line that is valid JSON (a result or an error record);
 * a result keeps every entity; nothing may stay allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/context_line.h"

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static medner_context_rules *rules;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (rules == NULL)
        check(medner_context_rules_load(&rules, NULL) == MEDNER_OK);
    long live = medner__live_allocations();
    medner__buf out = MEDNER__BUF_INIT;
    check(medner__buf_append_str(&out, "prefix") == MEDNER_OK);
    int rc = medner_cli_context_line(&out, rules, (const char *)data, size, 7);
    check(rc <= 0);
    check(out.len > 7 && out.data[out.len - 1] == '\n');
    check(memcmp(out.data, "prefix", 6) == 0);
    /* the written line is one JSON document */
    medner__json_doc *doc = NULL;
    check(memchr(out.data + 6, '\n', out.len - 7) == NULL);
    check(medner__json_parse(&doc, out.data + 6, out.len - 7, "out") == MEDNER_OK);
    const medner__json *root = medner__json_root(doc);
    check(root->type == MEDNER__JSON_OBJECT);
    if (rc != MEDNER_OK) {
        const medner__json *line = medner__json_get(root, "line");
        check(line != NULL && line->is_integer && line->integer == 7);
        check(medner__json_get(root, "error") != NULL);
    } else {
        /* every entity of the input is in the output, with its flags */
        const medner__json *ents = medner__json_get(root, "entities");
        check(ents != NULL && ents->type == MEDNER__JSON_ARRAY);
        for (size_t i = 0; i < ents->count; i++) {
            const medner__json *s = medner__json_get(ents->items[i], "sentence");
            const medner__json *neg = medner__json_get(ents->items[i], "negated");
            /* an index, or null for a text without a sentence (only whitespace) */
            check(s != NULL && ((s->is_integer && s->integer >= 0) || s->type == MEDNER__JSON_NULL));
            check(neg != NULL && neg->type == MEDNER__JSON_BOOL);
        }
    }
    medner__json_free(doc);
    medner__buf_free(&out);
    check(medner__live_allocations() == live);
    return 0;
}
