/* medner annotate --format html: one self-contained HTML page (no script,
 * no external resource) with each document's text and its entities
 * highlighted, a legend of the entity types with their counts, and a list
 * of the documents. Streamed: the header before the first document, one
 * document at a time, the footer (legend, document list) at the end; the
 * footer is placed at the top of the page by CSS grid. Everything that
 * comes from the input or the model (text, ids, labels, error messages) is
 * escaped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/utf8_seq.h"

/* Rows of the document list kept for the footer (memory stays bounded
 * whatever the number of documents; each document keeps its anchor). */
#define HTML_TOC_MAX 10000

typedef struct html_label {
    char *name;
    size_t count;
    unsigned hue, light;
} html_label;

struct medner_cli_html {
    int context;
    char **types; /* the model's entity types, sorted, unique */
    size_t n_types;
    size_t n_docs, n_entities, n_errors, n_flagged;
    html_label *labels;
    size_t n_labels, cap_labels;
    medner__buf toc; /* <li> rows of the first HTML_TOC_MAX documents */
};

/* Append `len` bytes as HTML text or attribute value: & < > " ' as
 * character references; control characters other than tab, line feed and
 * carriage return, and bytes that are not valid UTF-8, as U+FFFD. */
static int esc(medner__buf *b, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* start of the bytes not yet appended */
    int rc = MEDNER_OK;
    for (size_t i = 0; i < len && rc == MEDNER_OK;) {
        unsigned char c = u[i];
        const char *rep = NULL;
        size_t k = 1;
        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F)
                rep = "\xEF\xBF\xBD";
            else if (c >= 0x80 && (k = utf8_seq(u + i, len - i)) == 0)
                rep = "\xEF\xBF\xBD", k = 1;
        }
        if (rep) {
            rc = medner__buf_append(b, s + run, i - run);
            rc = rc ? rc : medner__buf_append_str(b, rep);
            run = i + k;
        }
        i += k;
    }
    return rc ? rc : medner__buf_append(b, s + run, len - run);
}

static int esc_str(medner__buf *b, const char *s)
{
    return esc(b, s ? s : "", s ? strlen(s) : 0);
}

/* Context flags: class, short mark (shown after the label), legend text. */
static const struct {
    uint32_t bit;
    const char *cls, *mark, *name, *look;
} html_flags[] = {
    { MEDNER_CONTEXT_NEGATED, "neg", "\xC2\xAC" "neg", "negated", "struck through" },
    { MEDNER_CONTEXT_UNCERTAIN, "unc", "?", "uncertain", "dashed outline" },
    { MEDNER_CONTEXT_HISTORICAL, "hist", "hist", "historical", "italic, dotted underline" },
    { MEDNER_CONTEXT_HYPOTHETICAL, "hyp", "hyp", "hypothetical", "dotted outline" },
    { MEDNER_CONTEXT_FAMILY, "fam", "fam", "family", "double underline" },
};
#define HTML_N_FLAGS (sizeof html_flags / sizeof *html_flags)

/* The entity type of a tag: "B-Disease" -> "Disease" (B/I/E/S/L/U/O
 * prefixes); other labels as they are. */
static const char *type_of(const char *label, size_t *len)
{
    size_t n = strlen(label);
    if (n > 2 && label[1] == '-' && strchr("BIESLUO", label[0])) {
        *len = n - 2;
        return label + 2;
    }
    *len = n;
    return label;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A colour per label, the same for the same label and model on every page:
 * the model's entity types (sorted by name) take hues a golden angle apart
 * and one of three lightnesses in turn, so that neighbours differ; another
 * label (renamed) a hue from a hash of its name. */
static void label_colour(const medner_cli_html *h, const char *label, unsigned *hue,
                         unsigned *light)
{
    size_t n;
    const char *t = type_of(label, &n);
    size_t lo = 0, hi = h->n_types;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(h->types[mid], t, n);
        if (c == 0 && h->types[mid][n] != '\0')
            c = 1;
        if (c == 0) {
            *hue = (unsigned)((mid * 137508u / 1000u + 200u) % 360u);
            *light = 78u + 5u * (unsigned)(mid % 3u);
            return;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    unsigned x = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        x = (x ^ (unsigned char)t[i]) * 16777619u;
    *hue = x % 360u;
    *light = 78u + 5u * ((x / 360u) % 3u);
}

static html_label *find_label(medner_cli_html *h, const char *label)
{
    for (size_t i = 0; i < h->n_labels; i++)
        if (!strcmp(h->labels[i].name, label))
            return &h->labels[i];
    if (h->n_labels == h->cap_labels) {
        size_t cap = h->cap_labels ? 2 * h->cap_labels : 32;
        html_label *n = realloc(h->labels, cap * sizeof *n);
        if (n == NULL)
            return NULL;
        h->labels = n;
        h->cap_labels = cap;
    }
    html_label *l = &h->labels[h->n_labels];
    if ((l->name = strdup(label)) == NULL)
        return NULL;
    l->count = 0;
    label_colour(h, label, &l->hue, &l->light);
    h->n_labels++;
    return l;
}

int medner_cli_html_create(medner_cli_html **out, int context, const char *const *labels,
                           size_t n_labels)
{
    medner_cli_html *h = calloc(1, sizeof *h);
    if (h == NULL || (n_labels && (h->types = calloc(n_labels, sizeof *h->types)) == NULL)) {
        free(h);
        return MEDNER_E_OUT_OF_MEMORY;
    }
    h->context = context;
    for (size_t i = 0; i < n_labels; i++) {
        size_t n;
        const char *t = type_of(labels[i] ? labels[i] : "", &n);
        if (labels[i] == NULL || !strcmp(labels[i], "O"))
            continue;
        if ((h->types[h->n_types] = strndup(t, n)) == NULL) {
            medner_cli_html_free(h);
            return MEDNER_E_OUT_OF_MEMORY;
        }
        h->n_types++;
    }
    if (h->n_types > 1)
        qsort(h->types, h->n_types, sizeof *h->types, cmp_str);
    size_t u = 0; /* unique */
    for (size_t i = 0; i < h->n_types; i++) {
        if (u && !strcmp(h->types[u - 1], h->types[i]))
            free(h->types[i]);
        else
            h->types[u++] = h->types[i];
    }
    h->n_types = u;
    *out = h;
    return MEDNER_OK;
}

void medner_cli_html_free(medner_cli_html *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n_labels; i++)
        free(h->labels[i].name);
    free(h->labels);
    for (size_t i = 0; i < h->n_types; i++)
        free(h->types[i]);
    free(h->types);
    medner__buf_free(&h->toc);
    free(h);
}

static const char html_head[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
    "style-src 'unsafe-inline'\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<meta name=\"generator\" content=\"medner annotate --format html\">\n"
    "<title>medner annotations</title>\n"
    "<style>\n"
    ":root{color-scheme:light}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:#eef0f3;color:#1c2230;"
    "font:15px/1.5 \"DejaVu Sans\",\"Liberation Sans\",Arial,sans-serif}\n"
    ".page{display:grid;grid-template-columns:minmax(15rem,19rem) minmax(0,1fr);gap:1.5rem;"
    "max-width:88rem;margin:0 auto;padding:1.5rem}\n"
    "main{grid-column:2;grid-row:1;min-width:0}\n"
    ".side{grid-column:1;grid-row:1;align-self:start;position:sticky;top:1rem;"
    "max-height:calc(100vh - 2rem);overflow:auto;background:#fff;border:1px solid #d8dce3;"
    "border-radius:8px;padding:1rem 1.1rem}\n"
    "@media (max-width:50rem){.page{grid-template-columns:minmax(0,1fr)}"
    "main{grid-column:1;grid-row:2}.side{grid-column:1;grid-row:1;position:static;"
    "max-height:none}}\n"
    ".side h1{font-size:1.15rem;margin:0 0 .2rem}\n"
    ".side h2{font-size:.78rem;text-transform:uppercase;letter-spacing:.06em;color:#5b6475;"
    "margin:1.1rem 0 .4rem}\n"
    ".sum{margin:0;color:#5b6475;font-size:.9rem}\n"
    ".side ul,.side ol{list-style:none;margin:0;padding:0}\n"
    ".legend li,.toc li{display:flex;align-items:center;gap:.45rem;padding:.12rem 0;"
    "font-size:.88rem}\n"
    ".sw{flex:none;width:.95rem;height:.95rem;border-radius:3px;"
    "background:hsl(var(--h) 78% var(--l));border:1px solid hsl(var(--h) 45% 55%)}\n"
    ".legend .lab,.toc a{flex:1;min-width:0;overflow-wrap:anywhere}\n"
    ".cnt{flex:none;font-variant-numeric:tabular-nums;color:#5b6475;font-size:.8rem;"
    "background:#eef0f3;border-radius:9px;padding:0 .45rem}\n"
    ".toc a{color:#1f4fa8;text-decoration:none}\n.toc a:hover{text-decoration:underline}\n"
    ".toc .err a{color:#a32020}\n"
    ".marks li{font-size:.85rem;padding:.2rem 0}\n"
    ".doc{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:1rem 1.3rem 1.2rem;"
    "margin:0 0 1.25rem;box-shadow:0 1px 2px rgba(20,30,50,.05)}\n"
    ".doc h2{font-size:.95rem;margin:0 0 .7rem;padding-bottom:.5rem;border-bottom:1px solid #e6e9ee;"
    "display:flex;gap:.6rem;align-items:baseline}\n"
    ".doc h2 .id{flex:1;min-width:0;overflow-wrap:anywhere;"
    "font-family:\"DejaVu Sans Mono\",\"Liberation Mono\",monospace}\n"
    ".doc h2 .n{color:#8a93a3;font-weight:normal}\n"
    ".doc h2 .cnt{font-weight:normal}\n"
    ".text{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;"
    "font:16px/2.05 \"DejaVu Serif\",\"Liberation Serif\",Georgia,serif}\n"
    ".empty{color:#8a93a3;font-style:italic;margin:0}\n"
    ".error{margin:0;color:#8c1d1d;background:#fdeeee;border:1px solid #f1c4c4;"
    "border-radius:6px;padding:.5rem .7rem;white-space:pre-wrap;overflow-wrap:anywhere}\n"
    ".overlap{margin:.8rem 0 0;font-size:.9rem;color:#5b6475;line-height:2}\n"
    "mark.e,mark.x{color:inherit;background:hsl(var(--h) 78% var(--l));border-radius:3px;"
    "padding:.05em .15em;-webkit-box-decoration-break:clone;box-decoration-break:clone;"
    "text-decoration-thickness:2px;text-decoration-color:hsl(var(--h) 60% 25%)}\n"
    "mark.e::after,mark.x::after{content:attr(data-label) attr(data-m);margin-left:.3em;"
    "font:600 .62em/1 \"DejaVu Sans\",\"Liberation Sans\",Arial,sans-serif;"
    "color:hsl(var(--h) 65% 24%);vertical-align:.12em;white-space:nowrap;"
    "display:inline-block;text-decoration:none;font-style:normal}\n"
    "mark.e:hover{outline:2px solid hsl(var(--h) 60% 35%);outline-offset:1px}\n"
    "mark.neg{text-decoration-line:line-through;opacity:.8}\n"
    "mark.unc{outline:2px dashed hsl(var(--h) 60% 35%);outline-offset:1px}\n"
    "mark.hyp{outline:2px dotted hsl(var(--h) 60% 35%);outline-offset:1px}\n"
    "mark.hist{font-style:italic;border-bottom:2px dotted hsl(var(--h) 60% 30%)}\n"
    "mark.fam{border-bottom:3px double hsl(var(--h) 60% 30%)}\n"
    "mark.neg.fam,mark.neg.hist{text-decoration-line:line-through}\n"
    "mark.x{--h:210;--l:88%;margin-right:.4em}\n"
    "</style>\n</head>\n<body>\n<div class=\"page\">\n<main>\n";

int medner_cli_html_header(medner_cli_html *h, medner__buf *b)
{
    (void)h;
    return medner__buf_append_str(b, html_head);
}

/* The decoded id of a document: a JSON string's contents, or the JSON text
 * (a number); "(no id)" for NULL. */
static int write_id(medner__buf *b, const char *id_json)
{
    if (id_json == NULL)
        return medner__buf_append_str(b, "(no id)");
    if (id_json[0] != '"')
        return esc_str(b, id_json);
    medner__json_doc *j = NULL;
    int rc = medner__json_parse(&j, id_json, strlen(id_json), "id");
    const medner__json *v = rc == MEDNER_OK ? medner__json_root(j) : NULL;
    if (v && v->type == MEDNER__JSON_STRING)
        rc = esc(b, v->str, v->len);
    else
        rc = esc_str(b, id_json);
    medner__json_free(j);
    return rc;
}

/* One entity as <mark class="e ..." data-...>text</mark>; the text is
 * [from, to) of the document (clipped to it by the caller). */
static int write_mark(const medner_cli_html *h, medner__buf *b, const medner_cli_html_entity *e,
                      const char *text, size_t from, size_t to)
{
    unsigned hue, light;
    const char *label = e->label ? e->label : "";
    label_colour(h, label, &hue, &light);
    int rc = medner__buf_append_str(b, "<mark class=\"e");
    for (size_t f = 0; f < HTML_N_FLAGS && !rc; f++)
        if (e->context & html_flags[f].bit)
            rc = medner__buf_printf(b, " %s", html_flags[f].cls);
    rc = rc ? rc : medner__buf_printf(b, "\" style=\"--h:%u;--l:%u%%\" data-label=\"", hue, light);
    rc = rc ? rc : esc_str(b, label);
    rc = rc ? rc : medner__buf_append_str(b, "\" data-m=\"");
    for (size_t f = 0; f < HTML_N_FLAGS && !rc; f++)
        if (e->context & html_flags[f].bit)
            rc = medner__buf_printf(b, " %s", html_flags[f].mark);
    rc = rc ? rc : medner__buf_printf(b, "\" data-start=\"%zu\" data-end=\"%zu\" data-start-char="
                                         "\"%zu\" data-end-char=\"%zu\" data-score=\"",
                                      e->begin, e->end, e->begin_char, e->end_char);
    rc = rc ? rc : medner__buf_json_double(b, e->score);
    rc = rc ? rc : medner__buf_append_str(b, "\" data-flags=\"");
    for (size_t f = 0, first = 1; f < HTML_N_FLAGS && !rc; f++)
        if (e->context & html_flags[f].bit) {
            rc = medner__buf_printf(b, "%s%s", first ? "" : " ", html_flags[f].name);
            first = 0;
        }
    /* the tooltip: label, score, offsets, context */
    rc = rc ? rc : medner__buf_append_str(b, "\" title=\"");
    rc = rc ? rc : esc_str(b, label);
    rc = rc ? rc : medner__buf_append_str(b, "&#10;score ");
    rc = rc ? rc : medner__buf_json_double(b, round(e->score * 1e4) / 1e4);
    rc = rc ? rc : medner__buf_printf(b, "&#10;bytes [%zu,%zu) &#183; characters [%zu,%zu)",
                                      e->begin, e->end, e->begin_char, e->end_char);
    if (e->context) {
        rc = rc ? rc : medner__buf_append_str(b, "&#10;");
        for (size_t f = 0, first = 1; f < HTML_N_FLAGS && !rc; f++)
            if (e->context & html_flags[f].bit) {
                rc = medner__buf_printf(b, "%s%s", first ? "" : ", ", html_flags[f].name);
                first = 0;
            }
    }
    if (e->section) {
        rc = rc ? rc : medner__buf_append_str(b, "&#10;section ");
        rc = rc ? rc : esc_str(b, e->section);
        if (e->sentence != SIZE_MAX)
            rc = rc ? rc : medner__buf_printf(b, " &#183; sentence %zu", e->sentence);
    }
    rc = rc ? rc : medner__buf_append_str(b, "\">");
    rc = rc ? rc : esc(b, text + from, to - from);
    return rc ? rc : medner__buf_append_str(b, "</mark>");
}

/* The overlap rule: entities are taken in the order given (the library's:
 * by begin, then end); one that is empty, reaches past the text, or begins
 * before the end of the last one highlighted is not highlighted in the text
 * but listed below it. *pos: the end of the last one highlighted. */
static int highlighted(const medner_cli_html_entity *e, size_t len, size_t *pos)
{
    if (e->begin >= e->end || e->end > len || e->begin < *pos)
        return 0;
    *pos = e->end;
    return 1;
}

int medner_cli_html_document(medner_cli_html *h, medner__buf *b, const char *id_json,
                             const char *text, size_t len, const medner_cli_html_entity *ents,
                             size_t n, const char *error, size_t line)
{
    size_t k = ++h->n_docs;
    int rc = medner__buf_printf(b, "<section class=\"doc%s\" id=\"doc-%zu\">\n<h2><span class=\"n\">"
                                   "%zu</span><span class=\"id\">",
                                error ? " err" : "", k, k);
    rc = rc ? rc : write_id(b, id_json);
    rc = rc ? rc : medner__buf_append_str(b, "</span>");
    if (!error)
        rc = rc ? rc : medner__buf_printf(b, "<span class=\"cnt\">%zu %s</span>", n,
                                          n == 1 ? "entity" : "entities");
    rc = rc ? rc : medner__buf_append_str(b, "</h2>\n");
    if (k <= HTML_TOC_MAX && !rc) { /* the row of the document list */
        medner__buf *t = &h->toc;
        rc = medner__buf_printf(t, "<li%s><a href=\"#doc-%zu\">", error ? " class=\"err\"" : "", k);
        rc = rc ? rc : write_id(t, id_json);
        if (error)
            rc = rc ? rc : medner__buf_append_str(t, "</a><span class=\"cnt\">error</span></li>\n");
        else
            rc = rc ? rc : medner__buf_printf(t, "</a><span class=\"cnt\">%zu</span></li>\n", n);
    }
    if (error) {
        h->n_errors++;
        rc = rc ? rc : medner__buf_append_str(b, "<p class=\"error\">Not annotated");
        if (line)
            rc = rc ? rc : medner__buf_printf(b, " (input line %zu)", line);
        rc = rc ? rc : medner__buf_append_str(b, ": ");
        rc = rc ? rc : esc_str(b, error);
        return rc ? rc : medner__buf_append_str(b, "</p>\n</section>\n");
    }
    for (size_t i = 0; i < n && !rc; i++) {
        html_label *l = find_label(h, ents[i].label ? ents[i].label : "");
        if (l == NULL)
            return MEDNER_E_OUT_OF_MEMORY;
        l->count++;
        h->n_entities++;
        if (ents[i].context)
            h->n_flagged++;
    }
    if (len == 0) {
        rc = rc ? rc : medner__buf_append_str(b, "<p class=\"empty\">(empty document)</p>\n");
    } else {
        size_t pos = 0, at = 0;
        rc = rc ? rc : medner__buf_append_str(b, "<div class=\"text\">");
        for (size_t i = 0; i < n && !rc; i++) {
            const medner_cli_html_entity *e = &ents[i];
            if (!highlighted(e, len, &pos))
                continue;
            rc = esc(b, text + at, e->begin - at);
            rc = rc ? rc : write_mark(h, b, e, text, e->begin, e->end);
            at = e->end;
        }
        rc = rc ? rc : esc(b, text + at, len - at);
        rc = rc ? rc : medner__buf_append_str(b, "</div>\n");
    }
    size_t pos = 0, skipped = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const medner_cli_html_entity *e = &ents[i];
        if (highlighted(e, len, &pos))
            continue;
        if (skipped++ == 0)
            rc = medner__buf_append_str(b, "<p class=\"overlap\">Not highlighted in the text "
                                           "(overlapping an earlier entity, or outside the "
                                           "text):");
        size_t from = e->begin < len ? e->begin : len, to = e->end < len ? e->end : len;
        rc = rc ? rc : medner__buf_putc(b, ' ');
        rc = rc ? rc : write_mark(h, b, e, text, from, to < from ? from : to);
    }
    if (skipped)
        rc = rc ? rc : medner__buf_append_str(b, "</p>\n");
    return rc ? rc : medner__buf_append_str(b, "</section>\n");
}

static int by_count(const void *a, const void *b)
{
    const html_label *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->name, y->name);
}

int medner_cli_html_footer(medner_cli_html *h, medner__buf *b)
{
    int rc = MEDNER_OK;
    if (h->n_docs == 0)
        rc = medner__buf_append_str(b, "<p class=\"empty\">No documents.</p>\n");
    rc = rc ? rc : medner__buf_printf(b, "</main>\n<aside class=\"side\">\n<h1>medner</h1>\n"
                                         "<p class=\"sum\">%zu %s &#183; %zu %s",
                                      h->n_docs, h->n_docs == 1 ? "document" : "documents",
                                      h->n_entities, h->n_entities == 1 ? "entity" : "entities");
    if (h->n_errors)
        rc = rc ? rc : medner__buf_printf(b, " &#183; %zu not annotated", h->n_errors);
    rc = rc ? rc : medner__buf_append_str(b, "</p>\n<h2>Entity types</h2>\n<ul class=\"legend\">\n");
    if (h->n_labels > 1)
        qsort(h->labels, h->n_labels, sizeof *h->labels, by_count);
    for (size_t i = 0; i < h->n_labels && !rc; i++) {
        const html_label *l = &h->labels[i];
        rc = medner__buf_append_str(b, "<li class=\"lg\" data-label=\"");
        rc = rc ? rc : esc_str(b, l->name);
        rc = rc ? rc : medner__buf_printf(b, "\" data-count=\"%zu\"><span class=\"sw\" style=\""
                                             "--h:%u;--l:%u%%\"></span><span class=\"lab\">",
                                          l->count, l->hue, l->light);
        rc = rc ? rc : esc_str(b, l->name);
        rc = rc ? rc : medner__buf_printf(b, "</span><span class=\"cnt\">%zu</span></li>\n", l->count);
    }
    if (h->n_labels == 0)
        rc = rc ? rc : medner__buf_append_str(b, "<li>(no entities)</li>\n");
    rc = rc ? rc : medner__buf_append_str(b, "</ul>\n");
    if (h->context || h->n_flagged) {
        rc = rc ? rc : medner__buf_append_str(b, "<h2>Clinical context</h2>\n<ul class=\"marks\">\n");
        for (size_t f = 0; f < HTML_N_FLAGS && !rc; f++)
            rc = medner__buf_printf(b, "<li><mark class=\"x %s\" data-label=\"Label\" data-m=\" %s\">"
                                       "text</mark> %s: %s, &#8216;%s&#8217; after the label</li>\n",
                                    html_flags[f].cls, html_flags[f].mark, html_flags[f].name,
                                    html_flags[f].look, html_flags[f].mark);
        rc = rc ? rc : medner__buf_append_str(b, "</ul>\n");
    }
    rc = rc ? rc : medner__buf_append_str(b, "<h2>Hover</h2>\n<p class=\"sum\">an entity shows its "
                                             "label, score, offsets ([start,end) in bytes and in "
                                             "characters, as the JSON lines give them) and its "
                                             "context.</p>\n");
    if (h->n_docs > 1 && !rc) {
        rc = medner__buf_append_str(b, "<h2>Documents</h2>\n<ol class=\"toc\">\n");
        rc = rc ? rc : medner__buf_append(b, h->toc.data ? h->toc.data : "", h->toc.len);
        if (h->n_docs > HTML_TOC_MAX)
            rc = rc ? rc : medner__buf_printf(b, "<li>&#8230; and %zu more documents</li>\n",
                                              h->n_docs - HTML_TOC_MAX);
        rc = rc ? rc : medner__buf_append_str(b, "</ol>\n");
    }
    return rc ? rc : medner__buf_append_str(b, "</aside>\n</div>\n</body>\n</html>\n");
}
