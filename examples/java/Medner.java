/*
 * medner from Java through the Foreign Function & Memory API, as shipped with
 * JDK 17 (the incubator module jdk.incubator.foreign; no JNI code, no jar).
 *
 *   javac --release 17 --add-modules jdk.incubator.foreign -d build/java examples/java/Medner.java
 *   java --add-modules jdk.incubator.foreign --enable-native-access=ALL-UNNAMED \
 *        -Dmedner.library=lib/libmedner.so.0 -cp build/java Medner MODEL_DIR NOTE.txt
 *
 * prints one line per entity:
 * START<TAB>END<TAB>LABEL<TAB>SCORE<TAB>TEXT<TAB>FLAGS<TAB>SECTION<TAB>SENTENCE, where
 * START/END are UTF-16 offsets (Java String indices, from
 * medner_entities_span_utf16()), TEXT is note.substring(START, END), and the
 * clinical context (docs/context.md) is FLAGS (e.g. "negated,family", "none")
 * SECTION (e.g. "family_history") and SENTENCE (0-based), or "-" "-" -1 when
 * context did not run (the model's labels do not look clinical).
 *
 * The library is found through -Dmedner.library=PATH, else $MEDNER_LIBRARY,
 * else System.loadLibrary("medner") (java.library.path: libmedner.so).
 *
 * Objects mirror the C API: a Medner (medner_pipeline: weights, tokenizer,
 * decoder) is immutable and shared by any number of threads; each thread
 * annotates through its own Session (medner_context). Close the sessions,
 * then the Medner. The structs are declared for LP64 Linux (size_t = C_LONG).
 *
 * The FFM API left incubation in JDK 22 (java.lang.foreign): on a newer JDK
 * the same calls are Linker.nativeLinker().downcallHandle(...), Arena instead
 * of ResourceScope and MemorySegment instead of MemoryAddress
 * (docs/embedding.md).
 */

import static jdk.incubator.foreign.CLinker.C_DOUBLE;
import static jdk.incubator.foreign.CLinker.C_INT;
import static jdk.incubator.foreign.CLinker.C_LONG;
import static jdk.incubator.foreign.CLinker.C_POINTER;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import jdk.incubator.foreign.CLinker;
import jdk.incubator.foreign.FunctionDescriptor;
import jdk.incubator.foreign.GroupLayout;
import jdk.incubator.foreign.MemoryAccess;
import jdk.incubator.foreign.MemoryAddress;
import jdk.incubator.foreign.MemoryLayout;
import jdk.incubator.foreign.MemoryLayout.PathElement;
import jdk.incubator.foreign.MemorySegment;
import jdk.incubator.foreign.ResourceScope;
import jdk.incubator.foreign.SymbolLookup;

public final class Medner implements AutoCloseable {

    /** One entity; start/end are UTF-16 offsets: note.substring(start, end) == text.
     *  context: medner_context_flag bits; section: its name, or null and sentence -1
     *  when clinical context did not run. */
    public record Entity(String label, int start, int end, double score, String text,
                         int context, String section, long sentence) {
        public boolean negated() { return (context & 1) != 0; }
        public boolean uncertain() { return (context & 2) != 0; }
        public boolean historical() { return (context & 4) != 0; }
        public boolean hypothetical() { return (context & 8) != 0; }
        public boolean family() { return (context & 16) != 0; }

        /** "negated,family", "none" (no flag), or "-" (context did not run). */
        public String flags() {
            if (section == null)
                return "-";
            String[] names = { "negated", "uncertain", "historical", "hypothetical", "family" };
            StringBuilder b = new StringBuilder();
            for (int k = 0; k < names.length; k++)
                if ((context & (1 << k)) != 0)
                    b.append(b.length() > 0 ? "," : "").append(names[k]);
            return b.length() > 0 ? b.toString() : "none";
        }
    }

    /** A medner call failed: status is the medner_status, the message medner_last_error(). */
    public static final class MednerException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        public final int status;

        MednerException(int status, String detail) {
            super(statusStr(status) + ": " + detail);
            this.status = status;
        }
    }

    // ---- the C declarations used here (include/medner.h) ------------------

    /** medner_pipeline_params (uint32_t and enums are 32-bit ints). */
    static final GroupLayout PIPELINE_PARAMS = MemoryLayout.structLayout(
            C_LONG.withName("struct_size"),
            C_POINTER.withName("model_dir"),
            C_POINTER.withName("adapter_dir"),
            C_INT.withName("max_length"),
            C_INT.withName("overlap"),
            C_INT.withName("batch_size"),
            C_INT.withName("threads"),
            C_INT.withName("merge"),
            C_INT.withName("first_window_only"),
            C_INT.withName("encoder_threads"),
            C_INT.withName("reserved"),
            C_POINTER.withName("decoder"),
            // appended in 0.2
            C_INT.withName("context"),
            C_INT.withName("reserved2"),
            C_POINTER.withName("context_rules"),
            C_INT.withName("precision"),
            C_INT.withName("reserved3"));

    /** medner_entity. */
    static final GroupLayout ENTITY = MemoryLayout.structLayout(
            C_LONG.withName("struct_size"),
            C_LONG.withName("begin"),
            C_LONG.withName("end"),
            C_POINTER.withName("label"),
            C_DOUBLE.withName("score"),
            C_LONG.withName("first_token"),
            C_LONG.withName("n_tokens"),
            // appended in 0.2
            C_INT.withName("context"),
            C_INT.withName("section"),
            C_LONG.withName("sentence"));

    private static final SymbolLookup LOOKUP;
    static {
        String lib = System.getProperty("medner.library", System.getenv("MEDNER_LIBRARY"));
        if (lib != null && !lib.isEmpty())
            System.load(Path.of(lib).toAbsolutePath().toString());
        else
            System.loadLibrary("medner");
        LOOKUP = SymbolLookup.loaderLookup();
    }

    private static MethodHandle fn(String name, FunctionDescriptor desc, Class<?> ret,
                                   Class<?>... args) {
        return CLinker.getInstance().downcallHandle(
                LOOKUP.lookup(name).orElseThrow(() -> new UnsatisfiedLinkError(name)),
                MethodType.methodType(ret, args), desc);
    }

    private static final Class<MemoryAddress> PTR = MemoryAddress.class;
    private static final MethodHandle VERSION =
            fn("medner_version", FunctionDescriptor.of(C_POINTER), PTR);
    private static final MethodHandle STATUS_STR =
            fn("medner_status_str", FunctionDescriptor.of(C_POINTER, C_INT), PTR, int.class);
    private static final MethodHandle LAST_ERROR =
            fn("medner_last_error", FunctionDescriptor.of(C_POINTER), PTR);
    private static final MethodHandle PIPELINE_CREATE =
            fn("medner_pipeline_create", FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER),
               int.class, PTR, PTR);
    private static final MethodHandle PIPELINE_FREE =
            fn("medner_pipeline_free", FunctionDescriptor.ofVoid(C_POINTER), void.class, PTR);
    private static final MethodHandle CONTEXT_CREATE =
            fn("medner_pipeline_context_create",
               FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER), int.class, PTR, PTR);
    private static final MethodHandle CONTEXT_FREE =
            fn("medner_context_free", FunctionDescriptor.ofVoid(C_POINTER), void.class, PTR);
    private static final MethodHandle ANNOTATE =
            fn("medner_pipeline_annotate",
               FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER,
                                     C_POINTER, C_LONG),
               int.class, PTR, PTR, PTR, PTR, PTR, long.class);
    private static final MethodHandle ENTITIES_COUNT =
            fn("medner_entities_count", FunctionDescriptor.of(C_LONG, C_POINTER), long.class, PTR);
    private static final MethodHandle ENTITIES_GET =
            fn("medner_entities_get", FunctionDescriptor.of(C_INT, C_POINTER, C_LONG, C_POINTER),
               int.class, PTR, long.class, PTR);
    private static final MethodHandle ENTITIES_SPAN_UTF16 =
            fn("medner_entities_span_utf16",
               FunctionDescriptor.of(C_INT, C_POINTER, C_LONG, C_POINTER, C_POINTER),
               int.class, PTR, long.class, PTR, PTR);
    private static final MethodHandle SECTION_NAME =
            fn("medner_section_name", FunctionDescriptor.of(C_POINTER, C_INT), PTR, int.class);
    private static final MethodHandle ENTITIES_FREE =
            fn("medner_entities_free", FunctionDescriptor.ofVoid(C_POINTER), void.class, PTR);

    private static long offset(GroupLayout layout, String field) {
        return layout.byteOffset(PathElement.groupElement(field));
    }

    /** A NUL-terminated UTF-8 C string (CLinker.toJavaString would use the platform charset). */
    static String cString(MemoryAddress p) {
        MemorySegment s = p.asSegment(Long.MAX_VALUE, ResourceScope.globalScope());
        long n = 0;
        while (MemoryAccess.getByteAtOffset(s, n) != 0)
            n++;
        return new String(s.asSlice(0, n).toByteArray(), StandardCharsets.UTF_8);
    }

    /** A NUL-terminated UTF-8 copy of `s` in `scope`. */
    static MemorySegment utf8(String s, ResourceScope scope) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        MemorySegment seg = MemorySegment.allocateNative(b.length + 1, scope);
        seg.asSlice(0, b.length).copyFrom(MemorySegment.ofArray(b));
        MemoryAccess.setByteAtOffset(seg, b.length, (byte) 0);
        return seg;
    }

    static String statusStr(int status) {
        try {
            return cString((MemoryAddress) STATUS_STR.invokeExact(status));
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Throw MednerException for a failed call; reads medner_last_error() of this thread. */
    private static void check(int rc) throws Throwable {
        if (rc != 0)
            throw new MednerException(rc, cString((MemoryAddress) LAST_ERROR.invokeExact()));
    }

    private static RuntimeException unchecked(Throwable t) {
        if (t instanceof RuntimeException r)
            return r;
        if (t instanceof Error e)
            throw e;
        return new IllegalStateException(t);
    }

    /** Release version of the loaded library, e.g. "0.1.0". */
    public static String version() {
        try {
            return cString((MemoryAddress) VERSION.invokeExact());
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    // ---- the pipeline (shared) and its sessions (one per thread) ----------

    private MemoryAddress pipeline;     // medner_pipeline *, NULL once closed
    private int openSessions;

    /** Load a Hugging Face token-classification model directory (medner_pipeline_create). */
    public Medner(String modelDir) {
        try (ResourceScope scope = ResourceScope.newConfinedScope()) {
            MemorySegment params = MemorySegment.allocateNative(PIPELINE_PARAMS, scope);
            params.fill((byte) 0);            // zero = default, as MEDNER_PIPELINE_PARAMS_INIT
            MemoryAccess.setLongAtOffset(params, offset(PIPELINE_PARAMS, "struct_size"),
                                         PIPELINE_PARAMS.byteSize());
            MemoryAccess.setAddressAtOffset(params, offset(PIPELINE_PARAMS, "model_dir"),
                                            utf8(modelDir, scope).address());
            MemorySegment out = MemorySegment.allocateNative(C_POINTER, scope);
            check((int) PIPELINE_CREATE.invokeExact(out.address(), params.address()));
            pipeline = MemoryAccess.getAddress(out);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    /** A per-thread session (medner_context). Close it before the Medner. */
    public synchronized Session newSession() {
        if (pipeline == null)
            throw new IllegalStateException("closed");
        Session s = new Session(pipeline);
        openSessions++;
        return s;
    }

    private synchronized void sessionClosed() {
        openSessions--;
    }

    /** Free the pipeline (medner_pipeline_free); every session must be closed first. */
    @Override
    public synchronized void close() {
        if (pipeline == null)
            return;
        if (openSessions != 0)
            throw new IllegalStateException("close every Session before the Medner");
        try {
            PIPELINE_FREE.invokeExact(pipeline);
        } catch (Throwable t) {
            throw unchecked(t);
        } finally {
            pipeline = null;
        }
    }

    /** One thread's context: not thread-safe, use one per thread. */
    public final class Session implements AutoCloseable {
        private final MemoryAddress pipe;
        private MemoryAddress context;

        private Session(MemoryAddress pipe) {
            this.pipe = pipe;
            try (ResourceScope scope = ResourceScope.newConfinedScope()) {
                MemorySegment out = MemorySegment.allocateNative(C_POINTER, scope);
                check((int) CONTEXT_CREATE.invokeExact(out.address(), pipe));
                context = MemoryAccess.getAddress(out);
            } catch (Throwable t) {
                throw unchecked(t);
            }
        }

        /** The entities of `text`, with UTF-16 offsets into it. */
        public List<Entity> annotate(String text) {
            if (context == null)
                throw new IllegalStateException("closed");
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            List<Entity> result = new ArrayList<>();
            try (ResourceScope scope = ResourceScope.newConfinedScope()) {
                MemorySegment buf = MemorySegment.allocateNative(Math.max(bytes.length, 1), scope);
                buf.asSlice(0, bytes.length).copyFrom(MemorySegment.ofArray(bytes));
                MemorySegment texts = MemorySegment.allocateNative(C_POINTER, scope);
                MemoryAccess.setAddress(texts, buf.address());
                MemorySegment lens = MemorySegment.allocateNative(C_LONG, scope);
                MemoryAccess.setLong(lens, bytes.length);
                MemorySegment out = MemorySegment.allocateNative(C_POINTER, scope);
                check((int) ANNOTATE.invokeExact(out.address(), pipe, context, texts.address(),
                                                 lens.address(), 1L));
                MemoryAddress ents = MemoryAccess.getAddress(out);
                try {
                    MemorySegment e = MemorySegment.allocateNative(ENTITY, scope);
                    MemorySegment begin = MemorySegment.allocateNative(C_LONG, scope);
                    MemorySegment end = MemorySegment.allocateNative(C_LONG, scope);
                    long n = (long) ENTITIES_COUNT.invokeExact(ents);
                    for (long i = 0; i < n; i++) {
                        e.fill((byte) 0);
                        MemoryAccess.setLongAtOffset(e, offset(ENTITY, "struct_size"),
                                                     ENTITY.byteSize());
                        check((int) ENTITIES_GET.invokeExact(ents, i, e.address()));
                        check((int) ENTITIES_SPAN_UTF16.invokeExact(ents, i, begin.address(),
                                                                    end.address()));
                        int b = Math.toIntExact(MemoryAccess.getLong(begin));
                        int f = Math.toIntExact(MemoryAccess.getLong(end));
                        String label = cString(
                                MemoryAccess.getAddressAtOffset(e, offset(ENTITY, "label")));
                        double score = MemoryAccess.getDoubleAtOffset(e, offset(ENTITY, "score"));
                        int flags = MemoryAccess.getIntAtOffset(e, offset(ENTITY, "context"));
                        int sec = MemoryAccess.getIntAtOffset(e, offset(ENTITY, "section"));
                        long sentence = MemoryAccess.getLongAtOffset(e, offset(ENTITY, "sentence"));
                        String section = null;
                        if (sentence != -1L) // SIZE_MAX: context did not run
                            section = cString((MemoryAddress) SECTION_NAME.invokeExact(sec));
                        else
                            sentence = -1L;
                        result.add(new Entity(label, b, f, score, text.substring(b, f), flags,
                                              section, sentence));
                    }
                } finally {
                    ENTITIES_FREE.invokeExact(ents);
                }
            } catch (Throwable t) {
                throw unchecked(t);
            }
            return result;
        }

        /** Free the context (medner_context_free). */
        @Override
        public void close() {
            if (context == null)
                return;
            try {
                CONTEXT_FREE.invokeExact(context);
            } catch (Throwable t) {
                throw unchecked(t);
            } finally {
                context = null;
                sessionClosed();
            }
        }
    }

    // ---- command line -----------------------------------------------------

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true,
                                          StandardCharsets.UTF_8);
        if (args.length == 1 && args[0].equals("--layouts")) {
            // for the layout check against sizeof/offsetof in examples/java/test-java.sh
            for (var l : List.of(PIPELINE_PARAMS, ENTITY)) {
                String name = l == ENTITY ? "medner_entity" : "medner_pipeline_params";
                out.printf(Locale.ROOT, "%s sizeof %d%n", name, l.byteSize());
                for (MemoryLayout m : l.memberLayouts())
                    out.printf(Locale.ROOT, "%s %s %d%n", name, m.name().orElseThrow(),
                               offset(l, m.name().orElseThrow()));
            }
            return;
        }
        if (args.length != 2) {
            System.err.println("usage: Medner MODEL_DIR NOTE_FILE   (or --layouts)");
            System.exit(2);
        }
        String note = Files.readString(Path.of(args[1]), StandardCharsets.UTF_8);
        try (Medner medner = new Medner(args[0]); Session session = medner.newSession()) {
            for (Entity e : session.annotate(note))
                out.printf(Locale.ROOT, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%d%n", e.start(), e.end(),
                           e.label(), Double.toString(e.score()), e.text(), e.flags(),
                           e.section() == null ? "-" : e.section(), e.sentence());
        } catch (MednerException e) {
            System.err.println("medner " + version() + ": " + e.getMessage());
            System.exit(1);
        }
    }
}
