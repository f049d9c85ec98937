/*
 * libFuzzer target: the JSON reader (and writer) on arbitrary bytes.
 * A parse either succeeds or fails with MEDNER_E_PARSE / MEDNER_E_LIMIT;
 * a parsed tree is walked, every object key is looked up again, every value
 * written back through the JSON writer, and nothing may stay allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json/json.h"

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static void walk(const medner__json *n, medner__buf *b)
{
    switch (n->type) {
    case MEDNER__JSON_STRING:
        check(medner__buf_json_string(b, n->str, n->len) == MEDNER_OK);
        break;
    case MEDNER__JSON_NUMBER:
        check(medner__buf_json_double(b, n->number) == MEDNER_OK);
        break;
    case MEDNER__JSON_ARRAY:
        for (size_t i = 0; i < n->count; i++)
            walk(n->items[i], b);
        break;
    case MEDNER__JSON_OBJECT:
        for (size_t i = 0; i < n->count; i++) {
            check(medner__buf_json_string(b, n->keys[i], n->key_lens[i]) == MEDNER_OK);
            check(medner__json_get_n(n, n->keys[i], n->key_lens[i]) != NULL);
            walk(n->items[i], b);
        }
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    medner__json_doc *doc = NULL;
    int rc = medner__json_parse(&doc, (const char *)data, size, "fuzz");
    if (rc == MEDNER_OK) {
        medner__buf b = MEDNER__BUF_INIT;
        walk(medner__json_root(doc), &b);
        medner__buf_free(&b);
        medner__json_free(doc);
    } else {
        check(rc == MEDNER_E_PARSE || rc == MEDNER_E_LIMIT);
        check(doc == NULL);
    }
    check(medner__live_allocations() == 0);
    return 0;
}
