"""Shared pieces of the clinical-context evaluation scripts (context_maccrobat.py,
context_sentences.py): running medner's ConText (CLI `medner context`, or
in-process through ctypes) and medspaCy 1.3.1's ConText on the same spans, and
the scores.

Developer / benchmark tool, not part of `make test`.  Needs medspacy==1.3.1
(tests/reference/requirements-context.txt; `make bench-context` puts it in the
virtual environment .cache/venv-context, because medspaCy pins numpy<2 while
the other reference scripts use numpy 2).

Spans everywhere are (start, end, label) in code points (Python str indices).
Flags are dicts {"negated", "uncertain", "historical", "hypothetical",
"family"} -> bool.
"""

import ctypes
import json
import os
import subprocess
import time

CATEGORIES = ("negated", "uncertain", "historical", "hypothetical", "family")
MEDNER_BITS = {"negated": 1, "uncertain": 2, "historical": 4, "hypothetical": 8, "family": 16}


# ----------------------------------------------------------------------------- medner CLI

def medner_cli_input(docs):
    """JSON lines for `medner context`: one document per line."""
    lines = []
    for d in docs:
        ents = [{"start_char": s, "end_char": e, "label": lab} for (s, e, lab) in d["spans"]]
        lines.append(json.dumps({"id": d["id"], "text": d["text"], "entities": ents},
                                ensure_ascii=False))
    return "\n".join(lines) + "\n"


def _flags_of(ent):
    return {c: bool(ent.get(c, False)) for c in CATEGORIES}


def medner_cli_run(medner, docs, rules=None, input_path=None):
    """Run `medner context` once over all docs (stdin -> stdout). Returns
    (flags per doc: list of lists aligned with doc["spans"], wall seconds of the
    process, start to exit, extra per-doc info (section, sentence))."""
    data = medner_cli_input(docs).encode("utf-8")
    if input_path:
        with open(input_path, "wb") as f:
            f.write(data)
    cmd = [medner, "context"] + (["--rules", rules] if rules else [])
    t0 = time.perf_counter()
    p = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd), p.returncode,
                                                        p.stderr.decode("utf-8", "replace")[-2000:]))
    out_lines = [l for l in p.stdout.decode("utf-8").splitlines() if l.strip()]
    if len(out_lines) != len(docs):
        raise RuntimeError("medner context wrote %d lines for %d documents" % (len(out_lines), len(docs)))
    by_id = {}
    for l in out_lines:
        o = json.loads(l)
        if "error" in o:
            raise RuntimeError("medner context: error result %s" % l[:500])
        by_id[json.dumps(o.get("id"))] = o
    flags, info = [], []
    for d in docs:
        o = by_id[json.dumps(d["id"])]
        # match the output entities back to the input spans by (start, end, label);
        # the output may be in another order (text order) than the input
        pool = {}
        for ent in o.get("entities", []):
            key = (ent["start_char"], ent["end_char"], ent.get("label"))
            pool.setdefault(key, []).append(ent)
        fl, inf = [], []
        for (s, e, lab) in d["spans"]:
            lst = pool.get((s, e, lab))
            if not lst:
                raise RuntimeError("medner context: span %d-%d %s of %s missing in the output"
                                   % (s, e, lab, d["id"]))
            ent = lst.pop(0)
            fl.append(_flags_of(ent))
            inf.append({"section": ent.get("section"), "sentence": ent.get("sentence")})
        flags.append(fl)
        info.append(inf)
    return flags, wall, info


# ----------------------------------------------------------------------------- medner in-process

class _Entity(ctypes.Structure):
    # struct medner_entity of include/medner.h (0.2 layout)
    _fields_ = [("struct_size", ctypes.c_size_t), ("begin", ctypes.c_size_t),
                ("end", ctypes.c_size_t), ("label", ctypes.c_char_p),
                ("score", ctypes.c_double), ("first_token", ctypes.c_size_t),
                ("n_tokens", ctypes.c_size_t), ("context", ctypes.c_uint32),
                ("section", ctypes.c_int32), ("sentence", ctypes.c_size_t)]


class MednerInProcess:
    """medner_context_rules_load + medner_context_apply through ctypes (the C
    API of include/medner.h, "Clinical context"). Byte offsets are computed
    once per document by prepare(); apply() is what is timed."""

    def __init__(self, libpath, rules=None):
        self.lib = ctypes.CDLL(libpath)
        if not hasattr(self.lib, "medner_context_apply"):
            raise RuntimeError("%s has no medner_context_apply" % libpath)
        L = self.lib
        L.medner_last_error.restype = ctypes.c_char_p
        L.medner_context_rules_load.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p]
        L.medner_context_rules_free.argtypes = [ctypes.c_void_p]
        L.medner_context_apply.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p,
                                           ctypes.c_char_p, ctypes.c_size_t,
                                           ctypes.POINTER(ctypes.c_size_t),
                                           ctypes.POINTER(ctypes.c_size_t),
                                           ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t]
        L.medner_entities_count.restype = ctypes.c_size_t
        L.medner_entities_count.argtypes = [ctypes.c_void_p]
        L.medner_entities_get.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(_Entity)]
        L.medner_entities_free.argtypes = [ctypes.c_void_p]
        self.rules = ctypes.c_void_p()
        st = L.medner_context_rules_load(ctypes.byref(self.rules),
                                         rules.encode() if rules else None)
        if st != 0:
            raise RuntimeError("medner_context_rules_load: %s" % L.medner_last_error())

    def close(self):
        self.lib.medner_context_rules_free(self.rules)

    def prepare(self, doc):
        """ctypes arguments of one document (text bytes, byte offsets, labels)."""
        text = doc["text"]
        b = text.encode("utf-8")
        if len(b) == len(text):
            boff = None
        else:
            boff = [0] * (len(text) + 1)
            acc = 0
            for i, ch in enumerate(text):
                boff[i] = acc
                acc += len(ch.encode("utf-8"))
            boff[len(text)] = acc
        n = len(doc["spans"])
        begins = (ctypes.c_size_t * n)()
        ends = (ctypes.c_size_t * n)()
        labels = (ctypes.c_char_p * n)()
        for i, (s, e, lab) in enumerate(doc["spans"]):
            begins[i] = s if boff is None else boff[s]
            ends[i] = e if boff is None else boff[e]
            labels[i] = lab.encode() if lab else None
        return (b, begins, ends, labels, n)

    def apply(self, prep):
        """Flags per span, in the order of the document's spans (the result
        is in text order: matched back by (begin, end, label))."""
        b, begins, ends, labels, n = prep
        out = ctypes.c_void_p()
        st = self.lib.medner_context_apply(ctypes.byref(out), self.rules, b, len(b), begins, ends,
                                           labels, n)
        if st != 0:
            raise RuntimeError("medner_context_apply: %s" % self.lib.medner_last_error())
        pool = {}
        ent = _Entity()
        for i in range(self.lib.medner_entities_count(out)):
            ent.struct_size = ctypes.sizeof(_Entity)
            self.lib.medner_entities_get(out, i, ctypes.byref(ent))
            pool.setdefault((ent.begin, ent.end, ent.label), []).append(ent.context)
        self.lib.medner_entities_free(out)
        res = []
        for i in range(n):
            bits = pool[(begins[i], ends[i], labels[i])].pop(0)
            res.append({c: bool(bits & MEDNER_BITS[c]) for c in CATEGORIES})
        return res


# ----------------------------------------------------------------------------- medspaCy

def medspacy_nlp():
    """medspaCy 1.3.1 with what ConText needs from its default pipeline: the
    medspaCy tokenizer, PyRuSH sentences and medspacy_context with its default
    rules. Targets are read from a span group (input_span_type="group")
    instead of doc.ents, because the gold spans overlap (nested events) and
    doc.ents cannot hold overlapping spans; ConText treats both the same."""
    try:
        from loguru import logger  # PyRuSH logs every token at DEBUG level: a large
        logger.disable("PyRuSH")   # part of its time, and not part of the algorithm
    except ImportError:
        pass
    import medspacy
    nlp = medspacy.load(medspacy_enable=["medspacy_tokenizer", "medspacy_pyrush"])
    nlp.add_pipe("medspacy_context", config={"input_span_type": "group",
                                             "span_group_name": "medspacy_spans"})
    return nlp


class MedspacyRunner:
    def __init__(self):
        import medspacy
        self.version = medspacy.__version__
        self.nlp = medspacy_nlp()
        self.pyrush = self.nlp.get_pipe("medspacy_pyrush")
        self.context = self.nlp.get_pipe("medspacy_context")

    def run_doc(self, doc, timing=None):
        """Flags per span of one document: tokenizer + PyRuSH + spans + ConText.
        timing (dict) accumulates 'full' (all of that) and 'context' (ConText
        alone) seconds. Spans that expand to no token are all False (counted
        in timing['unaligned'])."""
        from spacy.tokens import SpanGroup
        t0 = time.perf_counter()
        sdoc = self.nlp.make_doc(doc["text"])
        sdoc = self.pyrush(sdoc)
        spans, idx = [], []
        for i, (s, e, lab) in enumerate(doc["spans"]):
            sp = sdoc.char_span(s, e, label=lab, alignment_mode="expand")
            if sp is None or len(sp) == 0:
                if timing is not None:
                    timing["unaligned"] = timing.get("unaligned", 0) + 1
                continue
            spans.append(sp)
            idx.append(i)
        sdoc.spans["medspacy_spans"] = SpanGroup(sdoc, name="medspacy_spans", spans=spans)
        t1 = time.perf_counter()
        sdoc = self.context(sdoc)
        t2 = time.perf_counter()
        if timing is not None:
            timing["full"] = timing.get("full", 0.0) + (t2 - t0)
            timing["context"] = timing.get("context", 0.0) + (t2 - t1)
        res = [{c: False for c in CATEGORIES} for _ in doc["spans"]]
        for sp, i in zip(sdoc.spans["medspacy_spans"], idx):
            res[i] = {"negated": bool(sp._.is_negated), "uncertain": bool(sp._.is_uncertain),
                      "historical": bool(sp._.is_historical),
                      "hypothetical": bool(sp._.is_hypothetical), "family": bool(sp._.is_family)}
        return res


# ----------------------------------------------------------------------------- scores

def prf(gold, pred):
    tp = sum(1 for g, p in zip(gold, pred) if g and p)
    fp = sum(1 for g, p in zip(gold, pred) if not g and p)
    fn = sum(1 for g, p in zip(gold, pred) if g and not p)
    P = tp / (tp + fp) if tp + fp else 0.0
    R = tp / (tp + fn) if tp + fn else 0.0
    F = 2 * P * R / (P + R) if P + R else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "p": P, "r": R, "f1": F}


def agreement(a, b):
    """% agreement and Cohen's kappa of two boolean lists (kappa None when
    the expected agreement is 1, i.e. both all-False or all-True)."""
    n = len(a)
    if n == 0:
        return {"n": 0, "agree": None, "kappa": None, "pos_a": 0, "pos_b": 0}
    agree = sum(1 for x, y in zip(a, b) if x == y) / n
    pa, pb = sum(a) / n, sum(b) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    kappa = (agree - pe) / (1 - pe) if pe < 1 else None
    return {"n": n, "agree": agree, "kappa": kappa, "pos_a": sum(a), "pos_b": sum(b)}


def fmt(x, nd=3):
    return "–" if x is None else ("%.*f" % (nd, x))
