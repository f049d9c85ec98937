/* Pipeline options shared by `medner annotate` and `medner eval`: every key of
 * the YAML configuration is also a flag (docs/config.md). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const char *const aggregations[] = { "", "none", "simple", "first", "average", "max" };
static const char *const decodings[] = { "", "argmax", "constrained" };
static const char *const schemes[] = { "auto", "io", "bio", "bioes" };
static const char *const merges[] = { "", "hf", "center" };
static const char *const segments[] = { "none", "sentence" }; /* medner_segment 0..1 */
/* medner_precision values 1..4 */
static const char *const precisions[] = { "", "fp32", "bf16", "int8", "auto" };

static int pick(const char *cmd, const char *opt, const char *v, const char *const *words,
                int n, int *out)
{
    for (int i = 0; i < n; i++)
        if (words[i][0] && strcmp(v, words[i]) == 0) {
            *out = i;
            return 0;
        }
    fprintf(stderr, "medner %s: %s: unknown value '%s'\n", cmd, opt, v);
    return 1;
}

int medner_cli_precision(const char *cmd, const char *v, medner_precision *out)
{
    int k;
    if (pick(cmd, "--precision", v, precisions, 5, &k))
        return 1;
    *out = (medner_precision)k;
    return 0;
}

static int push(const char ***list, size_t *n, const char *v)
{
    const char **l = realloc(*list, (*n + 1) * sizeof *l);
    if (l == NULL) {
        fprintf(stderr, "medner: out of memory\n");
        return 1;
    }
    l[(*n)++] = v;
    *list = l;
    return 0;
}

void medner_cli_options_init(medner_cli_options *o)
{
    memset(o, 0, sizeof *o);
    medner_pipeline_params pp = MEDNER_PIPELINE_PARAMS_INIT;
    medner_decoder_params dp = MEDNER_DECODER_PARAMS_INIT;
    o->pipeline = pp;
    o->decoder = dp;
}

void medner_cli_options_free(medner_cli_options *o)
{
    free(o->ignore);
    free(o->keep);
    free(o->rename_from);
    free(o->rename_to);
}

int medner_cli_pipeline_option(const char *cmd, medner_cli_options *o, int argc, char **argv,
                               int *i)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    medner_pipeline_params *pp = &o->pipeline;
    medner_decoder_params *dp = &o->decoder;
    unsigned u;
    int k;
    if (!strcmp(a, "--first-window-only")) {
        pp->first_window_only = MEDNER_ON;
        o->any_decoder = 1;
        return 0;
    }
    static const char *const with_value[] = { "--config", "--model", "--base", "--adapter",
                                              "--aggregation", "--decoding", "--scheme",
                                              "--max-length", "--overlap", "--batch-size",
                                              "--threads", "--encoder-threads", "--min-score",
                                              "--merge", "--ignore-label", "--keep-label",
                                              "--rename", "--context", "--precision",
                                              "--segment" };
    int known = 0;
    for (size_t j = 0; j < sizeof with_value / sizeof *with_value; j++)
        known |= !strcmp(a, with_value[j]);
    if (!known)
        return -1; /* not a pipeline option */
    if (v == NULL) {
        fprintf(stderr, "medner %s: %s needs a value\n", cmd, a);
        return 1;
    }
    (*i)++;
    if (!strcmp(a, "--config"))
        o->config = v;
    else if (!strcmp(a, "--model") || !strcmp(a, "--base"))
        pp->model_dir = v;
    else if (!strcmp(a, "--adapter"))
        pp->adapter_dir = v;
    else if (!strcmp(a, "--context")) {
        if (!strcmp(v, "off")) {
            pp->context = MEDNER_OFF;
        } else {
            pp->context = MEDNER_ON; /* default/on: the built-in rules; else a rule file */
            if (strcmp(v, "default") && strcmp(v, "on"))
                pp->context_rules = v;
        }
    }
    else if (!strcmp(a, "--aggregation")) {
        if (pick(cmd, a, v, aggregations, 6, &k))
            return 1;
        dp->aggregation = (medner_aggregation)k;
        o->any_decoder = 1;
    } else if (!strcmp(a, "--decoding")) {
        if (pick(cmd, a, v, decodings, 3, &k))
            return 1;
        dp->decoding = (medner_decoding)k;
        o->any_decoder = 1;
    } else if (!strcmp(a, "--scheme")) {
        if (pick(cmd, a, v, schemes, 4, &k))
            return 1;
        dp->scheme = (medner_scheme)k;
        o->any_decoder = 1;
    } else if (!strcmp(a, "--precision")) {
        if (medner_cli_precision(cmd, v, &pp->precision))
            return 1;
    } else if (!strcmp(a, "--merge")) {
        if (pick(cmd, a, v, merges, 3, &k))
            return 1;
        pp->merge = (medner_merge)k;
    } else if (!strcmp(a, "--segment")) {
        if (pick(cmd, a, v, segments, 2, &k))
            return 1;
        pp->segment = (medner_segment)k;
        pp->explicit_fields |= MEDNER_PIPELINE_EXPLICIT_SEGMENT; /* none wins over a config */
    } else if (!strcmp(a, "--min-score")) {
        char *end;
        double x = strtod(v, &end);
        if (end == v || *end || !(x >= 0 && x <= 1)) {
            fprintf(stderr, "medner %s: --min-score expects a number in [0, 1]\n", cmd);
            return 1;
        }
        dp->min_score = x;
        dp->explicit_fields |= MEDNER_DECODER_EXPLICIT_MIN_SCORE; /* 0 wins over a config's */
        o->any_decoder = 1;
    } else if (!strcmp(a, "--ignore-label")) {
        if (push(&o->ignore, &dp->n_ignore_labels, v))
            return 1;
        o->any_decoder = 1;
    } else if (!strcmp(a, "--keep-label")) {
        if (push(&o->keep, &dp->n_keep_labels, v))
            return 1;
        o->any_decoder = 1;
    } else if (!strcmp(a, "--rename")) {
        const char *eq = strchr(v, '=');
        if (eq == NULL || eq == v || eq[1] == 0) {
            fprintf(stderr, "medner %s: --rename expects FROM=TO\n", cmd);
            return 1;
        }
        size_t n = dp->n_renames;
        if (push(&o->rename_from, &n, v))
            return 1;
        n = dp->n_renames;
        if (push(&o->rename_to, &n, eq + 1))
            return 1;
        dp->n_renames = n;
        o->any_decoder = 1;
        /* the FROM part is NUL-terminated in place (argv is writable) */
        ((char *)eq)[0] = '\0';
    } else {
        if (medner_cli_uint(cmd, a, v, &u))
            return 1;
        if (!strcmp(a, "--max-length"))
            pp->max_length = u;
        else if (!strcmp(a, "--overlap")) {
            pp->overlap = u;
            pp->explicit_fields |= MEDNER_PIPELINE_EXPLICIT_OVERLAP; /* 0: no overlap */
        }
        else if (!strcmp(a, "--batch-size"))
            pp->batch_size = u;
        else if (!strcmp(a, "--threads")) {
            if (u < 1 || u > MEDNER_CLI_MAX_THREADS) {
                fprintf(stderr, "medner %s: --threads must be between 1 and %u (got %u)\n", cmd,
                        MEDNER_CLI_MAX_THREADS, u);
                return 1;
            }
            pp->threads = u;
        }
        else
            pp->encoder_threads = u;
    }
    return 0;
}

static int has_file(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    if (path == NULL)
        return 0;
    snprintf(path, n, "%s/%s", dir, name);
    int ok = access(path, F_OK) == 0;
    free(path);
    return ok;
}

/* An adapter directory given where a model directory belongs: a PEFT
 * adapter_config.json and no model of its own (no config.json, or one saved
 * beside the adapter but no weights). */
static int is_adapter_dir(const char *dir)
{
    return has_file(dir, "adapter_config.json") &&
           (!has_file(dir, "config.json") ||
            (!has_file(dir, "model.safetensors") && !has_file(dir, "model.safetensors.index.json") &&
             !has_file(dir, "pytorch_model.bin")));
}

int medner_cli_pipeline_create(const char *cmd, medner_cli_options *o, medner_pipeline **out)
{
    medner_decoder_params *dp = &o->decoder;
    dp->ignore_labels = o->ignore;
    dp->keep_labels = o->keep;
    dp->rename_from = o->rename_from;
    dp->rename_to = o->rename_to;
    o->pipeline.decoder = o->any_decoder ? dp : NULL;
    int rc;
    if (o->config) {
        rc = medner_pipeline_load_config(out, o->config, &o->pipeline);
    } else if (o->pipeline.model_dir) {
        rc = medner_pipeline_create(out, &o->pipeline);
    } else {
        fprintf(stderr, "medner %s: give --config FILE or --model DIR\n", cmd);
        return 2;
    }
    if (rc != MEDNER_OK) {
        medner_cli_error(cmd, rc, NULL);
        const char *dir = o->pipeline.model_dir;
        if (!o->config && dir && !o->pipeline.adapter_dir && is_adapter_dir(dir))
            fprintf(stderr, "medner %s: %s holds a PEFT adapter (adapter_config.json), "
                            "not a model: give its base model too, as --base BASE_DIR "
                            "--adapter %s\n", cmd, dir, dir);
        return 1;
    }
    return 0;
}

const char medner_cli_pipeline_help[] =
    "pipeline options (each is also a key of the YAML config, see docs/config.md):\n"
    "  --config FILE              YAML pipeline configuration\n"
    "  --model DIR                Hugging Face model directory (token classification)\n"
    "  --base DIR                 the same as --model: the base model of --adapter\n"
    "  --adapter DIR              PEFT LoRA adapter directory, merged into the base\n"
    "  --aggregation none|simple|first|average|max   (default first)\n"
    "  --decoding argmax|constrained                  (default argmax)\n"
    "  --scheme auto|io|bio|bioes                     (default auto)\n"
    "  --max-length N             tokens per window incl. [CLS]/[SEP] (default: the model's)\n"
    "  --overlap N                tokens shared by consecutive windows (default "
    MEDNER_STR(MEDNER_DEFAULT_OVERLAP) "; 0: none)\n"
    "  --merge center|hf          overlapping windows: per-token centre (default) or HF's\n"
    "  --first-window-only        only the first window (Hugging Face without stride)\n"
    "  --segment none|sentence    sentence: annotate each sentence of a text on its own,\n"
    "                             as models trained one sentence at a time (CoNLL) were;\n"
    "                             entities keep the whole text's offsets (default none)\n"
    "  --batch-size N             windows per encoder call (default "
    MEDNER_STR(MEDNER_DEFAULT_BATCH_SIZE) ")\n"
    "  --threads N                worker threads, 1 to " MEDNER_STR(MEDNER_MAX_THREADS)
    " (default " MEDNER_STR(MEDNER_DEFAULT_THREADS) ")\n"
    "  --encoder-threads N        threads of each forward pass (default "
    MEDNER_STR(MEDNER_DEFAULT_THREADS) ")\n"
    "  --precision fp32|bf16|int8|auto  arithmetic of the encoder's products (default\n"
    "                             fp32; auto: the fastest this CPU runs natively;\n"
    "                             docs/precision.md); MEDNER_GEMM=own|openblas picks\n"
    "                             the fp32 products' library\n"
    "  --min-score X              drop entities scoring below X (default 0; 0 also wins\n"
    "                             over a --config file's min_score)\n"
    "  --ignore-label L           entity type to drop (repeatable; default "
    MEDNER_DEFAULT_IGNORE_LABEL ")\n"
    "  --keep-label L             keep only these types (repeatable)\n"
    "  --rename FROM=TO           rename an entity type (repeatable)\n"
    "  --context default|off|FILE clinical context of each entity (negated, uncertain,\n"
    "                             historical, hypothetical, family; section, sentence;\n"
    "                             docs/context.md): default = on with the built-in rules,\n"
    "                             FILE = on with that YAML rule file; without the flag:\n"
    "                             on when the model's labels look clinical (a config's\n"
    "                             rule file stays in use with 'default')\n";
