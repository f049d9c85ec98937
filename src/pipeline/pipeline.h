/* Internal interface of the pipeline subsystem (text -> entities). */
#ifndef MEDNER_PIPELINE_H
#define MEDNER_PIPELINE_H

#include <stdbool.h>

#include "common/common.h"

#endif
