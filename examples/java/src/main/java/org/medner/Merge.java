package org.medner;

/** How entities found in overlapping windows are reconciled (medner_merge; docs/config.md). */
public enum Merge {
    /** Hugging Face: decode each window, then keep the longer of overlapping entities
     *  (ties: the higher score) */
    HF(1),
    /** each token takes the prediction of the window in which it is farthest from an edge;
     *  the whole text is decoded once (the library's default) */
    CENTER(2);

    final int value;

    Merge(int value) {
        this.value = value;
    }

    static Merge of(int value) {
        if (value == 0)
            return CENTER;   // MEDNER_MERGE_DEFAULT
        for (Merge m : values())
            if (m.value == value)
                return m;
        throw new IllegalArgumentException("unknown medner_merge " + value);
    }
}
