/*
 * libFuzzer target: sentences and sections (src/text) on arbitrary bytes.
 * Both calls succeed on any input, and the results keep the invariants the
 * context subsystem relies on; a broken one traps:
 *   - sentences: in order, non-overlapping, non-empty, trimmed, inside the
 *     text; every non-space byte is in one of them;
 *   - sections: contiguous from the first non-space byte to len, headers
 *     inside their section, NONE only first; every section with a header
 *     begins where a sentence begins;
 *   - nothing stays allocated.
 * Built with clang -fsanitize=fuzzer by `make fuzz`; tests/fuzz/replay.c runs
 * the saved corpus without libFuzzer in `make test`.
 */
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "text/text.h"

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static int space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    medner__span *s = NULL;
    size_t n = 0;
    check(medner__sentences_split(text, size, &s, &n) == MEDNER_OK);
    check((n == 0) == (s == NULL));
    size_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        check(s[i].begin >= prev && s[i].begin < s[i].end && s[i].end <= size);
        check(!space(data[s[i].begin]) && !space(data[s[i].end - 1]));
        for (size_t k = prev; k < s[i].begin; k++)
            check(space(data[k]));
        prev = s[i].end;
    }
    for (size_t k = prev; k < size; k++)
        check(space(data[k]));

    medner__section *c = NULL;
    size_t m = 0;
    check(medner__sections_detect(text, size, &c, &m) == MEDNER_OK);
    check((m == 0) == (c == NULL) && (m == 0) == (n == 0));
    size_t j = 0; /* sentence cursor: section begins are sentence begins */
    for (size_t i = 0; i < m; i++) {
        check(c[i].begin < c[i].end);
        check(i == 0 ? c[i].begin == s[0].begin : c[i].begin == c[i - 1].end);
        check(c[i].begin <= c[i].header_begin && c[i].header_begin <= c[i].header_end &&
              c[i].header_end <= c[i].end);
        check(c[i].category >= MEDNER_SECTION_NONE && c[i].category <= MEDNER_SECTION_OTHER);
        check((c[i].category == MEDNER_SECTION_NONE) == (c[i].header_begin == c[i].header_end));
        check(c[i].category != MEDNER_SECTION_NONE || i == 0);
        if (c[i].category != MEDNER_SECTION_NONE) {
            check(c[i].header_begin == c[i].begin);
            while (j < n && s[j].begin < c[i].begin)
                j++;
            check(j < n && s[j].begin == c[i].begin);
        }
    }
    if (m > 0)
        check(c[m - 1].end == size);
    medner__free(s);
    medner__free(c);
    check(medner__live_allocations() == 0);
    return 0;
}
