/* YAML pipeline configuration (src/pipeline/config.c, docs/config.md): every
 * key and scalar form, each error with its file:line:column, overrides,
 * relative paths, the shipped examples, allocation failures. */
#include <dirent.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "failalloc.h"

#include "testlocale.h"

#include "pipeline/config.h"

/* ---- temporary files ---------------------------------------------------- */

static char tmpdir[64];
static char cfgpath[128]; /* tmpdir/c.yaml */

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/medner-config-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(cfgpath, sizeof cfgpath, "%s/c.yaml", tmpdir);
    return 0;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int teardown(void **state)
{
    (void)state;
    remove_tree(tmpdir);
    return 0;
}

static void write_at(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void write_cfg(const char *yaml)
{
    write_at(cfgpath, yaml, strlen(yaml));
}

/* Load `yaml` from cfgpath, expecting success. */
static void load_ok(medner__config_file *cfg, const char *yaml)
{
    write_cfg(yaml);
    int rc = medner__config_file_load(cfg, cfgpath);
    if (rc != MEDNER_OK)
        fail_msg("load failed (%d): %s\n--- yaml ---\n%s", rc, medner_last_error(), yaml);
    assert_ptr_equal(cfg->params.decoder, &cfg->decoder);
    assert_int_equal(cfg->params.struct_size, sizeof(medner_pipeline_params));
    assert_int_equal(cfg->decoder.struct_size, sizeof(medner_decoder_params));
}

/* Load `yaml`, expecting `status` and a message "cfgpath:where: ...msg...". */
static void load_fails(const char *yaml, int status, const char *where, const char *msg)
{
    write_cfg(yaml);
    medner__config_file cfg;
    memset(&cfg, 0xA5, sizeof cfg);
    medner__config_file before = cfg;
    int rc = medner__config_file_load(&cfg, cfgpath);
    const char *err = medner_last_error();
    if (rc != status)
        fail_msg("expected status %d, got %d (%s)\n--- yaml ---\n%s", status, rc, err, yaml);
    assert_memory_equal(&cfg, &before, sizeof cfg); /* untouched */
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s:%s: ", cfgpath, where);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, msg) == NULL)
        fail_msg("message\n  %s\ndoes not start with\n  %s\nor lacks\n  %s\n--- yaml ---\n%s",
                 err, prefix, msg, yaml);
    assert_int_equal(medner__live_allocations(), 0);
}

static char *join(const char *a, const char *b)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 512, "%s/%s", a, b);
    return p;
}

/* ---- every key ------------------------------------------------------------ */

static void test_every_key(void **state)
{
    (void)state;
    medner__config_file cfg;
    load_ok(&cfg,
            "# every key\n"
            "model: models/ncbi\n"
            "adapter: adapters/lora\n"
            "aggregation: average\n"
            "decoding: constrained\n"
            "scheme: bioes\n"
            "max_length: 256\n"
            "overlap: 64\n"
            "batch_size: 16\n"
            "threads: 4\n"
            "encoder_threads: 2\n"
            "precision: int8\n"
            "merge: hf\n"
            "first_window_only: true\n"
            "min_score: 0.35\n"
            "labels:\n"
            "  ignore: [O, Misc]\n"
            "  keep:\n"
            "    - Problem\n"
            "    - Drug\n"
            "  rename:\n"
            "    Disease_disorder: Problem\n"
            "    Medication: Drug\n");
    const medner_pipeline_params *p = &cfg.params;
    const medner_decoder_params *d = &cfg.decoder;
    assert_string_equal(p->model_dir, join(tmpdir, "models/ncbi"));
    assert_string_equal(p->adapter_dir, join(tmpdir, "adapters/lora"));
    assert_int_equal(d->aggregation, MEDNER_AGGREGATION_AVERAGE);
    assert_int_equal(d->decoding, MEDNER_DECODING_CONSTRAINED);
    assert_int_equal(d->scheme, MEDNER_SCHEME_BIOES);
    assert_int_equal(p->max_length, 256);
    assert_int_equal(p->overlap, 64);
    assert_int_equal(p->batch_size, 16);
    assert_int_equal(p->threads, 4);
    assert_int_equal(p->encoder_threads, 2);
    assert_int_equal(p->precision, MEDNER_PRECISION_INT8);
    assert_int_equal(p->merge, MEDNER_MERGE_HF);
    assert_int_equal(p->first_window_only, MEDNER_ON);
    assert_true(d->min_score == 0.35);
    assert_int_equal(p->reserved, 0);
    assert_int_equal(d->reserved, 0);
    assert_int_equal(d->n_ignore_labels, 2);
    assert_string_equal(d->ignore_labels[0], "O");
    assert_string_equal(d->ignore_labels[1], "Misc");
    assert_int_equal(d->n_keep_labels, 2);
    assert_string_equal(d->keep_labels[0], "Problem");
    assert_string_equal(d->keep_labels[1], "Drug");
    assert_int_equal(d->n_renames, 2);
    assert_string_equal(d->rename_from[0], "Disease_disorder");
    assert_string_equal(d->rename_to[0], "Problem");
    assert_string_equal(d->rename_from[1], "Medication");
    assert_string_equal(d->rename_to[1], "Drug");
    /* every MEDNER__CONFIG_HAS_* bit but context (test_context_key) */
    assert_int_equal(cfg.set, ((1u << 16) - 1) | MEDNER__CONFIG_HAS_PRECISION);
    medner__config_file_release(&cfg);
    assert_null(cfg.model_dir);
    assert_int_equal(medner__live_allocations(), 0);
    medner__config_file_release(&cfg); /* a released struct is zeroed: no-op */
    medner__config_file_release(NULL);
}

static void test_minimal_defaults(void **state)
{
    (void)state;
    medner__config_file cfg;
    load_ok(&cfg, "model: /abs/model\n");
    assert_string_equal(cfg.params.model_dir, "/abs/model"); /* absolute: kept */
    assert_null(cfg.params.adapter_dir);
    assert_int_equal(cfg.params.max_length, 0);
    assert_int_equal(cfg.params.overlap, 0);
    assert_int_equal(cfg.params.batch_size, 0);
    assert_int_equal(cfg.params.threads, 0);
    assert_int_equal(cfg.params.encoder_threads, 0);
    assert_int_equal(cfg.params.merge, MEDNER_MERGE_DEFAULT);
    assert_int_equal(cfg.params.first_window_only, MEDNER_DEFAULT);
    assert_int_equal(cfg.decoder.aggregation, MEDNER_AGGREGATION_DEFAULT);
    assert_int_equal(cfg.decoder.decoding, MEDNER_DECODING_DEFAULT);
    assert_int_equal(cfg.decoder.scheme, MEDNER_SCHEME_AUTO);
    assert_true(cfg.decoder.min_score == 0.0);
    assert_null(cfg.decoder.ignore_labels);
    assert_int_equal(cfg.decoder.n_ignore_labels, 0);
    assert_null(cfg.decoder.keep_labels);
    assert_null(cfg.decoder.rename_from);
    assert_null(cfg.decoder.rename_to);
    assert_int_equal(cfg.decoder.n_renames, 0);
    assert_int_equal(cfg.set, MEDNER__CONFIG_HAS_MODEL);
    medner__config_file_release(&cfg);

    /* explicit zeros and empty collections are recorded in `set` */
    load_ok(&cfg, "model: m\noverlap: 0\nencoder_threads: 0\nscheme: auto\nmin_score: 0\n"
                  "first_window_only: false\nlabels: {keep: [], rename: {}}\n");
    assert_int_equal(cfg.params.overlap, 0);
    assert_int_equal(cfg.params.first_window_only, MEDNER_OFF);
    assert_null(cfg.decoder.keep_labels);
    assert_null(cfg.decoder.rename_from);
    assert_int_equal(cfg.set, MEDNER__CONFIG_HAS_MODEL | MEDNER__CONFIG_HAS_OVERLAP |
                                  MEDNER__CONFIG_HAS_BLAS_THREADS | MEDNER__CONFIG_HAS_SCHEME |
                                  MEDNER__CONFIG_HAS_MIN_SCORE |
                                  MEDNER__CONFIG_HAS_FIRST_WINDOW_ONLY |
                                  MEDNER__CONFIG_HAS_KEEP | MEDNER__CONFIG_HAS_RENAME);
    medner__config_file_release(&cfg);
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_enum_words(void **state)
{
    (void)state;
    static const struct { const char *key, *word; int value; } cases[] = {
        { "aggregation", "none", MEDNER_AGGREGATION_NONE },
        { "aggregation", "simple", MEDNER_AGGREGATION_SIMPLE },
        { "aggregation", "first", MEDNER_AGGREGATION_FIRST },
        { "aggregation", "average", MEDNER_AGGREGATION_AVERAGE },
        { "aggregation", "max", MEDNER_AGGREGATION_MAX },
        { "decoding", "argmax", MEDNER_DECODING_ARGMAX },
        { "decoding", "constrained", MEDNER_DECODING_CONSTRAINED },
        { "scheme", "auto", MEDNER_SCHEME_AUTO },
        { "scheme", "io", MEDNER_SCHEME_IO },
        { "scheme", "bio", MEDNER_SCHEME_BIO },
        { "scheme", "bioes", MEDNER_SCHEME_BIOES },
        { "merge", "center", MEDNER_MERGE_CENTER },
        { "merge", "hf", MEDNER_MERGE_HF },
        { "segment", "none", MEDNER_SEGMENT_NONE },
        { "segment", "sentence", MEDNER_SEGMENT_SENTENCE },
    };
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(cases); i++) {
        char yaml[128];
        /* quoted words are strings too, so both forms work */
        snprintf(yaml, sizeof yaml, "model: m\n%s: %s%s%s\n", cases[i].key, i % 2 ? "\"" : "",
                 cases[i].word, i % 2 ? "\"" : "");
        medner__config_file cfg;
        load_ok(&cfg, yaml);
        int got = !strcmp(cases[i].key, "aggregation") ? (int)cfg.decoder.aggregation
                  : !strcmp(cases[i].key, "decoding")  ? (int)cfg.decoder.decoding
                  : !strcmp(cases[i].key, "scheme")    ? (int)cfg.decoder.scheme
                  : !strcmp(cases[i].key, "segment")   ? (int)cfg.params.segment
                                                       : (int)cfg.params.merge;
        assert_int_equal(got, cases[i].value);
        medner__config_file_release(&cfg);
        /* the shared helpers agree */
        int v = -1;
        assert_int_equal(medner__config_enum_value(cases[i].key, cases[i].word, &v), MEDNER_OK);
        assert_int_equal(v, cases[i].value);
        assert_string_equal(medner__config_enum_name(cases[i].key, v), cases[i].word);
    }
    int v = 7;
    assert_int_equal(medner__config_enum_value("aggregation", "First", &v),
                     MEDNER_E_INVALID_CONFIG);
    assert_int_equal(v, 7);
    assert_string_equal(medner_last_error(),
                        "\"aggregation\" must be one of none|simple|first|average|max; "
                        "found \"First\"");
    assert_int_equal(medner__config_enum_value("colour", "red", &v), MEDNER_E_INVALID_ARGUMENT);
    assert_string_equal(medner__config_enum_name("aggregation", 0), "first");
    assert_string_equal(medner__config_enum_name("decoding", 0), "argmax");
    assert_string_equal(medner__config_enum_name("scheme", 0), "auto");
    assert_string_equal(medner__config_enum_name("merge", 0), "center");
    assert_null(medner__config_enum_name("merge", 9));
    assert_string_equal(medner__config_enum_name("segment", 0), "none");
    assert_int_equal(medner__config_enum_value("segment", "paragraph", &v),
                     MEDNER_E_INVALID_CONFIG);
    assert_string_equal(medner_last_error(),
                        "\"segment\" must be one of none|sentence; found \"paragraph\"");
    assert_null(medner__config_enum_name("colour", 1));
}

static void test_scalar_forms(void **state)
{
    (void)state;
    medner__config_file cfg;
    load_ok(&cfg,
            "\xEF\xBB\xBF%YAML 1.2\n"
            "---\n"
            "{model: 'it''s here', max_length: 0x200, overlap: 0o200,\n"
            " batch_size: 0012, threads: 256, encoder_threads: -0,\n"
            " first_window_only: TRUE, min_score: .5e0,\n"
            " labels: {ignore: [\"O\", 'B-X', \"\\u00e9t\\u00e9\"], rename: {\"a b\": \"c: d\"}}}\n"
            "...\n");
    assert_string_equal(cfg.params.model_dir, join(tmpdir, "it's here"));
    assert_int_equal(cfg.params.max_length, 512);
    assert_int_equal(cfg.params.overlap, 128);
    assert_int_equal(cfg.params.batch_size, 12);
    assert_int_equal(cfg.params.threads, 256);
    assert_int_equal(cfg.params.encoder_threads, 0);
    assert_int_equal(cfg.params.first_window_only, MEDNER_ON);
    assert_true(cfg.decoder.min_score == 0.5);
    assert_int_equal(cfg.decoder.n_ignore_labels, 3);
    assert_string_equal(cfg.decoder.ignore_labels[1], "B-X");
    assert_string_equal(cfg.decoder.ignore_labels[2], "\xC3\xA9t\xC3\xA9");
    assert_string_equal(cfg.decoder.rename_from[0], "a b");
    assert_string_equal(cfg.decoder.rename_to[0], "c: d");
    medner__config_file_release(&cfg);

    static const struct { const char *text; double value; } scores[] = {
        { "0", 0.0 }, { "1", 1.0 }, { "0.25", 0.25 }, { "1e-1", 0.1 }, { "+.75", 0.75 },
        { "1.", 1.0 }, { "-0.0", 0.0 }, { "0o1", 1.0 }, { "1.0E0", 1.0 }, { "0.1", 0.1 },
    };
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(scores); i++) {
        char yaml[64];
        snprintf(yaml, sizeof yaml, "model: m\nmin_score: %s\n", scores[i].text);
        load_ok(&cfg, yaml);
        assert_true(cfg.decoder.min_score == scores[i].value);
        assert_false(signbit(cfg.decoder.min_score));
        medner__config_file_release(&cfg);
    }
    static const struct { const char *text; medner_switch value; } bools[] = {
        { "true", MEDNER_ON }, { "True", MEDNER_ON }, { "TRUE", MEDNER_ON },
        { "false", MEDNER_OFF }, { "False", MEDNER_OFF }, { "FALSE", MEDNER_OFF },
    };
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(bools); i++) {
        char yaml[64];
        snprintf(yaml, sizeof yaml, "model: m\nfirst_window_only: %s\n", bools[i].text);
        load_ok(&cfg, yaml);
        assert_int_equal(cfg.params.first_window_only, bools[i].value);
        medner__config_file_release(&cfg);
    }
    /* block scalars are strings; labels that look like YAML 1.1 booleans are
     * strings under 1.2 */
    load_ok(&cfg, "model: >-\n  folded\n  dir\nlabels:\n  keep: [yes, no, on, Off]\n");
    assert_string_equal(cfg.params.model_dir, join(tmpdir, "folded dir"));
    assert_int_equal(cfg.decoder.n_keep_labels, 4);
    assert_string_equal(cfg.decoder.keep_labels[0], "yes");
    assert_string_equal(cfg.decoder.keep_labels[3], "Off");
    medner__config_file_release(&cfg);
    assert_int_equal(medner__live_allocations(), 0);
}

/* C locales with a decimal comma must not change how numbers are read. */
static void test_numbers_ignore_locale(void **state)
{
    (void)state;
    char locdir[32];
    use_decimal_comma_locale(locdir);
    medner__config_file cfg;
    load_ok(&cfg, "model: m\nmin_score: 0.75\n");
    restore_c_locale(locdir);
    assert_true(cfg.decoder.min_score == 0.75);
    medner__config_file_release(&cfg);
}

/* ---- base/adapter and relative paths --------------------------------------- */

static void test_paths(void **state)
{
    (void)state;
    medner__config_file cfg;
    load_ok(&cfg, "base: ../models/bert\nadapter: /opt/lora\n");
    assert_string_equal(cfg.params.model_dir, join(tmpdir, "../models/bert"));
    assert_string_equal(cfg.params.adapter_dir, "/opt/lora");
    assert_int_equal(cfg.set, MEDNER__CONFIG_HAS_MODEL | MEDNER__CONFIG_HAS_ADAPTER);
    medner__config_file_release(&cfg);

    /* a file in a subdirectory: paths are relative to it, not to the cwd */
    char sub[128], path[160];
    snprintf(sub, sizeof sub, "%s/sub", tmpdir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/sub/p.yaml", tmpdir);
    const char *yaml = "model: m\nadapter: ./a\n";
    write_at(path, yaml, strlen(yaml));
    assert_int_equal(medner__config_file_load(&cfg, path), MEDNER_OK);
    assert_string_equal(cfg.params.model_dir, join(sub, "m"));
    assert_string_equal(cfg.params.adapter_dir, join(sub, "./a"));
    medner__config_file_release(&cfg);

    /* a path without a directory part: relative to the cwd, i.e. unchanged */
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(sub), 0);
    int rc = medner__config_file_load(&cfg, "p.yaml");
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, MEDNER_OK);
    assert_string_equal(cfg.params.model_dir, "m");
    assert_string_equal(cfg.params.adapter_dir, "./a");
    medner__config_file_release(&cfg);
    assert_int_equal(medner__live_allocations(), 0);
}

/* ---- errors ---------------------------------------------------------------- */

typedef struct bad {
    const char *yaml;
    int status;
    const char *where; /* "LINE:COLUMN" */
    const char *msg;
} bad;

static const bad config_errors[] = {
    /* unknown keys, at each level */
    { "model: m\nmodle: x\n", MEDNER_E_INVALID_CONFIG, "2:1",
      "unknown key \"modle\" (expected one of model, base, adapter, aggregation, decoding, "
      "scheme, max_length, overlap, batch_size, threads, encoder_threads, merge, "
      "first_window_only, min_score, labels, context, precision, segment)" },
    { "model: m\nprecision: fp16\n", MEDNER_E_INVALID_CONFIG, "2:12",
      "\"precision\" must be one of fp32|bf16|int8|auto; found \"fp16\"" },
    { "model: m\nprecision: 8\n", MEDNER_E_INVALID_CONFIG, "2:12",
      "\"precision\" must be one of fp32|bf16|int8|auto" },
    { "model: m\nlabels:\n  ignore: [O]\n  drop: [X]\n", MEDNER_E_INVALID_CONFIG, "4:3",
      "unknown key \"drop\" in \"labels\" (expected ignore, keep or rename)" },
    { "model: m\nModel: x\n", MEDNER_E_INVALID_CONFIG, "2:1", "unknown key \"Model\"" },
    /* duplicate keys */
    { "model: a\nthreads: 2\nmodel: b\n", MEDNER_E_INVALID_CONFIG, "3:1",
      "duplicate key \"model\" (first at 1:1)" },
    { "model: m\nlabels: {keep: [A], keep: [B]}\n", MEDNER_E_INVALID_CONFIG, "2:21",
      "duplicate key \"keep\" in \"labels\" (first at 2:10)" },
    { "model: m\nlabels:\n  rename:\n    A: B\n    C: D\n    A: E\n", MEDNER_E_INVALID_CONFIG,
      "6:5", "duplicate key \"A\" in \"labels.rename\" (first at 4:5)" },
    { "model: m\nlabels:\n  rename: {Z: 1a, Y: b, Z: c, Y: d}\n", MEDNER_E_INVALID_CONFIG, "3:25",
      "duplicate key \"Z\" in \"labels.rename\" (first at 3:12)" },
    { "model: a\nbase: b\nadapter: c\n", MEDNER_E_INVALID_CONFIG, "2:1",
      "\"base\" and \"model\" (at 1:1) both name the model directory; give one of them" },
    /* model/base/adapter */
    { "threads: 2\nmerge: hf\n", MEDNER_E_INVALID_CONFIG, "1:1",
      "missing \"model\" (the model directory; or \"base\" with \"adapter\")" },
    { "adapter: a\n", MEDNER_E_INVALID_CONFIG, "1:1", "missing \"model\"" },
    { "base: b\n", MEDNER_E_INVALID_CONFIG, "1:1",
      "\"base\" is the base model of an adapter: add \"adapter\", or use \"model\"" },
    { "model: [a, b]\n", MEDNER_E_INVALID_CONFIG, "1:8",
      "\"model\" must be a directory (a non-empty string); found a list" },
    { "model: {a: b}\n", MEDNER_E_INVALID_CONFIG, "1:8",
      "\"model\" must be a directory (a non-empty string); found a mapping" },
    { "model: 12\n", MEDNER_E_INVALID_CONFIG, "1:8",
      "\"model\" must be a directory (a non-empty string); found 12" },
    { "model:\n", MEDNER_E_INVALID_CONFIG, "1:7",
      "\"model\" must be a directory (a non-empty string); found null" },
    { "model: ''\n", MEDNER_E_INVALID_CONFIG, "1:8",
      "\"model\" must be a directory (a non-empty string); found the quoted string \"\"" },
    { "model: \"a\\0b\"\n", MEDNER_E_INVALID_CONFIG, "1:8",
      "\"model\" must not contain NUL characters" },
    { "model: m\nadapter: true\n", MEDNER_E_INVALID_CONFIG, "2:10",
      "\"adapter\" must be a directory (a non-empty string); found true" },
    /* integers */
    { "model: m\nmax_length: abc\n", MEDNER_E_INVALID_CONFIG, "2:13",
      "\"max_length\" must be an integer in [3, 4294967295]; found \"abc\"" },
    { "model: m\nmax_length: \"12\"\n", MEDNER_E_INVALID_CONFIG, "2:13",
      "\"max_length\" must be an integer in [3, 4294967295]; found the quoted string \"12\"" },
    { "model: m\nmax_length: 3.5\n", MEDNER_E_INVALID_CONFIG, "2:13",
      "\"max_length\" must be an integer in [3, 4294967295]; found 3.5" },
    { "model: m\nmax_length: 2\n", MEDNER_E_INVALID_CONFIG, "2:13",
      "\"max_length\" must be an integer in [3, 4294967295]; found 2" },
    { "model: m\nmax_length: 4294967296\n", MEDNER_E_INVALID_CONFIG, "2:13",
      "found 4294967296" },
    { "model: m\nmax_length: 99999999999999999999999\n", MEDNER_E_INVALID_CONFIG, "2:13",
      "found 99999999999999999999999" },
    { "model: m\nmax_length: [512]\n", MEDNER_E_INVALID_CONFIG, "2:13", "found a list" },
    { "model: m\noverlap: -1\n", MEDNER_E_INVALID_CONFIG, "2:10",
      "\"overlap\" must be an integer in [0, 4294967295]; found -1" },
    { "model: m\nbatch_size: 0\n", MEDNER_E_INVALID_CONFIG, "2:13",
      "\"batch_size\" must be an integer in [1, 4096]; found 0" },
    /* counts past the plausibility limits (docs/errors.md) */
    { "model: m\nbatch_size: 4097\n", MEDNER_E_INVALID_CONFIG, "2:13",
      "\"batch_size\" must be an integer in [1, 4096]; found 4097" },
    { "model: m\nthreads: 257\n", MEDNER_E_INVALID_CONFIG, "2:10",
      "\"threads\" must be an integer in [1, 256]; found 257" },
    { "model: m\nthreads: 4294967295\n", MEDNER_E_INVALID_CONFIG, "2:10", "found 4294967295" },
    { "model: m\nencoder_threads: 257\n", MEDNER_E_INVALID_CONFIG, "2:18",
      "\"encoder_threads\" must be an integer in [0, 256]; found 257" },
    { "model: m\nthreads: 0\n", MEDNER_E_INVALID_CONFIG, "2:10",
      "\"threads\" must be an integer in [1, 256]; found 0" },
    { "model: m\nthreads: 1e3\n", MEDNER_E_INVALID_CONFIG, "2:10", "found 1e3" },
    { "model: m\nencoder_threads: true\n", MEDNER_E_INVALID_CONFIG, "2:18",
      "\"encoder_threads\" must be an integer in [0, 256]; found true" },
    { "model: m\nmax_length: +0x200\n", MEDNER_E_INVALID_CONFIG, "2:13", "found \"+0x200\"" },
    { "model: m\nencoder_threads: 0x\n", MEDNER_E_INVALID_CONFIG, "2:18", "found \"0x\"" },
    /* enumerations */
    { "model: m\naggregation: firts\n", MEDNER_E_INVALID_CONFIG, "2:14",
      "\"aggregation\" must be one of none|simple|first|average|max; found \"firts\"" },
    { "model: m\naggregation: FIRST\n", MEDNER_E_INVALID_CONFIG, "2:14", "found \"FIRST\"" },
    { "model: m\ndecoding: viterbi\n", MEDNER_E_INVALID_CONFIG, "2:11",
      "\"decoding\" must be one of argmax|constrained; found \"viterbi\"" },
    { "model: m\nscheme: iob1\n", MEDNER_E_INVALID_CONFIG, "2:9",
      "\"scheme\" must be one of auto|io|bio|bioes; found \"iob1\"" },
    { "model: m\nmerge: [hf]\n", MEDNER_E_INVALID_CONFIG, "2:8",
      "\"merge\" must be one of center|hf; found a list" },
    { "model: m\nmerge: null\n", MEDNER_E_INVALID_CONFIG, "2:8",
      "\"merge\" must be one of center|hf; found null" },
    /* booleans: YAML 1.2 core only */
    { "model: m\nfirst_window_only: yes\n", MEDNER_E_INVALID_CONFIG, "2:20",
      "\"first_window_only\" must be true or false; found \"yes\"" },
    { "model: m\nfirst_window_only: 1\n", MEDNER_E_INVALID_CONFIG, "2:20", "found 1" },
    { "model: m\nfirst_window_only: \"true\"\n", MEDNER_E_INVALID_CONFIG, "2:20",
      "found the quoted string \"true\"" },
    /* numbers */
    { "model: m\nmin_score: 1.5\n", MEDNER_E_INVALID_CONFIG, "2:12",
      "\"min_score\" must be a number in [0, 1]; found 1.5" },
    { "model: m\nmin_score: -0.1\n", MEDNER_E_INVALID_CONFIG, "2:12", "found -0.1" },
    { "model: m\nmin_score: 2\n", MEDNER_E_INVALID_CONFIG, "2:12", "found 2" },
    { "model: m\nmin_score: .nan\n", MEDNER_E_INVALID_CONFIG, "2:12", "found .nan" },
    { "model: m\nmin_score: -.inf\n", MEDNER_E_INVALID_CONFIG, "2:12", "found -.inf" },
    { "model: m\nmin_score: '0.5'\n", MEDNER_E_INVALID_CONFIG, "2:12",
      "found the quoted string \"0.5\"" },
    { "model: m\nmin_score: 1e\n", MEDNER_E_INVALID_CONFIG, "2:12", "found \"1e\"" },
    /* labels */
    { "model: m\nlabels: [O]\n", MEDNER_E_INVALID_CONFIG, "2:9",
      "\"labels\" must be a mapping with the keys ignore, keep, rename; found a list" },
    { "model: m\nlabels:\n  ignore: O\n", MEDNER_E_INVALID_CONFIG, "3:11",
      "\"labels.ignore\" must be a list of label names; found \"O\"" },
    { "model: m\nlabels:\n  keep:\n    - Drug\n    - [Problem]\n", MEDNER_E_INVALID_CONFIG,
      "5:7", "an item of \"labels.keep\" must be a label name (a non-empty string); found a list" },
    { "model: m\nlabels: {keep: [A, 12]}\n", MEDNER_E_INVALID_CONFIG, "2:20",
      "an item of \"labels.keep\" must be a label name (a non-empty string); found 12" },
    { "model: m\nlabels: {keep: [A, \"\"]}\n", MEDNER_E_INVALID_CONFIG, "2:20",
      "found the quoted string \"\"" },
    { "model: m\nlabels: {ignore: [\"O\\0\"]}\n", MEDNER_E_INVALID_CONFIG, "2:19",
      "an item of \"labels.ignore\" must not contain NUL characters" },
    { "model: m\nlabels:\n  rename: [A, B]\n", MEDNER_E_INVALID_CONFIG, "3:11",
      "\"labels.rename\" must be a mapping of label names (FROM: TO); found a list" },
    { "model: m\nlabels:\n  rename:\n    A: [B]\n", MEDNER_E_INVALID_CONFIG, "4:8",
      "the new name of \"A\" in \"labels.rename\" must be a label name (a non-empty string); "
      "found a list" },
    { "model: m\nlabels:\n  rename:\n    A:\n", MEDNER_E_INVALID_CONFIG, "4:7",
      "the new name of \"A\" in \"labels.rename\" must be a label name (a non-empty string); "
      "found null" },
    { "model: m\nlabels:\n  rename:\n    1: One\n", MEDNER_E_INVALID_CONFIG, "4:5",
      "a key of \"labels.rename\" must be a label name (a non-empty string); found 1" },
    { "model: m\nlabels:\n  rename:\n    ? [A]\n    : B\n", MEDNER_E_INVALID_CONFIG, "4:7",
      "a key of \"labels.rename\" must be a label name (a non-empty string); found a list" },
    { "model: m\nlabels: {? {a: b}: c}\n", MEDNER_E_INVALID_CONFIG, "2:12",
      "a key of \"labels\" must be a string; found a mapping" },
    /* top level */
    { "? [model]\n: m\n", MEDNER_E_INVALID_CONFIG, "1:3", "a key must be a string; found a list" },
    { "", MEDNER_E_INVALID_CONFIG, "1:1",
      "empty configuration (expected a mapping with at least \"model\")" },
    { "# only a comment\n\n", MEDNER_E_INVALID_CONFIG, "1:1", "empty configuration" },
    { "---\n", MEDNER_E_INVALID_CONFIG, "2:1", "empty configuration" },
    { "~\n", MEDNER_E_INVALID_CONFIG, "1:1", "empty configuration" },
    { "- model: m\n", MEDNER_E_INVALID_CONFIG, "1:1",
      "the top level must be a mapping of keys to values; found a list" },
    { "just text\n", MEDNER_E_INVALID_CONFIG, "1:1",
      "the top level must be a mapping of keys to values; found \"just text\"" },
    { "model: m\n---\nmodel: n\n", MEDNER_E_INVALID_CONFIG, "2:1",
      "a second YAML document (a configuration is one document)" },
    /* anchors, aliases, tags */
    { "model: &dir models/x\nadapter: *dir\n", MEDNER_E_INVALID_CONFIG, "1:8",
      "anchors (&name) are not supported in a configuration" },
    { "model: m\nlabels:\n  ignore: &l [O]\n  keep: *l\n", MEDNER_E_INVALID_CONFIG, "3:11",
      "anchors (&name) are not supported" },
    { "model: m\nlabels: {keep: [*x]}\n", MEDNER_E_INVALID_CONFIG, "2:17",
      "aliases (*name) are not supported in a configuration" },
    { "&top\nmodel: m\n", MEDNER_E_INVALID_CONFIG, "1:1", "anchors (&name) are not supported" },
    { "model: !!str 12\n", MEDNER_E_INVALID_CONFIG, "1:8",
      "tags (!tag) are not supported in a configuration" },
    { "model: m\nthreads: !!int 2\n", MEDNER_E_INVALID_CONFIG, "2:10", "tags (!tag)" },
    /* a long or non-printable key is shortened and made printable */
    { "model: m\nabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz: 1\n",
      MEDNER_E_INVALID_CONFIG, "2:1",
      "unknown key \"abcdefghijklmnopqrstuvwxyzabcdefghijklmn...\"" },
    { "model: m\n\"a\\tb\\u00e9\": 1\n", MEDNER_E_INVALID_CONFIG, "2:1",
      "unknown key \"a?b\xC3\xA9\"" },
    /* the first problem in document order wins */
    { "model: m\nthreads: 0\nmerge: left\n", MEDNER_E_INVALID_CONFIG, "2:10",
      "\"threads\" must be" },
};

static const bad syntax_errors[] = {
    { "model: m\n  threads: 2\n", MEDNER_E_PARSE, "2:10",
      "YAML syntax error: mapping values are not allowed in this context" },
    { "model: [a, b\n", MEDNER_E_PARSE, "2:1",
      "YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at "
      "1:8)" },
    { "model: \"abc\n", MEDNER_E_PARSE, "2:1",
      "YAML syntax error: found unexpected end of stream (while scanning a quoted scalar at "
      "1:8)" },
    { "model: m\n\tthreads: 2\n", MEDNER_E_PARSE, "2:1",
      "YAML syntax error: found a tab character that violates indentation (while scanning a "
      "plain scalar at 1:8)" },
    { "model: m\nthreads: @2\n", MEDNER_E_PARSE, "2:10",
      "YAML syntax error: found character that cannot start any token" },
    { "model: m\nlabels: {keep: [A}\n", MEDNER_E_PARSE, "2:18", "YAML syntax error: " },
    /* syntax wins over schema problems earlier in the file */
    { "modle: m\nthreads: [\n", MEDNER_E_PARSE, "3:1", "YAML syntax error: " },
    /* the reader's errors: line and column computed from the byte offset */
    { "model: m\nlabels: {keep: [caf\xC3]}\n", MEDNER_E_PARSE, "2:21",
      "YAML syntax error: invalid trailing UTF-8 octet (byte offset 29)" },
    { "\xEF\xBB\xBFmodel: m\n\xFF: 1\n", MEDNER_E_PARSE, "2:1",
      "YAML syntax error: invalid leading UTF-8 octet (byte offset 12)" },
    /* a UTF-16 byte order mark: the format is UTF-8 only */
    { "\xFF\xFEm", MEDNER_E_PARSE, "1:1",
      "YAML syntax error: invalid leading UTF-8 octet (byte offset 0)" },
    { "model: m\n\xFF: 1\n", MEDNER_E_PARSE, "2:1",
      "YAML syntax error: invalid leading UTF-8 octet (byte offset 9)" },
    { "model: m\nx: \x01\n", MEDNER_E_PARSE, "2:4",
      "YAML syntax error: control characters are not allowed (byte offset 12)" },
    { "model: m\n\xC3\xA9: \x01\n", MEDNER_E_PARSE, "2:4", "(byte offset 13)" },
    { "model: m\r\n\xFF: 1\r\n", MEDNER_E_PARSE, "2:1", "(byte offset 10)" },
    { "model: m\r\xFF: 1\r", MEDNER_E_PARSE, "2:1", "(byte offset 9)" },
    { "model: m\r\nthreads: x\r\n", MEDNER_E_INVALID_CONFIG, "2:10", "\"threads\" must be" },
};

static void run_bad(const bad *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        load_fails(cases[i].yaml, cases[i].status, cases[i].where, cases[i].msg);
}

static void test_config_errors(void **state)
{
    (void)state;
    run_bad(config_errors, MEDNER_ARRAY_LEN(config_errors));
}

static void test_syntax_errors(void **state)
{
    (void)state;
    run_bad(syntax_errors, MEDNER_ARRAY_LEN(syntax_errors));
}

/* NUL bytes in the file are a syntax error, not a truncation. */
/* The same limits on the params structs that carry the counts: refused
 * when the pipeline or encoder is made, not at the first call. */
static void test_count_limits_in_params(void **state)
{
    (void)state;
    const char *tiny = "tests/data/models/tiny-bert-tc";
    static const struct { uint32_t batch, threads, enc; int ok; } cases[] = {
        { 4096, 256, 256, 1 }, { 4097, 0, 0, 0 }, { 0, 257, 0, 0 }, { 0, 0, 257, 0 },
        { UINT32_MAX, 0, 0, 0 }, { 0, UINT32_MAX, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
        pp.model_dir = tiny;
        pp.batch_size = cases[i].batch;
        pp.threads = cases[i].threads;
        pp.encoder_threads = cases[i].enc;
        medner_pipeline *p = (medner_pipeline *)0x1;
        int rc = medner_pipeline_create(&p, &pp);
        if (cases[i].ok) {
            assert_int_equal(rc, MEDNER_OK);
            medner_pipeline_params got = MEDNER_PIPELINE_PARAMS_INIT;
            assert_int_equal(medner_pipeline_get_params(p, &got), MEDNER_OK);
            assert_int_equal(got.batch_size, 4096);
            assert_int_equal(got.threads, 256);
            medner_pipeline_free(p);
        } else {
            assert_int_equal(rc, MEDNER_E_INVALID_ARGUMENT);
            assert_ptr_equal(p, (medner_pipeline *)0x1);
            assert_non_null(strstr(medner_last_error(), "expected at most 4096, 256 and 256"));
        }
    }
    /* the pipeline config's overrides (the CLI's flags) go through the same check */
    char model[512];
    assert_non_null(getcwd(model, sizeof model));
    snprintf(model + strlen(model), sizeof model - strlen(model), "/%s", tiny);
    char yaml[700];
    snprintf(yaml, sizeof yaml, "model: %s\nbatch_size: 16\n", model);
    write_cfg(yaml);
    medner_pipeline_params over = MEDNER_PIPELINE_PARAMS_INIT;
    over.threads = 1000;
    medner_pipeline *p = (medner_pipeline *)0x1;
    assert_int_equal(medner_pipeline_load_config(&p, cfgpath, &over), MEDNER_E_INVALID_ARGUMENT);
    assert_ptr_equal(p, (medner_pipeline *)0x1);
    assert_non_null(strstr(medner_last_error(), "threads 1000"));
    /* encoder params */
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    ep.threads = 257;
    medner_encoder *e = (medner_encoder *)0x1;
    assert_int_equal(medner_encoder_load(&e, tiny, &ep), MEDNER_E_INVALID_ARGUMENT);
    assert_ptr_equal(e, (medner_encoder *)0x1);
    assert_non_null(strstr(medner_last_error(), "at most 256"));
    ep.threads = 256;
    assert_int_equal(medner_encoder_load(&e, tiny, &ep), MEDNER_OK);
    medner_encoder_free(e);
}

static void test_nul_in_file(void **state)
{
    (void)state;
    write_at(cfgpath, "model: m\0\nthreads: x\n", 21);
    medner__config_file cfg;
    assert_int_equal(medner__config_file_load(&cfg, cfgpath), MEDNER_E_PARSE);
    char want[256];
    snprintf(want, sizeof want, "%s:1:9: YAML syntax error: control characters are not allowed",
             cfgpath);
    assert_non_null(strstr(medner_last_error(), want));
}

static void test_limits_and_io(void **state)
{
    (void)state;
    medner__config_file cfg;
    memset(&cfg, 0, sizeof cfg);
    /* file size: 1 MiB is accepted, one byte more is not */
    size_t big = MEDNER__CONFIG_MAX_FILE;
    char *buf = malloc(big + 1);
    assert_non_null(buf);
    memset(buf, ' ', big + 1);
    memcpy(buf, "model: m\n#", 10);
    buf[big - 1] = '\n';
    write_at(cfgpath, buf, big);
    assert_int_equal(medner__config_file_load(&cfg, cfgpath), MEDNER_OK);
    medner__config_file_release(&cfg);
    write_at(cfgpath, buf, big + 1);
    assert_int_equal(medner__config_file_load(&cfg, cfgpath), MEDNER_E_LIMIT);
    assert_non_null(strstr(medner_last_error(), "more than the limit of 1048576"));
    free(buf);

    /* nesting: 32 levels parse (and then fail the schema), 33 do not */
    char deep[256];
    int n = snprintf(deep, sizeof deep, "model: m\nx: ");
    for (int i = 0; i < MEDNER__CONFIG_MAX_DEPTH - 1; i++)
        deep[n++] = '[';
    for (int i = 0; i < MEDNER__CONFIG_MAX_DEPTH - 1; i++)
        deep[n++] = ']';
    deep[n++] = '\n';
    deep[n] = '\0';
    load_fails(deep, MEDNER_E_INVALID_CONFIG, "2:1", "unknown key \"x\"");
    n = snprintf(deep, sizeof deep, "model: m\nx: ");
    for (int i = 0; i < MEDNER__CONFIG_MAX_DEPTH; i++)
        deep[n++] = '[';
    deep[n++] = '\n';
    deep[n] = '\0';
    load_fails(deep, MEDNER_E_LIMIT, "2:35", "collections nested deeper than 32 levels");

    /* I/O and arguments */
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none.yaml", tmpdir);
    assert_int_equal(medner__config_file_load(&cfg, missing), MEDNER_E_IO);
    assert_non_null(strstr(medner_last_error(), "cannot open"));
    assert_int_equal(medner__config_file_load(&cfg, tmpdir), MEDNER_E_IO);
    assert_non_null(strstr(medner_last_error(), "is a directory; expected a regular file"));
    /* a FIFO (or device) as the config: refused by name, not waited on (the
     * alarm turns the old endless open() into a failure) */
    char fifo[160];
    snprintf(fifo, sizeof fifo, "%s/fifo.yaml", tmpdir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(20);
    assert_int_equal(medner__config_file_load(&cfg, fifo), MEDNER_E_IO);
    assert_non_null(strstr(medner_last_error(), "fifo.yaml: is a FIFO; expected a regular file"));
    medner_pipeline *pl = (medner_pipeline *)0x1;
    assert_int_equal(medner_pipeline_load_config(&pl, fifo, NULL), MEDNER_E_IO);
    assert_ptr_equal(pl, (medner_pipeline *)0x1);
    assert_int_equal(medner__config_file_load(&cfg, "/dev/zero"), MEDNER_E_IO);
    assert_non_null(strstr(medner_last_error(), "is a character device"));
    alarm(0);
    assert_int_equal(unlink(fifo), 0);
    assert_int_equal(medner__config_file_load(NULL, cfgpath), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__config_file_load(&cfg, NULL), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__live_allocations(), 0);
}

/* A huge mapping of renames with a late duplicate stays fast (sorted, not
 * quadratic) and reports the right place. */
static void test_many_renames(void **state)
{
    (void)state;
    size_t n = 45000, cap = n * 24 + 64, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    len += (size_t)snprintf(buf, cap, "model: m\nlabels:\n  rename:\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "    L%zu: R%zu\n", i, i);
    medner__config_file cfg;
    write_at(cfgpath, buf, len);
    assert_int_equal(medner__config_file_load(&cfg, cfgpath), MEDNER_OK);
    assert_int_equal(cfg.decoder.n_renames, n);
    assert_string_equal(cfg.decoder.rename_from[n - 1], "L44999");
    assert_string_equal(cfg.decoder.rename_to[n - 1], "R44999");
    medner__config_file_release(&cfg);
    len += (size_t)snprintf(buf + len, cap - len, "    L77: again\n");
    write_cfg(""); /* keep load_fails' path */
    buf[len] = '\0';
    char where[32];
    snprintf(where, sizeof where, "%zu:5", n + 4);
    load_fails(buf, MEDNER_E_INVALID_CONFIG, where,
               "duplicate key \"L77\" in \"labels.rename\" (first at 81:5)");
    free(buf);
}

/* ---- overrides ------------------------------------------------------------- */

/* context: absent (auto), default/on, off, a rule file relative to the
 * file's directory or absolute; a wrong type; overrides. */
static void test_context_key(void **state)
{
    (void)state;
    medner__config_file cfg;
    load_ok(&cfg, "model: m\n");
    assert_int_equal(cfg.params.context, MEDNER_DEFAULT);
    assert_null(cfg.params.context_rules);
    assert_int_equal(cfg.set & MEDNER__CONFIG_HAS_CONTEXT, 0);
    medner__config_file_release(&cfg);

    static const struct { const char *word; medner_switch v; } words[] = {
        { "default", MEDNER_ON }, { "on", MEDNER_ON }, { "off", MEDNER_OFF }, { "'off'", MEDNER_OFF },
    };
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        char yaml[64];
        snprintf(yaml, sizeof yaml, "model: m\ncontext: %s\n", words[i].word);
        load_ok(&cfg, yaml);
        assert_int_equal(cfg.params.context, words[i].v);
        assert_null(cfg.params.context_rules);
        assert_int_not_equal(cfg.set & MEDNER__CONFIG_HAS_CONTEXT, 0);
        medner__config_file_release(&cfg);
    }

    load_ok(&cfg, "model: m\ncontext: rules/my.yaml\n");
    assert_int_equal(cfg.params.context, MEDNER_ON);
    assert_string_equal(cfg.params.context_rules, join(tmpdir, "rules/my.yaml"));
    assert_ptr_equal(cfg.params.context_rules, cfg.context_rules);

    /* overrides: the CLI's --context off wins over the file, a rule file too */
    medner_pipeline_params o = MEDNER_PIPELINE_PARAMS_INIT;
    o.context = MEDNER_OFF;
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &o), MEDNER_OK);
    assert_int_equal(cfg.params.context, MEDNER_OFF);
    o.context = MEDNER_ON;
    o.context_rules = "/cli/rules.yaml";
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &o), MEDNER_OK);
    assert_int_equal(cfg.params.context, MEDNER_ON);
    assert_string_equal(cfg.params.context_rules, "/cli/rules.yaml");
    o.reserved2 = 1;
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &o),
                     MEDNER_E_INVALID_ARGUMENT);
    medner__config_file_release(&cfg);

    load_ok(&cfg, "model: m\ncontext: /etc/medner/rules.yaml\n");
    assert_string_equal(cfg.params.context_rules, "/etc/medner/rules.yaml");
    medner__config_file_release(&cfg);

    load_fails("model: m\ncontext: true\n", MEDNER_E_INVALID_CONFIG, "2:10",
               "\"context\" must be default, on, off or a rule file");
    load_fails("model: m\ncontext: [a]\n", MEDNER_E_INVALID_CONFIG, "2:10",
               "\"context\" must be default, on, off or a rule file");
    load_fails("model: m\ncontext: off\ncontext: on\n", MEDNER_E_INVALID_CONFIG, "3:1",
               "duplicate key \"context\"");
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_overrides(void **state)
{
    (void)state;
    medner__config_file cfg;
    load_ok(&cfg, "model: m\nadapter: a\nmax_length: 128\noverlap: 32\nbatch_size: 4\n"
                  "threads: 2\nencoder_threads: 1\nmerge: hf\nfirst_window_only: true\n"
                  "aggregation: max\ndecoding: constrained\nscheme: bio\nmin_score: 0.5\n"
                  "labels: {ignore: [O, X], keep: [A], rename: {A: B}}\n");
    char *model = cfg.model_dir;

    /* NULL overrides: nothing changes */
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, NULL), MEDNER_OK);
    assert_ptr_equal(cfg.params.model_dir, model);
    assert_ptr_equal(cfg.params.decoder, &cfg.decoder);

    /* zero fields keep the file's values, non-zero ones win */
    medner_pipeline_params o = MEDNER_PIPELINE_PARAMS_INIT;
    o.max_length = 512;
    o.first_window_only = MEDNER_OFF;
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &o), MEDNER_OK);
    assert_ptr_equal(cfg.params.model_dir, model);
    assert_int_equal(cfg.params.max_length, 512);
    assert_int_equal(cfg.params.overlap, 32);
    assert_int_equal(cfg.params.first_window_only, MEDNER_OFF);
    assert_int_equal(cfg.decoder.aggregation, MEDNER_AGGREGATION_MAX);
    assert_int_equal(cfg.decoder.n_ignore_labels, 2);

    /* everything at once; pointers are borrowed, not copied */
    static const char *const ign[] = { "O" };
    static const char *const keep[] = { "Drug", "Problem" };
    static const char *const from[] = { "Medication" }, *const to[] = { "Drug" };
    medner_decoder_params od = MEDNER_DECODER_PARAMS_INIT;
    od.aggregation = MEDNER_AGGREGATION_SIMPLE;
    od.decoding = MEDNER_DECODING_ARGMAX;
    od.scheme = MEDNER_SCHEME_BIOES;
    od.min_score = 0.25;
    od.ignore_labels = ign;
    od.n_ignore_labels = 1;
    od.keep_labels = keep;
    od.n_keep_labels = 2;
    od.rename_from = from;
    od.rename_to = to;
    od.n_renames = 1;
    o.model_dir = "/cli/model";
    o.adapter_dir = "/cli/adapter";
    o.overlap = 16;
    o.batch_size = 32;
    o.threads = 8;
    o.encoder_threads = 3;
    o.merge = MEDNER_MERGE_CENTER;
    o.decoder = &od;
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &o), MEDNER_OK);
    assert_string_equal(cfg.params.model_dir, "/cli/model");
    assert_string_equal(cfg.params.adapter_dir, "/cli/adapter");
    assert_int_equal(cfg.params.overlap, 16);
    assert_int_equal(cfg.params.batch_size, 32);
    assert_int_equal(cfg.params.threads, 8);
    assert_int_equal(cfg.params.encoder_threads, 3);
    assert_int_equal(cfg.params.merge, MEDNER_MERGE_CENTER);
    assert_int_equal(cfg.decoder.aggregation, MEDNER_AGGREGATION_SIMPLE);
    assert_int_equal(cfg.decoder.decoding, MEDNER_DECODING_ARGMAX);
    assert_int_equal(cfg.decoder.scheme, MEDNER_SCHEME_BIOES);
    assert_true(cfg.decoder.min_score == 0.25);
    assert_ptr_equal(cfg.decoder.ignore_labels, ign);
    assert_int_equal(cfg.decoder.n_ignore_labels, 1);
    assert_ptr_equal(cfg.decoder.keep_labels, keep);
    assert_int_equal(cfg.decoder.n_keep_labels, 2);
    assert_ptr_equal(cfg.decoder.rename_from, from);
    assert_ptr_equal(cfg.decoder.rename_to, to);
    assert_int_equal(cfg.decoder.n_renames, 1);
    assert_ptr_equal(cfg.params.decoder, &cfg.decoder);
    assert_int_equal(cfg.params.struct_size, sizeof cfg.params);
    assert_int_equal(cfg.decoder.struct_size, sizeof cfg.decoder);

    /* bad overrides: INVALID_ARGUMENT, destination untouched */
    medner__config_file snapshot = cfg;
    medner_pipeline_params bad = MEDNER_PIPELINE_PARAMS_INIT;
    bad.threads = 99;
    bad.struct_size = 8;
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &bad),
                     MEDNER_E_INVALID_ARGUMENT);
    bad.struct_size = sizeof bad;
    bad.reserved = 1;
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &bad),
                     MEDNER_E_INVALID_ARGUMENT);
    bad.reserved = 0;
    medner_decoder_params bd = MEDNER_DECODER_PARAMS_INIT;
    bd.n_keep_labels = 2; /* with a NULL array */
    bad.decoder = &bd;
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &bad),
                     MEDNER_E_INVALID_ARGUMENT);
    bd.n_keep_labels = 0;
    bd.struct_size = 4;
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &bad),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_memory_equal(&cfg, &snapshot, sizeof cfg);
    assert_int_equal(medner__config_apply_overrides(NULL, &cfg.decoder, &o),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner__config_apply_overrides(&cfg.params, NULL, &o),
                     MEDNER_E_INVALID_ARGUMENT);

    /* a newer, larger overrides struct with a zero tail is accepted */
    struct { medner_pipeline_params p; uint64_t future; } newer;
    memset(&newer, 0, sizeof newer);
    newer.p.struct_size = sizeof newer;
    newer.p.batch_size = 64;
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &newer.p),
                     MEDNER_OK);
    assert_int_equal(cfg.params.batch_size, 64);
    newer.future = 1;
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &newer.p),
                     MEDNER_E_INVALID_ARGUMENT);

    /* params without a decoder: dst->decoder becomes dst_decoder */
    medner_pipeline_params plain = MEDNER_PIPELINE_PARAMS_INIT;
    medner_decoder_params pd = MEDNER_DECODER_PARAMS_INIT;
    assert_int_equal(medner__config_apply_overrides(&plain, &pd, &o), MEDNER_OK);
    assert_ptr_equal(plain.decoder, &pd);
    assert_ptr_equal(pd.keep_labels, keep);

    /* release frees the file's own strings, not the borrowed ones */
    medner__config_file_release(&cfg);
    assert_int_equal(medner__live_allocations(), 0);
}

/* Zero values that are not "default" (issue 19 item 4): overlap: 0,
 * labels.ignore: [] and min_score 0, in the file and as overrides. */
static void test_explicit_zero(void **state)
{
    (void)state;
    medner__config_file cfg;
    load_ok(&cfg, "model: m\noverlap: 0\nlabels: {ignore: []}\n");
    assert_int_equal(cfg.params.overlap, 0);
    assert_true(cfg.params.explicit_fields & MEDNER_PIPELINE_EXPLICIT_OVERLAP);
    assert_int_equal(cfg.decoder.n_ignore_labels, 0);
    assert_true(cfg.decoder.explicit_fields & MEDNER_DECODER_EXPLICIT_IGNORE_LABELS);
    medner__config_file_release(&cfg);
    load_ok(&cfg, "model: m\n"); /* absent keys stay defaults */
    assert_int_equal(cfg.params.explicit_fields, 0);
    assert_int_equal(cfg.decoder.explicit_fields, 0);
    medner__config_file_release(&cfg);

    load_ok(&cfg, "model: m\noverlap: 32\nmin_score: 0.5\nlabels: {ignore: [O, X]}\n");
    medner_pipeline_params o = MEDNER_PIPELINE_PARAMS_INIT;
    medner_decoder_params od = MEDNER_DECODER_PARAMS_INIT;
    o.decoder = &od;
    /* zeros without the bits: the file's values stay */
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &o), MEDNER_OK);
    assert_int_equal(cfg.params.overlap, 32);
    assert_true(cfg.decoder.min_score == 0.5);
    assert_int_equal(cfg.decoder.n_ignore_labels, 2);
    /* with the bits, the zeros win */
    o.explicit_fields = MEDNER_PIPELINE_EXPLICIT_OVERLAP;
    od.explicit_fields = MEDNER_DECODER_EXPLICIT_MIN_SCORE | MEDNER_DECODER_EXPLICIT_IGNORE_LABELS;
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &o), MEDNER_OK);
    assert_int_equal(cfg.params.overlap, 0);
    assert_true(cfg.decoder.min_score == 0.0);
    assert_int_equal(cfg.decoder.n_ignore_labels, 0);
    assert_null(cfg.decoder.ignore_labels);
    assert_true(cfg.decoder.explicit_fields & MEDNER_DECODER_EXPLICIT_IGNORE_LABELS);
    /* segment: the file's sentence stays without the bit; none wins with it */
    cfg.params.segment = MEDNER_SEGMENT_SENTENCE;
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &o), MEDNER_OK);
    assert_int_equal(cfg.params.segment, MEDNER_SEGMENT_SENTENCE);
    o.explicit_fields |= MEDNER_PIPELINE_EXPLICIT_SEGMENT;
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &o), MEDNER_OK);
    assert_int_equal(cfg.params.segment, MEDNER_SEGMENT_NONE);
    assert_true(cfg.params.explicit_fields & MEDNER_PIPELINE_EXPLICIT_SEGMENT);
    od.reserved2 = 1;
    assert_int_equal(medner__config_apply_overrides(&cfg.params, &cfg.decoder, &o),
                     MEDNER_E_INVALID_ARGUMENT);
    cfg.decoder.ignore_labels = (const char *const *)cfg.ignore; /* for release */
    medner__config_file_release(&cfg);
    assert_int_equal(medner__live_allocations(), 0);
}

/* ---- shipped examples ------------------------------------------------------ */

static void test_examples_load(void **state)
{
    (void)state;
    const char *dir = "examples/configs";
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        medner__config_file cfg;
        int rc = medner__config_file_load(&cfg, path);
        if (rc != MEDNER_OK)
            fail_msg("%s: %s", path, medner_last_error());
        assert_non_null(cfg.params.model_dir);
        assert_true(strncmp(cfg.params.model_dir, "examples/configs/", 17) == 0);
        if (strcmp(e->d_name, "ncbi-disease.yaml") == 0) {
            assert_string_equal(cfg.params.model_dir,
                                "examples/configs/../../tests/data/models/tiny-bert-tc");
            assert_int_equal(cfg.decoder.aggregation, MEDNER_AGGREGATION_FIRST);
            assert_int_equal(cfg.decoder.decoding, MEDNER_DECODING_CONSTRAINED);
            assert_int_equal(cfg.params.max_length, 512);
            assert_int_equal(cfg.params.overlap, 128);
            assert_int_equal(cfg.params.merge, MEDNER_MERGE_CENTER);
            assert_int_equal(cfg.decoder.n_ignore_labels, 1);
            assert_string_equal(cfg.decoder.ignore_labels[0], "O");
            struct stat st;
            assert_int_equal(stat(cfg.params.model_dir, &st), 0); /* it really exists */
        }
        if (strcmp(e->d_name, "clinical.yaml") == 0) {
            assert_non_null(cfg.params.adapter_dir);
            assert_true(cfg.decoder.n_renames >= 2);
            assert_true(cfg.decoder.n_keep_labels >= 1);
        }
        medner__config_file_release(&cfg);
        n++;
    }
    closedir(d);
    assert_true(n >= 2);
    assert_int_equal(medner__live_allocations(), 0);
}

/* ---- allocation failures ------------------------------------------------- */

static void oom_loop(failing *f, const char *yaml, long min_allocs)
{
    write_cfg(yaml);
    medner__config_file cfg;
    long n;
    int rc;
    for (n = 1;; n++) {
        f->count = 0;
        f->fail_at = n;
        memset(&cfg, 0x5A, sizeof cfg);
        rc = medner__config_file_load(&cfg, cfgpath);
        if (rc == MEDNER_OK)
            break;
        assert_int_equal(rc, MEDNER_E_OUT_OF_MEMORY);
        assert_int_equal(medner__live_allocations(), 0);
        /* untouched on failure */
        const unsigned char *b = (const unsigned char *)&cfg;
        for (size_t i = 0; i < sizeof cfg; i++)
            assert_int_equal(b[i], 0x5A);
    }
    f->fail_at = 0;
    assert_true(n > min_allocs);
    medner__config_file_release(&cfg);
    assert_int_equal(medner__live_allocations(), 0);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    assert_int_equal(medner__live_allocations(), 0);
    failing f = { 0, 0 };
    assert_int_equal(failing_install(&f), MEDNER_OK);
    /* enough list items to make the arrays grow several times */
    char yaml[4096];
    size_t len = (size_t)snprintf(yaml, sizeof yaml,
                                  "base: b\nadapter: a\nmin_score: 0.5\nlabels:\n  ignore: [");
    for (int i = 0; i < 20; i++)
        len += (size_t)snprintf(yaml + len, sizeof yaml - len, "%sI%d", i ? ", " : "", i);
    len += (size_t)snprintf(yaml + len, sizeof yaml - len, "]\n  keep: [");
    for (int i = 0; i < 12; i++)
        len += (size_t)snprintf(yaml + len, sizeof yaml - len, "%sK%d", i ? ", " : "", i);
    len += (size_t)snprintf(yaml + len, sizeof yaml - len, "]\n  rename:\n");
    for (int i = 0; i < 18; i++)
        len += (size_t)snprintf(yaml + len, sizeof yaml - len, "    F%d: T%d\n", i, i);
    oom_loop(&f, yaml, 20 + 12 + 36 + 4);
    /* errors after allocations still free everything */
    write_cfg("model: m\nlabels: {keep: [A, B, C], rename: {A: B, A: C}}\n");
    for (long n = 1; n < 40; n++) {
        f.count = 0;
        f.fail_at = n;
        medner__config_file cfg;
        int rc = medner__config_file_load(&cfg, cfgpath);
        assert_true(rc == MEDNER_E_OUT_OF_MEMORY || rc == MEDNER_E_INVALID_CONFIG);
        assert_int_equal(medner__live_allocations(), 0);
    }
    f.fail_at = 0;
    assert_int_equal(medner_allocator_set(NULL), MEDNER_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_enum_words),
        cmocka_unit_test(test_scalar_forms),
        cmocka_unit_test(test_count_limits_in_params),
        cmocka_unit_test(test_numbers_ignore_locale),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_nul_in_file),
        cmocka_unit_test(test_limits_and_io),
        cmocka_unit_test(test_many_renames),
        cmocka_unit_test(test_context_key),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_explicit_zero),
        cmocka_unit_test(test_examples_load),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
