package org.medner;

/** Arithmetic of the encoder's matrix products (medner_precision; docs/precision.md). */
public enum Precision {
    /** the library's default (FP32) */
    DEFAULT(0),
    /** fp32 products */
    FP32(1),
    /** weights rounded to bfloat16 at load, fp32 accumulation */
    BF16(2),
    /** weights quantised to int8 per output channel at load, int32 accumulation */
    INT8(3),
    /** the fastest precision this CPU runs natively whose accuracy guard holds */
    AUTO(4);

    final int value;

    Precision(int value) {
        this.value = value;
    }

    static Precision of(int value) {
        for (Precision p : values())
            if (p.value == value)
                return p;
        throw new IllegalArgumentException("unknown medner_precision " + value);
    }
}
