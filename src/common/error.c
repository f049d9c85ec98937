/* Status strings and the thread-local last-error message. */
#include <stdio.h>
#include <string.h>

#include "common.h"

#define MEDNER_ERROR_MAX 512

static _Thread_local char last_error[MEDNER_ERROR_MAX];

const char *medner_status_str(int status)
{
    switch (status) {
    case MEDNER_OK: return "ok";
    case MEDNER_E_INVALID_ARGUMENT: return "invalid argument";
    case MEDNER_E_OUT_OF_MEMORY: return "out of memory";
    case MEDNER_E_IO: return "input/output error";
    case MEDNER_E_PARSE: return "parse error";
    case MEDNER_E_INVALID_UTF8: return "invalid UTF-8";
    case MEDNER_E_UNSUPPORTED: return "unsupported";
    case MEDNER_E_INVALID_MODEL: return "invalid model";
    case MEDNER_E_INVALID_CONFIG: return "invalid configuration";
    case MEDNER_E_LIMIT: return "limit exceeded";
    case MEDNER_E_BUSY: return "busy";
    case MEDNER_E_INTERNAL: return "internal error";
    case MEDNER_E_CANCELLED: return "cancelled";
    case MEDNER_E_DIVERGED: return "training diverged";
    default: return "unknown status";
    }
}

const char *medner_last_error(void)
{
    return last_error;
}

int medner__fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* vsnprintf truncates safely; a truncated message is still useful. The
     * message is formatted aside first: callers may pass the previous message
     * (medner_last_error()) as an argument to wrap it. */
    char msg[sizeof last_error];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    medner__log(MEDNER_LOG_DEBUG, "%s: %s", medner_status_str(status), last_error);
    return status;
}

/* A struct_size is valid from the struct's first released size up, in whole
 * size_t steps (each struct starts with its size_t struct_size, so its size is a
 * multiple of size_t's alignment). */
static int valid_size(size_t size, size_t min_size)
{
    return size >= min_size && size % sizeof(size_t) == 0;
}

static int bad_size(const char *what, size_t size, size_t min_size, size_t cur_size)
{
    return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                        "%s: struct_size %zu is not a valid size (%zu to %zu in this "
                        "version, or larger from a newer header; initialise the struct "
                        "with its _INIT macro)",
                        what, size, min_size, cur_size);
}

int medner__params_copy(void *dst, size_t dst_size, const void *src, size_t min_size,
                        const char *what)
{
    size_t src_size;
    if (src == NULL)
        return MEDNER_OK;
    memcpy(&src_size, src, sizeof src_size);
    if (!valid_size(src_size, min_size))
        return bad_size(what, src_size, min_size, dst_size);
    if (src_size > dst_size) {
        const unsigned char *tail = (const unsigned char *)src + dst_size;
        for (size_t i = 0; i < src_size - dst_size; i++)
            if (tail[i] != 0)
                return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                                    "%s: struct_size %zu is from a newer medner and sets an "
                                    "option this library (%s) does not know",
                                    what, src_size, MEDNER_VERSION_STRING);
        src_size = dst_size;
    }
    memcpy(dst, src, src_size);
    memcpy(dst, &dst_size, sizeof dst_size); /* normalise struct_size */
    return MEDNER_OK;
}

int medner__struct_out(void *out, const void *full, size_t full_size, size_t min_size,
                       const char *what)
{
    size_t out_size;
    memcpy(&out_size, out, sizeof out_size);
    if (!valid_size(out_size, min_size))
        return bad_size(what, out_size, min_size, full_size);
    size_t n = out_size < full_size ? out_size : full_size;
    memcpy((unsigned char *)out + sizeof(size_t), (const unsigned char *)full + sizeof(size_t),
           n - sizeof(size_t));
    return MEDNER_OK;
}
