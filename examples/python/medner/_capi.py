"""ctypes declarations of include/medner.h: library lookup, structs, prototypes.

Everything here mirrors the C header one to one; the friendly API lives in
pipeline.py and tokenizer.py.  The structs must have exactly the C layout
(tests/test_structs.py compares every size and field offset with a C program
compiled against include/medner.h).

The library is opened with ctypes.CDLL, so every call into it releases the
GIL for its duration (CPython's _ctypes drops the GIL around a foreign call
unless the function comes from a PyDLL).  Other Python threads keep running
while medner tokenizes or runs the encoder.
"""

import ctypes
import ctypes.util
import os
import pathlib

from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_float, c_int, c_int32,
                    c_size_t, c_uint8, c_uint32, c_uint64, c_void_p)

#: Oldest library release this module works with: 0.4.0, the first with the
#: out-parameter-first UTF-8 offset converters it calls (struct layouts: 0.1.0
#: and later are all read correctly).
MIN_VERSION_NUMBER = 400

# ---------------------------------------------------------------------------- library lookup


class LibraryNotFoundError(ImportError):
    """libmedner.so could not be found or loaded."""


def _bundled_library():
    """medner/_lib/libmedner.so.0: the copy a wheel (setup.py) ships inside
    the package.  Its dependencies (libutf8proc, libyaml) are found through
    its RPATH in medner.libs/ after `auditwheel repair`, else on the system."""
    lib = pathlib.Path(__file__).resolve().parent / "_lib" / "libmedner.so.0"
    return str(lib) if lib.is_file() else None


def _source_tree_library():
    """lib/libmedner.so.0 of the repository this package sits in, when it is
    run from the source tree (examples/python/medner -> repository root)."""
    root = pathlib.Path(__file__).resolve().parent.parent.parent.parent
    lib = root / "lib" / "libmedner.so.0"
    if (root / "include" / "medner.h").is_file() and lib.exists():
        return str(lib)
    return None


def _load():
    """Open the library: $MEDNER_LIBRARY, else the copy bundled in the
    package (medner/_lib/, a wheel), else the source tree's lib/, else
    ctypes.util.find_library("medner") (ldconfig cache, LD_LIBRARY_PATH,
    the compiler's search path).  Returns (CDLL, path, how)."""
    env = os.environ.get("MEDNER_LIBRARY")
    if env:
        # An explicit choice is never silently replaced by another copy.
        try:
            return ctypes.CDLL(env), env, "MEDNER_LIBRARY"
        except OSError as e:
            raise LibraryNotFoundError(f"medner: cannot load MEDNER_LIBRARY={env}: {e}") from None
    tried = ["$MEDNER_LIBRARY (not set)"]
    for how, find, missing in (
            ("bundled", _bundled_library, "the package's _lib/ (not installed from a wheel)"),
            ("source tree", _source_tree_library,
             "the source tree's lib/ (not run from a built source tree)")):
        path = find()
        if path is None:
            tried.append(missing)
            continue
        try:
            return ctypes.CDLL(path), path, how
        except OSError as e:
            tried.append(f"{path}: {e}")
    name = ctypes.util.find_library("medner")
    if name is not None:
        try:
            return ctypes.CDLL(name), name, "find_library"
        except OSError as e:
            tried.append(f"{name}: {e}")
    else:
        tried.append('ctypes.util.find_library("medner") (found nothing)')
    raise LibraryNotFoundError("medner: libmedner.so not found; tried " + "; ".join(tried) +
                               ". Build it with `make`, install the wheel, or set "
                               "MEDNER_LIBRARY to its path.")


lib, LIBRARY_PATH, LIBRARY_FOUND_BY = _load()

# ---------------------------------------------------------------------------- enums
# C enums are int-sized on every ABI medner supports (GCC/Clang, values fit in int).
c_enum = c_int

OK = 0
E_INVALID_ARGUMENT = -1
E_OUT_OF_MEMORY = -2
E_IO = -3
E_PARSE = -4
E_INVALID_UTF8 = -5
E_UNSUPPORTED = -6
E_INVALID_MODEL = -7
E_INVALID_CONFIG = -8
E_LIMIT = -9
E_BUSY = -10
E_INTERNAL = -11
E_CANCELLED = -12
E_DIVERGED = -13

LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG = 0, 1, 2, 3

DEFAULT, ON, OFF = 0, 1, 2                                  # medner_switch
# explicit_fields bits (0.3): the named zero fields are taken as written
PIPELINE_EXPLICIT_OVERLAP = 0x1
PIPELINE_EXPLICIT_SEGMENT = 0x2                             # 0.4
DECODER_EXPLICIT_IGNORE_LABELS = 0x1
DECODER_EXPLICIT_MIN_SCORE = 0x2

AGGREGATION = {"none": 1, "simple": 2, "first": 3, "average": 4, "max": 5}
DECODING = {"argmax": 1, "constrained": 2}
SCHEME = {"auto": 0, "io": 1, "bio": 2, "bioes": 3}
MERGE = {"hf": 1, "center": 2}
SEGMENT = {"none": 0, "sentence": 1}                       # medner_segment (0.4)
PRECISION = {"fp32": 1, "bf16": 2, "int8": 3, "auto": 4}

# medner_context_flag bits, by the name Entity uses
CONTEXT_FLAGS = {"negated": 1, "uncertain": 2, "historical": 4, "hypothetical": 8, "family": 16}
SIZE_MAX = ctypes.c_size_t(-1).value

TOKEN_PAD, TOKEN_UNK, TOKEN_CLS, TOKEN_SEP, TOKEN_MASK = 0, 1, 2, 3, 4

# ---------------------------------------------------------------------------- opaque handles


class Tokenizer(Structure):
    """struct medner_tokenizer (opaque)."""


class Encoding(Structure):
    """struct medner_encoding (opaque)."""


class Encoder(Structure):
    """struct medner_encoder (opaque)."""


class Context(Structure):
    """struct medner_context (opaque)."""


class Decoder(Structure):
    """struct medner_decoder (opaque)."""


class Entities(Structure):
    """struct medner_entities (opaque)."""


class Pipeline(Structure):
    """struct medner_pipeline (opaque)."""


class Spans(Structure):
    """struct medner_spans (opaque)."""


class ContextRules(Structure):
    """struct medner_context_rules (opaque)."""


# ---------------------------------------------------------------------------- params structs


class _Sized(Structure):
    """A struct whose first field is `size_t struct_size`: the constructor
    sets it to sizeof, as the MEDNER_*_INIT macros do.  A params struct
    (`_default` names its medner_*_params_default() function, 0.3) gets its
    defaults from the library itself, so a default that is not zero would be
    honoured; the others start all zero, as their _INIT macros.  Keyword
    arguments are then set on top."""

    _default = None

    def __init__(self, **fields):
        super().__init__()
        if self._default is not None:
            rc = getattr(lib, self._default)(ctypes.byref(self), ctypes.sizeof(self))
            if rc != OK:
                raise ValueError(f"{self._default}: status {rc}: "
                                 f"{lib.medner_last_error().decode('utf-8', 'replace')}")
        for name, value in fields.items():
            setattr(self, name, value)
        self.struct_size = ctypes.sizeof(self)


class AllocatorStruct(_Sized):
    _fields_ = [("struct_size", c_size_t),
                ("alloc_fn", c_void_p),
                ("realloc_fn", c_void_p),
                ("free_fn", c_void_p),
                ("user_data", c_void_p)]


class TokenizerParams(_Sized):
    _default = "medner_tokenizer_params_default"
    _fields_ = [("struct_size", c_size_t),
                ("lowercase", c_enum),
                ("strip_accents", c_enum),
                ("chinese_chars", c_enum),
                ("clean_text", c_enum),
                ("max_input_chars_per_word", c_uint32),
                ("model_max_length", c_uint32),
                ("unk_token", c_char_p),
                ("cls_token", c_char_p),
                ("sep_token", c_char_p),
                ("pad_token", c_char_p),
                ("mask_token", c_char_p)]


class EncodeParams(_Sized):
    _default = "medner_encode_params_default"
    _fields_ = [("struct_size", c_size_t),
                ("max_length", c_uint32),
                ("overlap", c_uint32),
                ("special_tokens", c_enum),
                ("reserved", c_uint32)]


class Window(_Sized):
    _fields_ = [("struct_size", c_size_t),
                ("length", c_size_t),
                ("ids", POINTER(c_int32)),
                ("type_ids", POINTER(c_int32)),
                ("attention_mask", POINTER(c_uint8)),
                ("special_mask", POINTER(c_uint8)),
                ("word_ids", POINTER(c_int32)),
                ("offsets", POINTER(c_size_t)),
                ("first_token", c_size_t)]


class EncoderParams(_Sized):
    _default = "medner_encoder_params_default"
    _fields_ = [("struct_size", c_size_t),
                ("threads", c_uint32),
                ("reserved", c_uint32),
                ("adapter_dir", c_char_p),
                # appended in 0.2
                ("precision", c_enum),
                ("reserved2", c_uint32)]


class EncoderInfo(_Sized):
    _fields_ = [("struct_size", c_size_t),
                ("model_type", c_char_p),
                ("architecture", c_char_p),
                ("activation", c_char_p),
                ("dtype", c_char_p),
                ("layers", c_size_t),
                ("hidden_size", c_size_t),
                ("heads", c_size_t),
                ("intermediate_size", c_size_t),
                ("vocab_size", c_size_t),
                ("max_positions", c_size_t),
                ("type_vocab_size", c_size_t),
                ("num_labels", c_size_t),
                ("n_params", c_size_t),
                ("file_bytes", c_size_t),
                ("n_files", c_size_t),
                ("layer_norm_eps", c_double),
                # appended in 0.2
                ("precision", c_char_p),
                ("kernels", c_char_p)]


class DecoderParams(_Sized):
    _default = "medner_decoder_params_default"
    _fields_ = [("struct_size", c_size_t),
                ("aggregation", c_enum),
                ("decoding", c_enum),
                ("scheme", c_enum),
                ("reserved", c_uint32),
                ("min_score", c_double),
                ("ignore_labels", POINTER(c_char_p)),
                ("n_ignore_labels", c_size_t),
                ("keep_labels", POINTER(c_char_p)),
                ("n_keep_labels", c_size_t),
                ("rename_from", POINTER(c_char_p)),
                ("rename_to", POINTER(c_char_p)),
                ("n_renames", c_size_t),
                # appended in 0.3
                ("explicit_fields", c_uint32),
                ("reserved2", c_uint32)]


class EntityStruct(_Sized):
    _fields_ = [("struct_size", c_size_t),
                ("begin", c_size_t),
                ("end", c_size_t),
                ("label", c_char_p),
                ("score", c_double),
                ("first_token", c_size_t),
                ("n_tokens", c_size_t),
                # appended in 0.2
                ("context", c_uint32),
                ("section", c_int32),
                ("sentence", c_size_t)]


class PipelineParams(_Sized):
    _default = "medner_pipeline_params_default"
    _fields_ = [("struct_size", c_size_t),
                ("model_dir", c_char_p),
                ("adapter_dir", c_char_p),
                ("max_length", c_uint32),
                ("overlap", c_uint32),
                ("batch_size", c_uint32),
                ("threads", c_uint32),
                ("merge", c_enum),
                ("first_window_only", c_enum),
                ("encoder_threads", c_uint32),
                ("reserved", c_uint32),
                ("decoder", POINTER(DecoderParams)),
                # appended in 0.2
                ("context", c_enum),
                ("reserved2", c_uint32),
                ("context_rules", c_char_p),
                ("precision", c_enum),
                ("reserved3", c_uint32),
                # appended in 0.3
                ("explicit_fields", c_uint32),
                ("segment", c_enum),            # medner_segment (0.4; was reserved4)
                ("progress", c_void_p),
                ("abort_callback", c_void_p),
                ("callback_user_data", c_void_p),
                ("tokenizer", c_void_p)]


class Progress(_Sized):
    """medner_progress (0.3): what a pipeline's progress callback receives."""
    _fields_ = [("struct_size", c_size_t),
                ("texts_done", c_size_t),
                ("n_texts", c_size_t),
                ("windows_done", c_size_t),
                ("bytes_done", c_size_t),
                ("total_bytes", c_size_t)]


class TrainProgress(_Sized):
    """medner_train_progress (EXPERIMENTAL training API; read-only in callbacks)."""
    _fields_ = [("struct_size", c_size_t),
                ("event", c_enum),
                ("epoch", c_uint32),
                ("epochs", c_uint32),
                ("reserved", c_uint32),
                ("step", c_uint64),
                ("total_steps", c_uint64),
                ("loss", c_double),
                ("learning_rate", c_double),
                ("grad_norm", c_double),
                ("tokens_per_s", c_double),
                ("elapsed_s", c_double),
                ("has_dev", c_int),
                ("improved", c_int),
                ("dev_loss", c_double),
                ("dev_precision", c_double),
                ("dev_recall", c_double),
                ("dev_f1", c_double)]


#: int (*medner_train_callback)(const medner_train_progress *, void *)
TrainCallback = CFUNCTYPE(c_int, POINTER(TrainProgress), c_void_p)


class TrainParams(_Sized):
    """medner_train_params (EXPERIMENTAL training API)."""
    _fields_ = [("struct_size", c_size_t),
                ("base_dir", c_char_p),
                ("train_path", c_char_p),
                ("dev_path", c_char_p),
                ("out_dir", c_char_p),
                ("learning_rate", c_double),
                ("warmup_ratio", c_double),
                ("weight_decay", c_double),
                ("max_grad_norm", c_double),
                ("hidden_dropout", c_double),
                ("attention_dropout", c_double),
                ("seed", c_uint64),
                ("warmup_steps", c_uint64),
                ("max_steps", c_uint64),
                ("save_steps", c_uint64),
                ("epochs", c_uint32),
                ("batch_size", c_uint32),
                ("grad_accum", c_uint32),
                ("threads", c_uint32),
                ("max_length", c_uint32),
                ("patience", c_uint32),
                ("scheme", c_enum),
                ("resume", c_enum),
                ("unknown_labels_error", c_enum),
                ("shuffle", c_enum),
                ("callback", TrainCallback),
                ("user_data", c_void_p),
                ("types", c_char_p),
                # appended after the first version: LoRA through the trainer
                ("lora_r", c_uint32),
                ("lora_alpha", c_float),
                ("lora_dropout", c_double),
                ("lora_targets", c_char_p),
                ("lora_modules_to_save", c_char_p),
                # appended after LoRA: mixed precision (medner_precision)
                ("precision", c_enum),
                ("reserved_precision", c_uint32)]


class TrainInfo(_Sized):
    """medner_train_info (EXPERIMENTAL training API)."""
    _fields_ = [("struct_size", c_size_t),
                ("num_labels", c_size_t),
                ("train_sequences", c_size_t),
                ("dev_sequences", c_size_t),
                ("train_tokens", c_size_t),
                ("truncated", c_size_t),
                ("unknown_dev_tags", c_size_t),
                ("total_steps", c_uint64),
                ("step", c_uint64),
                ("epoch", c_uint32),
                ("best_epoch", c_uint32),
                ("best_dev_f1", c_double),
                ("stop", c_enum),
                ("resumed", c_uint32),
                ("unknown_tags", c_char_p)]


#: void (*medner_progress_fn)(const medner_progress *, void *)
ProgressFn = CFUNCTYPE(None, POINTER(Progress), c_void_p)
#: int (*medner_abort_fn)(void *)
AbortFn = CFUNCTYPE(c_int, c_void_p)

#: C struct name -> ctypes mirror (used by the layout test).
STRUCTS = {
    "medner_allocator": AllocatorStruct,
    "medner_tokenizer_params": TokenizerParams,
    "medner_encode_params": EncodeParams,
    "medner_window": Window,
    "medner_encoder_params": EncoderParams,
    "medner_encoder_info": EncoderInfo,
    "medner_decoder_params": DecoderParams,
    "medner_entity": EntityStruct,
    "medner_pipeline_params": PipelineParams,
    "medner_progress": Progress,
    "medner_train_progress": TrainProgress,
    "medner_train_params": TrainParams,
    "medner_train_info": TrainInfo,
}

LogFn = CFUNCTYPE(None, c_enum, c_char_p, c_void_p)

# ---------------------------------------------------------------------------- prototypes


def _proto(name, restype, *argtypes):
    try:
        f = getattr(lib, name)
    except AttributeError:
        raise LibraryNotFoundError(
            f"medner: {LIBRARY_PATH} has no {name}: the library is older than this package "
            f"(which needs the 0.3 API, version node medner_0.3)") from None
    f.restype = restype
    f.argtypes = list(argtypes)


P = POINTER
_proto("medner_version", c_char_p)
_proto("medner_version_number", c_int)
# before the other prototypes: an older library lacks some of their symbols
if lib.medner_version_number() < MIN_VERSION_NUMBER:
    raise LibraryNotFoundError(
        f"medner: {LIBRARY_PATH} is version {lib.medner_version().decode()}, older than the "
        f"{MIN_VERSION_NUMBER // 10000}.{MIN_VERSION_NUMBER // 100 % 100}."
        f"{MIN_VERSION_NUMBER % 100} this package needs")
_proto("medner_status_str", c_char_p, c_int)
_proto("medner_last_error", c_char_p)
_proto("medner_log_set_callback", c_int, LogFn, c_enum, c_void_p)
_proto("medner_allocator_set", c_int, P(AllocatorStruct))

_proto("medner_tokenizer_load", c_int, P(P(Tokenizer)), c_char_p, P(TokenizerParams))
_proto("medner_tokenizer_load_vocab", c_int, P(P(Tokenizer)), c_char_p, P(TokenizerParams))
_proto("medner_tokenizer_free", None, P(Tokenizer))
_proto("medner_tokenizer_vocab_size", c_size_t, P(Tokenizer))
_proto("medner_tokenizer_id_to_token", c_char_p, P(Tokenizer), c_int32)
_proto("medner_tokenizer_token_to_id", c_int32, P(Tokenizer), c_char_p, c_size_t)
_proto("medner_tokenizer_special_id", c_int32, P(Tokenizer), c_enum)
_proto("medner_tokenizer_encode", c_int, P(P(Encoding)), P(Tokenizer), c_char_p, c_size_t,
       P(EncodeParams))
_proto("medner_encoding_free", None, P(Encoding))
_proto("medner_encoding_num_windows", c_size_t, P(Encoding))
_proto("medner_encoding_num_tokens", c_size_t, P(Encoding))

_proto("medner_encoder_label", c_char_p, P(Encoder), c_size_t)
_proto("medner_context_free", None, P(Context))

_proto("medner_entities_count", c_size_t, P(Entities))
_proto("medner_entities_num_tokens", c_size_t, P(Entities))
_proto("medner_entities_free", None, P(Entities))

_proto("medner_pipeline_create", c_int, P(P(Pipeline)), P(PipelineParams))
_proto("medner_pipeline_load_config", c_int, P(P(Pipeline)), c_char_p, P(PipelineParams))
_proto("medner_pipeline_free", None, P(Pipeline))
_proto("medner_pipeline_encoder", P(Encoder), P(Pipeline))
_proto("medner_pipeline_context_create", c_int, P(P(Context)), P(Pipeline))
_proto("medner_pipeline_annotate", c_int, P(P(Entities)), P(Pipeline), P(Context),
       P(c_char_p), P(c_size_t), c_size_t)

_proto("medner_utf8_codepoint_offsets", c_int, P(c_size_t), c_char_p, c_size_t, P(c_size_t),
       c_size_t)
_proto("medner_utf8_utf16_offsets", c_int, P(c_size_t), c_char_p, c_size_t, P(c_size_t),
       c_size_t)
_proto("medner_utf8_check", c_int, P(c_size_t), c_char_p, c_size_t)
# 0.2: clinical context
_proto("medner_section_name", c_char_p, c_enum)
_proto("medner_sentences_split", c_int, P(P(Spans)), c_char_p, c_size_t)
_proto("medner_sections_detect", c_int, P(P(Spans)), c_char_p, c_size_t)
_proto("medner_spans_count", c_size_t, P(Spans))
_proto("medner_spans_free", None, P(Spans))
_proto("medner_context_rules_load", c_int, P(P(ContextRules)), c_char_p)
_proto("medner_context_rules_free", None, P(ContextRules))
_proto("medner_context_apply", c_int, P(P(Entities)), P(ContextRules), c_char_p, c_size_t,
       P(c_size_t), P(c_size_t), P(c_char_p), c_size_t)
# 0.3 (issue 19): params defaults, per-text annotate, memory statistics,
# decoding an integrator's logits, and the out-parameters-first getters (the
# 0.1 spellings they replace are deprecated and no longer declared here)
_proto("medner_tokenizer_params_default", c_int, P(TokenizerParams), c_size_t)
_proto("medner_encode_params_default", c_int, P(EncodeParams), c_size_t)
_proto("medner_encoder_params_default", c_int, P(EncoderParams), c_size_t)
_proto("medner_decoder_params_default", c_int, P(DecoderParams), c_size_t)
_proto("medner_pipeline_params_default", c_int, P(PipelineParams), c_size_t)
_proto("medner_pipeline_annotate_each", c_int, P(P(Entities)), P(c_int), P(c_size_t),
       P(Pipeline), P(Context), P(c_char_p), P(c_size_t), c_size_t)
_proto("medner_memory_used", c_size_t)
_proto("medner_memory_highwater", c_size_t, c_int)
_proto("medner_decoder_num_labels", c_size_t, P(Decoder))
_proto("medner_decoder_decode", c_int, P(P(Entities)), P(Decoder), P(Tokenizer), P(Encoding),
       P(P(c_float)), c_size_t, c_enum, c_char_p, c_size_t)
_proto("medner_pipeline_tokenizer", P(Tokenizer), P(Pipeline))
_proto("medner_pipeline_decoder", P(Decoder), P(Pipeline))
_proto("medner_tokenizer_params_get", c_int, P(TokenizerParams), P(Tokenizer))
_proto("medner_window_get", c_int, P(Window), P(Encoding), c_size_t)
_proto("medner_encoder_info_get", c_int, P(EncoderInfo), P(Encoder))
_proto("medner_entity_get", c_int, P(EntityStruct), P(Entities), c_size_t)
_proto("medner_entity_span_codepoints", c_int, P(c_size_t), P(c_size_t), P(Entities), c_size_t)
_proto("medner_entity_span_utf16", c_int, P(c_size_t), P(c_size_t), P(Entities), c_size_t)
_proto("medner_span_get", c_int, P(c_size_t), P(c_size_t), P(c_int32), P(Spans), c_size_t)
_proto("medner_pipeline_params_get", c_int, P(PipelineParams), P(Pipeline))
# medner's own encoder on token ids (Pipeline.logits(): the stand-in "own encoder")
_proto("medner_context_create", c_int, P(P(Context)), P(Encoder))
_proto("medner_encoder_run", c_int, P(Context), P(P(c_int32)), P(P(c_int32)), P(c_size_t),
       c_size_t)
_proto("medner_context_logits", P(c_float), P(Context), c_size_t)
del P

