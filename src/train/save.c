/*
 * safetensors writer and Hugging Face model directories (save.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json/json.h"
#include "train/save.h"

/* ---- atomic files ---------------------------------------------------------------- */

static int write_all(int fd, const void *bytes, size_t len)
{
    const unsigned char *p = bytes;
    while (len > 0) {
        size_t chunk = len > ((size_t)1 << 30) ? ((size_t)1 << 30) : len;
        ssize_t w = write(fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static void fsync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? medner__strndup(path, slash == path ? 1 : (size_t)(slash - path))
                      : medner__strndup(".", 1);
    if (dir == NULL)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: some file systems refuse it on directories */
        close(fd);
    }
    medner__free(dir);
}

/* A temporary file next to path: *fd open for writing, *tmp its name. */
static int open_temp(const char *path, int *fd, char **tmp)
{
    size_t n = strlen(path);
    char *t = medner__malloc(n + 12);
    if (t == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", path);
    memcpy(t, path, n);
    memcpy(t + n, ".tmp.XXXXXX", 12);
    int f = mkstemp(t);
    if (f < 0) {
        int e = errno;
        medner__free(t);
        return medner__fail(MEDNER_E_IO, "%s: cannot create a temporary file: %s", path,
                            strerror(e));
    }
    (void)fchmod(f, 0644);
    *fd = f;
    *tmp = t;
    return MEDNER_OK;
}

static int finish_temp(const char *path, int fd, char *tmp, int failed_errno)
{
    int e = failed_errno;
    if (e == 0 && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && e == 0)
        e = errno;
    if (e == 0 && rename(tmp, path) != 0)
        e = errno;
    if (e != 0) {
        unlink(tmp);
        medner__free(tmp);
        return medner__fail(MEDNER_E_IO, "%s: cannot write: %s", path, strerror(e));
    }
    medner__free(tmp);
    fsync_parent(path);
    return MEDNER_OK;
}

int medner__write_file_atomic(const char *path, const void *bytes, size_t len)
{
    if (path == NULL || (bytes == NULL && len > 0))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__write_file_atomic: NULL argument");
    int fd;
    char *tmp;
    int rc = open_temp(path, &fd, &tmp);
    if (rc != MEDNER_OK)
        return rc;
    int e = write_all(fd, bytes, len) != 0 ? errno : 0;
    return finish_temp(path, fd, tmp, e);
}

int medner__mkdir_p(const char *dir)
{
    if (dir == NULL || dir[0] == '\0')
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "empty directory name");
    size_t n = strlen(dir);
    char *p = medner__strndup(dir, n);
    if (p == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", dir);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            medner__free(p);
            return medner__fail(MEDNER_E_IO, "%s: cannot create the directory: %s", dir,
                                strerror(e));
        }
        p[i] = c;
    }
    medner__free(p);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return medner__fail(MEDNER_E_IO, "%s: not a directory", dir);
    return MEDNER_OK;
}

/* ---- safetensors ---------------------------------------------------------------------- */

/* (name, index) pairs sorted by name: qsort has no context argument, so the
 * names travel with the indices (no global state: thread-safe). */
typedef struct named {
    const char *name;
    size_t index;
} named;

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

static int host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static int write_floats_le(int fd, const float *x, size_t n)
{
    if (host_little_endian())
        return write_all(fd, x, n * sizeof(float));
    unsigned char tmp[4096];
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k + 4 <= sizeof tmp && i < n; i++, k += 4) {
            uint32_t u;
            memcpy(&u, &x[i], 4);
            tmp[k] = (unsigned char)u;
            tmp[k + 1] = (unsigned char)(u >> 8);
            tmp[k + 2] = (unsigned char)(u >> 16);
            tmp[k + 3] = (unsigned char)(u >> 24);
        }
        if (write_all(fd, tmp, k) != 0)
            return -1;
    }
    return 0;
}

int medner__safetensors_write(const char *path, size_t n, const char *const *names,
                              const size_t *const *shapes, const unsigned char *ndims,
                              const float *const *data)
{
    if (path == NULL || (n > 0 && (names == NULL || shapes == NULL || ndims == NULL ||
                                   data == NULL)))
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__safetensors_write: NULL argument");
    named *order = medner__malloc((n ? n : 1) * sizeof *order);
    size_t *numel = medner__malloc((n ? n : 1) * sizeof *numel);
    medner__buf h = { 0 };
    int rc = MEDNER_OK;
    if (order == NULL || numel == NULL) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (names[i] == NULL || names[i][0] == '\0') {
            rc = medner__fail(MEDNER_E_INVALID_ARGUMENT, "%s: tensor %zu has no name", path, i);
            goto done;
        }
        for (const char *c = names[i]; *c; c++)
            if ((unsigned char)*c < 0x20) {
                rc = medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                  "%s: tensor %zu: control character in its name", path, i);
                goto done;
            }
        if (ndims[i] > MEDNER__ST_MAX_DIMS || (ndims[i] > 0 && shapes[i] == NULL)) {
            rc = medner__fail(MEDNER_E_INVALID_ARGUMENT, "%s: tensor \"%.200s\": bad shape (%u dims)",
                              path, names[i], ndims[i]);
            goto done;
        }
        size_t e = 1;
        for (unsigned d = 0; d < ndims[i]; d++)
            if (medner__mul_size(e, shapes[i][d], &e) != 0 ||
                medner__mul_size(e, sizeof(float), &(size_t){ 0 }) != 0) {
                rc = medner__fail(MEDNER_E_INVALID_ARGUMENT, "%s: tensor \"%.200s\": shape too large",
                                  path, names[i]);
                goto done;
            }
        if (e > 0 && data[i] == NULL) {
            rc = medner__fail(MEDNER_E_INVALID_ARGUMENT, "%s: tensor \"%.200s\" has no data", path,
                              names[i]);
            goto done;
        }
        numel[i] = e;
        order[i].name = names[i];
        order[i].index = i;
    }
    qsort(order, n, sizeof *order, cmp_named);
    for (size_t i = 1; i < n; i++)
        if (strcmp(order[i - 1].name, order[i].name) == 0) {
            rc = medner__fail(MEDNER_E_INVALID_ARGUMENT, "%s: tensor \"%.200s\" appears twice", path,
                              order[i].name);
            goto done;
        }
    /* header */
    if (medner__buf_append_str(&h, "{\"__metadata__\":{\"format\":\"pt\"}") != 0) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", path);
        goto done;
    }
    size_t off = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k].index;
        int bad = medner__buf_putc(&h, ',') || medner__buf_json_string(&h, names[i], strlen(names[i])) ||
                  medner__buf_append_str(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (unsigned d = 0; d < ndims[i] && !bad; d++)
            bad = medner__buf_printf(&h, d ? ",%zu" : "%zu", shapes[i][d]);
        size_t end = off + numel[i] * sizeof(float);
        bad = bad || medner__buf_printf(&h, "],\"data_offsets\":[%zu,%zu]}", off, end);
        if (bad) {
            rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", path);
            goto done;
        }
        off = end;
    }
    if (medner__buf_putc(&h, '}') != 0) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", path);
        goto done;
    }
    while (h.len % 8 != 0)
        if (medner__buf_putc(&h, ' ') != 0) {
            rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", path);
            goto done;
        }
    unsigned char len8[8];
    for (int b = 0; b < 8; b++)
        len8[b] = (unsigned char)((uint64_t)h.len >> (8 * b));
    int fd;
    char *tmp;
    rc = open_temp(path, &fd, &tmp);
    if (rc != MEDNER_OK)
        goto done;
    int e = 0;
    if (write_all(fd, len8, 8) != 0 || write_all(fd, h.data, h.len) != 0)
        e = errno;
    for (size_t k = 0; k < n && e == 0; k++)
        if (numel[order[k].index] &&
            write_floats_le(fd, data[order[k].index], numel[order[k].index]) != 0)
            e = errno;
    rc = finish_temp(path, fd, tmp, e);
done:
    medner__buf_free(&h);
    medner__free(order);
    medner__free(numel);
    return rc;
}

/* ---- Hugging Face model directories ------------------------------------------------- */

int medner__slot_hf_name(const medner__model *m, size_t s, char *buf, size_t size)
{
    static const char *const suffix[] = { ".weight", ".bias" };
    const char *prefix = m->config.arch == MEDNER__ARCH_BERT ? "bert." : "distilbert.";
    char module[256];
    medner__model_slot_module(m, s, prefix, module, sizeof module);
    for (size_t k = 0; k < 2; k++) {
        int w = snprintf(buf, size, "%s%s", module, suffix[k]);
        if (w < 0 || (size_t)w >= size)
            return -1;
        if (medner__model_slot(m, buf, (size_t)w) == (long)s)
            return 0;
    }
    return -1;
}

static int copy_file_if_present(const char *src_dir, const char *dst_dir, const char *name)
{
    char *src = medner__path_join(src_dir, name), *dst = medner__path_join(dst_dir, name);
    int rc = MEDNER_OK;
    if (src == NULL || dst == NULL) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", name);
        goto done;
    }
    if (!medner__file_exists(src))
        goto done;
    char *data = NULL;
    size_t len = 0;
    rc = medner__read_file(src, (size_t)1 << 30, &data, &len);
    if (rc == MEDNER_OK) {
        rc = medner__write_file_atomic(dst, data, len);
        medner__free(data);
    }
done:
    medner__free(src);
    medner__free(dst);
    return rc;
}

/* Append a JSON value re-serialised compactly (numbers as written: the
 * nearest double printed shortest, integers exactly). */
static int put_value(medner__buf *b, const medner__json *v, int indent);

static int put_indent(medner__buf *b, int indent)
{
    if (medner__buf_putc(b, '\n'))
        return -1;
    for (int i = 0; i < indent; i++)
        if (medner__buf_putc(b, ' '))
            return -1;
    return 0;
}

static int put_value(medner__buf *b, const medner__json *v, int indent)
{
    switch (v->type) {
    case MEDNER__JSON_NULL: return medner__buf_append_str(b, "null");
    case MEDNER__JSON_BOOL: return medner__buf_append_str(b, v->boolean ? "true" : "false");
    case MEDNER__JSON_NUMBER:
        if (v->is_integer)
            return medner__buf_printf(b, "%lld", (long long)v->integer);
        return medner__buf_json_double(b, v->number);
    case MEDNER__JSON_STRING: return medner__buf_json_string(b, v->str, v->len);
    case MEDNER__JSON_ARRAY:
        if (medner__buf_putc(b, '['))
            return -1;
        for (size_t i = 0; i < v->count; i++)
            if ((i && medner__buf_putc(b, ',')) || put_indent(b, indent + 2) ||
                put_value(b, v->items[i], indent + 2))
                return -1;
        if (v->count && put_indent(b, indent))
            return -1;
        return medner__buf_putc(b, ']');
    case MEDNER__JSON_OBJECT:
        if (medner__buf_putc(b, '{'))
            return -1;
        for (size_t i = 0; i < v->count; i++)
            if ((i && medner__buf_putc(b, ',')) || put_indent(b, indent + 2) ||
                medner__buf_json_string(b, v->keys[i], v->key_lens[i]) ||
                medner__buf_append_str(b, ": ") || put_value(b, v->items[i], indent + 2))
                return -1;
        if (v->count && put_indent(b, indent))
            return -1;
        return medner__buf_putc(b, '}');
    }
    return -1;
}

static int key_is(const medner__json *obj, size_t i, const char *key)
{
    return obj->key_lens[i] == strlen(key) && memcmp(obj->keys[i], key, obj->key_lens[i]) == 0;
}

static int put_labels(medner__buf *b, const medner__config *c)
{
    if (medner__buf_append_str(b, "\"id2label\": {"))
        return -1;
    for (size_t i = 0; i < c->num_labels; i++)
        if ((i && medner__buf_putc(b, ',')) || medner__buf_append_str(b, "\n    ") ||
            medner__buf_printf(b, "\"%zu\": ", i) ||
            medner__buf_json_string(b, c->labels[i], strlen(c->labels[i])))
            return -1;
    /* label2id sorted by label, as transformers writes it (json sort_keys) */
    named *ord = medner__malloc((c->num_labels ? c->num_labels : 1) * sizeof *ord);
    if (ord == NULL)
        return -1;
    for (size_t i = 0; i < c->num_labels; i++) {
        ord[i].name = c->labels[i];
        ord[i].index = i;
    }
    qsort(ord, c->num_labels, sizeof *ord, cmp_named);
    int bad = medner__buf_append_str(b, "\n  },\n  \"label2id\": {");
    for (size_t k = 0; k < c->num_labels && !bad; k++)
        bad = (k && medner__buf_putc(b, ',')) || medner__buf_append_str(b, "\n    ") ||
              medner__buf_json_string(b, ord[k].name, strlen(ord[k].name)) ||
              medner__buf_printf(b, ": %zu", ord[k].index);
    medner__free(ord);
    return bad || medner__buf_append_str(b, "\n  }");
}

static int write_config(const medner__config *c, const char *base_dir, const char *dir)
{
    char *src = medner__path_join(base_dir, "config.json"), *dst = medner__path_join(dir, "config.json");
    medner__json_doc *doc = NULL;
    medner__buf b = { 0 };
    int rc = MEDNER_OK;
    if (src == NULL || dst == NULL) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "config.json: out of memory");
        goto done;
    }
    rc = medner__json_parse_file(&doc, src);
    if (rc != MEDNER_OK)
        goto done;
    const medner__json *root = medner__json_root(doc);
    if (root->type != MEDNER__JSON_OBJECT) {
        rc = medner__fail(MEDNER_E_PARSE, "%s:%zu:%zu: expected an object", src, root->line,
                          root->column);
        goto done;
    }
    const char *arch = c->arch == MEDNER__ARCH_BERT ? "BertForTokenClassification"
                                                    : "DistilBertForTokenClassification";
    int bad = medner__buf_printf(&b, "{\n  \"architectures\": [\n    \"%s\"\n  ]", arch);
    for (size_t i = 0; i < root->count && !bad; i++) {
        if (key_is(root, i, "architectures") || key_is(root, i, "id2label") ||
            key_is(root, i, "label2id") || key_is(root, i, "num_labels"))
            continue;
        bad = medner__buf_append_str(&b, ",\n  ") ||
              medner__buf_json_string(&b, root->keys[i], root->key_lens[i]) ||
              medner__buf_append_str(&b, ": ") || put_value(&b, root->items[i], 2);
    }
    bad = bad || medner__buf_append_str(&b, ",\n  ") || put_labels(&b, c) ||
          medner__buf_append_str(&b, "\n}\n");
    if (bad) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", dst);
        goto done;
    }
    rc = medner__write_file_atomic(dst, b.data, b.len);
done:
    medner__json_free(doc);
    medner__buf_free(&b);
    medner__free(src);
    medner__free(dst);
    return rc;
}

int medner__tparams_save_hf(const medner__tparams *t, const medner__model *m,
                            const char *base_dir, const char *dir)
{
    if (t == NULL || m == NULL || base_dir == NULL || dir == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "medner__tparams_save_hf: NULL argument");
    if (t->config.num_labels == 0 || t->config.labels == NULL)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT, "%s: the parameters have no labels", dir);
    int rc = medner__mkdir_p(dir);
    if (rc != MEDNER_OK)
        return rc;
    size_t ns = t->n_slots, n = 0;
    char (*names)[256] = medner__calloc(ns ? ns : 1, sizeof *names);
    const char **np = medner__calloc(ns ? ns : 1, sizeof *np);
    size_t (*dims)[2] = medner__calloc(ns ? ns : 1, sizeof *dims);
    const size_t **sp = medner__calloc(ns ? ns : 1, sizeof *sp);
    unsigned char *nd = medner__calloc(ns ? ns : 1, 1);
    const float **dp = medner__calloc(ns ? ns : 1, sizeof *dp);
    char *path = medner__path_join(dir, "model.safetensors");
    if (!names || !np || !dims || !sp || !nd || !dp || !path) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", dir);
        goto done;
    }
    for (size_t s = 0; s < ns; s++) {
        if (t->numel[s] == 0)
            continue;
        if (medner__slot_hf_name(m, s, names[n], sizeof names[n]) != 0) {
            rc = medner__fail(MEDNER_E_INVALID_ARGUMENT, "%s: no Hugging Face name for slot %zu",
                              dir, s);
            goto done;
        }
        nd[n] = (unsigned char)medner__model_slot_shape(m, s, dims[n]);
        if (s == MEDNER__SLOT_CLS_W || s == MEDNER__SLOT_CLS_B)
            dims[n][0] = t->config.num_labels;
        np[n] = names[n];
        sp[n] = dims[n];
        dp[n] = t->param + t->off[s];
        n++;
    }
    rc = medner__safetensors_write(path, n, np, sp, nd, dp);
    if (rc == MEDNER_OK)
        rc = write_config(&t->config, base_dir, dir);
    static const char *const tok_files[] = {
        "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    };
    if (strcmp(base_dir, dir) != 0)
        for (size_t i = 0; i < MEDNER_ARRAY_LEN(tok_files) && rc == MEDNER_OK; i++)
            rc = copy_file_if_present(base_dir, dir, tok_files[i]);
done:
    medner__free(names);
    medner__free(np);
    medner__free(dims);
    medner__free(sp);
    medner__free(nd);
    medner__free(dp);
    medner__free(path);
    return rc;
}
