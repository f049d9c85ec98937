package org.medner;

/**
 * Where an annotate call stands (medner_progress), as a progress callback
 * ({@link Pipeline.Options#progress}, or the per-call argument) receives it:
 * after each batch of windows and each segment of a long text.
 *
 * @param textsDone   texts of the call whose entities are final
 * @param nTexts      texts of the call
 * @param windowsDone windows run through the encoder so far in this call
 * @param bytesDone   UTF-8 bytes of the texts (or segments) whose windows have all run
 * @param totalBytes  UTF-8 bytes of all the texts of the call
 */
public record Progress(long textsDone, long nTexts, long windowsDone, long bytesDone,
                       long totalBytes) {
}
