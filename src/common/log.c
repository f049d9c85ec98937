/* Process-wide log callback, silent by default. */
#include <pthread.h>
#include <stdio.h>

#include "common.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static medner_log_fn log_fn;
static void *log_user;
static medner_log_level log_max = MEDNER_LOG_WARN;

int medner_log_set_callback(medner_log_fn fn, medner_log_level max_level, void *user_data)
{
    if ((int)max_level < (int)MEDNER_LOG_ERROR || (int)max_level > (int)MEDNER_LOG_DEBUG)
        return medner__fail(MEDNER_E_INVALID_ARGUMENT,
                            "medner_log_set_callback: max_level %d is not a medner_log_level",
                            (int)max_level);
    pthread_mutex_lock(&log_lock);
    log_fn = fn;
    log_user = user_data;
    log_max = max_level;
    pthread_mutex_unlock(&log_lock);
    return MEDNER_OK;
}

void medner__log(medner_log_level level, const char *fmt, ...)
{
    medner_log_fn fn;
    void *user;
    medner_log_level max;
    pthread_mutex_lock(&log_lock);
    fn = log_fn;
    user = log_user;
    max = log_max;
    pthread_mutex_unlock(&log_lock);
    if (fn == NULL || level > max)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fn(level, msg, user);
}
