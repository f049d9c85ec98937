"""python -m medner annotate: the `medner annotate` CLI on the Python package.

Reads JSON lines {"id": ..., "text": "..."} on stdin (or plain-text FILEs,
one document each, id = the path) and writes one result per document, with
the same JSONL as `medner annotate --format jsonl` (same fields, same order,
same number formatting), or brat.  Pipeline options are the CLI's.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from typing import IO, Iterator, List, Optional, Sequence

from . import MednerError, Pipeline, TextError, __version__, library_path, version
from .pipeline import Entity

_FLAGS = ("negated", "uncertain", "historical", "hypothetical", "family")
_BRAT_FLAGS = ("Negated", "Uncertain", "Historical", "Hypothetical", "Family")


def _json_double(x: float) -> str:
    """A double as medner's JSON writer (src/json) prints it: the shortest
    %.Ng that reads back as the same value, integers below 1e16 in full."""
    if x != x or x in (float("inf"), float("-inf")):
        return "null"
    text = None
    precision = 1
    for precision in range(1, 17):
        text = "%.*g" % (precision, x)
        if float(text) == x:
            break
    else:
        precision = 17
        text = "%.17g" % x
    e = text.find("e")
    if e >= 0 and text[e + 1] == "+":
        exponent = int(text[e + 2:])
        if precision <= exponent < 16:
            fixed = "%.*g" % (exponent + 1, x)
            if float(fixed) == x:
                text = fixed
    return text


def _json_string(s: str) -> str:
    # the same escapes as medner's writer: ", \, \b \f \n \r \t, other
    # controls as \u00xx; everything else (non-ASCII too) as is
    return json.dumps(s, ensure_ascii=False)


def _jsonl(doc_id: str, text: str, ents: List[Entity], context: bool) -> str:
    parts = []
    # byte offsets from the code-point ones, walking the text once
    pos_cp, pos_b = 0, 0

    def byte_of(cp: int) -> int:
        nonlocal pos_cp, pos_b
        if cp < pos_cp:
            pos_cp, pos_b = 0, 0
        pos_b += len(text[pos_cp:cp].encode("utf-8", "surrogatepass"))
        pos_cp = cp
        return pos_b

    for e in ents:
        b, end = byte_of(e.start), byte_of(e.end)
        s = (f'{{"start":{b},"end":{end},"start_char":{e.start},"end_char":{e.end},'
             f'"label":{_json_string(e.label)},"score":{_json_double(e.score)},'
             f'"text":{_json_string(e.text)}')
        if context:
            for f in _FLAGS:
                s += f',"{f}":{"true" if getattr(e, f) else "false"}'
            s += f',"section":{_json_string(e.section or "none")}'
            s += ',"sentence":' + ("null" if e.sentence is None else str(e.sentence))
        parts.append(s + "}")
    return f'{{"id":{doc_id},"entities":[{",".join(parts)}]}}\n'


def _plain(s: str) -> str:
    return "".join(c if c >= " " and c != "\x7f" else "?" for c in s)


def _brat(name: str, ents: List[Entity]) -> str:
    out = [f"# doc {_plain(name)}\n"]
    n_attr = 0
    for i, e in enumerate(ents, 1):
        span = e.text.replace("\n", " ").replace("\r", " ")
        out.append(f"T{i}\t{_plain(e.label)} {e.start} {e.end}\t{span}\n")
        for f, name_ in zip(_FLAGS, _BRAT_FLAGS):
            if getattr(e, f):
                n_attr += 1
                out.append(f"A{n_attr}\t{name_} T{i}\n")
    return "".join(out)


class _Doc:
    __slots__ = ("id_json", "plain", "text", "error", "line")

    def __init__(self, id_json: str, plain: str, line: int, text: Optional[str] = None,
                 error: Optional[str] = None):
        self.id_json, self.plain, self.line, self.text, self.error = (id_json, plain, line,
                                                                      text, error)


def _read_files(paths: Sequence[str], max_size: int) -> Iterator[_Doc]:
    for line, path in enumerate(paths, 1):
        d = _Doc(_json_string(path), path, line)
        try:
            with open(path, "rb") as f:
                data = f.read(max_size + 1)
            if len(data) > max_size:
                d.error = (f"larger than the limit of {max_size} bytes "
                           "(--max-document-size)")
            else:
                d.text = data.decode("utf-8", "surrogateescape")
        except OSError as e:
            d.error = f"cannot read: {e.strerror or e}"
        yield d


def _read_jsonl(stream: IO[bytes], max_size: int) -> Iterator[_Doc]:
    for lineno, raw in enumerate(stream, 1):
        raw = raw.rstrip(b"\n")
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw.strip():
            continue
        d = _Doc(str(lineno), str(lineno), lineno)
        if len(raw) > max_size:
            d.error = f"line longer than the limit of {max_size} bytes (--max-document-size)"
            yield d
            continue
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            d.error = f"stdin line {lineno}: {e}"
            yield d
            continue
        obj = obj if isinstance(obj, dict) else {}
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            # a lone \uD800-\uDFFF escape: not text (the CLI's JSON reader
            # rejects it while parsing)
            d.error = f"stdin line {lineno}: a lone surrogate escape is not a character"
            yield d
            continue
        doc_id, text = obj.get("id"), obj.get("text")
        id_ok = doc_id is None or (isinstance(doc_id, (str, int)) and
                                   not isinstance(doc_id, bool))
        if isinstance(doc_id, str):
            d.id_json = d.plain = _json_string(doc_id)
        elif id_ok and doc_id is not None:
            d.id_json = d.plain = str(doc_id)
        if not isinstance(text, str):
            d.error = 'expected an object with a "text" string'
        elif not id_ok:
            d.error = '"id" must be a string or an integer'
        else:
            d.text = text
        yield d


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m medner annotate",
        description="Reads JSON lines {\"id\": ..., \"text\": \"...\"} on stdin (or plain-text "
                    "FILEs, one document each, id = the path) and writes one result per "
                    "document, as `medner annotate` does.")
    ap.add_argument("files", nargs="*", metavar="FILE")
    g = ap.add_argument_group("pipeline options (as the CLI's; docs/config.md)")
    g.add_argument("--config", help="YAML pipeline configuration")
    g.add_argument("--model", help="Hugging Face model directory (token classification)")
    g.add_argument("--base", help="the same as --model: the base model of --adapter")
    g.add_argument("--adapter", help="PEFT LoRA adapter directory, merged into the base")
    g.add_argument("--aggregation", choices=["none", "simple", "first", "average", "max"])
    g.add_argument("--decoding", choices=["argmax", "constrained"])
    g.add_argument("--scheme", choices=["auto", "io", "bio", "bioes"])
    g.add_argument("--max-length", type=int)
    g.add_argument("--overlap", type=int)
    g.add_argument("--merge", choices=["center", "hf"])
    g.add_argument("--segment", choices=["none", "sentence"])
    g.add_argument("--first-window-only", action="store_true", default=None)
    g.add_argument("--batch-size", type=int)
    g.add_argument("--threads", type=int, help="worker threads (default 1)")
    g.add_argument("--encoder-threads", type=int)
    g.add_argument("--precision", choices=["fp32", "bf16", "int8", "auto"])
    g.add_argument("--min-score", type=float)
    g.add_argument("--ignore-label", action="append", metavar="L")
    g.add_argument("--keep-label", action="append", metavar="L")
    g.add_argument("--rename", action="append", metavar="FROM=TO")
    g.add_argument("--context", metavar="default|off|FILE")
    o = ap.add_argument_group("output")
    o.add_argument("--format", choices=["jsonl", "brat"], default="jsonl")
    o.add_argument("--on-error", choices=["skip", "fail"], default="skip")
    o.add_argument("--max-document-size", type=_size, default=256 << 20,
                   metavar="N[K|M|G]")
    return ap


def _size(v: str) -> int:
    shift = {"k": 10, "m": 20, "g": 30}.get(v[-1:].lower(), 0)
    n = int(v[:-1] if shift else v)
    if n < 1:
        raise argparse.ArgumentTypeError("expects N, NK, NM or NG (N >= 1)")
    return n << shift


def _options(a: argparse.Namespace) -> dict:
    opts = {}
    for name in ("aggregation", "decoding", "scheme", "max_length", "overlap", "merge",
                 "segment", "first_window_only", "batch_size", "threads", "encoder_threads",
                 "precision", "min_score"):
        v = getattr(a, name)
        if v is not None:
            opts[name] = v
    if a.ignore_label:
        opts["ignore_labels"] = a.ignore_label
    if a.keep_label:
        opts["keep_labels"] = a.keep_label
    if a.rename:
        renames = {}
        for r in a.rename:
            src, eq, dst = r.partition("=")
            if not eq or not src or not dst:
                raise SystemExit("python -m medner annotate: --rename expects FROM=TO")
            renames[src] = dst
        opts["renames"] = renames
    if a.context is not None:
        opts["context"] = a.context
    return opts


def annotate(argv: Sequence[str], stdin: Optional[IO[bytes]] = None,
             stdout: Optional[IO[str]] = None, stderr: Optional[IO[str]] = None) -> int:
    """`medner annotate` with the Python package; returns the exit status."""
    stdin = stdin if stdin is not None else sys.stdin.buffer
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    a = _parser().parse_args(list(argv))
    if a.model and a.base:
        print("python -m medner annotate: give --model or --base, not both", file=stderr)
        return 2
    model = a.model or a.base
    if model is None and a.config is None:
        print("python -m medner annotate: give --config FILE or --model DIR", file=stderr)
        return 2
    try:
        ner = Pipeline(model=model, adapter=a.adapter, config=a.config, **_options(a))
    except (MednerError, ValueError, TypeError) as e:
        print(f"python -m medner annotate: {e}", file=stderr)
        return 1
    status = 0
    with ner:
        params = ner.params
        context = params["context"]
        chunk = max(1, params["threads"]) * max(1, min(params["batch_size"] or 1, 64)) * 4
        docs = (_read_files(a.files, a.max_document_size) if a.files
                else _read_jsonl(stdin, a.max_document_size))
        skipped = done = 0
        while True:
            batch = list(itertools.islice(docs, chunk))
            if not batch:
                break
            ok = [(d, d.text) for d in batch if d.text is not None]
            # one batched call; a text that fails gets a TextError, the others
            # their entities (as the CLI retries a failed batch one by one)
            results = ner.annotate_many([t for _, t in ok], errors="return")
            got = {id(d): r for (d, _), r in zip(ok, results)}
            stop = False
            for d in batch:
                r = got.get(id(d))
                if isinstance(r, TextError):
                    d.error = r.message
                done += 1
                ents: List[Entity] = r if isinstance(r, list) else []
                if d.error is not None:
                    where = a.files[d.line - 1] if a.files else f"line {d.line}"
                    print(f"medner annotate: {where}: {d.error}", file=stderr)
                    status = 1
                    skipped += 1
                    if a.format == "jsonl":
                        stdout.write(f'{{"id":{d.id_json},"line":{d.line},'
                                     f'"error":{_json_string(d.error)}}}\n')
                    else:
                        stdout.write(f"# doc {_plain(d.plain)}\n# error (line {d.line}): "
                                     f"{_plain(d.error)}\n")
                    if a.on_error == "fail":
                        stop = True
                        break
                elif a.format == "jsonl":
                    stdout.write(_jsonl(d.id_json, d.text or "", ents, context))
                else:
                    stdout.write(_brat(d.plain, ents))
            stdout.flush()              # results leave as each chunk is done
            if stop:
                break
        if skipped and a.on_error == "skip":
            print(f"{done} documents, {skipped} skipped", file=stderr)
    return status


_USAGE = """usage: python -m medner annotate [options] [FILE...]
       python -m medner version

commands:
  annotate   documents in, entities out, as `medner annotate` (--help for options)
  version    the package and library versions and the library's path
"""


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(_USAGE)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "annotate":
        return annotate(rest)
    if cmd == "version":
        print(f"medner {__version__} (library {version()}, {library_path()})")
        return 0
    sys.stderr.write(f"python -m medner: unknown command {cmd!r}\n{_USAGE}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
