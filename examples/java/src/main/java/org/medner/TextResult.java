package org.medner;

import java.util.List;

/**
 * The result of one text of {@link Pipeline#annotateEach}: its entities, or
 * the error of that text alone (the other texts of the call are not
 * affected).
 *
 * @param index    the text's position in the call
 * @param entities its entities (UTF-16 offsets into the text), or null when it failed
 * @param error    why it failed (status, e.g. {@link MednerException#INVALID_UTF8}, and
 *                 the library's message naming the text index and byte offset), or null
 */
public record TextResult(int index, List<Entity> entities, MednerException error) {
    /** Whether the text was annotated. */
    public boolean ok() {
        return error == null;
    }

    /** The entities, or the text's MednerException thrown. */
    public List<Entity> orThrow() {
        if (error != null)
            throw error;
        return entities;
    }
}
