/* Vocabulary: id -> string arena and string -> id open-addressing hash. */
#include <string.h>

#include "tokenizer/tokenizer.h"

/* FNV-1a, 32 bits: short keys, cheap, good enough spread for ~30k entries. */
static inline uint32_t hash_bytes(uint32_t h, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}
#define HASH_INIT 2166136261u

void medner__vocab_release(medner__vocab *v)
{
    medner__free(v->arena);
    medner__free(v->offset);
    medner__free(v->length);
    medner__free(v->slots);
    medner__free(v->slot_hash);
    memset(v, 0, sizeof *v);
}

static int32_t lookup(const medner__vocab *v, uint32_t h, const char *prefix, size_t plen,
                      const char *s, size_t len)
{
    if (v->slots == NULL || plen + len > v->max_len)
        return -1;
    size_t i = h & v->mask;
    for (;;) {
        uint32_t e = v->slots[i];
        if (e == 0)
            return -1;
        uint32_t id = e - 1;
        if (v->slot_hash[i] == h && v->length[id] == plen + len) {
            const char *t = v->arena + v->offset[id];
            if (memcmp(t, prefix, plen) == 0 && memcmp(t + plen, s, len) == 0)
                return (int32_t)id;
        }
        i = (i + 1) & v->mask;
    }
}

int32_t medner__vocab_find(const medner__vocab *v, const char *s, size_t len)
{
    return lookup(v, hash_bytes(HASH_INIT, s, len), "", 0, s, len);
}

int32_t medner__vocab_find2(const medner__vocab *v, const char *prefix, size_t plen, const char *s,
                            size_t len)
{
    return lookup(v, hash_bytes(hash_bytes(HASH_INIT, prefix, plen), s, len), prefix, plen, s, len);
}

int medner__vocab_init(medner__vocab *v, size_t n, const char *const *strs, const size_t *lens,
                       const int64_t *ids, const char *what)
{
    memset(v, 0, sizeof *v);
    if (n == 0)
        return medner__fail(MEDNER_E_INVALID_MODEL, "%s: empty vocabulary", what);
    if (n >= (1u << 30))
        return medner__fail(MEDNER_E_LIMIT, "%s: %zu vocabulary entries, above the limit", what, n);
    int64_t max_id = -1;
    size_t bytes = 0;
    for (size_t k = 0; k < n; k++) {
        if (ids[k] < 0 || ids[k] >= (int64_t)(1u << 30))
            return medner__fail(MEDNER_E_INVALID_MODEL, "%s: vocabulary id %lld out of range",
                                what, (long long)ids[k]);
        if (ids[k] > max_id)
            max_id = ids[k];
        if (lens[k] > UINT32_MAX / 2 || bytes > UINT32_MAX / 2)
            return medner__fail(MEDNER_E_LIMIT, "%s: vocabulary too large", what);
        bytes += lens[k] + 1;
    }
    size_t size = (size_t)max_id + 1;
    size_t cap = 64;
    while (cap < 2 * n)
        cap *= 2;
    v->arena = medner__malloc(bytes);
    v->offset = medner__malloc(size * sizeof *v->offset);
    v->length = medner__calloc(size, sizeof *v->length);
    v->slots = medner__calloc(cap, sizeof *v->slots);
    v->slot_hash = medner__malloc(cap * sizeof *v->slot_hash);
    if (!v->arena || !v->offset || !v->length || !v->slots || !v->slot_hash) {
        medner__vocab_release(v);
        return medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory for the vocabulary", what);
    }
    memset(v->offset, 0xFF, size * sizeof *v->offset);
    v->size = size;
    v->mask = cap - 1;
    size_t pos = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t id = (uint32_t)ids[k];
        uint32_t h = hash_bytes(HASH_INIT, strs[k], lens[k]);
        if (v->offset[id] != UINT32_MAX) {
            medner__vocab_release(v);
            return medner__fail(MEDNER_E_INVALID_MODEL, "%s: vocabulary id %u appears twice", what,
                                id);
        }
        /* A string listed twice maps to its last id, as in Hugging Face
         * (each line inserts into a map, overwriting the earlier entry). */
        size_t i = h & v->mask;
        while (v->slots[i] != 0) {
            uint32_t other = v->slots[i] - 1;
            if (v->slot_hash[i] == h && v->length[other] == lens[k] &&
                memcmp(v->arena + v->offset[other], strs[k], lens[k]) == 0)
                break;
            i = (i + 1) & v->mask;
        }
        memcpy(v->arena + pos, strs[k], lens[k]);
        v->arena[pos + lens[k]] = '\0';
        v->offset[id] = (uint32_t)pos;
        v->length[id] = (uint32_t)lens[k];
        pos += lens[k] + 1;
        v->slots[i] = id + 1;
        v->slot_hash[i] = h;
        if (lens[k] > v->max_len)
            v->max_len = lens[k];
    }
    v->arena_len = pos;
    return MEDNER_OK;
}

int medner__vocab_from_txt(medner__vocab *v, const char *data, size_t len, const char *path)
{
    size_t bad;
    if (medner__utf8_check(data, len, &bad) != MEDNER_OK)
        return medner__fail(MEDNER_E_PARSE, "%s: invalid UTF-8 at byte offset %zu", path, bad);
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += data[i] == '\n';
    if (len > 0 && data[len - 1] != '\n')
        n++;
    const char **strs = medner__malloc((n ? n : 1) * sizeof *strs);
    size_t *lens = medner__malloc((n ? n : 1) * sizeof *lens);
    int64_t *ids = medner__malloc((n ? n : 1) * sizeof *ids);
    int rc;
    if (!strs || !lens || !ids) {
        rc = medner__fail(MEDNER_E_OUT_OF_MEMORY, "%s: out of memory", path);
        goto done;
    }
    /* One token per line, id = line number. Like HF's load_vocab, trailing
     * whitespace (the line end, "\r\n" too) is stripped. */
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len && k < n; i++) {
        if (i == len || data[i] == '\n') {
            size_t end = i;
            while (end > start && (data[end - 1] == '\r' || data[end - 1] == ' ' ||
                                   data[end - 1] == '\t'))
                end--;
            strs[k] = data + start;
            lens[k] = end - start;
            ids[k] = (int64_t)k;
            k++;
            start = i + 1;
        }
    }
    rc = medner__vocab_init(v, k, strs, lens, ids, path);
done:
    medner__free(strs);
    medner__free(lens);
    medner__free(ids);
    return rc;
}
