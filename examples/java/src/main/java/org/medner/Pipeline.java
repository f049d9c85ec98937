/*
 * medner from Java: a medner_pipeline (tokenizer, encoder, entity decoder,
 * windowing, clinical context) behind an AutoCloseable, through the Foreign
 * Function & Memory API (java.lang.foreign, JDK 22 and later; no JNI code).
 */
package org.medner;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.medner.Native.ENCODE_PARAMS;
import static org.medner.Native.ENTITY;
import static org.medner.Native.PIPELINE_PARAMS;
import static org.medner.Native.PROGRESS;
import static org.medner.Native.WINDOW;
import static org.medner.Native.SIZE_T;
import static org.medner.Native.check;
import static org.medner.Native.cString;
import static org.medner.Native.offset;
import static org.medner.MednerException.rethrow;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

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
 * pipeline throw IllegalStateException. A progress callback and an abort
 * callback (pipeline-wide in {@link Options}, or per call) see and stop long
 * calls; {@link #annotateEach} lets each text fail on its own; {@link #decode}
 * turns logits of an encoder of one's own into entities.
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
        private Segment segment;   // null: unset (the default, or the configuration's)
        private Merge merge;       // null: unset
        private Boolean firstWindowOnly;
        private int maxLength;
        private int overlap;
        private int batchSize;
        private int encoderThreads;
        private Boolean context;
        private Path contextRules;
        private Consumer<Progress> progress;
        private BooleanSupplier abortWhen;

        /** Called on the annotating thread after each batch of windows and each
         *  segment of a long text (medner_pipeline_params.progress), for every
         *  call that gives no progress callback of its own. It must be
         *  thread-safe when several threads annotate; what it throws stops the
         *  call and is rethrown by it. */
        public Options progress(Consumer<Progress> callback) {
            this.progress = callback;
            return this;
        }

        /** Asked before each batch of windows and each segment (as
         *  medner_pipeline_params.abort_callback): true stops the call, which
         *  throws a MednerException with status {@link MednerException#CANCELLED};
         *  the pipeline stays usable. For every call that gives none of its own. */
        public Options abortWhen(BooleanSupplier callback) {
            this.abortWhen = callback;
            return this;
        }

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

        /** How each text is cut before annotating it (segment): {@link Segment#SENTENCE}
         *  annotates each sentence on its own. Once set, it wins over a configuration's
         *  `segment:`, {@link Segment#NONE} too (MEDNER_PIPELINE_EXPLICIT_SEGMENT). */
        public Options segment(Segment s) {
            this.segment = Objects.requireNonNull(s, "segment");
            return this;
        }

        /** Reconciliation of entities in overlapping windows (merge; default CENTER). */
        public Options merge(Merge m) {
            this.merge = Objects.requireNonNull(m, "merge");
            return this;
        }

        /** Only the first window of each text, as Hugging Face's pipeline without a
         *  stride (first_window_only); false: every window (the default). */
        public Options firstWindowOnly(boolean on) {
            this.firstWindowOnly = on;
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
        MemorySegment toParams(Arena arena, Path model) throws Throwable {
            MemorySegment p = arena.allocate(PIPELINE_PARAMS);   // every default, from the library
            check((int) Native.PIPELINE_PARAMS_DEFAULT.invokeExact(p, PIPELINE_PARAMS.byteSize()));
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
            if (merge != null)
                p.set(JAVA_INT, offset(PIPELINE_PARAMS, "merge"), merge.value);
            if (firstWindowOnly != null)   // MEDNER_ON = 1, MEDNER_OFF = 2
                p.set(JAVA_INT, offset(PIPELINE_PARAMS, "first_window_only"), firstWindowOnly ? 1 : 2);
            p.set(JAVA_INT, offset(PIPELINE_PARAMS, "precision"), precision.value);
            if (segment != null) {   // taken as written, NONE over a config's sentence too
                p.set(JAVA_INT, offset(PIPELINE_PARAMS, "segment"), segment.value);
                long ef = offset(PIPELINE_PARAMS, "explicit_fields");
                p.set(JAVA_INT, ef, p.get(JAVA_INT, ef) | Native.PIPELINE_EXPLICIT_SEGMENT);
            }
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
    /** The upcall stubs of the C callbacks; closed after the pipeline is freed. */
    private final Arena upcalls;
    private final Callbacks callbacks;
    /** Effective max_length, overlap, batch_size and merge (medner_pipeline_params_get). */
    private final int maxLength, overlap, batchSize, merge;

    private Pipeline(MemorySegment pipeline, Arena upcalls, Callbacks callbacks) throws Throwable {
        this.pipeline = pipeline;
        this.upcalls = upcalls;
        this.callbacks = callbacks;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(PIPELINE_PARAMS);
            p.set(SIZE_T, offset(PIPELINE_PARAMS, "struct_size"), PIPELINE_PARAMS.byteSize());
            check((int) Native.PIPELINE_PARAMS_GET.invokeExact(p, pipeline));
            maxLength = p.get(JAVA_INT, offset(PIPELINE_PARAMS, "max_length"));
            overlap = p.get(JAVA_INT, offset(PIPELINE_PARAMS, "overlap"));
            batchSize = Math.max(1, p.get(JAVA_INT, offset(PIPELINE_PARAMS, "batch_size")));
            merge = p.get(JAVA_INT, offset(PIPELINE_PARAMS, "merge"));
        }
    }

    /** The callbacks of one call on one thread, and the first Throwable one of them threw. */
    private static final class Call {
        final Consumer<Progress> progress;
        final BooleanSupplier abortWhen;
        Throwable error;

        Call(Consumer<Progress> progress, BooleanSupplier abortWhen) {
            this.progress = progress;
            this.abortWhen = abortWhen;
        }
    }

    /**
     * The targets of the two upcall stubs of a pipeline. The C library calls
     * them on the annotating thread, so the current call's Java callbacks are
     * found in a ThreadLocal. Nothing may be thrown back into C (the JVM would
     * terminate): a Throwable is stored, the call is asked to stop, and the
     * Java caller rethrows it.
     */
    static final class Callbacks {   // not private: its methods are upcall targets
        final ThreadLocal<Call> current = new ThreadLocal<>();
        final Consumer<Progress> progress;
        final BooleanSupplier abortWhen;

        Callbacks(Options o) {
            this.progress = o == null ? null : o.progress;
            this.abortWhen = o == null ? null : o.abortWhen;
        }

        void onProgress(MemorySegment p, MemorySegment user) {
            Call call = current.get();
            if (call == null || call.progress == null || call.error != null)
                return;
            try {
                MemorySegment s = p.reinterpret(PROGRESS.byteSize());
                call.progress.accept(new Progress(
                        s.get(SIZE_T, offset(PROGRESS, "texts_done")),
                        s.get(SIZE_T, offset(PROGRESS, "n_texts")),
                        s.get(SIZE_T, offset(PROGRESS, "windows_done")),
                        s.get(SIZE_T, offset(PROGRESS, "bytes_done")),
                        s.get(SIZE_T, offset(PROGRESS, "total_bytes"))));
            } catch (Throwable t) {
                call.error = t;
            }
        }

        int onAbort(MemorySegment user) {
            Call call = current.get();
            if (call == null)
                return 0;
            if (call.error != null)   // the progress callback threw: stop now
                return 1;
            try {
                return call.abortWhen != null && call.abortWhen.getAsBoolean() ? 1 : 0;
            } catch (Throwable t) {
                call.error = t;
                return 1;
            }
        }

        /** Upcall stubs for the params (in `arena`, which must outlive the pipeline). */
        void install(MemorySegment params, Arena arena) throws ReflectiveOperationException {
            MethodHandles.Lookup l = MethodHandles.lookup();
            var onProgress = l.findVirtual(Callbacks.class, "onProgress",
                    MethodType.methodType(void.class, MemorySegment.class, MemorySegment.class));
            var onAbort = l.findVirtual(Callbacks.class, "onAbort",
                    MethodType.methodType(int.class, MemorySegment.class));
            params.set(ADDRESS, offset(PIPELINE_PARAMS, "progress"),
                       Native.LINKER.upcallStub(onProgress.bindTo(this), Native.PROGRESS_FN, arena));
            params.set(ADDRESS, offset(PIPELINE_PARAMS, "abort_callback"),
                       Native.LINKER.upcallStub(onAbort.bindTo(this), Native.ABORT_FN, arena));
        }

        Call enter(Consumer<Progress> p, BooleanSupplier a) {
            Call call = new Call(p != null ? p : progress, a != null ? a : abortWhen);
            current.set(call);
            return call;
        }

        void leave() {
            current.remove();
        }
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
        return create(null, modelDir, options);
    }

    /** Load a YAML pipeline configuration (docs/config.md; medner_pipeline_load_config). */
    public static Pipeline fromConfig(Path yaml) {
        return fromConfig(yaml, null);
    }

    /** Load a YAML configuration; the options that are set win over the file's values. */
    public static Pipeline fromConfig(Path yaml, Options overrides) {
        Objects.requireNonNull(yaml, "yaml");
        return create(yaml, null, overrides == null ? new Options() : overrides);
    }

    private static Pipeline create(Path yaml, Path model, Options options) {
        Arena upcalls = Arena.ofShared();
        Callbacks callbacks = new Callbacks(options);
        MemorySegment handle = MemorySegment.NULL;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            MemorySegment params = options.toParams(arena, model);
            // always installed: a call's own callbacks need no pipeline of their own
            callbacks.install(params, upcalls);
            if (yaml == null)
                check((int) Native.PIPELINE_CREATE.invokeExact(out, params));
            else
                check((int) Native.PIPELINE_LOAD_CONFIG.invokeExact(out, path(arena, yaml), params));
            handle = out.get(ADDRESS, 0);
            return new Pipeline(handle, upcalls, callbacks);
        } catch (Throwable t) {
            try {
                if (!handle.equals(MemorySegment.NULL))
                    Native.PIPELINE_FREE.invokeExact(handle);
            } catch (Throwable ignored) {
                // best effort: the creation error is the one to report
            }
            upcalls.close();
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

    /** How each text is cut before annotating it (NONE or SENTENCE). */
    public Segment segment() {
        return Segment.of(effectiveParam("segment"));
    }

    /** How entities of overlapping windows are reconciled (HF or CENTER). */
    public Merge merge() {
        return Merge.of(merge);
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
            check((int) Native.PIPELINE_PARAMS_GET.invokeExact(p, handle()));
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
        return annotateAll(texts, null, null);
    }

    /**
     * As {@link #annotateAll(List)}, with this call's own callbacks (null: the
     * pipeline's, from {@link Options}). {@code abortWhen} returning true
     * stops the call: MednerException with status {@link MednerException#CANCELLED}.
     * What either callback throws stops the call and is rethrown here (a
     * checked exception wrapped in IllegalStateException). Either way nothing
     * is returned and the pipeline stays usable.
     */
    public List<List<Entity>> annotateAll(List<String> texts, Consumer<Progress> progress,
                                          BooleanSupplier abortWhen) {
        List<byte[]> data = new ArrayList<>(texts.size());
        for (String t : texts)   // an unpaired surrogate becomes '?' (one unit, one byte)
            data.add(t.getBytes(StandardCharsets.UTF_8));
        return withContext((pipe, context) -> {
            List<List<Entity>> result = new ArrayList<>(texts.size());
            for (TextResult r : run(pipe, context, data, texts, false, progress, abortWhen))
                result.add(r.entities());
            return result;
        });
    }

    /**
     * Each text succeeds or fails on its own (medner_pipeline_annotate_each):
     * one {@link TextResult} per text, in order, with its entities or its own
     * MednerException; nothing is thrown for a failing text. A cancelled call
     * (abort callback) throws MednerException CANCELLED, as annotateAll.
     */
    public List<TextResult> annotateEach(List<String> texts) {
        return annotateEach(texts, null, null);
    }

    /** As {@link #annotateEach(List)}, with this call's own callbacks (null: the pipeline's). */
    public List<TextResult> annotateEach(List<String> texts, Consumer<Progress> progress,
                                         BooleanSupplier abortWhen) {
        List<byte[]> data = new ArrayList<>(texts.size());
        for (String t : texts)
            data.add(t.getBytes(StandardCharsets.UTF_8));
        return withContext((pipe, context) -> run(pipe, context, data, texts, true, progress,
                                                  abortWhen));
    }

    /**
     * As {@link #annotateEach(List)} on texts given as UTF-8 bytes (e.g. read
     * from files), which are passed to the library as they are: a text that is
     * not valid UTF-8 gets a {@link TextResult} with status
     * {@link MednerException#INVALID_UTF8} naming the byte offset. The entities'
     * offsets are UTF-16 offsets into {@code new String(bytes, UTF_8)}.
     */
    public List<TextResult> annotateEachUtf8(List<byte[]> texts) {
        List<String> strings = new ArrayList<>(texts.size());
        for (byte[] b : texts)
            strings.add(new String(b, StandardCharsets.UTF_8));
        return withContext((pipe, context) -> run(pipe, context, new ArrayList<>(texts), strings,
                                                  true, null, null));
    }

    private interface WithContext<T> {
        T apply(MemorySegment pipe, MemorySegment context) throws Throwable;
    }

    /** Run `body` under the read lock with a context from the pool. */
    private <T> T withContext(WithContext<T> body) {
        lock.readLock().lock();
        try {
            MemorySegment pipe = handle();
            MemorySegment context = idleContexts.poll();
            if (context == null)
                context = newContext(pipe);
            try {
                return body.apply(pipe, context);
            } finally {
                idleContexts.offer(context);
            }
        } catch (Throwable t) {
            throw rethrow(t);
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

    /** medner_pipeline_annotate (each = false: all or nothing, a failure throws) or
     *  medner_pipeline_annotate_each (each = true: a TextResult per text). */
    private List<TextResult> run(MemorySegment pipe, MemorySegment context, List<byte[]> data,
                                 List<String> texts, boolean each, Consumer<Progress> progress,
                                 BooleanSupplier abortWhen) throws Throwable {
        int n = data.size();
        List<TextResult> result = new ArrayList<>(n);
        if (n == 0)
            return result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ptrs = arena.allocate(ADDRESS, n);
            MemorySegment lens = arena.allocate(SIZE_T, n);
            for (int i = 0; i < n; i++) {
                byte[] b = data.get(i);
                ptrs.setAtIndex(ADDRESS, i, b.length == 0 ? MemorySegment.NULL
                                                          : arena.allocateFrom(JAVA_BYTE, b));
                lens.setAtIndex(SIZE_T, i, b.length);
            }
            MemorySegment out = arena.allocate(ADDRESS, n);   // zeroed: NULL results
            MemorySegment status = arena.allocate(JAVA_INT, n);
            MemorySegment first = arena.allocate(SIZE_T);
            Call call = callbacks.enter(progress, abortWhen);
            int rc;
            String firstMessage = null;
            try {
                rc = each ? (int) Native.ANNOTATE_EACH.invokeExact(out, status, first, pipe, context,
                                                                   ptrs, lens, (long) n)
                          : (int) Native.ANNOTATE.invokeExact(out, pipe, context, ptrs, lens,
                                                              (long) n);
                if (rc != 0 || (each && first.get(SIZE_T, 0) != -1L))
                    firstMessage = cString((MemorySegment) Native.LAST_ERROR.invokeExact());
            } finally {
                callbacks.leave();
            }
            Throwable failure = call.error;
            if (failure == null && rc != 0)
                failure = new MednerException(rc, Native.statusStr(rc), firstMessage);
            // every non-NULL result is ours now: convert (unless failed) and free each one
            for (int i = 0; i < n; i++) {
                MemorySegment ents = out.getAtIndex(ADDRESS, i);
                try {
                    if (failure != null)
                        continue;
                    int st = each ? status.getAtIndex(JAVA_INT, i) : 0;
                    if (st == 0) {
                        result.add(new TextResult(i, entities(arena, ents, texts.get(i)), null));
                    } else {
                        // the library describes the first failure; the others are
                        // described by annotating that text alone (no callbacks)
                        String msg = i == first.get(SIZE_T, 0) ? firstMessage
                                     : aloneMessage(pipe, context, data.get(i), st, i);
                        result.add(new TextResult(i, null,
                                                  new MednerException(st, Native.statusStr(st), msg)));
                    }
                } catch (Throwable t) {
                    failure = t;
                } finally {
                    if (!ents.equals(MemorySegment.NULL))
                        Native.ENTITIES_FREE.invokeExact(ents);
                }
            }
            if (failure != null)
                throw failure;
        }
        return result;
    }

    /** medner_last_error() of annotating one failed text alone, as text `index`. */
    private static String aloneMessage(MemorySegment pipe, MemorySegment context, byte[] text,
                                       int status, int index) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ptr = arena.allocate(ADDRESS);
            ptr.set(ADDRESS, 0, arena.allocateFrom(JAVA_BYTE, text));
            MemorySegment len = arena.allocate(SIZE_T);
            len.set(SIZE_T, 0, text.length);
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = (int) Native.ANNOTATE.invokeExact(out, pipe, context, ptr, len, 1L);
            if (rc == 0) {
                Native.ENTITIES_FREE.invokeExact(out.get(ADDRESS, 0));
                return Native.statusStr(status);
            }
            String msg = cString((MemorySegment) Native.LAST_ERROR.invokeExact());
            return msg.startsWith("text 0") ? "text " + index + msg.substring(6) : msg;
        }
    }

    // ---- memory statistics (0.3) ------------------------------------------------

    /** Bytes of heap memory medner holds now, all threads together (medner_memory_used). */
    public static long memoryUsed() {
        try {
            return (long) Native.MEMORY_USED.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Highest {@link #memoryUsed()} since the start or the last reset
     *  (medner_memory_highwater); reset: start a new period (the value
     *  returned is the peak before it). */
    public static long memoryHighwater(boolean reset) {
        try {
            return (long) Native.MEMORY_HIGHWATER.invokeExact(reset ? 1 : 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- decoding the logits of an encoder of one's own (0.3) ------------------

    /** Labels of the pipeline's decoder: the width of each logits row {@link #decode} reads. */
    public int numLabels() {
        return withPipeline(pipe -> (int) (long) Native.DECODER_NUM_LABELS.invokeExact(
                (MemorySegment) Native.PIPELINE_DECODER.invokeExact(pipe)));
    }

    private interface WithPipeline<T> {
        T apply(MemorySegment pipe) throws Throwable;
    }

    private <T> T withPipeline(WithPipeline<T> body) {
        lock.readLock().lock();
        try {
            return body.apply(handle());
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** medner_tokenizer_encode of `utf8` as the pipeline windows it (free it). */
    private MemorySegment encode(Arena arena, MemorySegment pipe, MemorySegment utf8, long len)
            throws Throwable {
        MemorySegment ep = arena.allocate(ENCODE_PARAMS);
        check((int) Native.ENCODE_PARAMS_DEFAULT.invokeExact(ep, ENCODE_PARAMS.byteSize()));
        ep.set(JAVA_INT, offset(ENCODE_PARAMS, "max_length"), maxLength);
        ep.set(JAVA_INT, offset(ENCODE_PARAMS, "overlap"), overlap);
        MemorySegment out = arena.allocate(ADDRESS);
        MemorySegment tok = (MemorySegment) Native.PIPELINE_TOKENIZER.invokeExact(pipe);
        check((int) Native.TOKENIZER_ENCODE.invokeExact(out, tok, utf8, len, ep));
        return out.get(ADDRESS, 0);
    }

    /** Window `index` of an encoding: a medner_window (its arrays borrowed from the encoding). */
    private static MemorySegment window(Arena arena, MemorySegment enc, long index) throws Throwable {
        MemorySegment w = arena.allocate(WINDOW);
        w.set(SIZE_T, offset(WINDOW, "struct_size"), WINDOW.byteSize());
        check((int) Native.WINDOW_GET.invokeExact(w, enc, index));
        return w;
    }

    private static MemorySegment utf8(Arena arena, String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        return b.length == 0 ? arena.allocate(1) : arena.allocateFrom(JAVA_BYTE, b);
    }

    private static long utf8Length(String text) {
        return text.getBytes(StandardCharsets.UTF_8).length;
    }

    /** The token ids of each window the pipeline makes of `text` ([CLS] ... [SEP],
     *  its max_length and overlap): the input of an encoder of your own. */
    public List<int[]> windowIds(String text) {
        Objects.requireNonNull(text, "text");
        return withPipeline(pipe -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment enc = encode(arena, pipe, utf8(arena, text), utf8Length(text));
                try {
                    long n = (long) Native.ENCODING_NUM_WINDOWS.invokeExact(enc);
                    List<int[]> ids = new ArrayList<>((int) n);
                    for (long i = 0; i < n; i++) {
                        MemorySegment w = window(arena, enc, i);
                        long len = w.get(SIZE_T, offset(WINDOW, "length"));
                        ids.add(w.get(ADDRESS, offset(WINDOW, "ids"))
                                 .reinterpret(len * 4).toArray(JAVA_INT));
                    }
                    return ids;
                } finally {
                    Native.ENCODING_FREE.invokeExact(enc);
                }
            }
        });
    }

    /** The pipeline's own encoder on each window of `text`: per window, window
     *  length x {@link #numLabels()} floats, row-major, [CLS]/[SEP] rows included
     *  (medner_context_logits): what an encoder of your own gives {@link #decode}. */
    public List<float[]> logits(String text) {
        Objects.requireNonNull(text, "text");
        return withContext((pipe, context) -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment enc = encode(arena, pipe, utf8(arena, text), utf8Length(text));
                try {
                    long labels = (long) Native.DECODER_NUM_LABELS.invokeExact(
                            (MemorySegment) Native.PIPELINE_DECODER.invokeExact(pipe));
                    long n = (long) Native.ENCODING_NUM_WINDOWS.invokeExact(enc);
                    List<float[]> result = new ArrayList<>((int) n);
                    for (long first = 0; first < n; first += batchSize) {
                        int k = (int) Math.min(batchSize, n - first);
                        MemorySegment ids = arena.allocate(ADDRESS, k);
                        MemorySegment lens = arena.allocate(SIZE_T, k);
                        for (int j = 0; j < k; j++) {
                            MemorySegment w = window(arena, enc, first + j);
                            ids.setAtIndex(ADDRESS, j, w.get(ADDRESS, offset(WINDOW, "ids")));
                            lens.setAtIndex(SIZE_T, j, w.get(SIZE_T, offset(WINDOW, "length")));
                        }
                        check((int) Native.ENCODER_RUN.invokeExact(context, ids, MemorySegment.NULL,
                                                                  lens, (long) k));
                        for (int j = 0; j < k; j++) {
                            MemorySegment rows = (MemorySegment) Native.CONTEXT_LOGITS.invokeExact(
                                    context, (long) j);
                            long count = lens.getAtIndex(SIZE_T, j) * labels;
                            result.add(rows.reinterpret(count * 4).toArray(JAVA_FLOAT));
                        }
                    }
                    return result;
                } finally {
                    Native.ENCODING_FREE.invokeExact(enc);
                }
            }
        });
    }

    /**
     * The entities of `text` from logits computed elsewhere (your own ONNX
     * Runtime, PyTorch or GPU encoder), decoded exactly as {@link #annotate}
     * decodes its own encoder's (medner_decoder_decode: same softmax,
     * aggregation, scheme, filters and merge of overlapping windows).
     * {@code windowLogits}: one array per window of {@link #windowIds}, in
     * order, each window length x {@link #numLabels()} floats, row-major,
     * [CLS]/[SEP] rows included. Clinical context is not applied (section
     * null, sentence -1). IllegalArgumentException for a wrong number of
     * windows or floats. The pipeline's merge, every window required: see
     * {@link #decode(String, List, Merge, boolean)}.
     */
    public List<Entity> decode(String text, List<float[]> windowLogits) {
        return decode(text, windowLogits, null, false);
    }

    /**
     * {@link #decode(String, List)} with the reconciliation of overlapping
     * windows chosen here ({@code merge}; null: the pipeline's) and, with
     * {@code partial}, fewer entries than the text has windows: only the
     * first {@code windowLogits.size()} windows are decoded, each on its own
     * (as first_window_only). IllegalArgumentException for no window, more
     * windows than the text has, fewer without {@code partial}, or a wrong
     * number of floats.
     */
    public List<Entity> decode(String text, List<float[]> windowLogits, Merge merge,
                               boolean partial) {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(windowLogits, "windowLogits");
        final int mergeValue = merge == null ? this.merge : merge.value;
        return withPipeline(pipe -> {
            try (Arena arena = Arena.ofConfined()) {
                long len = utf8Length(text);
                MemorySegment data = utf8(arena, text);
                MemorySegment enc = encode(arena, pipe, data, len);
                try {
                    MemorySegment decoder = (MemorySegment) Native.PIPELINE_DECODER.invokeExact(pipe);
                    long labels = (long) Native.DECODER_NUM_LABELS.invokeExact(decoder);
                    long total = (long) Native.ENCODING_NUM_WINDOWS.invokeExact(enc);
                    long n = windowLogits.size();
                    if (n > total || (n < total && !partial) || (n == 0 && total > 0))
                        throw new IllegalArgumentException("decode: the text has " + total
                                + " window(s) (windowIds()); got logits of " + n
                                + (n > total || n == 0 || partial ? ""
                                   : " (partial decodes only the first ones)"));
                    MemorySegment rows = arena.allocate(ADDRESS, Math.max(n, 1));
                    for (int i = 0; i < n; i++) {
                        long length = window(arena, enc, i).get(SIZE_T, offset(WINDOW, "length"));
                        float[] f = Objects.requireNonNull(windowLogits.get(i), "window logits");
                        if (f.length != length * labels)
                            throw new IllegalArgumentException("decode: window " + i + " has "
                                    + length + " tokens x " + labels + " labels = "
                                    + length * labels + " logits; got " + f.length);
                        rows.setAtIndex(ADDRESS, i, arena.allocateFrom(JAVA_FLOAT, f));
                    }
                    MemorySegment out = arena.allocate(ADDRESS);
                    MemorySegment tok = (MemorySegment) Native.PIPELINE_TOKENIZER.invokeExact(pipe);
                    check((int) Native.DECODER_DECODE.invokeExact(out, decoder, tok, enc, rows, n,
                                                                  mergeValue, data, len));
                    MemorySegment ents = out.get(ADDRESS, 0);
                    try {
                        return entities(arena, ents, text);
                    } finally {
                        Native.ENTITIES_FREE.invokeExact(ents);
                    }
                } finally {
                    Native.ENCODING_FREE.invokeExact(enc);
                }
            }
        });
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
            check((int) Native.ENTITY_GET.invokeExact(e, ents, i));
            check((int) Native.ENTITY_SPAN_UTF16.invokeExact(begin, end, ents, i));
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
            upcalls.close();   // the stubs, once no C code can call them
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            pipeline = null;
            lock.writeLock().unlock();
        }
    }
}
