/*
 * Encoder exactness against Hugging Face transformers (PyTorch fp32, eval):
 * golden final hidden states and logits in tests/data/encoder/NAME.{jsonl,f32}
 * were written by tests/reference/make_encoder_goldens.py from the fixtures
 * in tests/data/models/ (made by make_encoder_fixtures.py). For every text:
 * our tokenizer gives the golden ids; our hidden states and logits are within
 * 1e-4 (max abs) run one by one and run as one batch; and a sequence's results
 * are bitwise identical alone, in a batch, and with 1, 2 or 3 threads per forward pass.
 *
 * The big tier (real all-MiniLM-L6-v2, BERT-base and DistilBERT shapes) runs
 * the same checks when MEDNER_MODELS_DIR points at the models made by
 * `make test-models`.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "golden.h"
#include "json/json.h"
#include "kernels/kernels.h"
#include "medner.h"

#define TOL 1e-4
/* Bounds at reduced precision against the fp32 goldens (max abs over hidden
 * states and logits of the fixtures; docs/precision.md). */
#define TOL_BF16 5e-2
#define TOL_INT8 2.5e-1

/* The precision check_model loads the encoder at, the bound it holds the
 * results to against the fp32 goldens, and whether batched runs must be
 * bitwise equal to the single runs (every mode but MEDNER_GEMM=openblas). */
static medner_precision g_prec = MEDNER_PRECISION_DEFAULT;
static double g_tol = TOL;
static int g_bitwise_batches = 1;

static medner_encoder_params g_params(uint32_t threads)
{
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    ep.threads = threads;
    ep.precision = g_prec;
    return ep;
}


/* Run every golden text alone and then all together; compare with the
 * goldens and with each other (bitwise). Returns the worst difference. */
static double check_model(const char *model_dir, const char *goldens_dir, const char *name,
                          int check_tokenizer)
{
    golden g;
    load_golden(&g, goldens_dir, name);
    medner_encoder *e = NULL;
    medner_encoder_params ep1 = g_params(1);
    int rc = medner_encoder_load(&e, model_dir, &ep1);
    if (rc != MEDNER_OK)
        fail_msg("%s: %s", model_dir, medner_last_error());
    medner_encoder_info info = MEDNER_ENCODER_INFO_INIT;
    assert_int_equal(medner_encoder_get_info(e, &info), MEDNER_OK);
    medner_tokenizer *tok = NULL;
    if (check_tokenizer)
        assert_int_equal(medner_tokenizer_load(&tok, model_dir, NULL), MEDNER_OK);
    medner_context *c = NULL;
    assert_int_equal(medner_context_create(&c, e), MEDNER_OK);
    double worst = 0;
    float **single_h = calloc(g.n, sizeof(float *)), **single_l = calloc(g.n, sizeof(float *));
    const int32_t **ids = calloc(g.n, sizeof(int32_t *)), **types = calloc(g.n, sizeof(int32_t *));
    size_t *lens = calloc(g.n, sizeof(size_t));
    for (size_t i = 0; i < g.n; i++) {
        golden_text *t = &g.t[i];
        assert_int_equal(t->hidden, info.hidden_size);
        assert_int_equal(t->labels, info.num_labels);
        if (tok) /* our tokenizer gives the ids Hugging Face gave the model */
            golden_check_ids(tok, t);
        ids[i] = t->ids;
        types[i] = t->types;
        lens[i] = t->len;
        assert_int_equal(medner_encoder_run(c, &ids[i], &types[i], &lens[i], 1), MEDNER_OK);
        size_t nh = t->len * t->hidden, nl = t->len * t->labels;
        double dh = max_abs_diff(medner_context_hidden(c, 0), t->h, nh);
        double dl = t->logits ? max_abs_diff(medner_context_logits(c, 0), t->logits, nl) : 0;
        if (dh > worst)
            worst = dh;
        if (dl > worst)
            worst = dl;
        if (!(dh <= g_tol && dl <= g_tol))
            fail_msg("%s text %zu (%zu tokens, %s): max |dhidden| %.3g, max |dlogits| %.3g > %g",
                     name, i, t->len, info.precision, dh, dl, g_tol);
        single_h[i] = malloc(nh * sizeof(float));
        memcpy(single_h[i], medner_context_hidden(c, 0), nh * sizeof(float));
        if (t->logits) {
            single_l[i] = malloc(nl * sizeof(float));
            memcpy(single_l[i], medner_context_logits(c, 0), nl * sizeof(float));
        }
    }
    /* all texts as one batch, in order and reversed, with 1, 2 and 3 threads
     * per forward pass: bitwise identical to the single runs */
    for (int threads = 1; threads <= 3; threads++) {
        medner_encoder *et = NULL;
        medner_context *ct = NULL;
        medner_encoder_params ep = g_params((uint32_t)threads);
        assert_int_equal(medner_encoder_load(&et, model_dir, &ep), MEDNER_OK);
        assert_int_equal(medner_context_create(&ct, et), MEDNER_OK);
        for (int reversed = 0; reversed <= 1; reversed++) {
            const int32_t **bi = calloc(g.n, sizeof(int32_t *)), **bt = calloc(g.n, sizeof(int32_t *));
            size_t *bl = calloc(g.n, sizeof(size_t));
            for (size_t i = 0; i < g.n; i++) {
                size_t j = reversed ? g.n - 1 - i : i;
                bi[i] = ids[j];
                bt[i] = types[j];
                bl[i] = lens[j];
            }
            assert_int_equal(medner_encoder_run(ct, bi, bt, bl, g.n), MEDNER_OK);
            for (size_t i = 0; i < g.n; i++) {
                size_t j = reversed ? g.n - 1 - i : i;
                golden_text *t = &g.t[j];
                if (!g_bitwise_batches) { /* OpenBLAS: repeatable, not batch-invariant */
                    double bh = max_abs_diff(medner_context_hidden(ct, i), single_h[j],
                                             t->len * t->hidden);
                    double bl = t->logits ? max_abs_diff(medner_context_logits(ct, i),
                                                         single_l[j], t->len * t->labels)
                                          : 0;
                    if (!(bh <= g_tol && bl <= g_tol))
                        fail_msg("%s text %zu: batch (threads %d) vs single run %.3g, %.3g",
                                 name, j, threads, bh, bl);
                    continue;
                }
                if (memcmp(medner_context_hidden(ct, i), single_h[j],
                           t->len * t->hidden * sizeof(float)) != 0)
                    fail_msg("%s text %zu: hidden states in a batch (threads %d) differ from "
                             "the single run", name, j, threads);
                if (t->logits && memcmp(medner_context_logits(ct, i), single_l[j],
                                        t->len * t->labels * sizeof(float)) != 0)
                    fail_msg("%s text %zu: logits in a batch (threads %d) differ from the "
                             "single run", name, j, threads);
            }
            free(bi);
            free(bt);
            free(bl);
        }
        medner_context_free(ct);
        medner_encoder_free(et);
    }
    for (size_t i = 0; i < g.n; i++) {
        free(single_h[i]);
        free(single_l[i]);
    }
    free(single_h);
    free(single_l);
    free(ids);
    free(types);
    free(lens);
    medner_context_free(c);
    medner_tokenizer_free(tok);
    medner_encoder_free(e);
    print_message("%s (%s, %s): %zu texts, max |difference| to PyTorch fp32 %.3g\n", name,
                  info.precision, info.kernels, g.n, worst);
    free_golden(&g);
    return worst;
}

#ifdef MEDNER_BIG_TIER
/* Big tier (`make test-models`, built with -DMEDNER_BIG_TIER): the real
 * all-MiniLM-L6-v2 weights and BERT-base / DistilBERT shapes from
 * MEDNER_MODELS_DIR (.cache/models). Missing models fail the test. */
static void check_big(const char *name)
{
    const char *dir = getenv("MEDNER_MODELS_DIR");
    if (dir == NULL)
        fail_msg("MEDNER_MODELS_DIR is not set (run `make test-models`)");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    check_model(path, "tests/data/encoder", name, 1);
}

static void test_minilm(void **state) { (void)state; check_big("all-MiniLM-L6-v2"); }
static void test_bert_base(void **state) { (void)state; check_big("bert-base-random"); }
static void test_distilbert(void **state) { (void)state; check_big("distilbert-random"); }

int main(void)
{
    const struct CMUnitTest big[] = {
        cmocka_unit_test(test_minilm),
        cmocka_unit_test(test_bert_base),
        cmocka_unit_test(test_distilbert),
    };
    return cmocka_run_group_tests_name("encoder-models", big, NULL, NULL);
}
#else

#define FIXTURE_TEST(fn, name)                                                     \
    static void fn(void **state)                                                   \
    {                                                                              \
        (void)state;                                                               \
        check_model("tests/data/models/" name, "tests/data/encoder", name, 1);     \
    }

FIXTURE_TEST(test_tiny_bert_tc, "tiny-bert-tc")
FIXTURE_TEST(test_tiny_bert_gelu_new, "tiny-bert-tc-gelu-new")
FIXTURE_TEST(test_tiny_bert_relu, "tiny-bert-tc-relu")
FIXTURE_TEST(test_tiny_bert_eps, "tiny-bert-tc-eps")
FIXTURE_TEST(test_tiny_bert_f16, "tiny-bert-tc-f16")
FIXTURE_TEST(test_tiny_bert_bf16, "tiny-bert-tc-bf16")
FIXTURE_TEST(test_tiny_bert_sharded, "tiny-bert-tc-sharded")
FIXTURE_TEST(test_tiny_bert_model, "tiny-bert-model")
FIXTURE_TEST(test_tiny_distilbert_tc, "tiny-distilbert-tc")


/* The whole forward pass at every instruction-set level the CPU has (the
 * packed-panel layout changes with the level's tile height: 32, 16, 8 rows),
 * against the same goldens. */
static void test_every_isa_level(void **state)
{
    (void)state;
    for (int isa = medner__kernels_set_isa(MEDNER__ISA_AUTO); isa >= MEDNER__ISA_BASE; isa--) {
        medner__kernels_set_isa(isa);
        print_message("ISA level %d (tile of %zu rows):\n", isa, medner__gemm_tile_m());
        check_model("tests/data/models/tiny-bert-tc", "tests/data/encoder", "tiny-bert-tc", 0);
        check_model("tests/data/models/tiny-distilbert-tc", "tests/data/encoder",
                    "tiny-distilbert-tc", 0);
    }
    medner__kernels_set_isa(MEDNER__ISA_AUTO);
}

/* Several threads, each with its own context, share one encoder: every
 * thread's results equal the serial ones bitwise. */
typedef struct worker_job {
    const medner_encoder *e;
    const golden *g;
    const float *const *want; /* serial hidden states per text */
    int ok;
} worker_job;

static void *encoder_worker(void *arg)
{
    worker_job *j = arg;
    medner_context *c = NULL;
    if (medner_context_create(&c, j->e) != MEDNER_OK)
        return NULL;
    j->ok = 1;
    for (int round = 0; round < 3 && j->ok; round++)
        for (size_t i = 0; i < j->g->n && j->ok; i++) {
            const golden_text *t = &j->g->t[i];
            const int32_t *ids = t->ids;
            size_t len = t->len;
            if (medner_encoder_run(c, &ids, NULL, &len, 1) != MEDNER_OK ||
                memcmp(medner_context_hidden(c, 0), j->want[i], len * t->hidden * sizeof(float)))
                j->ok = 0;
        }
    medner_context_free(c);
    return NULL;
}

static void test_threads_share_one_encoder(void **state)
{
    (void)state;
    golden g;
    load_golden(&g, "tests/data/encoder", "tiny-bert-tc");
    medner_encoder *e = NULL;
    assert_int_equal(medner_encoder_load(&e, "tests/data/models/tiny-bert-tc", NULL), MEDNER_OK);
    medner_context *c = NULL;
    assert_int_equal(medner_context_create(&c, e), MEDNER_OK);
    float **want = calloc(g.n, sizeof *want);
    for (size_t i = 0; i < g.n; i++) {
        const int32_t *ids = g.t[i].ids;
        size_t len = g.t[i].len, bytes = len * g.t[i].hidden * sizeof(float);
        assert_int_equal(medner_encoder_run(c, &ids, NULL, &len, 1), MEDNER_OK);
        want[i] = malloc(bytes);
        memcpy(want[i], medner_context_hidden(c, 0), bytes);
    }
    medner_context_free(c);
    pthread_t th[4];
    worker_job jobs[4];
    for (int k = 0; k < 4; k++) {
        jobs[k] = (worker_job){ e, &g, (const float *const *)want, 0 };
        assert_int_equal(pthread_create(&th[k], NULL, encoder_worker, &jobs[k]), 0);
    }
    for (int k = 0; k < 4; k++) {
        pthread_join(th[k], NULL);
        assert_true(jobs[k].ok);
    }
    for (size_t i = 0; i < g.n; i++)
        free(want[i]);
    free(want);
    medner_encoder_free(e);
    free_golden(&g);
}

static void test_run_errors(void **state)
{
    (void)state;
    medner_encoder *e = NULL;
    assert_int_equal(medner_encoder_load(&e, "tests/data/models/tiny-bert-tc", NULL), MEDNER_OK);
    medner_context *c = NULL;
    assert_int_equal(medner_context_create(&c, e), MEDNER_OK);
    int32_t ids[3] = { 2, 10, 3 }, bad[3] = { 2, 99999, 3 }, types[3] = { 0, 5, 0 };
    const int32_t *p = ids, *pb = bad, *pt = types;
    size_t len = 3, zero = 0, huge = 100000;
    assert_int_equal(medner_encoder_run(c, &pb, NULL, &len, 1), MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "token 1"));
    assert_null(medner_context_logits(c, 0)); /* failed run: no results */
    assert_int_equal(medner_encoder_run(c, &p, &pt, &len, 1), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_encoder_run(c, &p, NULL, &zero, 1), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_encoder_run(c, &p, NULL, &huge, 1), MEDNER_E_LIMIT);
    assert_int_equal(medner_encoder_run(c, NULL, NULL, &len, 1), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_encoder_run(c, &p, NULL, &len, 0), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_encoder_run(c, &p, NULL, &len, 1), MEDNER_OK);
    assert_non_null(medner_context_logits(c, 0));
    assert_null(medner_context_logits(c, 1));
    assert_string_equal(medner_encoder_label(e, 1), "B-Disease");
    assert_null(medner_encoder_label(e, 9));
    medner_encoder_info small = MEDNER_ENCODER_INFO_INIT;
    small.struct_size = 16;
    assert_int_equal(medner_encoder_get_info(e, &small), MEDNER_E_INVALID_ARGUMENT);
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    ep.reserved = 1;
    medner_encoder *e2 = NULL;
    assert_int_equal(medner_encoder_load(&e2, "tests/data/models/tiny-bert-tc", &ep),
                     MEDNER_E_INVALID_ARGUMENT);
    medner_context_free(c);
    medner_encoder_free(e);
    medner_context_free(NULL);
    medner_encoder_free(NULL);
}

/* Reduced precision (bf16, int8) at every instruction-set level the CPU has:
 * results within the precision's bound of the fp32 goldens, and still
 * bitwise the same alone, in a batch and with 1-3 threads. At the AVX-512
 * level the CPU's instruction runs when it has one (the info says which);
 * below it, the portable twin. */
static void test_precisions(void **state)
{
    (void)state;
    static const struct { medner_precision p; double tol; const char *name; } precs[] = {
        { MEDNER_PRECISION_BF16, TOL_BF16, "bf16" },
        { MEDNER_PRECISION_INT8, TOL_INT8, "int8" },
    };
    for (size_t k = 0; k < sizeof precs / sizeof *precs; k++) {
        g_prec = precs[k].p;
        g_tol = precs[k].tol;
        for (int isa = medner__kernels_set_isa(MEDNER__ISA_AUTO); isa >= MEDNER__ISA_BASE;
             isa--) {
            medner__kernels_set_isa(isa);
            print_message("%s, ISA level %d:\n", precs[k].name, isa);
            check_model("tests/data/models/tiny-bert-tc", "tests/data/encoder", "tiny-bert-tc", 0);
            check_model("tests/data/models/tiny-distilbert-tc", "tests/data/encoder",
                        "tiny-distilbert-tc", 0);
            check_model("tests/data/models/tiny-bert-tc-gelu-new", "tests/data/encoder",
                        "tiny-bert-tc-gelu-new", 0);
        }
        medner__kernels_set_isa(MEDNER__ISA_AUTO);
    }
    g_prec = MEDNER_PRECISION_DEFAULT;
    g_tol = TOL;
}

/* AUTO resolves to what the CPU runs natively; the info names precision and
 * kernels; bad values are refused. */
static void test_precision_choice(void **state)
{
    (void)state;
    const char *dir = "tests/data/models/tiny-bert-tc";
    medner_encoder *e = NULL;
    medner_encoder_params ep = MEDNER_ENCODER_PARAMS_INIT;
    medner_encoder_info info = MEDNER_ENCODER_INFO_INIT;
    unsigned f = medner__cpu_features();
    ep.precision = MEDNER_PRECISION_AUTO;
    assert_int_equal(medner_encoder_load(&e, dir, &ep), MEDNER_OK);
    assert_int_equal(medner_encoder_get_info(e, &info), MEDNER_OK);
    const char *want = (f & MEDNER__CPU_AVX512_VNNI) ? "int8"
                       : (f & MEDNER__CPU_AVX512_BF16) ? "bf16" : "fp32";
    assert_string_equal(info.precision, want);
    print_message("auto on this CPU (%s): %s, kernels %s\n", medner__cpu_features_name(),
                  info.precision, info.kernels);
    medner_encoder_free(e);
    ep.precision = MEDNER_PRECISION_DEFAULT;
    assert_int_equal(medner_encoder_load(&e, dir, &ep), MEDNER_OK);
    assert_int_equal(medner_encoder_get_info(e, &info), MEDNER_OK);
    assert_string_equal(info.precision, "fp32");
    medner_encoder_free(e);
    ep.precision = (medner_precision)9;
    assert_int_equal(medner_encoder_load(&e, dir, &ep), MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "precision 9"));
    ep.precision = MEDNER_PRECISION_INT8;
    ep.reserved2 = 1;
    assert_int_equal(medner_encoder_load(&e, dir, &ep), MEDNER_E_INVALID_ARGUMENT);
    /* a caller built against the 0.1 struct (no precision field) gets fp32 */
    medner_encoder_params old = MEDNER_ENCODER_PARAMS_INIT;
    old.struct_size = offsetof(medner_encoder_params, precision);
    assert_int_equal(medner_encoder_load(&e, dir, &old), MEDNER_OK);
    assert_int_equal(medner_encoder_get_info(e, &info), MEDNER_OK);
    assert_string_equal(info.precision, "fp32");
    medner_encoder_free(e);
}

/* MEDNER_GEMM=openblas: the fp32 products through cblas_sgemm; same goldens
 * (batches within the bound, not bitwise); an unknown value is refused. */
static void test_gemm_openblas(void **state)
{
    (void)state;
    const char *old = getenv("MEDNER_GEMM");
    char *saved = old ? strdup(old) : NULL;
    setenv("MEDNER_GEMM", "openblas", 1);
    g_bitwise_batches = 0;
    check_model("tests/data/models/tiny-bert-tc", "tests/data/encoder", "tiny-bert-tc", 0);
    check_model("tests/data/models/tiny-distilbert-tc", "tests/data/encoder",
                "tiny-distilbert-tc", 0);
    medner_encoder *e = NULL;
    medner_encoder_info info = MEDNER_ENCODER_INFO_INIT;
    assert_int_equal(medner_encoder_load(&e, "tests/data/models/tiny-bert-tc", NULL), MEDNER_OK);
    assert_int_equal(medner_encoder_get_info(e, &info), MEDNER_OK);
    assert_string_equal(info.kernels, "openblas");
    medner_encoder_free(e);
    g_bitwise_batches = 1;
    setenv("MEDNER_GEMM", "fast", 1);
    assert_int_equal(medner_encoder_load(&e, "tests/data/models/tiny-bert-tc", NULL),
                     MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "MEDNER_GEMM"));
    setenv("MEDNER_GEMM", "own", 1);
    assert_int_equal(medner_encoder_load(&e, "tests/data/models/tiny-bert-tc", NULL), MEDNER_OK);
    assert_int_equal(medner_encoder_get_info(e, &info), MEDNER_OK);
    assert_string_not_equal(info.kernels, "openblas");
    medner_encoder_free(e);
    if (saved) {
        setenv("MEDNER_GEMM", saved, 1);
        free(saved);
    } else {
        unsetenv("MEDNER_GEMM");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {

        cmocka_unit_test(test_tiny_bert_tc),
        cmocka_unit_test(test_tiny_bert_gelu_new),
        cmocka_unit_test(test_tiny_bert_relu),
        cmocka_unit_test(test_tiny_bert_eps),
        cmocka_unit_test(test_tiny_bert_f16),
        cmocka_unit_test(test_tiny_bert_bf16),
        cmocka_unit_test(test_tiny_bert_sharded),
        cmocka_unit_test(test_tiny_bert_model),
        cmocka_unit_test(test_tiny_distilbert_tc),
        cmocka_unit_test(test_every_isa_level),
        cmocka_unit_test(test_run_errors),
        cmocka_unit_test(test_threads_share_one_encoder),
        cmocka_unit_test(test_precision_choice),
        cmocka_unit_test(test_gemm_openblas),
        cmocka_unit_test(test_precisions),
    };
    return cmocka_run_group_tests_name("encoder", tests, NULL, NULL);
}
#endif
