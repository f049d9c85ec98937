/*
 * libFuzzer target: the tokenizer on arbitrary bytes.
 * The first input byte picks the options (vocabulary cased/uncased, window
 * length and overlap, special tokens); the rest is the text. Besides "no
 * crash, no leak, no sanitizer report", it checks the invariants every caller
 * relies on and traps when one breaks:
 *   - invalid UTF-8 is reported as MEDNER_E_INVALID_UTF8, valid text encodes;
 *   - offsets are inside the text, begin <= end, on character boundaries,
 *     non-decreasing across the window; specials are (0,0);
 *   - every window fits max_length; consecutive windows overlap as asked.
 * Built with clang -fsanitize=fuzzer by `make fuzz`; tests/fuzz/replay.c runs
 * the saved corpus without libFuzzer in `make test`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "medner.h"

#ifndef MEDNER_FUZZ_DATA
#define MEDNER_FUZZ_DATA "tests/data/vocab/"
#endif

static medner_tokenizer *tok[2];

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static int boundary(const uint8_t *s, size_t len, size_t off)
{
    return off == len || off == 0 || (s[off] & 0xC0) != 0x80;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (tok[0] == NULL) {
        medner_tokenizer_params p = MEDNER_TOKENIZER_PARAMS_INIT;
        p.lowercase = MEDNER_ON;
        check(medner_tokenizer_load_vocab(&tok[0], MEDNER_FUZZ_DATA "bert-base-uncased.vocab.txt",
                                          &p) == MEDNER_OK);
        p.lowercase = MEDNER_OFF;
        check(medner_tokenizer_load_vocab(&tok[1], MEDNER_FUZZ_DATA "bert-base-cased.vocab.txt",
                                          &p) == MEDNER_OK);
    }
    if (size == 0)
        return 0;
    uint8_t sel = data[0];
    const uint8_t *text = data + 1;
    size_t len = size - 1;
    medner_encode_params ep = MEDNER_ENCODE_PARAMS_INIT;
    if (sel & 2) {
        ep.max_length = 3 + (sel >> 3);     /* 3..34 */
        ep.overlap = (sel >> 5) % (ep.max_length - 2);
    }
    if (sel & 4)
        ep.special_tokens = MEDNER_OFF;
    if (ep.special_tokens == MEDNER_OFF && ep.max_length) {
        ep.max_length -= 2;
        if (ep.max_length == 0 || ep.overlap >= ep.max_length)
            ep.overlap = 0;
        if (ep.max_length == 0)
            ep.max_length = 1;
    }
    size_t bad = 0;
    int valid = medner_utf8_check(&bad, (const char *)text, len) == MEDNER_OK;
    medner_encoding *e = NULL;
    int rc = medner_tokenizer_encode(&e, tok[sel & 1], (const char *)text, len, &ep);
    if (!valid) {
        check(rc == MEDNER_E_INVALID_UTF8 && e == NULL && bad < len);
        return 0;
    }
    check(rc == MEDNER_OK);
    size_t n_sp = ep.special_tokens == MEDNER_OFF ? 0 : 2;
    size_t prev_first = 0;
    for (size_t w = 0; w < medner_encoding_num_windows(e); w++) {
        medner_window win = MEDNER_WINDOW_INIT;
        check(medner_encoding_window(e, w, &win) == MEDNER_OK);
        check(win.length >= n_sp);
        if (ep.max_length)
            check(win.length <= ep.max_length);
        if (w > 0)
            check(win.first_token == prev_first + (ep.max_length - n_sp - ep.overlap));
        prev_first = win.first_token;
        size_t last_begin = 0;
        for (size_t k = 0; k < win.length; k++) {
            size_t b = win.offsets[2 * k], x = win.offsets[2 * k + 1];
            if (win.special_mask[k]) {
                check(b == 0 && x == 0 && win.word_ids[k] == -1);
                continue;
            }
            check(b <= x && x <= len && b < x);
            check(boundary(text, len, b) && boundary(text, len, x));
            check(b >= last_begin);
            last_begin = b;
            check(win.ids[k] >= 0 && (size_t)win.ids[k] < medner_tokenizer_vocab_size(tok[sel & 1]));
        }
    }
    /* code-point and UTF-16 conversions agree with a direct count */
    if (len > 0) {
        size_t offs[2] = { len, 0 }, cp[2], u16[2];
        check(medner_utf8_codepoint_offsets(cp, (const char *)text, len, offs, 2) == MEDNER_OK);
        check(medner_utf8_utf16_offsets(u16, (const char *)text, len, offs, 2) == MEDNER_OK);
        size_t chars = 0, units = 0;
        for (size_t i = 0; i < len; i++)
            if ((text[i] & 0xC0) != 0x80) {
                chars++;
                units += text[i] >= 0xF0 ? 2 : 1;
            }
        check(cp[0] == chars && u16[0] == units && cp[1] == 0 && u16[1] == 0);
    }
    medner_encoding_free(e);
    return 0;
}
