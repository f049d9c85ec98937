/*
 * safetensors files (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON header, then the tensor
 * data, with offsets relative to the data start. The file is untrusted: it is
 * memory-mapped read-only and nothing is read before the header says where,
 * and every offset and size has been checked against the mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model_internal.h"

static const struct {
    const char *name;
    unsigned bits;
} dtypes[MEDNER__DT_COUNT] = {
    [MEDNER__DT_BOOL] = { "BOOL", 8 },       [MEDNER__DT_U8] = { "U8", 8 },
    [MEDNER__DT_I8] = { "I8", 8 },           [MEDNER__DT_F8_E5M2] = { "F8_E5M2", 8 },
    [MEDNER__DT_F8_E4M3] = { "F8_E4M3", 8 }, [MEDNER__DT_F8_E8M0] = { "F8_E8M0", 8 },
    [MEDNER__DT_I16] = { "I16", 16 },        [MEDNER__DT_U16] = { "U16", 16 },
    [MEDNER__DT_F16] = { "F16", 16 },        [MEDNER__DT_BF16] = { "BF16", 16 },
    [MEDNER__DT_I32] = { "I32", 32 },        [MEDNER__DT_U32] = { "U32", 32 },
    [MEDNER__DT_F32] = { "F32", 32 },        [MEDNER__DT_F64] = { "F64", 64 },
    [MEDNER__DT_I64] = { "I64", 64 },        [MEDNER__DT_U64] = { "U64", 64 },
    [MEDNER__DT_C64] = { "C64", 64 },        [MEDNER__DT_F4] = { "F4", 4 },
    [MEDNER__DT_F6_E2M3] = { "F6_E2M3", 6 }, [MEDNER__DT_F6_E3M2] = { "F6_E3M2", 6 },
};

const char *medner__dtype_name(medner__dtype dtype)
{
    return (unsigned)dtype < MEDNER__DT_COUNT ? dtypes[dtype].name : "?";
}

void medner__mapping_release(medner__mapping *m)
{
    if (m != NULL && m->base != NULL)
        munmap((void *)m->base, m->size);
    if (m != NULL) {
        m->base = NULL;
        m->size = 0;
    }
}

void medner__st_close(medner__st_file *f, int keep_map)
{
    if (f == NULL)
        return;
    medner__free(f->path);
    medner__json_free(f->header);
    medner__free(f->tensors);
    if (!keep_map)
        medner__mapping_release(&f->map);
    memset(f, 0, sizeof *f);
}

static int cmp_name(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int by_name(const void *pa, const void *pb)
{
    const medner__st_tensor *a = pa, *b = pb;
    return cmp_name(a->name, a->name_len, b->name, b->name_len);
}

static int by_offset(const void *pa, const void *pb)
{
    const medner__st_tensor *a = *(const medner__st_tensor *const *)pa;
    const medner__st_tensor *b = *(const medner__st_tensor *const *)pb;
    if (a->begin != b->begin)
        return a->begin < b->begin ? -1 : 1;
    return a->nbytes < b->nbytes ? -1 : a->nbytes > b->nbytes;
}

const medner__st_tensor *medner__st_find(const medner__st_file *f, const char *name, size_t len)
{
    size_t lo = 0, hi = f->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_name(f->tensors[mid].name, f->tensors[mid].name_len, name, len);
        if (c == 0)
            return &f->tensors[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Schema errors of the header are MEDNER_E_PARSE, with the header's
 * line:column (counted from its first byte, i.e. file offset 8). */
static int header_error(const char *path, const char *tensor, const medner__json *v,
                        const char *what)
{
    return medner__fail(MEDNER_E_PARSE, "%s:%zu:%zu: tensor \"%.200s\": %s", path, v->line,
                        v->column, tensor, what);
}

static int parse_tensor(const char *path, const char *name, const medner__json *info,
                        size_t data_size, medner__st_tensor *t)
{
    if (info->type != MEDNER__JSON_OBJECT)
        return header_error(path, name, info, "expected an object with dtype, shape and "
                                              "data_offsets");
    const medner__json *dtype = medner__json_get(info, "dtype");
    const medner__json *shape = medner__json_get(info, "shape");
    const medner__json *offs = medner__json_get(info, "data_offsets");
    if (dtype == NULL || shape == NULL || offs == NULL)
        return header_error(path, name, info, "needs \"dtype\", \"shape\" and \"data_offsets\"");
    if (dtype->type != MEDNER__JSON_STRING)
        return header_error(path, name, dtype, "\"dtype\" must be a string");
    size_t dt = 0;
    while (dt < MEDNER__DT_COUNT && !(strlen(dtypes[dt].name) == dtype->len &&
                                      memcmp(dtypes[dt].name, dtype->str, dtype->len) == 0))
        dt++;
    if (dt == MEDNER__DT_COUNT)
        return medner__fail(MEDNER_E_UNSUPPORTED,
                            "%s:%zu:%zu: tensor \"%.200s\": unknown dtype \"%.16s\"", path,
                            dtype->line, dtype->column, name, dtype->str);
    t->dtype = (medner__dtype)dt;
    if (shape->type != MEDNER__JSON_ARRAY)
        return header_error(path, name, shape, "\"shape\" must be an array of integers");
    size_t numel = 1;
    t->ndim = shape->count;
    for (size_t i = 0; i < shape->count; i++) {
        const medner__json *d = shape->items[i];
        if (d->type != MEDNER__JSON_NUMBER || !d->is_integer || d->integer < 0)
            return header_error(path, name, d, "\"shape\" must hold non-negative integers");
        if ((uint64_t)d->integer > SIZE_MAX || medner__mul_size(numel, (size_t)d->integer,
                                                                 &numel) != 0)
            return medner__fail(MEDNER_E_INVALID_MODEL,
                                "%s:%zu:%zu: tensor \"%.200s\": the shape's element count "
                                "overflows", path, d->line, d->column, name);
        if (i < MEDNER__ST_MAX_DIMS)
            t->shape[i] = (size_t)d->integer;
    }
    t->numel = numel;
    if (offs->type != MEDNER__JSON_ARRAY || offs->count != 2)
        return header_error(path, name, offs, "\"data_offsets\" must be [begin, end]");
    for (size_t i = 0; i < 2; i++) {
        const medner__json *d = offs->items[i];
        if (d->type != MEDNER__JSON_NUMBER || !d->is_integer || d->integer < 0)
            return header_error(path, name, d, "\"data_offsets\" must hold non-negative "
                                               "integers");
    }
    uint64_t begin = (uint64_t)offs->items[0]->integer, end = (uint64_t)offs->items[1]->integer;
    if (begin > end || end > data_size)
        return medner__fail(MEDNER_E_INVALID_MODEL,
                            "%s:%zu:%zu: tensor \"%.200s\": data_offsets [%llu, %llu] are not "
                            "inside the %zu data bytes", path, offs->line, offs->column, name,
                            (unsigned long long)begin, (unsigned long long)end, data_size);
    /* bytes = numel * bits / 8, overflow-checked, whole bytes only */
    unsigned bits = dtypes[dt].bits;
    size_t whole, rest = (numel % 8) * bits;
    if (medner__mul_size(numel / 8, bits, &whole) != 0 || rest % 8 != 0 ||
        whole > SIZE_MAX - rest / 8)
        return medner__fail(MEDNER_E_INVALID_MODEL,
                            "%s:%zu:%zu: tensor \"%.200s\": %zu elements of %s do not fill "
                            "whole bytes", path, shape->line, shape->column, name, numel,
                            dtypes[dt].name);
    size_t nbytes = whole + rest / 8;
    if (end - begin != nbytes)
        return medner__fail(MEDNER_E_INVALID_MODEL,
                            "%s:%zu:%zu: tensor \"%.200s\": data_offsets span %llu bytes but "
                            "%zu elements of %s take %zu", path, offs->line, offs->column, name,
                            (unsigned long long)(end - begin), numel, dtypes[dt].name, nbytes);
    t->begin = (size_t)begin;
    t->nbytes = nbytes;
    return MEDNER_OK;
}

static int check_metadata(const char *path, const medner__json *meta)
{
    if (meta->type != MEDNER__JSON_OBJECT)
        return medner__fail(MEDNER_E_PARSE, "%s:%zu:%zu: \"__metadata__\" must be an object",
                            path, meta->line, meta->column);
    for (size_t i = 0; i < meta->count; i++)
        if (meta->items[i]->type != MEDNER__JSON_STRING)
            return medner__fail(MEDNER_E_PARSE,
                                "%s:%zu:%zu: \"__metadata__\" values must be strings, found %s",
                                path, meta->items[i]->line, meta->items[i]->column,
                                medner__json_type_name(meta->items[i]->type));
    return MEDNER_OK;
}

/* Names unique, data of distinct tensors disjoint. */
static int check_layout(const char *path, medner__st_tensor *t, size_t n)
{
    qsort(t, n, sizeof *t, by_name);
    for (size_t i = 1; i < n; i++)
        if (by_name(&t[i - 1], &t[i]) == 0)
            return medner__fail(MEDNER_E_INVALID_MODEL, "%s: tensor \"%.200s\" appears twice",
                                path, t[i].name);
    if (n < 2)
        return MEDNER_OK;
    const medner__st_tensor **order = medner__malloc(n * sizeof *order);
    if (order == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", path);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i].nbytes > 0) /* empty tensors occupy no bytes */
            order[m++] = &t[i];
    qsort(order, m, sizeof *order, by_offset);
    int rc = MEDNER_OK;
    for (size_t i = 1; i < m && rc == MEDNER_OK; i++)
        if (order[i - 1]->begin + order[i - 1]->nbytes > order[i]->begin)
            rc = medner__fail(MEDNER_E_INVALID_MODEL,
                              "%s: tensors \"%.120s\" and \"%.120s\" overlap (data_offsets "
                              "[%zu, %zu] and [%zu, %zu])", path, order[i - 1]->name,
                              order[i]->name, order[i - 1]->begin,
                              order[i - 1]->begin + order[i - 1]->nbytes, order[i]->begin,
                              order[i]->begin + order[i]->nbytes);
    medner__free(order);
    return rc;
}

static int parse_header(medner__st_file *f)
{
    const char *path = f->path;
    const unsigned char *p = f->map.base;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | p[i];
    if (n > f->map.size - 8)
        return medner__fail(MEDNER_E_PARSE,
                            "%s: the header length %llu runs past the end of the file (%zu "
                            "bytes); truncated or not a safetensors file", path,
                            (unsigned long long)n, f->map.size);
    if (n > MEDNER__ST_MAX_HEADER)
        return medner__fail(MEDNER_E_LIMIT, "%s: the header is %llu bytes, above the limit of "
                            "%llu", path, (unsigned long long)n,
                            (unsigned long long)MEDNER__ST_MAX_HEADER);
    int rc = medner__json_parse(&f->header, (const char *)p + 8, (size_t)n, path);
    if (rc != MEDNER_OK)
        return rc;
    const medner__json *root = medner__json_root(f->header);
    if (root->type != MEDNER__JSON_OBJECT)
        return medner__fail(MEDNER_E_PARSE, "%s:%zu:%zu: the header must be a JSON object, "
                            "found %s", path, root->line, root->column,
                            medner__json_type_name(root->type));
    size_t data_size = f->map.size - 8 - (size_t)n;
    const unsigned char *data = p + 8 + n;
    f->tensors = medner__calloc(root->count ? root->count : 1, sizeof *f->tensors);
    if (f->tensors == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", path);
    size_t k = 0;
    for (size_t i = 0; i < root->count; i++) {
        const char *name = root->keys[i];
        size_t len = root->key_lens[i];
        if (len == 12 && memcmp(name, "__metadata__", 12) == 0) {
            if ((rc = check_metadata(path, root->items[i])) != MEDNER_OK)
                return rc;
            continue;
        }
        if (len == 0 || strlen(name) != len)
            return medner__fail(MEDNER_E_PARSE, "%s:%zu:%zu: a tensor name is empty or holds "
                                "a NUL character", path, root->items[i]->line,
                                root->items[i]->column);
        medner__st_tensor *t = &f->tensors[k];
        t->name = name;
        t->name_len = len;
        if ((rc = parse_tensor(path, name, root->items[i], data_size, t)) != MEDNER_OK)
            return rc;
        t->data = data + t->begin;
        k++;
    }
    f->n_tensors = k;
    return check_layout(path, f->tensors, k);
}

int medner__st_open(medner__st_file *out, const char *path)
{
    medner__st_file f;
    memset(&f, 0, sizeof f);
    f.path = medner__strndup(path, strlen(path));
    if (f.path == NULL)
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", path);
    int fd;
    struct stat st;
    int rc = medner__open_regular(path, &fd, &st);
    if (rc != MEDNER_OK) {
        medner__st_close(&f, 0);
        return rc;
    }
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX)
        rc = medner__fail(MEDNER_E_LIMIT, "%s: too large to map", path);
    else if (st.st_size < 8)
        rc = medner__fail(MEDNER_E_PARSE, "%s: %lld bytes, too short for a safetensors file "
                          "(8-byte header length, JSON header, data)", path,
                          (long long)st.st_size);
    if (rc == MEDNER_OK) {
        /* MAP_SHARED + PROT_READ: every process loading this file shares
         * one copy of the weights in the page cache. */
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) {
            rc = medner__fail(MEDNER_E_IO, "%s: cannot map: %s", path, strerror(errno));
        } else {
            f.map.base = m;
            f.map.size = (size_t)st.st_size;
        }
    }
    close(fd);
    if (rc == MEDNER_OK)
        rc = parse_header(&f);
    if (rc != MEDNER_OK) {
        medner__st_close(&f, 0);
        return rc;
    }
    *out = f;
    return MEDNER_OK;
}
