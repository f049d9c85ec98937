package org.medner;

/** How a pipeline cuts each text before annotating it (medner_segment, 0.4; docs/config.md). */
public enum Segment {
    /** the whole text is tokenized and windowed as one (the default) */
    NONE(0),
    /** each sentence is annotated as a text of its own, the entities put back into the
     *  whole text (for models trained one sentence at a time) */
    SENTENCE(1);

    final int value;

    Segment(int value) {
        this.value = value;
    }

    static Segment of(int value) {
        for (Segment s : values())
            if (s.value == value)
                return s;
        throw new IllegalArgumentException("unknown medner_segment " + value);
    }
}
