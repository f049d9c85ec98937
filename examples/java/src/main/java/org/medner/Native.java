/*
 * The C declarations of include/medner.h that the Java binding uses, through
 * the Foreign Function & Memory API (java.lang.foreign, final since JDK 22).
 * Package-private: Pipeline is the public face.
 */
package org.medner;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.List;

final class Native {
    private Native() {
    }

    static final Linker LINKER = Linker.nativeLinker();

    /** size_t: the platform's canonical layout; the binding supports 64-bit size_t only. */
    static final ValueLayout.OfLong SIZE_T;
    static {
        MemoryLayout s = LINKER.canonicalLayouts().get("size_t");
        if (!(s instanceof ValueLayout.OfLong l))
            throw new UnsupportedOperationException("medner's Java binding needs a 64-bit size_t, "
                                                    + "found " + s);
        SIZE_T = l;
    }

    /** medner_pipeline_params (uint32_t, medner_switch/merge/precision enums: 32-bit ints).
     *  Checked against offsetof() by examples/java/test-java.sh. */
    static final StructLayout PIPELINE_PARAMS = MemoryLayout.structLayout(
            SIZE_T.withName("struct_size"),
            ADDRESS.withName("model_dir"),
            ADDRESS.withName("adapter_dir"),
            JAVA_INT.withName("max_length"),
            JAVA_INT.withName("overlap"),
            JAVA_INT.withName("batch_size"),
            JAVA_INT.withName("threads"),
            JAVA_INT.withName("merge"),
            JAVA_INT.withName("first_window_only"),
            JAVA_INT.withName("encoder_threads"),
            JAVA_INT.withName("reserved"),
            ADDRESS.withName("decoder"),
            // appended in 0.2
            JAVA_INT.withName("context"),
            JAVA_INT.withName("reserved2"),
            ADDRESS.withName("context_rules"),
            JAVA_INT.withName("precision"),
            JAVA_INT.withName("reserved3"),
            // appended in 0.3 (issue 19)
            JAVA_INT.withName("explicit_fields"),
            JAVA_INT.withName("segment"),            // medner_segment (0.4; was reserved4)
            ADDRESS.withName("progress"),
            ADDRESS.withName("abort_callback"),
            ADDRESS.withName("callback_user_data"),
            ADDRESS.withName("tokenizer"));

    /** medner_pipeline_params.explicit_fields: segment is taken as written (0.4). */
    static final int PIPELINE_EXPLICIT_SEGMENT = 0x2;

    /** medner_entity. */
    static final StructLayout ENTITY = MemoryLayout.structLayout(
            SIZE_T.withName("struct_size"),
            SIZE_T.withName("begin"),
            SIZE_T.withName("end"),
            ADDRESS.withName("label"),
            JAVA_DOUBLE.withName("score"),
            SIZE_T.withName("first_token"),
            SIZE_T.withName("n_tokens"),
            // appended in 0.2
            JAVA_INT.withName("context"),
            JAVA_INT.withName("section"),
            SIZE_T.withName("sentence"));

    /** medner_progress (0.3): what the progress callback receives. */
    static final StructLayout PROGRESS = MemoryLayout.structLayout(
            SIZE_T.withName("struct_size"),
            SIZE_T.withName("texts_done"),
            SIZE_T.withName("n_texts"),
            SIZE_T.withName("windows_done"),
            SIZE_T.withName("bytes_done"),
            SIZE_T.withName("total_bytes"));

    /** medner_encode_params (medner_switch special_tokens: a 32-bit int). */
    static final StructLayout ENCODE_PARAMS = MemoryLayout.structLayout(
            SIZE_T.withName("struct_size"),
            JAVA_INT.withName("max_length"),
            JAVA_INT.withName("overlap"),
            JAVA_INT.withName("special_tokens"),
            JAVA_INT.withName("reserved"));

    /** medner_window: one window of an encoding (arrays borrowed from it). */
    static final StructLayout WINDOW = MemoryLayout.structLayout(
            SIZE_T.withName("struct_size"),
            SIZE_T.withName("length"),
            ADDRESS.withName("ids"),
            ADDRESS.withName("type_ids"),
            ADDRESS.withName("attention_mask"),
            ADDRESS.withName("special_mask"),
            ADDRESS.withName("word_ids"),
            ADDRESS.withName("offsets"),
            SIZE_T.withName("first_token"));

    /** Every struct mapped here, by its C name (for the layout check). */
    static final List<StructLayout> STRUCTS = List.of(
            PIPELINE_PARAMS.withName("medner_pipeline_params"),
            ENTITY.withName("medner_entity"),
            PROGRESS.withName("medner_progress"),
            ENCODE_PARAMS.withName("medner_encode_params"),
            WINDOW.withName("medner_window"));

    static long offset(StructLayout layout, String field) {
        return layout.byteOffset(PathElement.groupElement(field));
    }

    /** The loaded libmedner: -Dmedner.library=PATH, else $MEDNER_LIBRARY, else
     *  System.loadLibrary("medner") (java.library.path, libmedner.so). */
    private static final SymbolLookup LOOKUP;
    static {
        String lib = System.getProperty("medner.library");
        if (lib == null || lib.isEmpty())
            lib = System.getenv("MEDNER_LIBRARY");
        try {
            if (lib != null && !lib.isEmpty())
                System.load(Path.of(lib).toAbsolutePath().toString());
            else
                System.loadLibrary("medner");
        } catch (UnsatisfiedLinkError e) {
            UnsatisfiedLinkError why = new UnsatisfiedLinkError(
                    "cannot load libmedner (" + e.getMessage() + "): build it with make and pass "
                    + "-Dmedner.library=PATH, set MEDNER_LIBRARY, or add its directory to "
                    + "java.library.path");
            why.initCause(e);
            throw why;
        }
        LOOKUP = SymbolLookup.loaderLookup();
    }

    private static MethodHandle fn(String name, FunctionDescriptor desc) {
        return LINKER.downcallHandle(
                LOOKUP.find(name).orElseThrow(() -> new UnsatisfiedLinkError(
                        "libmedner has no symbol " + name + " (an older library?)")),
                desc);
    }

    static final MethodHandle VERSION = fn("medner_version", FunctionDescriptor.of(ADDRESS));
    static final MethodHandle STATUS_STR =
            fn("medner_status_str", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final MethodHandle LAST_ERROR = fn("medner_last_error", FunctionDescriptor.of(ADDRESS));
    static final MethodHandle PIPELINE_CREATE =
            fn("medner_pipeline_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle PIPELINE_LOAD_CONFIG =
            fn("medner_pipeline_load_config",
               FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    /** medner_pipeline_params_get(out, pipeline) (0.3; replaces medner_pipeline_get_params). */
    static final MethodHandle PIPELINE_PARAMS_GET =
            fn("medner_pipeline_params_get", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle PIPELINE_PARAMS_DEFAULT =
            fn("medner_pipeline_params_default", FunctionDescriptor.of(JAVA_INT, ADDRESS, SIZE_T));
    static final MethodHandle PIPELINE_FREE =
            fn("medner_pipeline_free", FunctionDescriptor.ofVoid(ADDRESS));
    static final MethodHandle CONTEXT_CREATE =
            fn("medner_pipeline_context_create",
               FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle CONTEXT_FREE =
            fn("medner_context_free", FunctionDescriptor.ofVoid(ADDRESS));
    static final MethodHandle ANNOTATE =
            fn("medner_pipeline_annotate",
               FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                                     SIZE_T));
    static final MethodHandle ENTITIES_COUNT =
            fn("medner_entities_count", FunctionDescriptor.of(SIZE_T, ADDRESS));
    /** medner_entity_get(out, entities, index) (0.3; replaces medner_entities_get). */
    static final MethodHandle ENTITY_GET =
            fn("medner_entity_get", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, SIZE_T));
    /** medner_entity_span_utf16(begin, end, entities, index) (0.3). */
    static final MethodHandle ENTITY_SPAN_UTF16 =
            fn("medner_entity_span_utf16",
               FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, SIZE_T));
    static final MethodHandle SECTION_NAME =
            fn("medner_section_name", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final MethodHandle ENTITIES_FREE =
            fn("medner_entities_free", FunctionDescriptor.ofVoid(ADDRESS));

    // ---- 0.3 (issue 19)
    static final MethodHandle ANNOTATE_EACH =
            fn("medner_pipeline_annotate_each",
               FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                                     ADDRESS, SIZE_T));
    static final MethodHandle MEMORY_USED = fn("medner_memory_used", FunctionDescriptor.of(SIZE_T));
    static final MethodHandle MEMORY_HIGHWATER =
            fn("medner_memory_highwater", FunctionDescriptor.of(SIZE_T, JAVA_INT));
    static final MethodHandle PIPELINE_TOKENIZER =
            fn("medner_pipeline_tokenizer", FunctionDescriptor.of(ADDRESS, ADDRESS));
    static final MethodHandle PIPELINE_DECODER =
            fn("medner_pipeline_decoder", FunctionDescriptor.of(ADDRESS, ADDRESS));
    static final MethodHandle PIPELINE_ENCODER =
            fn("medner_pipeline_encoder", FunctionDescriptor.of(ADDRESS, ADDRESS));
    static final MethodHandle DECODER_NUM_LABELS =
            fn("medner_decoder_num_labels", FunctionDescriptor.of(SIZE_T, ADDRESS));
    static final MethodHandle DECODER_DECODE =
            fn("medner_decoder_decode",
               FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, SIZE_T,
                                     JAVA_INT, ADDRESS, SIZE_T));
    static final MethodHandle ENCODE_PARAMS_DEFAULT =
            fn("medner_encode_params_default", FunctionDescriptor.of(JAVA_INT, ADDRESS, SIZE_T));
    static final MethodHandle TOKENIZER_ENCODE =
            fn("medner_tokenizer_encode",
               FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, SIZE_T, ADDRESS));
    static final MethodHandle ENCODING_FREE =
            fn("medner_encoding_free", FunctionDescriptor.ofVoid(ADDRESS));
    static final MethodHandle ENCODING_NUM_WINDOWS =
            fn("medner_encoding_num_windows", FunctionDescriptor.of(SIZE_T, ADDRESS));
    static final MethodHandle WINDOW_GET =
            fn("medner_window_get", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, SIZE_T));
    static final MethodHandle ENCODER_RUN =
            fn("medner_encoder_run",
               FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, SIZE_T));
    static final MethodHandle CONTEXT_LOGITS =
            fn("medner_context_logits", FunctionDescriptor.of(ADDRESS, ADDRESS, SIZE_T));

    /** void (*medner_progress_fn)(const medner_progress *, void *) */
    static final FunctionDescriptor PROGRESS_FN = FunctionDescriptor.ofVoid(ADDRESS, ADDRESS);
    /** int (*medner_abort_fn)(void *) */
    static final FunctionDescriptor ABORT_FN = FunctionDescriptor.of(JAVA_INT, ADDRESS);

    /** A NUL-terminated UTF-8 string owned by the library (static or borrowed). */
    static String cString(MemorySegment p) {
        if (p.equals(MemorySegment.NULL))
            return null;
        return p.reinterpret(Long.MAX_VALUE).getString(0);
    }

    static String statusStr(int status) {
        try {
            return cString((MemorySegment) STATUS_STR.invokeExact(status));
        } catch (Throwable t) {
            throw MednerException.rethrow(t);
        }
    }

    /** Throw MednerException for a failed call; reads medner_last_error() of this
     *  (OS) thread first, so call it right after the failed downcall. */
    static void check(int rc) throws Throwable {
        if (rc != 0) {
            String detail = cString((MemorySegment) LAST_ERROR.invokeExact());
            throw new MednerException(rc, statusStr(rc), detail);
        }
    }
}
