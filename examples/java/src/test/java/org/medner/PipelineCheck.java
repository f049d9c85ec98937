/*
 * API checks of the Java binding that the CLI comparison in test-java.sh does
 * not cover: batching, threads sharing one Pipeline, close semantics, options,
 * and MednerException for each kind of bad input. A plain main (no JUnit: the
 * build here has no Maven Central), run by examples/java/test-java.sh:
 *
 *   java ... -cp medner.jar:test-classes org.medner.PipelineCheck MODEL_DIR NOTE WORK_DIR
 *
 * Prints "  ok   ..." / "  FAIL ..." lines; exit status 1 when any check failed.
 * (Not named *Test, so Maven's surefire does not pick it up.)
 */
package org.medner;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

public final class PipelineCheck {
    private PipelineCheck() {
    }

    private static int failed;

    private static void check(boolean ok, String what) {
        System.out.println((ok ? "  ok   " : "  FAIL ") + what);
        if (!ok)
            failed++;
    }

    /** The MednerException `body` throws, or null (reported as a failure). */
    private static MednerException thrown(Supplier<?> body) {
        try {
            body.get();
        } catch (MednerException e) {
            return e;
        } catch (RuntimeException e) {
            System.out.println("    threw " + e + " instead of MednerException");
        }
        return null;
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        String note = Files.readString(Path.of(args[1]), StandardCharsets.UTF_8);
        Path work = Path.of(args[2]);

        check(Pipeline.version().matches("\\d+\\.\\d+\\.\\d+"),
              "Pipeline.version() is MAJOR.MINOR.PATCH: " + Pipeline.version());

        Pipeline closed;
        try (Pipeline p = Pipeline.open(model)) {
            closed = p;
            List<Entity> one = p.annotate(note);
            check(!one.isEmpty(), "annotate finds " + one.size() + " entities in the note");
            boolean substrings = true;
            for (Entity e : one)
                substrings &= e.text().equals(note.substring(e.start(), e.end()))
                              && e.text().codePointCount(0, e.text().length()) > 0;
            check(substrings, "every entity's text is note.substring(start, end)");

            List<List<Entity>> batch = p.annotateAll(List.of(note, "", note.substring(0, 60), note));
            check(batch.size() == 4 && batch.get(0).equals(one) && batch.get(1).isEmpty()
                  && batch.get(3).equals(one)
                  && batch.get(2).equals(p.annotate(note.substring(0, 60))),
                  "annotateAll (one batch of 4 texts, one empty) equals annotate text by text");
            check(p.annotateAll(List.of()).isEmpty(), "annotateAll(no texts) is empty");

            // 4 threads share the pipeline (a context each from the pool), 5 calls each
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<Boolean>> futures = new ArrayList<>();
            for (int t = 0; t < 4; t++)
                futures.add(pool.submit(() -> {
                    boolean same = true;
                    for (int k = 0; k < 5; k++)
                        same &= p.annotate(note).equals(one);
                    return same;
                }));
            boolean same = true;
            for (Future<Boolean> f : futures)
                same &= f.get();
            pool.shutdown();
            check(same, "4 threads x 5 calls on one Pipeline give the single-thread entities");

            // a text with an unpaired surrogate: UTF-8 '?' keeps the offsets in step
            String odd = "\uD83E fever \uDC00 cough " + note;
            List<Entity> oddEntities = p.annotate(odd);
            boolean oddOk = true;
            for (Entity e : oddEntities)
                oddOk &= e.text().equals(odd.substring(e.start(), e.end()));
            check(oddOk, "unpaired surrogates: " + oddEntities.size()
                         + " entities, substrings still right");

            check(p.precision() == Precision.FP32, "default precision runs FP32: " + p.precision());
        }
        closed.close();   // a second close does nothing
        boolean ise = false;
        try {
            closed.annotate(note);
        } catch (IllegalStateException e) {
            ise = e.getMessage().contains("closed");
        }
        check(ise, "annotate after close throws IllegalStateException (no crash)");

        try (Pipeline p = Pipeline.open(model, new Pipeline.Options().context(false)
                                                .precision(Precision.INT8))) {
            List<Entity> es = p.annotate(note);
            check(!p.contextEnabled() && p.precision() == Precision.INT8
                  && es.stream().noneMatch(Entity::hasContext)
                  && es.stream().allMatch(e -> e.sentence() == -1 && e.flags().equals("-")),
                  "Options.context(false).precision(INT8): context off, no section/sentence, "
                  + "INT8 runs");
        }
        try (Pipeline p = Pipeline.open(model, new Pipeline.Options().context(true))) {
            check(p.contextEnabled() && p.annotate(note).stream().allMatch(Entity::hasContext),
                  "Options.context(true): every entity has a section and sentence");
        }

        // segment (0.4): reported back; Options.segment(NONE) wins over a config's sentence
        try (Pipeline plain = Pipeline.open(model, new Pipeline.Options());
             Pipeline sent = Pipeline.open(model, new Pipeline.Options().segment(Segment.SENTENCE))) {
            check(plain.segment() == Segment.NONE && sent.segment() == Segment.SENTENCE
                  && !sent.annotate(note).equals(plain.annotate(note)),
                  "Options.segment(SENTENCE): Pipeline.segment() is SENTENCE (default NONE), "
                  + "the note's entities change");
            Path seg = work.resolve("segment.yaml");
            Files.writeString(seg, "model: " + model.toAbsolutePath() + "\nsegment: sentence\n");
            try (Pipeline fromFile = Pipeline.fromConfig(seg);
                 Pipeline over = Pipeline.fromConfig(seg, new Pipeline.Options()
                                                           .segment(Segment.NONE))) {
                check(fromFile.segment() == Segment.SENTENCE
                      && fromFile.annotate(note).equals(sent.annotate(note))
                      && over.segment() == Segment.NONE
                      && over.annotate(note).equals(plain.annotate(note)),
                      "segment: sentence in a config = Options.segment(SENTENCE); "
                      + "Options.segment(NONE) overrides it");
            }
        }

        // errors: MednerException with status, status text and medner_last_error()
        MednerException e = thrown(() -> Pipeline.open(Path.of("/nonexistent/model")));
        check(e != null && e.status() == MednerException.IO
              && e.detail().contains("/nonexistent/model: not a directory")
              && e.getMessage().startsWith(e.statusText() + ": "),
              "open(bad dir): MednerException IO: " + (e == null ? "none" : e.getMessage()));

        e = thrown(() -> Pipeline.open(model, new Pipeline.Options()
                                              .adapter(Path.of("/nonexistent/adapter"))));
        check(e != null && e.status() == MednerException.IO
              && e.detail().contains("/nonexistent/adapter"),
              "open(adapter: bad dir): " + (e == null ? "none" : e.getMessage()));

        e = thrown(() -> Pipeline.fromConfig(work.resolve("missing.yaml")));
        check(e != null && e.status() == MednerException.IO && e.detail().contains("missing.yaml"),
              "fromConfig(missing file): " + (e == null ? "none" : e.getMessage()));

        Path typo = work.resolve("typo.yaml");
        Files.writeString(typo, "model: " + model.toAbsolutePath() + "\nmodle: x\n");
        e = thrown(() -> Pipeline.fromConfig(typo));
        check(e != null && e.status() == MednerException.INVALID_CONFIG
              && e.detail().contains("typo.yaml:2:1") && e.detail().contains("modle"),
              "fromConfig(unknown key): " + (e == null ? "none" : e.getMessage()));

        e = thrown(() -> Pipeline.open(model, new Pipeline.Options().maxLength(2)));
        check(e != null && e.status() == MednerException.INVALID_ARGUMENT,
              "maxLength(2): " + (e == null ? "none" : e.getMessage()));

        boolean iae = false;
        try {
            new Pipeline.Options().batchSize(0);
        } catch (IllegalArgumentException x) {
            iae = true;
        }
        check(iae, "Options.batchSize(0) throws IllegalArgumentException");

        checks03(model, note);

        System.out.println("PipelineCheck: " + (failed == 0 ? "all passed" : failed + " failed"));
        System.exit(failed == 0 ? 0 : 1);
    }

    /** The 0.3 API: annotateEach, progress/abort callbacks, decode of own logits, memory. */
    private static void checks03(Path model, String note) {
        // ---- annotateEach: each text on its own
        try (Pipeline p = Pipeline.open(model)) {
            byte[] good = note.getBytes(StandardCharsets.UTF_8);
            byte[] bad = "Fever and cough \u00e9 here".getBytes(StandardCharsets.UTF_8);
            bad[17] = (byte) 0xff;   // the second byte of the e-acute: invalid UTF-8 at offset 16
            String shortText = note.substring(0, 60);
            List<TextResult> each = p.annotateEachUtf8(List.of(
                    good, bad, new byte[0], bad, shortText.getBytes(StandardCharsets.UTF_8)));
            boolean okEach = each.size() == 5;
            for (int i : new int[] {1, 3})
                okEach &= okEach && !each.get(i).ok() && each.get(i).entities() == null
                          && each.get(i).index() == i
                          && each.get(i).error().status() == MednerException.INVALID_UTF8
                          && each.get(i).error().detail().equals(
                                  "text " + i + ": invalid UTF-8 at byte offset 16");
            okEach &= okEach && each.get(0).ok() && each.get(0).entities().equals(p.annotate(note))
                      && each.get(2).ok() && each.get(2).entities().isEmpty()
                      && each.get(4).entities().equals(p.annotate(shortText))
                      && !each.get(0).entities().isEmpty();
            check(okEach, "annotateEachUtf8: texts 1 and 3 fail with INVALID_UTF8 naming their index"
                          + " and byte offset, the others as annotated alone: "
                          + (each.size() > 1 ? each.get(1).error() : "?"));
            boolean threw = false;
            try {
                each.get(1).orThrow();
            } catch (MednerException x) {
                threw = x.status() == MednerException.INVALID_UTF8;
            }
            check(threw, "TextResult.orThrow() throws the text's MednerException");
            List<TextResult> strings = p.annotateEach(List.of(note, "", shortText));
            check(strings.size() == 3 && strings.stream().allMatch(TextResult::ok)
                  && strings.get(0).entities().equals(p.annotate(note))
                  && strings.get(2).entities().equals(p.annotate(shortText)),
                  "annotateEach(List<String>) equals annotate text by text");
        }

        // ---- callbacks
        Pipeline.Options small = new Pipeline.Options().context(false).maxLength(64).overlap(16)
                                                   .batchSize(2);
        try (Pipeline p = Pipeline.open(model, small)) {
            List<List<Entity>> want = p.annotateAll(List.of(note, note));
            List<Progress> seen = new ArrayList<>();
            List<List<Entity>> got = p.annotateAll(List.of(note, note), seen::add, null);
            long total = 2L * note.getBytes(StandardCharsets.UTF_8).length;
            check(got.equals(want) && seen.size() > 1
                  && seen.stream().allMatch(x -> x.nTexts() == 2 && x.totalBytes() == total)
                  && seen.get(seen.size() - 1).bytesDone() == total
                  && seen.get(seen.size() - 1).textsDone() == 2,
                  "progress callback: " + seen.size() + " reports, the last " +
                  (seen.isEmpty() ? "none" : seen.get(seen.size() - 1)));

            AtomicInteger asked = new AtomicInteger();
            MednerException e = thrown(() -> p.annotateAll(List.of(note, note), null,
                                                           () -> asked.incrementAndGet() >= 2));
            check(e != null && e.status() == MednerException.CANCELLED && asked.get() == 2
                  && p.annotateAll(List.of(note, note)).equals(want),
                  "abortWhen -> true: MednerException CANCELLED ("
                  + (e == null ? "none" : e.getMessage()) + "), the pipeline works after");
            e = thrown(() -> p.annotateEach(List.of(note, note), null, () -> true));
            check(e != null && e.status() == MednerException.CANCELLED,
                  "annotateEach cancelled: MednerException CANCELLED");

            IllegalStateException boom = new IllegalStateException("boom");
            Throwable caught = null;
            try {
                p.annotateAll(List.of(note), x -> {
                    throw boom;
                }, null);
            } catch (Throwable t) {
                caught = t;
            }
            Throwable caught2 = null;
            try {
                p.annotateAll(List.of(note), null, () -> {
                    throw new ArithmeticException("from abortWhen");
                });
            } catch (Throwable t) {
                caught2 = t;
            }
            check(caught == boom && caught2 instanceof ArithmeticException
                  && p.annotate(note).equals(want.get(0)),
                  "an exception thrown in a callback reaches the caller (no JVM crash), the"
                  + " pipeline works after: " + caught + ", " + caught2);
        }
        try (Pipeline p = Pipeline.open(model, new Pipeline.Options().context(false)
                                                .abortWhen(() -> true))) {
            MednerException e = thrown(() -> p.annotate(note));
            check(e != null && e.status() == MednerException.CANCELLED
                  && !p.annotateAll(List.of(note), null, () -> false).get(0).isEmpty(),
                  "Options.abortWhen: every call cancelled unless it gives its own callback");
        }

        // ---- decode of logits computed outside the pipeline
        try (Pipeline p = Pipeline.open(model, small)) {
            List<int[]> ids = p.windowIds(note);
            List<float[]> logits = p.logits(note);
            boolean shapes = ids.size() > 2 && logits.size() == ids.size();
            for (int i = 0; shapes && i < ids.size(); i++)
                shapes = logits.get(i).length == ids.get(i).length * p.numLabels();
            check(shapes && p.numLabels() > 1, "windowIds/logits: " + ids.size()
                  + " windows, numLabels " + p.numLabels());
            List<Entity> want = p.annotate(note);
            List<Entity> mine = p.decode(note, logits);
            check(!want.isEmpty() && mine.equals(want),
                  "decode(own logits) equals annotate: " + mine.size() + " entities");
            List<float[]> negated = new ArrayList<>();
            for (float[] f : logits) {
                float[] g = f.clone();
                for (int k = 0; k < g.length; k++)
                    g[k] = -g[k];
                negated.add(g);
            }
            check(!p.decode(note, negated).equals(want), "decode uses the logits it is given");
            boolean iae1 = false, iae2 = false;
            try {
                p.decode(note, logits.subList(0, logits.size() - 1));
            } catch (IllegalArgumentException x) {
                iae1 = x.getMessage().contains("window");
            }
            try {
                List<float[]> shortRow = new ArrayList<>(logits);
                shortRow.set(1, java.util.Arrays.copyOf(logits.get(1), logits.get(1).length - 1));
                p.decode(note, shortRow);
            } catch (IllegalArgumentException x) {
                iae2 = x.getMessage().contains("window 1 has");
            }
            check(iae1 && iae2, "decode: a missing window or a short one: IllegalArgumentException");
            boolean iae3 = false;
            try {
                List<float[]> extra = new ArrayList<>(logits);
                extra.add(logits.get(0));
                p.decode(note, extra, null, true);
            } catch (IllegalArgumentException x) {
                iae3 = x.getMessage().contains("window");
            }
            check(iae3, "decode: more windows than the text has, even partial: IllegalArgumentException");
            check(p.merge() == Merge.CENTER, "merge(): the default is CENTER, got " + p.merge());
            try (Pipeline hf = Pipeline.open(model, new Pipeline.Options()
                    .context(false).maxLength(64).overlap(16).batchSize(2).merge(Merge.HF))) {
                List<Entity> hfWant = hf.annotate(note);
                check(hf.merge() == Merge.HF && !hfWant.isEmpty()
                      && p.decode(note, logits, Merge.HF, false).equals(hfWant),
                      "decode(merge HF) equals a merge: hf pipeline: " + hfWant.size() + " entities");
            }
            try (Pipeline first = Pipeline.open(model, new Pipeline.Options()
                    .context(false).maxLength(64).overlap(16).batchSize(2).firstWindowOnly(true))) {
                List<Entity> firstWant = first.annotate(note);
                List<Entity> part = p.decode(note, logits.subList(0, 1), null, true);
                check(part.equals(firstWant) && part.size() < want.size(),
                      "decode(first window, partial) equals first_window_only: " + part.size()
                      + " of " + want.size() + " entities");
            }
        }

        // ---- memory statistics
        long before = Pipeline.memoryUsed();
        Pipeline.memoryHighwater(true);
        long during, peak;
        try (Pipeline p = Pipeline.open(model)) {
            p.annotate(note);
            during = Pipeline.memoryUsed();
            peak = Pipeline.memoryHighwater(false);
        }
        long after = Pipeline.memoryUsed();
        check(during > before && peak >= during && after < during
              && Pipeline.memoryHighwater(true) == peak && Pipeline.memoryHighwater(false) < peak,
              "memoryUsed/memoryHighwater: " + before + " -> " + during + " (peak " + peak
              + ") -> " + after);
    }
}
