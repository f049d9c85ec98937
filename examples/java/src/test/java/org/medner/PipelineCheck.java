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

        System.out.println("PipelineCheck: " + (failed == 0 ? "all passed" : failed + " failed"));
        System.exit(failed == 0 ? 0 : 1);
    }
}
