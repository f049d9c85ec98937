/*
 * medner from Java: a medner_pipeline (tokenizer, encoder, entity decoder,
 * windowing, clinical context) behind an AutoCloseable, through the Foreign
 * Function & Memory API (java.lang.foreign, JDK 22 and later; no JNI code).
 */
package org.medner;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.medner.Native.ENTITY;
import static org.medner.Native.PIPELINE_PARAMS;
import static org.medner.Native.SIZE_T;
import static org.medner.Native.check;
import static org.medner.Native.cString;
import static org.medner.Native.offset;
import static org.medner.MednerException.rethrow;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A loaded NER pipeline (medner_pipeline). Thread-safe: any number of threads
 * may call {@link #annotate} at once; each call borrows a per-thread
 * medner_context from a pool (created on demand, reused, freed by
 * {@link #close}). Use it with try-with-resources:
 *
 * <pre>{@code
 * try (Pipeline p = Pipeline.open(Path.of("models/base"),
 *                                 new Pipeline.Options().adapter(Path.of("models/clinical")))) {
 *     for (Entity e : p.annotate(note))
 *         System.out.println(e.label() + " " + note.substring(e.start(), e.end()));
 * }
 * }</pre>
 *
 * Failures of the C library throw {@link MednerException}; calls on a closed
 * pipeline throw IllegalStateException.
 */
public final class Pipeline implements AutoCloseable {

    /**
     * Options of {@link #open(Path, Options)}, or overrides of
     * {@link #fromConfig(Path, Options)}. Left unset, an option keeps the
     * default (or the configuration file's value), as a zero field of
     * medner_pipeline_params does.
     */
    public static final class Options {
        private Path adapter;
        private Precision precision = Precision.DEFAULT;
        private int maxLength;
        private int overlap;
        private int batchSize;
        private int encoderThreads;
        private Boolean context;
        private Path contextRules;

        /** PEFT LoRA adapter directory merged into the model at load (adapter_dir). */
        public Options adapter(Path dir) {
            this.adapter = dir;
            return this;
        }

        /** Arithmetic of the encoder's products (precision; docs/precision.md). */
        public Options precision(Precision p) {
            this.precision = Objects.requireNonNull(p, "precision");
            return this;
        }

        /** Tokens per window, [CLS]/[SEP] included (max_length). */
        public Options maxLength(int n) {
            this.maxLength = positive("maxLength", n);
            return this;
        }

        /** Tokens shared by consecutive windows (overlap). */
        public Options overlap(int n) {
            this.overlap = positive("overlap", n);
            return this;
        }

        /** Windows per encoder call (batch_size). */
        public Options batchSize(int n) {
            this.batchSize = positive("batchSize", n);
            return this;
        }

        /** Threads of each forward pass (encoder_threads). */
        public Options encoderThreads(int n) {
            this.encoderThreads = positive("encoderThreads", n);
            return this;
        }

        /** Clinical context flags on (true) or off (false); unset: on when the
         *  labels look clinical (docs/context.md). */
        public Options context(boolean on) {
            this.context = on;
            return this;
        }

        /** A YAML ConText rule file instead of the built-in rules (context_rules). */
        public Options contextRules(Path file) {
            this.contextRules = file;
            return this;
        }

        private static int positive(String name, int n) {
            if (n <= 0)
                throw new IllegalArgumentException(name + " must be positive, got " + n);
            return n;
        }

        /** A medner_pipeline_params in `arena` with these options and `model`. */
        MemorySegment toParams(Arena arena, Path model) {
            MemorySegment p = arena.allocate(PIPELINE_PARAMS);   // zeroed: every default
            p.set(SIZE_T, offset(PIPELINE_PARAMS, "struct_size"), PIPELINE_PARAMS.byteSize());
            if (model != null)
                p.set(ADDRESS, offset(PIPELINE_PARAMS, "model_dir"), path(arena, model));
            if (adapter != null)
                p.set(ADDRESS, offset(PIPELINE_PARAMS, "adapter_dir"), path(arena, adapter));
            p.set(JAVA_INT, offset(PIPELINE_PARAMS, "max_length"), maxLength);
            p.set(JAVA_INT, offset(PIPELINE_PARAMS, "overlap"), overlap);
            p.set(JAVA_INT, offset(PIPELINE_PARAMS, "batch_size"), batchSize);
            p.set(JAVA_INT, offset(PIPELINE_PARAMS, "encoder_threads"), encoderThreads);
            if (context != null)   // MEDNER_ON = 1, MEDNER_OFF = 2
                p.set(JAVA_INT, offset(PIPELINE_PARAMS, "context"), context ? 1 : 2);
            if (contextRules != null)
                p.set(ADDRESS, offset(PIPELINE_PARAMS, "context_rules"), path(arena, contextRules));
            p.set(JAVA_INT, offset(PIPELINE_PARAMS, "precision"), precision.value);
            return p;
        }
    }

    private static MemorySegment path(Arena arena, Path p) {
        return arena.allocateFrom(p.toString());   // NUL-terminated UTF-8
    }

    private MemorySegment pipeline;   // medner_pipeline *; null once closed
    private final ConcurrentLinkedQueue<MemorySegment> idleContexts = new ConcurrentLinkedQueue<>();
    /** annotate() holds the read lock, close() the write lock. */
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    private Pipeline(MemorySegment pipeline) {
        this.pipeline = pipeline;
    }

    /** Load a Hugging Face token-classification model directory (medner_pipeline_create). */
    public static Pipeline open(Path modelDir) {
        return open(modelDir, new Options());
    }

    /** Load a model directory (or, with {@link Options#adapter}, a base model and a
     *  LoRA adapter) with options (medner_pipeline_create). */
    public static Pipeline open(Path modelDir, Options options) {
        Objects.requireNonNull(modelDir, "modelDir");
        Objects.requireNonNull(options, "options");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check((int) Native.PIPELINE_CREATE.invokeExact(out, options.toParams(arena, modelDir)));
            return new Pipeline(out.get(ADDRESS, 0));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Load a YAML pipeline configuration (docs/config.md; medner_pipeline_load_config). */
    public static Pipeline fromConfig(Path yaml) {
        return fromConfig(yaml, null);
    }

    /** Load a YAML configuration; the options that are set win over the file's values. */
    public static Pipeline fromConfig(Path yaml, Options overrides) {
        Objects.requireNonNull(yaml, "yaml");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            MemorySegment params = overrides == null ? MemorySegment.NULL
                                                     : overrides.toParams(arena, null);
            check((int) Native.PIPELINE_LOAD_CONFIG.invokeExact(out, path(arena, yaml), params));
            return new Pipeline(out.get(ADDRESS, 0));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Release version of the loaded library, e.g. "0.4.0" (medner_version). */
    public static String version() {
        try {
            return cString((MemorySegment) Native.VERSION.invokeExact());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The precision that runs (FP32, BF16 or INT8; AUTO and DEFAULT resolved). */
    public Precision precision() {
        return Precision.of(effectiveParam("precision"));
    }

    /** Whether the entities carry clinical context (flags, section, sentence). */
    public boolean contextEnabled() {
        return effectiveParam("context") == 1;   // MEDNER_ON
    }

    private int effectiveParam(String field) {
        lock.readLock().lock();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(PIPELINE_PARAMS);
            p.set(SIZE_T, offset(PIPELINE_PARAMS, "struct_size"), PIPELINE_PARAMS.byteSize());
            check((int) Native.PIPELINE_GET_PARAMS.invokeExact(handle(), p));
            return p.get(JAVA_INT, offset(PIPELINE_PARAMS, field));
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            lock.readLock().unlock();
        }
    }

    private MemorySegment handle() {
        if (pipeline == null)
            throw new IllegalStateException("the medner Pipeline is closed");
        return pipeline;
    }

    /** The entities of one text, with UTF-16 offsets into it. */
    public List<Entity> annotate(String text) {
        return annotateAll(List.of(text)).get(0);
    }

    /** The entities of several texts, batched together in one medner_pipeline_annotate call. */
    public List<List<Entity>> annotateAll(List<String> texts) {
        lock.readLock().lock();
        try {
            MemorySegment pipe = handle();
            if (texts.isEmpty())
                return new ArrayList<>();
            MemorySegment context = idleContexts.poll();
            if (context == null)
                context = newContext(pipe);
            try {
                return annotate(pipe, context, texts);
            } finally {
                idleContexts.offer(context);
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    private static MemorySegment newContext(MemorySegment pipe) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check((int) Native.CONTEXT_CREATE.invokeExact(out, pipe));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static List<List<Entity>> annotate(MemorySegment pipe, MemorySegment context,
                                               List<String> texts) {
        int n = texts.size();
        List<List<Entity>> result = new ArrayList<>(n);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ptrs = arena.allocate(ADDRESS, Math.max(n, 1));
            MemorySegment lens = arena.allocate(SIZE_T, Math.max(n, 1));
            for (int i = 0; i < n; i++) {
                // An unpaired surrogate becomes '?' (one unit, one byte): offsets stay right.
                byte[] b = texts.get(i).getBytes(StandardCharsets.UTF_8);
                ptrs.setAtIndex(ADDRESS, i, b.length == 0 ? MemorySegment.NULL
                                                          : arena.allocateFrom(JAVA_BYTE, b));
                lens.setAtIndex(SIZE_T, i, b.length);
            }
            MemorySegment out = arena.allocate(ADDRESS, Math.max(n, 1));
            check((int) Native.ANNOTATE.invokeExact(out, pipe, context, ptrs, lens, (long) n));
            // All or nothing: every result is ours now; free each one.
            Throwable failure = null;
            for (int i = 0; i < n; i++) {
                MemorySegment ents = out.getAtIndex(ADDRESS, i);
                try {
                    if (failure == null)
                        result.add(entities(arena, ents, texts.get(i)));
                } catch (Throwable t) {
                    failure = t;
                } finally {
                    Native.ENTITIES_FREE.invokeExact(ents);
                }
            }
            if (failure != null)
                throw failure;
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return result;
    }

    private static List<Entity> entities(Arena arena, MemorySegment ents, String text)
            throws Throwable {
        MemorySegment e = arena.allocate(ENTITY);
        MemorySegment begin = arena.allocate(SIZE_T);
        MemorySegment end = arena.allocate(SIZE_T);
        long count = (long) Native.ENTITIES_COUNT.invokeExact(ents);
        List<Entity> list = new ArrayList<>((int) count);
        for (long i = 0; i < count; i++) {
            e.fill((byte) 0);
            e.set(SIZE_T, offset(ENTITY, "struct_size"), ENTITY.byteSize());
            check((int) Native.ENTITIES_GET.invokeExact(ents, i, e));
            check((int) Native.ENTITIES_SPAN_UTF16.invokeExact(ents, i, begin, end));
            int b = Math.toIntExact(begin.get(SIZE_T, 0));
            int f = Math.toIntExact(end.get(SIZE_T, 0));
            String label = cString(e.get(ADDRESS, offset(ENTITY, "label")));
            double score = e.get(JAVA_DOUBLE, offset(ENTITY, "score"));
            int flags = e.get(JAVA_INT, offset(ENTITY, "context"));
            int sec = e.get(JAVA_INT, offset(ENTITY, "section"));
            long sentence = e.get(SIZE_T, offset(ENTITY, "sentence"));
            String section = null;
            if (sentence != -1L)   // SIZE_MAX: context did not run
                section = cString((MemorySegment) Native.SECTION_NAME.invokeExact(sec));
            list.add(new Entity(b, f, label, score, text.substring(b, f), flags, section,
                                sentence));
        }
        return list;
    }

    /** Free the contexts and the pipeline. Waits for running annotate calls;
     *  a second close does nothing. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (pipeline == null)
                return;
            for (MemorySegment c; (c = idleContexts.poll()) != null;)
                Native.CONTEXT_FREE.invokeExact(c);
            Native.PIPELINE_FREE.invokeExact(pipeline);
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            pipeline = null;
            lock.writeLock().unlock();
        }
    }
}
