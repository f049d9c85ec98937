/* The HTML writer of `medner annotate --format html` (src/cli/html.c) on
 * entity lists the library never gives, to pin the overlap rule: entities
 * are taken in the order given; one that begins before the end of the last
 * one highlighted (nested, overlapping, out of order), is empty or reaches
 * past the text is not highlighted but listed below the text, so marks
 * never nest and no entity is lost. Also: escaping of labels, ids and text
 * (control characters and invalid UTF-8 become U+FFFD), legend counts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int failures, checks;
#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        checks++;                                                                          \
        if (!(cond)) {                                                                     \
            failures++;                                                                    \
            fprintf(stderr, "test_html_writer:%d: FAIL: ", __LINE__);                      \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* The text of markup [s, e): tags dropped, the five character references
 * the writer uses decoded. */
static char *text_of(const char *s, const char *e)
{
    char *out = malloc((size_t)(e - s) + 1), *o = out;
    static const struct { const char *ref; char c; } refs[] = {
        { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&#39;", '\'' } };
    while (s < e) {
        if (*s == '<') {
            while (s < e && *s != '>')
                s++;
            s++;
            continue;
        }
        size_t r = 0;
        for (; r < 5; r++)
            if (!strncmp(s, refs[r].ref, strlen(refs[r].ref)))
                break;
        if (r < 5) {
            *o++ = refs[r].c;
            s += strlen(refs[r].ref);
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

/* Marks in [s, e) never nest: depth 0/1 only. */
static int flat(const char *s, const char *e)
{
    int depth = 0;
    for (; s < e; s++) {
        if (!strncmp(s, "<mark", 5) && ++depth > 1)
            return 0;
        if (!strncmp(s, "</mark>", 7) && --depth < 0)
            return 0;
    }
    return depth == 0;
}

static medner_cli_html_entity ent(size_t b, size_t e, const char *label)
{
    medner_cli_html_entity x = { b, e, b, e, label, 0.5, 0, NULL, SIZE_MAX };
    return x;
}

static void overlaps(void)
{
    const char *text = "0123456789abcdefghij"; /* 20 bytes */
    medner_cli_html_entity es[] = {
        ent(0, 10, "A"),  /* highlighted */
        ent(2, 5, "B"),   /* nested in A: listed */
        ent(5, 15, "C"),  /* overlaps A: listed */
        ent(10, 12, "D"), /* right after A: highlighted */
        ent(11, 13, "E"), /* overlaps D: listed */
        ent(13, 14, "F"), /* highlighted */
        ent(18, 25, "G"), /* past the end: listed, clipped to [18, 20) */
        ent(16, 16, "H"), /* empty: listed */
        ent(0, 3, "A"),   /* out of order: listed */
    };
    size_t n = sizeof es / sizeof *es;
    medner_cli_html *h = NULL;
    medner__buf b = MEDNER__BUF_INIT;
    CHECK(medner_cli_html_create(&h, 0, NULL, 0) == MEDNER_OK, "create");
    CHECK(medner_cli_html_header(h, &b) == MEDNER_OK, "header");
    size_t head = b.len;
    CHECK(medner_cli_html_document(h, &b, "\"d1\"", text, 20, es, n, NULL, 0) == MEDNER_OK, "doc");
    const char *doc = b.data + head;
    const char *t0 = strstr(doc, "<div class=\"text\">"), *t1 = t0 ? strstr(t0, "</div>") : NULL;
    CHECK(t0 && t1, "no text block");
    if (t0 && t1) {
        char *shown = text_of(t0, t1);
        CHECK(!strcmp(shown, text), "text block '%s' is not the text", shown);
        free(shown);
        CHECK(flat(t0, t1), "nested marks in the text block");
        /* the highlighted ones, in order */
        const char *p = t0;
        const char *want[] = { "data-label=\"A\" data-m=\"\" data-start=\"0\" data-end=\"10\"",
                               "data-label=\"D\" data-m=\"\" data-start=\"10\" data-end=\"12\"",
                               "data-label=\"F\" data-m=\"\" data-start=\"13\" data-end=\"14\"" };
        for (size_t i = 0; i < 3; i++) {
            p = strstr(p, want[i]);
            CHECK(p && p < t1, "highlighted entity %zu missing: %s", i, want[i]);
            if (p == NULL)
                break;
        }
        CHECK(count(t0, "<mark") - count(t1, "<mark") == 3, "3 marks in the text block");
    }
    const char *o0 = strstr(doc, "<p class=\"overlap\">"), *o1 = o0 ? strstr(o0, "</p>") : NULL;
    CHECK(o0 && o1 && t1 && o0 > t1, "no list of entities not highlighted after the text");
    if (o0 && o1) {
        CHECK(flat(o0, o1), "nested marks in the list");
        CHECK(count(o0, "<mark") - count(o1, "<mark") == 6, "6 entities listed");
        const char *want[] = { "data-start=\"2\" data-end=\"5\"", "data-start=\"5\" data-end=\"15\"",
                               "data-start=\"11\" data-end=\"13\"", "data-start=\"18\" data-end=\"25\"",
                               "data-start=\"16\" data-end=\"16\"", "data-start=\"0\" data-end=\"3\"" };
        const char *p = o0;
        for (size_t i = 0; i < 6; i++) {
            p = strstr(p, want[i]);
            CHECK(p && p < o1, "listed entity %zu missing or out of order: %s", i, want[i]);
            if (p == NULL)
                break;
        }
        /* the listed entities show their (clipped) text */
        CHECK(strstr(o0, "data-end=\"25\"") && strstr(strstr(o0, "data-end=\"25\""), ">ij</mark>"),
              "the span past the end shows its text clipped ('ij')");
        CHECK(strstr(o0, ">56789abcde</mark>") != NULL, "the overlapping C shows its text");
    }
    CHECK(count(doc, "<mark") == n && count(doc, "</mark>") == n, "every entity is a mark");
    CHECK(strstr(doc, "9 entities") != NULL, "the heading counts every entity");
    size_t foot = b.len;
    CHECK(medner_cli_html_footer(h, &b) == MEDNER_OK, "footer");
    /* legend: every entity counts, highlighted or not; by count, then name */
    const char *lg = b.data + foot;
    const char *a = strstr(lg, "data-label=\"A\" data-count=\"2\""),
               *c = strstr(lg, "data-label=\"C\" data-count=\"1\"");
    CHECK(a && c && a < c, "legend A 2 before C 1");
    CHECK(strstr(lg, "class=\"toc\"") == NULL, "a document list for one document");
    medner__buf_free(&b);
    medner_cli_html_free(h);
}

static void escaping(void)
{
    /* text with a NUL, a control character, invalid UTF-8, markup */
    static const char text[] = "a\0b\x01" "c\xff" "d <i>x</i> \"q\" 'r' & \xC3\xA9\r\n";
    size_t len = sizeof text - 1;
    medner_cli_html_entity es[] = { ent(len - 4, len - 2, "<script>alert(1)</script>\"'&") };
    medner_cli_html *h = NULL;
    medner__buf b = MEDNER__BUF_INIT;
    const char *labels[] = { "O", "B-Disease", "I-Disease", "B-Drug", NULL };
    CHECK(medner_cli_html_create(&h, 1, labels, 5) == MEDNER_OK, "create");
    CHECK(medner_cli_html_document(h, &b, "\"id <b>\\u0000 \\\"x\\\"\"", text, len, es, 1, NULL, 0) ==
              MEDNER_OK, "doc");
    CHECK(medner_cli_html_document(h, &b, "7", text, len, NULL, 0, "bad <b>\"x\"</b>", 3) ==
              MEDNER_OK, "error doc");
    CHECK(medner_cli_html_footer(h, &b) == MEDNER_OK, "footer");
    const char *s = b.data;
    CHECK(strstr(s, "<script") == NULL && strstr(s, "<i>") == NULL && strstr(s, "<b>") == NULL,
          "markup from the input in the page");
    CHECK(strstr(s, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD" "d &lt;i&gt;x&lt;/i&gt; "
                    "&quot;q&quot; &#39;r&#39; &amp; <mark") != NULL &&
              strstr(s, ">\xC3\xA9</mark>\r\n</div>") != NULL,
          "text escaped (NUL, \\x01 and \\xff as U+FFFD, é kept)");
    CHECK(strstr(s, "data-label=\"&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;\"") != NULL,
          "label escaped in the attribute");
    CHECK(strstr(s, "<span class=\"id\">id &lt;b&gt;\xEF\xBF\xBD &quot;x&quot;</span>") != NULL,
          "id decoded from JSON and escaped");
    CHECK(strstr(s, "Not annotated (input line 3): bad &lt;b&gt;&quot;x&quot;&lt;/b&gt;</p>") != NULL,
          "error message escaped");
    CHECK(strstr(s, "<span class=\"id\">7</span>") != NULL, "a number id");
    CHECK(count(s, "<li><a href=\"#doc-") + count(s, "<li class=\"err\"><a href=\"#doc-") == 2,
          "document list of 2");
    CHECK(strstr(s, "Clinical context") != NULL, "context legend with context on");
    medner__buf_free(&b);
    medner_cli_html_free(h);
}

/* Model types (B-X/I-X) get colours a golden angle apart; the same with or
 * without the prefix; another label a colour from its name. */
static void colours(void)
{
    const char *labels[] = { "O", "B-Zeta", "I-Zeta", "B-Alpha", "I-Alpha" };
    medner_cli_html *h = NULL;
    medner__buf b = MEDNER__BUF_INIT;
    CHECK(medner_cli_html_create(&h, 0, labels, 5) == MEDNER_OK, "create");
    medner_cli_html_entity es[] = { ent(0, 1, "Alpha"), ent(2, 3, "B-Alpha"), ent(4, 5, "Zeta"),
                                    ent(6, 7, "Other") };
    CHECK(medner_cli_html_document(h, &b, "1", "a b c d", 7, es, 4, NULL, 0) == MEDNER_OK, "doc");
    CHECK(count(b.data, "style=\"--h:200;--l:78%\" data-label=\"Alpha\"") == 1, "Alpha: first type");
    CHECK(count(b.data, "style=\"--h:200;--l:78%\" data-label=\"B-Alpha\"") == 1, "B-Alpha as Alpha");
    CHECK(count(b.data, "style=\"--h:337;--l:83%\" data-label=\"Zeta\"") == 1, "Zeta: second type");
    medner__buf_free(&b);
    medner_cli_html_free(h);
}

int main(void)
{
    overlaps();
    escaping();
    colours();
    printf("test_html_writer: %d checks, %d failed\n", checks, failures);
    return failures != 0;
}
