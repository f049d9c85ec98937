package org.medner;

/**
 * One entity found in a text.
 *
 * @param start    UTF-16 offset of its first character in the annotated String
 *                 (from medner_entities_span_utf16()): {@code text.substring(start, end)}
 *                 is the entity text, also after characters outside the BMP
 * @param end      UTF-16 offset one past its last character
 * @param label    entity type, e.g. "Sign_symptom"
 * @param score    mean probability of its tokens/words, as Hugging Face computes it
 * @param text     {@code text.substring(start, end)}
 * @param context  medner_context_flag bits (0 when clinical context did not run)
 * @param section  section name ("none", "family_history", ...; medner_section_name()),
 *                 or null when clinical context did not run
 * @param sentence 0-based sentence index, or -1 when clinical context did not run
 */
public record Entity(int start, int end, String label, double score, String text,
                     int context, String section, long sentence) {
    /** MEDNER_CONTEXT_NEGATED: "denies chest pain" */
    public static final int NEGATED = 1;
    /** MEDNER_CONTEXT_UNCERTAIN: "possible pneumonia" */
    public static final int UNCERTAIN = 2;
    /** MEDNER_CONTEXT_HISTORICAL: "history of stroke" */
    public static final int HISTORICAL = 4;
    /** MEDNER_CONTEXT_HYPOTHETICAL: "return if chest pain develops" */
    public static final int HYPOTHETICAL = 8;
    /** MEDNER_CONTEXT_FAMILY: "mother had breast cancer" */
    public static final int FAMILY = 16;

    private static final String[] FLAG_NAMES =
            { "negated", "uncertain", "historical", "hypothetical", "family" };

    /** Whether clinical context ran for this entity (section and sentence are set). */
    public boolean hasContext() {
        return section != null;
    }

    public boolean negated() {
        return (context & NEGATED) != 0;
    }

    public boolean uncertain() {
        return (context & UNCERTAIN) != 0;
    }

    public boolean historical() {
        return (context & HISTORICAL) != 0;
    }

    public boolean hypothetical() {
        return (context & HYPOTHETICAL) != 0;
    }

    public boolean family() {
        return (context & FAMILY) != 0;
    }

    /** "negated,family", "none" (no flag), or "-" (clinical context did not run). */
    public String flags() {
        if (section == null)
            return "-";
        StringBuilder b = new StringBuilder();
        for (int k = 0; k < FLAG_NAMES.length; k++)
            if ((context & (1 << k)) != 0)
                b.append(b.length() > 0 ? "," : "").append(FLAG_NAMES[k]);
        return b.length() > 0 ? b.toString() : "none";
    }
}
