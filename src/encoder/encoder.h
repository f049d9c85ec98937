/* Internal view of the encoder subsystem (for the pipeline and the CLI). */
#ifndef MEDNER_ENCODER_H
#define MEDNER_ENCODER_H

#include "common/common.h"
#include "model/adapter.h"

/* The loaded model behind a public encoder handle. */
const medner__model *medner__encoder_model(const medner_encoder *enc);
/* The precision its products run at: FP32, BF16 or INT8 (AUTO resolved). */
medner_precision medner__encoder_precision(const medner_encoder *enc);

#endif
