/*
 * medner train: full fine-tuning of a token classifier, or LoRA training of a
 * PEFT adapter with --lora-r (EXPERIMENTAL;
 * docs/training.md). Options from the command line and/or a YAML recipe
 * (keys = the long option names; the command line wins). A progress bar on
 * a terminal, plain lines otherwise, and a JSON-lines log with --log-json.
 * Ctrl-C stops after the current step, writes checkpoint-last and exits
 * with status 130; --resume continues from it.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/common.h"
#include "yaml/yaml_reader.h"

#define CMD "train"

static const char train_help[] =
    "usage: medner train --base DIR --train FILE --out DIR [--dev FILE] [options]\n"
    "       medner train --recipe FILE.yaml [options]\n"
    "\n"
    "Fine-tune all the weights of a BERT-family token classifier (fp32, CPU), or with\n"
    "--lora-r a LoRA adapter on the frozen base (PEFT format).\n"
    "EXPERIMENTAL (docs/training.md). Data: CoNLL (TOKEN<TAB>TAG, blank line between\n"
    "sentences), a brat .ann file (its .txt next to it) or a directory of brat pairs.\n"
    "Writes to --out a Hugging Face model directory (the best dev F1; the last epoch\n"
    "without --dev) and checkpoint-last/ (weights + optimizer + state, to --resume).\n"
    "\n"
    "  --base DIR           model to start from (a head with other labels is replaced)\n"
    "  --train FILE         training data (required)\n"
    "  --dev FILE           evaluated after each epoch (seqeval micro F1)\n"
    "  --out DIR            output directory (required)\n"
    "  --epochs N           default 3\n"
    "  --lr X               peak learning rate, default 5e-5\n"
    "  --batch-size N       sentences per micro-batch, default 8\n"
    "  --grad-accum N       micro-batches per optimizer step, default 1\n"
    "  --seed N             data order, dropout, new head; default 42\n"
    "  --threads N          default 1\n"
    "  --max-length N       tokens per sentence incl. [CLS]/[SEP]; longer ones are\n"
    "                       truncated; default 512 (capped at the model's positions)\n"
    "  --warmup-ratio X     fraction of steps of linear warm-up, default 0\n"
    "  --warmup-steps N     overrides --warmup-ratio\n"
    "  --weight-decay X     AdamW weight decay, default 0\n"
    "  --max-grad-norm X    gradient clipping, default 1 (negative: off)\n"
    "  --dropout X          hidden dropout, default the config's (negative: off)\n"
    "  --attention-dropout X  default the config's (negative: off)\n"
    "  --scheme bio|bioes   tags trained (files are converted), default bio\n"
    "  --types A,B,...      keep only these entity types (others become O in train and dev)\n"
    "  --patience N         early stopping after N epochs without a better dev F1\n"
    "  --max-steps N        stop after N optimizer steps\n"
    "  --save-steps N       also write checkpoint-last every N steps\n"
    "  --no-shuffle         keep the file order\n"
    "  --strict-labels      a dev tag absent from train is an error (default: warning)\n"
    "  --resume             continue from OUT/checkpoint-last (same options)\n"
    "  --precision P        fp32 (default), bf16 (mixed precision: the dense products in\n"
    "                       bfloat16 on AMX-BF16 / AVX512-BF16, fp32 weights and AdamW;\n"
    "                       fp32 on CPUs without them) or auto (bf16 where native)\n"
    "  --lora-r N           train a LoRA adapter of rank N instead of all the weights:\n"
    "                       --out is then a PEFT adapter directory, used as\n"
    "                       `medner annotate --base BASE --adapter OUT` (and by peft)\n"
    "  --lora-alpha X       LoRA scale alpha / r; default 2 * r\n"
    "  --lora-dropout X     dropout on the LoRA input path, default 0\n"
    "  --lora-targets A,B   PEFT target_modules, default query,key,value,dense\n"
    "                       (DistilBERT: q_lin,k_lin,v_lin,out_lin,lin1,lin2)\n"
    "  --lora-modules-to-save A,B  trained in full and saved, default classifier\n"
    "  --recipe FILE        YAML mapping of these options (e.g. `lr: 3.0e-5`,\n"
    "                       `batch-size: 16`, `resume: true`); paths relative to the\n"
    "                       current directory; command-line options win\n"
    "  --log-json FILE      one JSON object per step and per epoch\n"
    "  --quiet              no progress output\n"
    "\n"
    "Exit status: 0 done, 1 failure (NaN loss included), 2 usage (bad option or recipe),\n"
    "130 interrupted\n"
    "(Ctrl-C: checkpoint written; run again with --resume).\n";

typedef struct opts {
    medner_train_params p;
    const char *log_json;
    int quiet;
    int seen[64]; /* options given on the command line (recipe keys do not override them) */
} opts;

typedef struct spec {
    const char *name; /* long option without "--" */
    char kind;        /* 's' string, 'u' uint32, 'U' uint64, 'd' double, 'f' flag */
} spec;

static const spec specs[] = {
    { "base", 's' }, { "train", 's' }, { "dev", 's' }, { "out", 's' },
    { "epochs", 'u' }, { "lr", 'd' }, { "batch-size", 'u' }, { "grad-accum", 'u' },
    { "seed", 'U' }, { "threads", 'u' }, { "max-length", 'u' }, { "warmup-ratio", 'd' },
    { "warmup-steps", 'U' }, { "weight-decay", 'd' }, { "max-grad-norm", 'd' },
    { "dropout", 'd' }, { "attention-dropout", 'd' }, { "scheme", 's' }, { "patience", 'u' },
    { "max-steps", 'U' }, { "save-steps", 'U' }, { "no-shuffle", 'f' }, { "strict-labels", 'f' },
    { "resume", 'f' }, { "precision", 's' }, { "log-json", 's' }, { "quiet", 'f' },
    { "types", 's' }, { "lora-r", 'u' }, { "lora-alpha", 'd' }, { "lora-dropout", 'd' },
    { "lora-targets", 's' }, { "lora-modules-to-save", 's' },
};

static char *owned[64];
static size_t n_owned;

static int find_spec(const char *name, size_t len)
{
    for (size_t i = 0; i < MEDNER_ARRAY_LEN(specs); i++) {
        size_t n = strlen(specs[i].name);
        if (n != len)
            continue;
        int same = 1;
        for (size_t k = 0; k < n && same; k++) {
            char c = name[k] == '_' ? '-' : name[k];
            same = c == specs[i].name[k];
        }
        if (same)
            return (int)i;
    }
    return -1;
}

/* Set option k from its text value; `where` names the source in messages. */
static int set_option(opts *o, int k, const char *v, const char *where)
{
    const char *name = specs[k].name;
    char *end = NULL;
    errno = 0;
    switch (specs[k].kind) {
    case 'f': {
        int on;
        if (v == NULL || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"))
            on = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off"))
            on = 0;
        else {
            fprintf(stderr, "medner train: %s: %s expects true or false\n", where, name);
            return 2;
        }
        if (!strcmp(name, "no-shuffle"))
            o->p.shuffle = on ? MEDNER_OFF : MEDNER_ON;
        else if (!strcmp(name, "strict-labels"))
            o->p.unknown_labels_error = on ? MEDNER_ON : MEDNER_OFF;
        else if (!strcmp(name, "resume"))
            o->p.resume = on ? MEDNER_ON : MEDNER_OFF;
        else
            o->quiet = on;
        return 0;
    }
    case 'u':
    case 'U': {
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || end == v || *end || v[0] == '-' ||
            (specs[k].kind == 'u' && x > 0xFFFFFFFFull)) {
            fprintf(stderr, "medner train: %s: %s expects a non-negative integer, not '%s'\n",
                    where, name, v);
            return 2;
        }
        uint32_t u = (uint32_t)x;
        if (!strcmp(name, "epochs")) o->p.epochs = u;
        else if (!strcmp(name, "batch-size")) o->p.batch_size = u;
        else if (!strcmp(name, "grad-accum")) o->p.grad_accum = u;
        else if (!strcmp(name, "seed")) o->p.seed = x;
        else if (!strcmp(name, "threads")) o->p.threads = u;
        else if (!strcmp(name, "max-length")) o->p.max_length = u;
        else if (!strcmp(name, "warmup-steps")) o->p.warmup_steps = x;
        else if (!strcmp(name, "patience")) o->p.patience = u;
        else if (!strcmp(name, "max-steps")) o->p.max_steps = x;
        else if (!strcmp(name, "save-steps")) o->p.save_steps = x;
        else if (!strcmp(name, "lora-r")) o->p.lora_r = u;
        return 0;
    }
    case 'd': {
        double x = strtod(v, &end);
        if (errno || end == v || *end || !isfinite(x)) {
            fprintf(stderr, "medner train: %s: %s expects a number, not '%s'\n", where, name, v);
            return 2;
        }
        if (!strcmp(name, "lr")) o->p.learning_rate = x;
        else if (!strcmp(name, "warmup-ratio")) o->p.warmup_ratio = x;
        else if (!strcmp(name, "weight-decay")) o->p.weight_decay = x;
        else if (!strcmp(name, "max-grad-norm")) o->p.max_grad_norm = x;
        else if (!strcmp(name, "dropout")) o->p.hidden_dropout = x == 0 ? -1 : x;
        else if (!strcmp(name, "attention-dropout")) o->p.attention_dropout = x == 0 ? -1 : x;
        else if (!strcmp(name, "lora-alpha")) o->p.lora_alpha = (float)x;
        else if (!strcmp(name, "lora-dropout")) o->p.lora_dropout = x;
        return 0;
    }
    default:
        break;
    }
    if (n_owned == MEDNER_ARRAY_LEN(owned) || (owned[n_owned] = strdup(v)) == NULL) {
        fprintf(stderr, "medner train: out of memory\n");
        return 1;
    }
    const char *s = owned[n_owned++];
    if (!strcmp(name, "base")) o->p.base_dir = s;
    else if (!strcmp(name, "train")) o->p.train_path = s;
    else if (!strcmp(name, "dev")) o->p.dev_path = s;
    else if (!strcmp(name, "out")) o->p.out_dir = s;
    else if (!strcmp(name, "log-json")) o->log_json = s;
    else if (!strcmp(name, "types")) o->p.types = s;
    else if (!strcmp(name, "lora-targets")) o->p.lora_targets = s;
    else if (!strcmp(name, "lora-modules-to-save")) o->p.lora_modules_to_save = s;
    else if (!strcmp(name, "scheme")) {
        if (!strcmp(s, "bio") || !strcmp(s, "BIO"))
            o->p.scheme = MEDNER_SCHEME_BIO;
        else if (!strcmp(s, "bioes") || !strcmp(s, "BIOES"))
            o->p.scheme = MEDNER_SCHEME_BIOES;
        else {
            fprintf(stderr, "medner train: %s: --scheme expects bio or bioes, not '%s'\n", where, s);
            return 2;
        }
    } else if (!strcmp(name, "precision")) {
        if (!strcmp(s, "fp32"))
            o->p.precision = MEDNER_PRECISION_FP32;
        else if (!strcmp(s, "bf16"))
            o->p.precision = MEDNER_PRECISION_BF16;
        else if (!strcmp(s, "auto"))
            o->p.precision = MEDNER_PRECISION_AUTO;
        else {
            fprintf(stderr, "medner train: %s: --precision expects fp32, bf16 or auto, not '%s'\n",
                    where, s);
            return 2;
        }
    }
    return 0;
}

static const medner__yaml_dialect recipe_yaml = {
    .noun = "a recipe",
    .max_depth = 4,
    .syntax_status = MEDNER_E_PARSE,
    .depth_status = MEDNER_E_LIMIT,
    .invalid_status = MEDNER_E_INVALID_CONFIG,
    .parser_oom = " in the YAML parser",
    .byte_offsets = 1,
    .describe_styles = 1,
};

/* A flat mapping of option: scalar. Returns 0, 1 (error printed), 2 (usage). */
static int read_recipe(opts *o, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    int rc = medner__read_file(path, (size_t)1 << 20, &text, &len);
    if (rc != MEDNER_OK) {
        medner_cli_error(CMD, rc, NULL);
        return 1;
    }
    medner__yaml_reader y;
    medner__yaml_init(&y, &recipe_yaml, path, text, len);
    rc = medner__yaml_open(&y);
    if (rc != MEDNER_OK) {
        medner__free(text);
        medner_cli_error(CMD, rc, NULL);
        return rc == MEDNER_E_OUT_OF_MEMORY ? 1 : 2;
    }
    int status = 0, in_map = 0, lib_error = 0;
    yaml_event_t ev;
    char where[512];
    while (status == 0 && (rc = medner__yaml_next(&y, &ev)) == MEDNER_OK) {
        yaml_event_type_t type = ev.type;
        if (type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (type == YAML_STREAM_START_EVENT || type == YAML_DOCUMENT_START_EVENT ||
            type == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if (!in_map) {
            if (type != YAML_MAPPING_START_EVENT) {
                medner__yaml_type_error(&y, &ev, "a recipe", "a mapping of option: value");
                lib_error = 1;
                status = 2;
                break;
            }
            in_map = 1;
            yaml_event_delete(&ev);
            continue;
        }
        if (type == YAML_MAPPING_END_EVENT) {
            in_map = 0;
            yaml_event_delete(&ev);
            continue;
        }
        /* key */
        size_t line = ev.start_mark.line + 1, col = ev.start_mark.column + 1;
        char key[64];
        size_t kl = ev.data.scalar.length < sizeof key - 1 ? ev.data.scalar.length : sizeof key - 1;
        memcpy(key, ev.data.scalar.value, kl);
        key[kl] = '\0';
        yaml_event_delete(&ev);
        int k = find_spec(key, kl);
        snprintf(where, sizeof where, "%s:%zu:%zu", path, line, col);
        if (k < 0 || !strcmp(key, "recipe")) {
            fprintf(stderr, "medner train: %s: unknown recipe key '%s' (keys are the long "
                    "options of medner train --help)\n", where, key);
            status = 2;
            break;
        }
        if ((rc = medner__yaml_next(&y, &ev)) != MEDNER_OK)
            break;
        if (ev.type != YAML_SCALAR_EVENT) {
            medner__yaml_type_error(&y, &ev, key, "a single value");
            lib_error = 1;
            status = 2;
            break;
        }
        char *val = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
        line = ev.start_mark.line + 1;
        col = ev.start_mark.column + 1;
        yaml_event_delete(&ev);
        snprintf(where, sizeof where, "%s:%zu:%zu", path, line, col);
        if (val == NULL) {
            fprintf(stderr, "medner train: out of memory\n");
            status = 1;
            break;
        }
        if (!o->seen[k])
            status = set_option(o, k, val, where);
        free(val);
    }
    if (rc != MEDNER_OK || lib_error) {
        medner_cli_error(CMD, rc != MEDNER_OK ? rc : MEDNER_E_INVALID_CONFIG, NULL);
        if (status == 0)
            status = rc == MEDNER_E_OUT_OF_MEMORY || rc == MEDNER_E_IO ? 1 : 2;
    }
    medner__yaml_close(&y);
    medner__free(text);
    return status;
}

/* ---- progress ------------------------------------------------------------------------ */

typedef struct progress {
    int tty, quiet;
    FILE *log;
    unsigned every;
    uint64_t step0;    /* steps done before this run (a resumed run), +1 once set */
} progress;

static medner_trainer *volatile running;

static void on_sigint(int sig)
{
    (void)sig;
    if (running != NULL)
        medner_trainer_cancel(running);
}

static void fmt_time(char *buf, size_t size, double s)
{
    if (!(s >= 0) || s > 1e7)
        snprintf(buf, size, "?");
    else if (s >= 3600)
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

static int on_progress(const medner_train_progress *pr, void *user)
{
    progress *g = user;
    if (g->log != NULL) {
        if (pr->event == MEDNER_TRAIN_STEP)
            fprintf(g->log, "{\"event\":\"step\",\"epoch\":%u,\"step\":%llu,\"total_steps\":%llu,"
                    "\"loss\":%.9g,\"lr\":%.9g,\"grad_norm\":%.9g,\"tokens_per_s\":%.1f,"
                    "\"elapsed_s\":%.3f}\n", pr->epoch + 1, (unsigned long long)pr->step,
                    (unsigned long long)pr->total_steps, pr->loss, pr->learning_rate,
                    pr->grad_norm, pr->tokens_per_s, pr->elapsed_s);
        else if (pr->has_dev)
            fprintf(g->log, "{\"event\":\"epoch\",\"epoch\":%u,\"step\":%llu,\"loss\":%.9g,"
                    "\"dev_loss\":%.9g,\"dev_precision\":%.9g,\"dev_recall\":%.9g,\"dev_f1\":%.9g,"
                    "\"best\":%s,\"elapsed_s\":%.3f}\n", pr->epoch + 1,
                    (unsigned long long)pr->step, pr->loss, pr->dev_loss, pr->dev_precision,
                    pr->dev_recall, pr->dev_f1, pr->improved ? "true" : "false", pr->elapsed_s);
        else
            fprintf(g->log, "{\"event\":\"epoch\",\"epoch\":%u,\"step\":%llu,\"loss\":%.9g,"
                    "\"elapsed_s\":%.3f}\n", pr->epoch + 1, (unsigned long long)pr->step,
                    pr->loss, pr->elapsed_s);
        fflush(g->log);
    }
    if (g->quiet)
        return 0;
    char eta[32], el[32];
    fmt_time(el, sizeof el, pr->elapsed_s);
    if (pr->event == MEDNER_TRAIN_STEP) {
        if (g->step0 == 0)
            g->step0 = pr->step; /* = steps before this run + 1 */
        double done = (double)(pr->step - g->step0 + 1);
        double frac = pr->total_steps ? (double)pr->step / (double)pr->total_steps : 0;
        /* ETA from this run's pace (a resumed run did the earlier steps before) */
        fmt_time(eta, sizeof eta, pr->elapsed_s > 0 ? (double)(pr->total_steps - pr->step) *
                                                           pr->elapsed_s / done : -1);
        if (g->tty) {
            char bar[31];
            int filled = (int)(frac * 30);
            for (int i = 0; i < 30; i++)
                bar[i] = i < filled ? '#' : '.';
            bar[30] = '\0';
            fprintf(stderr, "\r[%s] %3.0f%% epoch %u/%u step %llu/%llu loss %.4f lr %.2e "
                    "%.0f tok/s ETA %s ", bar, 100 * frac, pr->epoch + 1, pr->epochs,
                    (unsigned long long)pr->step, (unsigned long long)pr->total_steps, pr->loss,
                    pr->learning_rate, pr->tokens_per_s, eta);
        } else if (pr->step % g->every == 0 || pr->step == pr->total_steps) {
            fprintf(stderr, "step %llu/%llu epoch %u/%u loss %.4f lr %.3e grad_norm %.3f "
                    "%.0f tok/s elapsed %s ETA %s\n", (unsigned long long)pr->step,
                    (unsigned long long)pr->total_steps, pr->epoch + 1, pr->epochs, pr->loss,
                    pr->learning_rate, pr->grad_norm, pr->tokens_per_s, el, eta);
        }
    } else {
        if (g->tty)
            fputc('\n', stderr);
        if (pr->has_dev)
            fprintf(stderr, "epoch %u/%u: train loss %.4f, dev loss %.4f, dev P %.4f R %.4f "
                    "F1 %.4f%s (%s)\n", pr->epoch + 1, pr->epochs, pr->loss, pr->dev_loss,
                    pr->dev_precision, pr->dev_recall, pr->dev_f1,
                    pr->improved ? " (best: model written)" : "", el);
        else
            fprintf(stderr, "epoch %u/%u: train loss %.4f (model written) (%s)\n", pr->epoch + 1,
                    pr->epochs, pr->loss, el);
    }
    return 0;
}

int medner_cli_train(int argc, char **argv)
{
    opts o;
    memset(&o, 0, sizeof o);
    medner_train_params init = MEDNER_TRAIN_PARAMS_INIT;
    o.p = init;
    const char *recipe = NULL;
    int status = 0;
    for (int i = 1; i < argc && status == 0; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(train_help, stdout);
            goto done;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "medner train: unexpected argument '%s' (see --help)\n", a);
            status = 2;
            break;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        if (nl == 6 && !strncmp(name, "recipe", 6)) {
            recipe = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (recipe == NULL) {
                fprintf(stderr, "medner train: --recipe needs a value\n");
                status = 2;
            }
            continue;
        }
        int k = find_spec(name, nl);
        if (k < 0) {
            fprintf(stderr, "medner train: unknown option '%s' (see --help)\n", a);
            status = 2;
            break;
        }
        const char *v = NULL;
        if (specs[k].kind != 'f') {
            v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (v == NULL) {
                fprintf(stderr, "medner train: --%s needs a value\n", specs[k].name);
                status = 2;
                break;
            }
        } else if (eq) {
            v = eq + 1;
        }
        o.seen[k] = 1;
        status = set_option(&o, k, v, "command line");
    }
    if (status == 0 && recipe != NULL)
        status = read_recipe(&o, recipe);
    if (status != 0)
        goto done;
    if (o.p.base_dir == NULL || o.p.train_path == NULL || o.p.out_dir == NULL) {
        fprintf(stderr, "medner train: --base, --train and --out are required (see --help)\n");
        status = 2;
        goto done;
    }
    progress g = { isatty(2), o.quiet, NULL, 10, 0 };
    if (o.log_json != NULL && (g.log = fopen(o.log_json, o.p.resume == MEDNER_ON ? "a" : "w")) == NULL) {
        fprintf(stderr, "medner train: %s: %s\n", o.log_json, strerror(errno));
        status = 1;
        goto done;
    }
    o.p.callback = on_progress;
    o.p.user_data = &g;
    medner_trainer *t = NULL;
    int rc = medner_trainer_create(&t, &o.p);
    if (rc != MEDNER_OK) {
        medner_cli_error(CMD, rc, NULL);
        status = 1;
        if (g.log)
            fclose(g.log);
        goto done;
    }
    medner_train_info info = MEDNER_TRAIN_INFO_INIT;
    medner_train_info_get(&info, t);
    if (!g.quiet) {
        fprintf(stderr, "medner train: %zu labels, %zu training sentences (%zu tokens), %zu dev "
                "sentences, %llu optimizer steps%s\n", info.num_labels, info.train_sequences,
                info.train_tokens, info.dev_sequences, (unsigned long long)info.total_steps,
                info.resumed ? " (resumed)" : "");
        if (o.p.resume == MEDNER_ON && !info.resumed)
            fprintf(stderr, "medner train: --resume: no checkpoint in %s: starting afresh\n",
                    o.p.out_dir);
        if (info.truncated)
            fprintf(stderr, "medner train: %zu sentence(s) truncated to --max-length\n",
                    info.truncated);
        if (info.unknown_dev_tags)
            fprintf(stderr, "medner train: warning: %zu dev word(s) have tags absent from the "
                    "training data (%s); they count as missed entities\n",
                    info.unknown_dev_tags, info.unknown_tags);
    }
    running = t;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = (int)(unsigned)SA_RESETHAND; /* a second Ctrl-C kills */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    rc = medner_trainer_run(t);
    sigaction(SIGINT, &old, NULL);
    running = NULL;
    if (g.tty && !g.quiet)
        fputc('\n', stderr);
    medner_train_info_get(&info, t);
    if (rc == MEDNER_OK) {
        if (!g.quiet)
            fprintf(stderr, "medner train: done (%s) after %llu steps; model in %s%s\n",
                    info.stop == MEDNER_TRAIN_EARLY_STOP ? "early stop"
                    : info.stop == MEDNER_TRAIN_MAX_STEPS ? "max steps" : "all epochs",
                    (unsigned long long)info.step, o.p.out_dir,
                    info.dev_sequences ? "" : " (last epoch)");
        if (!g.quiet && o.p.lora_r > 0)
            fprintf(stderr, "medner train: %s is a LoRA adapter: medner annotate --base %s "
                    "--adapter %s\n", o.p.out_dir, o.p.base_dir, o.p.out_dir);
        if (!g.quiet && info.dev_sequences)
            fprintf(stderr, "medner train: best dev F1 %.4f at epoch %u\n", info.best_dev_f1,
                    info.best_epoch);
    } else {
        medner_cli_error(CMD, rc, NULL);
        status = rc == MEDNER_E_CANCELLED ? 130 : 1;
    }
    medner_trainer_free(t);
    if (g.log)
        fclose(g.log);
done:
    for (size_t i = 0; i < n_owned; i++)
        free(owned[i]);
    n_owned = 0;
    return status;
}
