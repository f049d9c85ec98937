/*
 * Trainer, phase 2 (issue 18): data readers, alignment, the training loop,
 * resume, NaN stop, cancellation (src/train/data.h, include/medner.h
 * "Training").
 *  - CoNLL: sentences, -DOCSTART- skipped, malformed line -> FILE:LINE;
 *  - brat: words and BIO tags from character offsets (non-ASCII text),
 *    overlapping/discontinuous spans counted, malformed .ann -> FILE:LINE;
 *  - BIO <-> BIOES conversion;
 *  - label_all_tokens=False alignment: ids and labels equal those of
 *    transformers (tests/data/train-data/align-golden.json written by
 *    tests/reference/make_train_align_goldens.py), truncation included;
 *  - a dev tag absent from train: FILE:LINE error, or counted;
 *  - 30 optimizer steps of full fine-tuning (tiny BERT, NCBI slice, dropout
 *    on) lower the loss; dev F1 reported; the saved model loads;
 *  - a run cancelled at step 3 and resumed gives bitwise the same model
 *    and checkpoint as an uninterrupted run (and a second uninterrupted run
 *    with 3 threads is bitwise identical: determinism);
 *  - medner_trainer_cancel() from another thread stops run();
 *  - every allocation of create (and every other one of run) failing in turn:
 *    OUT_OF_MEMORY, no leak;
 *  - learning rate 1e30: MEDNER_E_DIVERGED with a clear message, the
 *    checkpoint written before stays;
 *  - a base without a head gets one with the training labels;
 *  - LoRA (lora_r): 30 steps lower the loss through the public API, out_dir
 *    is a PEFT adapter directory (names, r, alpha, targets) that loads on
 *    the base, checkpoint moments named after the adapter tensors; cancel
 *    at step 3 + resume = bitwise the uninterrupted run's adapter and
 *    checkpoint files (lora_dropout, custom targets, grad accumulation);
 *    other LoRA options or full fine-tuning refused on that checkpoint; bad
 *    LoRA options refused with their reason; allocation failures in LoRA
 *    mode (every third one of run) -> OUT_OF_MEMORY, no leak.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "json/json.h"
#include "medner.h"
#include "model/adapter.h"
#include "model/model.h"
#include "train/data.h"

#include "failalloc.h"

#define TD "tests/data/train-data"
#define TINY "tests/data/models/tiny-bert-tc"
#define TINY_NOHEAD "tests/data/models/tiny-bert-model"

static char work[64];

static void work_make(void)
{
    snprintf(work, sizeof work, "/tmp/medner-trainer-XXXXXX");
    assert_non_null(mkdtemp(work));
}

static void work_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
    assert_int_equal(system(cmd), 0);
}

static const char *wpath(const char *name)
{
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", work, name);
    return p[k];
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void assert_same_file(const char *a, const char *b)
{
    size_t la, lb;
    unsigned char *x = slurp(a, &la), *y = slurp(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(x, y, la);
    free(x);
    free(y);
}

/* ---- readers -------------------------------------------------------------------------- */

static void test_conll(void **state)
{
    (void)state;
    work_make();
    write_text(wpath("a.tsv"), "-DOCSTART-\tO\n\nHeart\tB-Disease\nfailure\tI-Disease\n.\tO\n\n"
                               "No\tO\ndisease\tO\n");
    medner__tcorpus *c = NULL;
    assert_int_equal(medner__tcorpus_read(&c, wpath("a.tsv")), MEDNER_OK);
    assert_int_equal(c->n_sents, 2);
    assert_int_equal(c->n_words, 5);
    assert_int_equal(c->n_skipped_docstart, 1);
    assert_string_equal(c->words[1], "failure");
    assert_string_equal(c->tags[1], "I-Disease");
    assert_int_equal(c->lines[3], 7);
    char **labels;
    size_t n;
    assert_int_equal(medner__tcorpus_labels(c, &labels, &n), MEDNER_OK);
    assert_int_equal(n, 3);
    assert_string_equal(labels[0], "B-Disease");
    assert_string_equal(labels[2], "O");
    medner__labels_free(labels, n);
    medner__tcorpus_free(c);
    /* a malformed line: FILE:LINE */
    write_text(wpath("b.tsv"), "Heart\tB-Disease\nfailure I-Disease\n");
    c = NULL;
    assert_int_equal(medner__tcorpus_read(&c, wpath("b.tsv")), MEDNER_E_PARSE);
    assert_null(c);
    char want[300];
    snprintf(want, sizeof want, "%s:2:", wpath("b.tsv"));
    assert_non_null(strstr(medner_last_error(), want));
    write_text(wpath("c.tsv"), "Heart\tX-Disease\n");
    assert_int_equal(medner__tcorpus_read(&c, wpath("c.tsv")), MEDNER_E_PARSE);
    snprintf(want, sizeof want, "%s:1:", wpath("c.tsv"));
    assert_non_null(strstr(medner_last_error(), want));
    assert_int_equal(medner__tcorpus_read(&c, wpath("missing.tsv")), MEDNER_E_IO);
    work_remove();
}

static void test_brat(void **state)
{
    (void)state;
    work_make();
    /* code points: "Café au lait spots." = C0 a1 f2 é3 ' '4 a5 u6 ' '7 l8 a9 i10 t11 ' '12
     * s13 p14 o15 t16 s17 .18 ; line 2 starts at 20 */
    write_text(wpath("d.txt"), "Café au lait spots.\nNo fever, mild\xe2\x80\x89" "cough.\n"
                               "\n38.9\xc2\xb0" "C\n");
    write_text(wpath("d.ann"), "T1\tSign_symptom 0 17\tCafé au lait spots\n"
                               "T2\tColor 0 4\tCafé\n"                 /* overlaps T1: dropped */
                               "T3\tSign_symptom 23 28\tfever\n"
                               "T4\tSign_symptom 30 34;35 40\tmild cough\n" /* discontinuous */
                               "T5\tSign_symptom 35 40\tcough\n"
                               "E1\tSign_symptom:T1\n#1\tAnnotatorNotes T1\tnote\n");
    medner__tcorpus *c = NULL;
    assert_int_equal(medner__tcorpus_read(&c, wpath("d.ann")), MEDNER_OK);
    assert_int_equal(c->n_sents, 3);
    assert_int_equal(c->n_brat_overlapping, 1);
    assert_int_equal(c->n_brat_discontinuous, 1);
    /* symbols (degree sign: Unicode So) are words by themselves, as in the MACCROBAT CoNLL */
    static const char *const words[] = { "Café", "au", "lait", "spots", ".", "No", "fever", ",",
                                         "mild", "cough", ".", "38", ".", "9", "°", "C" };
    static const char *const tags[] = { "B-Sign_symptom", "I-Sign_symptom", "I-Sign_symptom",
                                        "I-Sign_symptom", "O", "O", "B-Sign_symptom", "O", "O",
                                        "B-Sign_symptom", "O", "O", "O", "O", "O", "O" };
    assert_int_equal(c->n_words, 16);
    assert_int_equal(c->lines[15], 4);
    for (size_t i = 0; i < 16; i++) {
        assert_string_equal(c->words[i], words[i]);
        assert_string_equal(c->tags[i], tags[i]);
    }
    assert_int_equal(c->lines[6], 2);
    medner__tcorpus_free(c);
    /* a directory of pairs */
    assert_int_equal(medner__tcorpus_read(&c, work), MEDNER_OK);
    assert_int_equal(c->n_words, 16);
    medner__tcorpus_free(c);
    /* malformed: offsets outside the text, and a missing type */
    write_text(wpath("d.ann"), "T1\tSign_symptom 0 4\tCafé\nT2\tSign_symptom 10 99\tx\n");
    c = NULL;
    assert_int_equal(medner__tcorpus_read(&c, wpath("d.ann")), MEDNER_E_PARSE);
    char want[300];
    snprintf(want, sizeof want, "%s:2:", wpath("d.ann"));
    assert_non_null(strstr(medner_last_error(), want));
    write_text(wpath("d.ann"), "T1\tSign_symptom\n");
    assert_int_equal(medner__tcorpus_read(&c, wpath("d.ann")), MEDNER_E_PARSE);
    snprintf(want, sizeof want, "%s:1:", wpath("d.ann"));
    assert_non_null(strstr(medner_last_error(), want));
    assert_null(c);
    work_remove();
}

static void test_schemes(void **state)
{
    (void)state;
    work_make();
    /* BIO -> BIOES: single, multi, I- without B-, adjacent entities of two types */
    write_text(wpath("s.tsv"), "a\tB-X\nb\tO\nc\tB-X\nd\tI-X\ne\tI-X\nf\tI-Y\ng\tB-Y\nh\tB-Y\n"
                               "i\tI-Y\n");
    medner__tcorpus *c = NULL;
    assert_int_equal(medner__tcorpus_read(&c, wpath("s.tsv")), MEDNER_OK);
    assert_int_equal(medner__tcorpus_convert(c, MEDNER__TSCHEME_BIOES), MEDNER_OK);
    static const char *const bioes[] = { "S-X", "O", "B-X", "I-X", "E-X", "S-Y", "S-Y", "B-Y",
                                         "E-Y" };
    for (size_t i = 0; i < 9; i++)
        assert_string_equal(c->tags[i], bioes[i]);
    /* and back */
    assert_int_equal(medner__tcorpus_convert(c, MEDNER__TSCHEME_BIO), MEDNER_OK);
    static const char *const bio[] = { "B-X", "O", "B-X", "I-X", "I-X", "B-Y", "B-Y", "B-Y",
                                       "I-Y" };
    for (size_t i = 0; i < 9; i++)
        assert_string_equal(c->tags[i], bio[i]);
    medner__tcorpus_free(c);
    /* E- ends an entity: E-X I-X is two entities in BIO */
    write_text(wpath("t.tsv"), "a\tB-X\nb\tE-X\nc\tI-X\n");
    assert_int_equal(medner__tcorpus_read(&c, wpath("t.tsv")), MEDNER_OK);
    assert_int_equal(medner__tcorpus_convert(c, MEDNER__TSCHEME_BIO), MEDNER_OK);
    assert_string_equal(c->tags[1], "I-X");
    assert_string_equal(c->tags[2], "B-X");
    medner__tcorpus_free(c);
    work_remove();
}

static void test_keep_types(void **state)
{
    (void)state;
    work_make();
    write_text(wpath("k.tsv"), "a\tB-Sign_symptom\nb\tI-Sign_symptom\nc\tB-Date\nd\tB-Age\n"
                               "e\tO\n");
    medner__tcorpus *c = NULL;
    assert_int_equal(medner__tcorpus_read(&c, wpath("k.tsv")), MEDNER_OK);
    const char *miss = NULL;
    size_t ml = 0;
    assert_int_equal(medner__tcorpus_keep_types(c, " Sign_symptom , Age,Medication", &miss, &ml),
                     MEDNER_OK);
    static const char *const want[] = { "B-Sign_symptom", "I-Sign_symptom", "O", "B-Age", "O" };
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(c->tags[i], want[i]);
    assert_non_null(miss);
    assert_int_equal(ml, 10);
    assert_memory_equal(miss, "Medication", 10);
    assert_int_equal(medner__tcorpus_keep_types(c, " , ", &miss, &ml), MEDNER_E_INVALID_ARGUMENT);
    medner__tcorpus_free(c);
    work_remove();
}

static void test_alignment_golden(void **state)
{
    (void)state;
    medner__json_doc *doc = NULL;
    assert_int_equal(medner__json_parse_file(&doc, TD "/align-golden.json"), MEDNER_OK);
    const medner__json *root = medner__json_root(doc);
    const medner__json *jl = medner__json_get(root, "labels");
    const medner__json *js = medner__json_get(root, "sentences");
    size_t max_length = (size_t)medner__json_get(root, "max_length")->integer;
    medner__tcorpus *c = NULL;
    assert_int_equal(medner__tcorpus_read(&c, TD "/align.tsv"), MEDNER_OK);
    char **labels;
    size_t nl;
    assert_int_equal(medner__tcorpus_labels(c, &labels, &nl), MEDNER_OK);
    assert_int_equal(nl, jl->count);
    for (size_t i = 0; i < nl; i++)
        assert_string_equal(labels[i], jl->items[i]->str);
    medner_tokenizer *tok = NULL;
    assert_int_equal(medner_tokenizer_load(&tok, TINY, NULL), MEDNER_OK);
    medner__tdata *d = NULL;
    assert_int_equal(medner__tdata_build(&d, c, tok, (const char *const *)labels, nl, max_length, 1),
                     MEDNER_OK);
    assert_int_equal(d->n_seqs, js->count);
    size_t truncated = 0;
    for (size_t s = 0; s < d->n_seqs; s++) {
        const medner__json *ids = medner__json_get(js->items[s], "input_ids");
        const medner__json *lab = medner__json_get(js->items[s], "labels");
        assert_int_equal(d->lens[s], ids->count);
        truncated += medner__json_get(js->items[s], "truncated")->boolean;
        for (size_t i = 0; i < ids->count; i++) {
            assert_int_equal(d->ids[d->start[s] + i], ids->items[i]->integer);
            assert_int_equal(d->labels[d->start[s] + i], lab->items[i]->integer);
        }
    }
    assert_true(truncated >= 2); /* the golden exercises truncation */
    assert_int_equal(d->n_truncated, truncated);
    medner__tdata_free(d);
    medner_tokenizer_free(tok);
    medner__labels_free(labels, nl);
    medner__tcorpus_free(c);
    medner__json_free(doc);
}

static void test_unknown_dev_label(void **state)
{
    (void)state;
    work_make();
    write_text(wpath("dev.tsv"), "Aspirin\tB-Chemical\nhelps\tO\n\ncancer\tB-Disease\n");
    medner__tcorpus *c = NULL;
    assert_int_equal(medner__tcorpus_read(&c, wpath("dev.tsv")), MEDNER_OK);
    medner_tokenizer *tok = NULL;
    assert_int_equal(medner_tokenizer_load(&tok, TINY, NULL), MEDNER_OK);
    const char *labels[3] = { "B-Disease", "I-Disease", "O" };
    medner__tdata *d = NULL;
    assert_int_equal(medner__tdata_build(&d, c, tok, labels, 3, 64, 1), MEDNER_E_INVALID_ARGUMENT);
    char want[300];
    snprintf(want, sizeof want, "%s:1: label \"B-Chemical\"", wpath("dev.tsv"));
    assert_non_null(strstr(medner_last_error(), want));
    assert_int_equal(medner__tdata_build(&d, c, tok, labels, 3, 64, 0), MEDNER_OK);
    assert_int_equal(d->n_unknown, 1);
    assert_string_equal(d->unknown, "B-Chemical");
    assert_string_equal(d->gold[1], "B-Chemical"); /* still scored */
    assert_int_equal(d->labels[1], -100);
    medner__tdata_free(d);
    medner_tokenizer_free(tok);
    medner__tcorpus_free(c);
    work_remove();
}

/* ---- training ------------------------------------------------------------------------ */

typedef struct run_log {
    double loss[256];
    size_t steps, epochs;
    uint64_t cancel_at;
    double dev_f1;
    int has_dev;
} run_log;

static int on_progress(const medner_train_progress *p, void *user)
{
    run_log *r = user;
    assert_true(p->struct_size >= sizeof *p);
    if (p->event == MEDNER_TRAIN_STEP) {
        if (r->steps < 256)
            r->loss[r->steps] = p->loss;
        r->steps++;
        assert_true(p->learning_rate > 0 || p->step == 1);
        assert_true(isfinite(p->grad_norm));
        return r->cancel_at && p->step == r->cancel_at;
    }
    r->epochs++;
    r->has_dev = p->has_dev;
    r->dev_f1 = p->dev_f1;
    return 0;
}

static medner_train_params base_params(const char *out, run_log *log)
{
    medner_train_params p = MEDNER_TRAIN_PARAMS_INIT;
    p.base_dir = TINY;
    p.train_path = TD "/ncbi-train.tsv";
    p.dev_path = TD "/ncbi-dev.tsv";
    p.out_dir = out;
    p.learning_rate = 1e-3;
    p.batch_size = 2;
    p.epochs = 4;
    p.warmup_ratio = 0.1;
    p.weight_decay = 0.01;
    p.max_length = 64;
    p.seed = 7;
    p.callback = on_progress;
    p.user_data = log;
    return p;
}

static void test_train_lowers_loss(void **state)
{
    (void)state;
    work_make();
    run_log log = { 0 };
    medner_train_params p = base_params(work, &log);
    p.max_steps = 30;
    p.epochs = 10;
    medner_trainer *t = NULL;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_OK);
    medner_train_info info = MEDNER_TRAIN_INFO_INIT;
    assert_int_equal(medner_train_info_get(&info, t), MEDNER_OK);
    assert_int_equal(info.num_labels, 3);
    assert_int_equal(info.train_sequences, 15);
    assert_int_equal(info.dev_sequences, 7);
    assert_int_equal(info.total_steps, 30);
    /* 0.4 spelling, out first: errors, and the deprecated one gives the same */
    assert_int_equal(medner_train_info_get(NULL, t), MEDNER_E_INVALID_ARGUMENT);
    assert_int_equal(medner_train_info_get(&info, NULL), MEDNER_E_INVALID_ARGUMENT);
    {
        medner_train_info small = MEDNER_TRAIN_INFO_INIT, old = MEDNER_TRAIN_INFO_INIT;
        small.struct_size = sizeof(size_t); /* below the first released size */
        small.num_labels = 12345;
        assert_int_equal(medner_train_info_get(&small, t), MEDNER_E_INVALID_ARGUMENT);
        assert_int_equal(small.num_labels, 12345); /* nothing written */
        assert_int_equal(small.struct_size, sizeof(size_t));
        assert_int_equal(medner_trainer_get_info(t, &old), MEDNER_OK);
        assert_memory_equal(&old, &info, sizeof info);
        assert_int_equal(medner_trainer_get_info(NULL, &old), MEDNER_E_INVALID_ARGUMENT);
    }
    assert_string_equal(medner_trainer_label(t, 0), "B-Disease");
    assert_null(medner_trainer_label(t, 3));
    assert_int_equal(medner_trainer_run(t), MEDNER_OK);
    assert_int_equal(medner_train_info_get(&info, t), MEDNER_OK);
    assert_int_equal(info.stop, MEDNER_TRAIN_MAX_STEPS);
    assert_int_equal(info.step, 30);
    assert_int_equal(log.steps, 30);
    double first = 0, last = 0;
    for (int i = 0; i < 5; i++) {
        first += log.loss[i] / 5;
        last += log.loss[25 + i] / 5;
    }
    print_message("loss: first 5 steps %.4f, last 5 steps %.4f; dev F1 %.4f\n", first, last,
                  log.dev_f1);
    assert_true(last < 0.6 * first);
    assert_true(log.has_dev);
    medner_trainer_free(t);
    /* the model directory loads, with the training labels */
    medner__model *m = NULL;
    assert_int_equal(medner__model_load(&m, work), MEDNER_OK);
    assert_int_equal(m->config.num_labels, 3);
    assert_string_equal(m->config.labels[1], "I-Disease");
    medner__model_free(m);
    assert_int_equal(medner__model_load(&m, wpath("checkpoint-last")), MEDNER_OK);
    medner__model_free(m);
    work_remove();
}

static void test_resume_bitwise(void **state)
{
    (void)state;
    work_make();
    char a[300], b[300], c[300];
    snprintf(a, sizeof a, "%s/a", work);
    snprintf(b, sizeof b, "%s/b", work);
    snprintf(c, sizeof c, "%s/c", work);
    /* uninterrupted */
    run_log log = { 0 };
    medner_train_params p = base_params(a, &log);
    p.epochs = 2;
    p.grad_accum = 2;
    medner_trainer *t = NULL;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_OK);
    assert_int_equal(medner_trainer_run(t), MEDNER_OK);
    medner_train_info info = MEDNER_TRAIN_INFO_INIT;
    medner_train_info_get(&info, t);
    assert_int_equal(info.stop, MEDNER_TRAIN_FINISHED);
    assert_int_equal(info.step, 8); /* 15 sequences / 2 = 8 micro-batches, 4 steps per epoch */
    medner_trainer_free(t);
    /* a second uninterrupted run, with 3 threads: bitwise identical (determinism, and the
     * thread count is not part of the result) */
    memset(&log, 0, sizeof log);
    p.out_dir = c;
    p.threads = 3;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_OK);
    assert_int_equal(medner_trainer_run(t), MEDNER_OK);
    medner_trainer_free(t);
    p.threads = 1;
    char x[400], y[400];
    snprintf(x, sizeof x, "%s/model.safetensors", a);
    snprintf(y, sizeof y, "%s/model.safetensors", c);
    assert_same_file(x, y);
    /* cancelled at step 3 (mid-epoch, mid-order), then resumed */
    memset(&log, 0, sizeof log);
    log.cancel_at = 3;
    p.out_dir = b;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_OK);
    assert_int_equal(medner_trainer_run(t), MEDNER_E_CANCELLED);
    assert_non_null(strstr(medner_last_error(), "checkpoint-last"));
    medner_train_info_get(&info, t);
    assert_int_equal(info.stop, MEDNER_TRAIN_CANCELLED);
    assert_int_equal(info.step, 3);
    medner_trainer_free(t);
    log.cancel_at = 0;
    p.resume = MEDNER_ON;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_OK);
    medner_train_info_get(&info, t);
    assert_int_equal(info.resumed, 1);
    assert_int_equal(info.step, 3);
    assert_int_equal(medner_trainer_run(t), MEDNER_OK);
    medner_train_info_get(&info, t);
    assert_int_equal(info.step, 8);
    medner_trainer_free(t);
    static const char *const files[] = { "model.safetensors", "config.json",
                                         "checkpoint-last/model.safetensors",
                                         "checkpoint-last/optimizer.safetensors",
                                         "checkpoint-last/trainer_state.json" };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(x, sizeof x, "%s/%s", a, files[i]);
        snprintf(y, sizeof y, "%s/%s", b, files[i]);
        assert_same_file(x, y);
    }
    /* resuming with other params is refused */
    p.learning_rate = 2e-3;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_E_INVALID_CONFIG);
    assert_non_null(strstr(medner_last_error(), "other training parameters"));
    work_remove();
}

/* ---- LoRA through the trainer (lora_r) -------------------------------------------------- */

static int file_has(const char *path, const char *needle)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    b[n] = '\0';
    /* safetensors: the JSON header has no NUL; config files are text */
    int hit = strstr((const char *)b + (n > 8 && b[0] != '{' ? 8 : 0), needle) != NULL;
    free(b);
    return hit;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_lora_lowers_loss(void **state)
{
    (void)state;
    work_make();
    run_log log = { 0 };
    medner_train_params p = base_params(work, &log);
    p.max_steps = 30;
    p.epochs = 10;
    p.learning_rate = 5e-3;
    p.lora_r = 4; /* alpha: default 2 r = 8 */
    medner_trainer *t = NULL;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_OK);
    assert_int_equal(medner_trainer_run(t), MEDNER_OK);
    medner_train_info info = MEDNER_TRAIN_INFO_INIT;
    assert_int_equal(medner_train_info_get(&info, t), MEDNER_OK);
    assert_int_equal(info.stop, MEDNER_TRAIN_MAX_STEPS);
    assert_int_equal(log.steps, 30);
    medner_trainer_free(t);
    double first = 0, last = 0;
    for (int i = 0; i < 5; i++) {
        first += log.loss[i] / 5;
        last += log.loss[25 + i] / 5;
    }
    print_message("LoRA r 4: loss first 5 steps %.4f, last 5 steps %.4f; dev F1 %.4f\n", first,
                  last, log.dev_f1);
    assert_true(last < 0.7 * first);
    /* out_dir is a PEFT adapter directory (no full model) that medner loads on the base */
    assert_false(file_exists(wpath("model.safetensors")));
    assert_true(file_has(wpath("adapter_config.json"), "\"r\": 4,"));
    assert_true(file_has(wpath("adapter_config.json"), "\"lora_alpha\": 8,"));
    assert_true(file_has(wpath("adapter_config.json"),
                         "[\"query\", \"key\", \"value\", \"dense\"]"));
    assert_true(file_has(wpath("adapter_model.safetensors"),
                         "base_model.model.bert.encoder.layer.0.output.dense.lora_B.weight"));
    assert_true(file_has(wpath("adapter_model.safetensors"), "base_model.model.classifier.weight"));
    assert_true(file_has(wpath("checkpoint-last/optimizer.safetensors"),
                         "exp_avg_sq.base_model.model.bert.encoder.layer.0.attention.self.query."
                         "lora_A.weight"));
    medner__model *m = NULL;
    assert_int_equal(medner__model_load_adapter(&m, TINY, work), MEDNER_OK);
    assert_int_equal(m->config.num_labels, 3);
    assert_string_equal(m->config.labels[1], "I-Disease");
    medner__model_free(m);
    assert_int_equal(medner__model_load_adapter(&m, TINY, wpath("checkpoint-last")), MEDNER_OK);
    medner__model_free(m);
    work_remove();
}

static void test_lora_resume_bitwise(void **state)
{
    (void)state;
    work_make();
    char a[300], b[300];
    snprintf(a, sizeof a, "%s/a", work);
    snprintf(b, sizeof b, "%s/b", work);
    run_log log = { 0 };
    medner_train_params p = base_params(a, &log);
    p.epochs = 2;
    p.grad_accum = 2;
    p.learning_rate = 5e-3;
    p.lora_r = 2;
    p.lora_alpha = 5;
    p.lora_dropout = 0.1; /* masks keyed by the step counter: resumed with it */
    p.lora_targets = "query, value,intermediate.dense";
    medner_trainer *t = NULL;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_OK);
    assert_int_equal(medner_trainer_run(t), MEDNER_OK);
    medner_trainer_free(t);
    memset(&log, 0, sizeof log);
    log.cancel_at = 3;
    p.out_dir = b;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_OK);
    assert_int_equal(medner_trainer_run(t), MEDNER_E_CANCELLED);
    medner_trainer_free(t);
    log.cancel_at = 0;
    p.resume = MEDNER_ON;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_OK);
    medner_train_info info = MEDNER_TRAIN_INFO_INIT;
    medner_train_info_get(&info, t);
    assert_int_equal(info.resumed, 1);
    assert_int_equal(info.step, 3);
    assert_int_equal(medner_trainer_run(t), MEDNER_OK);
    medner_train_info_get(&info, t);
    assert_int_equal(info.step, 8);
    medner_trainer_free(t);
    static const char *const files[] = { "adapter_model.safetensors", "adapter_config.json",
                                         "config.json",
                                         "checkpoint-last/adapter_model.safetensors",
                                         "checkpoint-last/optimizer.safetensors",
                                         "checkpoint-last/trainer_state.json" };
    char x[400], y[400];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(x, sizeof x, "%s/%s", a, files[i]);
        snprintf(y, sizeof y, "%s/%s", b, files[i]);
        assert_same_file(x, y);
    }
    snprintf(x, sizeof x, "%s/adapter_config.json", a);
    assert_true(file_has(x, "[\"query\", \"value\", \"intermediate.dense\"]"));
    /* resuming a LoRA checkpoint with other LoRA options, or as full fine-tuning, is refused */
    p.lora_r = 3;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_E_INVALID_CONFIG);
    assert_non_null(strstr(medner_last_error(), "other training parameters"));
    p.lora_r = 0;
    p.lora_alpha = 0;
    p.lora_dropout = 0;
    p.lora_targets = NULL;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_E_INVALID_CONFIG);
    work_remove();
}

static void expect_lora_error(medner_train_params q, const char *what)
{
    medner_trainer *t = NULL;
    int rc = medner_trainer_create(&t, &q);
    if (rc == MEDNER_OK)
        medner_trainer_free(t);
    assert_int_equal(rc, MEDNER_E_INVALID_ARGUMENT);
    if (strstr(medner_last_error(), what) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", medner_last_error(), what);
    assert_null(t);
}

static void test_lora_errors(void **state)
{
    (void)state;
    work_make();
    run_log log = { 0 };
    medner_train_params p = base_params(work, &log);
    p.lora_r = 4;
    medner_train_params q = p;
    q.lora_r = 5000;
    expect_lora_error(q, "lora_r 5000: at most 4096");
    q.lora_r = 33; /* tiny-bert-tc: hidden 32 */
    expect_lora_error(q, "lora_r 33 is larger than the model's hidden size 32");
    q = p;
    q.lora_alpha = -1;
    expect_lora_error(q, "lora_alpha -1: must be a positive number");
    q.lora_alpha = NAN;
    expect_lora_error(q, "lora_alpha");
    q = p;
    q.lora_dropout = 1.0;
    expect_lora_error(q, "lora_dropout 1: must be in [0, 1)");
    q = p;
    q.lora_targets = "query,qeury";
    expect_lora_error(q, "lora_targets: \"qeury\" matches no Linear layer of this bert model");
    q.lora_targets = "nothing";
    expect_lora_error(q, "target_modules matches no Linear layer");
    q.lora_targets = "query,,value";
    expect_lora_error(q, "an empty module name");
    q.lora_targets = "embeddings";
    expect_lora_error(q, "matches no Linear layer");
    q = p;
    q.lora_modules_to_save = "clasifier";
    expect_lora_error(q, "lora_modules_to_save: \"clasifier\" matches no module");
    q = p;
    q.lora_r = 0;
    q.lora_targets = "query";
    expect_lora_error(q, "need lora_r > 0");
    /* a good one still works after them */
    medner_trainer *t = NULL;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_OK);
    medner_trainer_free(t);
    work_remove();
}

static void test_nan_stops(void **state)
{
    (void)state;
    work_make();
    run_log log = { 0 };
    medner_train_params p = base_params(work, &log);
    p.learning_rate = 1e30;
    p.warmup_ratio = 0;
    p.max_grad_norm = -1;
    p.save_steps = 1;
    medner_trainer *t = NULL;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_OK);
    assert_int_equal(medner_trainer_run(t), MEDNER_E_DIVERGED);
    const char *msg = medner_last_error();
    assert_non_null(strstr(msg, "training diverged"));
    assert_non_null(strstr(msg, "lower the learning rate"));
    medner_train_info info = MEDNER_TRAIN_INFO_INIT;
    medner_train_info_get(&info, t);
    assert_int_equal(info.stop, MEDNER_TRAIN_DIVERGED);
    medner_trainer_free(t);
    /* the last checkpoint is the last good step: finite weights that load */
    medner__model *m = NULL;
    assert_int_equal(medner__model_load(&m, wpath("checkpoint-last")), MEDNER_OK);
    medner__model_free(m);
    work_remove();
}

static void test_new_head_and_errors(void **state)
{
    (void)state;
    work_make();
    run_log log = { 0 };
    medner_train_params p = base_params(work, &log);
    p.base_dir = TINY_NOHEAD;
    p.dev_path = NULL;
    p.epochs = 1;
    p.scheme = MEDNER_SCHEME_BIOES;
    medner_trainer *t = NULL;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_OK);
    assert_int_equal(medner_train_info_get(&(medner_train_info)MEDNER_TRAIN_INFO_INIT, t), MEDNER_OK);
    assert_string_equal(medner_trainer_label(t, 0), "B-Disease");
    assert_string_equal(medner_trainer_label(t, 2), "I-Disease");
    assert_string_equal(medner_trainer_label(t, 4), "S-Disease");
    assert_int_equal(medner_trainer_run(t), MEDNER_OK);
    medner_trainer_free(t);
    medner__model *m = NULL;
    assert_int_equal(medner__model_load(&m, work), MEDNER_OK);
    assert_int_equal(m->config.num_labels, 5);
    assert_string_equal(m->config.architecture, "BertForTokenClassification");
    medner__model_free(m);
    /* errors */
    assert_int_equal(medner_trainer_create(NULL, &p), MEDNER_E_INVALID_ARGUMENT);
    medner_train_params q = p;
    q.train_path = NULL;
    assert_int_equal(medner_trainer_create(&t, &q), MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "required"));
    q = p;
    q.struct_size = 3;
    assert_int_equal(medner_trainer_create(&t, &q), MEDNER_E_INVALID_ARGUMENT);
    q = p;
    q.learning_rate = -1;
    assert_int_equal(medner_trainer_create(&t, &q), MEDNER_E_INVALID_ARGUMENT);
    q = p;
    q.max_length = 2;
    assert_int_equal(medner_trainer_create(&t, &q), MEDNER_E_INVALID_ARGUMENT);
    q = p;
    q.dev_path = TD "/align.tsv";
    q.unknown_labels_error = MEDNER_ON; /* align.tsv has only train labels: fine */
    assert_int_equal(medner_trainer_create(&t, &q), MEDNER_OK);
    medner_trainer_free(t);
    q.types = "Disease,Chemical";
    assert_int_equal(medner_trainer_create(&t, &q), MEDNER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(medner_last_error(), "\"Chemical\" does not occur"));
    q.types = "Disease";
    assert_int_equal(medner_trainer_create(&t, &q), MEDNER_OK);
    medner_trainer_free(t);
    q.types = NULL;
    write_text(wpath("bad.tsv"), "a\tB-Disease\nb\n");
    q.train_path = wpath("bad.tsv");
    assert_int_equal(medner_trainer_create(&t, &q), MEDNER_E_PARSE);
    assert_non_null(strstr(medner_last_error(), "bad.tsv:2:"));
    medner_trainer_cancel(NULL);
    medner_trainer_free(NULL);
    assert_int_equal(medner_trainer_run(NULL), MEDNER_E_INVALID_ARGUMENT);
    work_remove();
}

/* medner_trainer_cancel() from another thread while run() trains. */
typedef struct cancel_ctx {
    medner_trainer *t;
    atomic_int steps;
} cancel_ctx;

static int count_steps(const medner_train_progress *p, void *user)
{
    cancel_ctx *c = user;
    if (p->event == MEDNER_TRAIN_STEP)
        atomic_fetch_add(&c->steps, 1);
    return 0;
}

static void *canceller(void *arg)
{
    cancel_ctx *c = arg;
    while (atomic_load(&c->steps) < 5)
        usleep(1000);
    medner_trainer_cancel(c->t);
    return NULL;
}

static void test_cancel_from_thread(void **state)
{
    (void)state;
    work_make();
    cancel_ctx c;
    atomic_init(&c.steps, 0);
    medner_train_params p = MEDNER_TRAIN_PARAMS_INIT;
    p.base_dir = TINY;
    p.train_path = TD "/ncbi-train.tsv";
    p.out_dir = work;
    p.epochs = 100000;
    p.batch_size = 1;
    p.max_length = 32;
    p.callback = count_steps;
    p.user_data = &c;
    assert_int_equal(medner_trainer_create(&c.t, &p), MEDNER_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, canceller, &c), 0);
    assert_int_equal(medner_trainer_run(c.t), MEDNER_E_CANCELLED);
    assert_int_equal(pthread_join(th, NULL), 0);
    medner_train_info info = MEDNER_TRAIN_INFO_INIT;
    medner_train_info_get(&info, c.t);
    assert_int_equal(info.stop, MEDNER_TRAIN_CANCELLED);
    assert_true(info.step >= 5 && info.step < 1000);
    medner_trainer_free(c.t);
    work_remove();
}

/* Every allocation of create + run failing in turn: MEDNER_E_OUT_OF_MEMORY, no crash, no leak. */
static void allocation_failures(int lora)
{
    work_make();
    failing f = { 0, 0 };
    assert_int_equal(failing_install(&f), MEDNER_OK);
    medner_train_params p = MEDNER_TRAIN_PARAMS_INIT;
    p.base_dir = TINY;
    p.train_path = TD "/ncbi-train.tsv";
    p.dev_path = TD "/ncbi-dev.tsv";
    p.out_dir = work;
    p.epochs = 1;
    p.batch_size = 8;
    p.max_length = 32;
    if (lora) { /* the LoRA set-up (name lists split, adapter and checkpoint writers) */
        p.lora_r = 2;
        p.lora_dropout = 0.1;
        p.lora_targets = "query,value";
        p.lora_modules_to_save = "classifier";
    }
    medner_trainer *t = NULL;
    assert_int_equal(medner_trainer_create(&t, &p), MEDNER_OK);
    long in_create = f.count;
    assert_int_equal(medner_trainer_run(t), MEDNER_OK);
    medner_trainer_free(t);
    long total = f.count;
    assert_true(total > 100 && in_create > 50);
    long failures = 0, tried = 0;
    /* every allocation of create, every other one of run (LoRA: every third; each failed run
     * still writes and fsyncs files: slow on a busy disk) */
    for (long k = 1; k <= total; k += k <= in_create ? 1 : lora ? 3 : 2) {
        tried++;
        f.count = 0;
        f.fail_at = k;
        t = NULL;
        int rc = medner_trainer_create(&t, &p);
        if (rc == MEDNER_OK) {
            rc = medner_trainer_run(t);
            medner_trainer_free(t);
        }
        if (rc != MEDNER_OK) {
            failures++;
            if (rc != MEDNER_E_OUT_OF_MEMORY)
                fail_msg("allocation %ld of %ld: status %d (%s)", k, total, rc, medner_last_error());
        }
        assert_int_equal(medner__live_allocations(), 0);
    }
    print_message("%s: %ld allocations (%ld in create), %ld tried, %ld failed runs\n",
                  lora ? "LoRA" : "full", total, in_create, tried, failures);
    assert_true(failures > tried / 2);
    f.fail_at = 0;
    medner_allocator_set(NULL);
    work_remove();
}

static void test_allocation_failures(void **state)
{
    (void)state;
    allocation_failures(0);
}

static void test_lora_allocation_failures(void **state)
{
    (void)state;
    allocation_failures(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conll),
        cmocka_unit_test(test_brat),
        cmocka_unit_test(test_schemes),
        cmocka_unit_test(test_keep_types),
        cmocka_unit_test(test_alignment_golden),
        cmocka_unit_test(test_unknown_dev_label),
        cmocka_unit_test(test_train_lowers_loss),
        cmocka_unit_test(test_resume_bitwise),
        cmocka_unit_test(test_lora_lowers_loss),
        cmocka_unit_test(test_lora_resume_bitwise),
        cmocka_unit_test(test_lora_errors),
        cmocka_unit_test(test_nan_stops),
        cmocka_unit_test(test_new_head_and_errors),
        cmocka_unit_test(test_cancel_from_thread),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_lora_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
