#!/usr/bin/env python3
"""Annotate a corpus of clinical notes with medner on Spark (docs/spark.md).

  spark-submit examples/spark/annotate_notes.py \\
      --base MODEL_DIR --adapter ADAPTER_DIR --input notes.jsonl --output entities/
  python3 examples/spark/annotate_notes.py --master 'local[2]' ...   (no spark-submit)

Input (--input-format, or guessed from the path):
  jsonl    JSON lines {"id": ..., "text": "..."} (a file, a directory or a glob)
  parquet  columns `id` and `text` (other columns are ignored)
  text     plain-text files, one note per file; id = the file's URI
Output (--output-format): Parquet (default) or JSON lines, one row per entity:
  id, label, start, end (Python str / code-point offsets into the note text),
  text, score, negated, uncertain, historical, hypothetical, family, section,
  sentence.  A note without entities has no row.

The notes go through DataFrame.mapInPandas: each Python worker process loads
ONE medner pipeline (on its first batch, module-level cache in
medner_spark.py, keyed by the model and options) and reuses it for every
later Arrow batch and task (spark.python.worker.reuse=true).
"""

import argparse
import functools
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import medner_spark  # noqa: E402  (after the sys.path line: the module ships with this file)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    m = ap.add_argument_group("model (paths as seen by the executors)")
    m.add_argument("--model", help="Hugging Face token-classification model directory")
    m.add_argument("--base", help="base model directory of --adapter (instead of --model)")
    m.add_argument("--adapter", help="PEFT LoRA adapter directory")
    m.add_argument("--config", help="YAML pipeline configuration (docs/config.md)")
    m.add_argument("--precision", choices=("fp32", "bf16", "int8", "auto"),
                   help="arithmetic of the encoder's products (default fp32; docs/precision.md)")
    m.add_argument("--context", help="default | off | a YAML rule file (default: on when "
                   "the model's labels look clinical)")
    m.add_argument("--encoder-threads", type=int, default=1,
                   help="threads of each forward pass (default 1: one per task slot)")
    m.add_argument("--batch-size", type=int, help="windows per encoder call (default 8)")
    m.add_argument("--max-length", type=int, help="tokens per window (default: the model's)")
    io = ap.add_argument_group("data")
    io.add_argument("--input", required=True, help="notes: file, directory or glob")
    io.add_argument("--input-format", choices=("jsonl", "parquet", "text"),
                    help="default: from the extension (.parquet, .txt, else jsonl)")
    io.add_argument("--id-column", default="id")
    io.add_argument("--text-column", default="text")
    io.add_argument("--output", required=True, help="output directory (replaced)")
    io.add_argument("--output-format", choices=("parquet", "jsonl"), default="parquet")
    sp = ap.add_argument_group("spark")
    sp.add_argument("--master", help="e.g. local[4]; default: spark-submit's, else local[*]")
    sp.add_argument("--partitions", type=int,
                    help="repartition the notes into N partitions (default: as read)")
    sp.add_argument("--arrow-batch", type=int, default=256,
                    help="notes per Arrow batch, i.e. per pipeline call (default 256)")
    sp.add_argument("--stats-dir", help="each Python worker writes its counters (pipeline "
                    "loads, batches, notes, peak RSS) to DIR/worker-HOST-PID.json; DIR must "
                    "be shared with the driver (local mode or a shared file system)")
    sp.add_argument("--quiet", action="store_true", help="no summary on stdout")
    args = ap.parse_args(argv)
    if (args.model is None) == (args.base is None) and args.config is None:
        ap.error("give one of --model or --base (or --config)")
    if args.model is not None and args.base is not None:
        ap.error("--model and --base are the same thing: give one")
    if args.base is not None and args.adapter is None:
        ap.error("--base needs --adapter")
    return args


def pipeline_options(args):
    """What medner_spark.get_pipeline() builds, and its cache key.  Paths are
    made absolute when they exist here (local mode, shared file systems);
    otherwise they are passed as given (e.g. the `model` of --archives
    model.tar.gz#model, relative to the executor's working directory)."""
    def path(p):
        if p is None or os.path.exists(p):
            return os.path.abspath(p) if p is not None else None
        print(f"annotate_notes: {p} does not exist here; it must exist on every executor "
              "(relative: in its working directory or SparkFiles root)", file=sys.stderr)
        return p
    options = {"encoder_threads": args.encoder_threads, "threads": 1}
    for name in ("precision", "context", "batch_size", "max_length"):
        value = getattr(args, name)
        if value is not None:
            options[name] = path(value) if name == "context" and value not in (
                "default", "off") else value
    return {"model": path(args.model), "base": path(args.base),
            "adapter": path(args.adapter), "config": path(args.config), "options": options}


def read_notes(spark, args):
    from pyspark.sql import functions as F
    fmt = args.input_format
    if fmt is None:
        low = args.input.lower().rstrip("/")
        fmt = "parquet" if low.endswith(".parquet") else "text" if low.endswith(".txt") \
            else "jsonl"
    if fmt == "text":
        df = (spark.read.text(args.input, wholetext=True)
              .select(F.input_file_name().alias("id"), F.col("value").alias("text")))
    else:
        reader = spark.read.parquet if fmt == "parquet" else spark.read.json
        df = reader(args.input).select(F.col(args.id_column).cast("string").alias("id"),
                                       F.col(args.text_column).cast("string").alias("text"))
    return df


def entity_schema():
    from pyspark.sql import types as T
    types = {"string": T.StringType(), "int": T.IntegerType(), "double": T.DoubleType(),
             "boolean": T.BooleanType()}
    return T.StructType([T.StructField(n, types[t], n in ("section", "sentence"))
                         for n, t in medner_spark.ENTITY_COLUMNS])


def build_session(args):
    from pyspark.sql import SparkSession
    b = SparkSession.builder.appName("medner-annotate")
    if args.master:
        b = b.master(args.master)
    # One pipeline per Python worker relies on reused workers (the default).
    b = b.config("spark.python.worker.reuse", "true")
    b = b.config("spark.sql.execution.arrow.maxRecordsPerBatch", str(args.arrow_batch))
    if (args.master or "").startswith("local") and not os.environ.get("PYSPARK_PYTHON"):
        # local mode: the workers run this interpreter (the one that has
        # medner), not whatever `python3` is first on PATH
        os.environ["PYSPARK_PYTHON"] = sys.executable
    lib = os.environ.get("MEDNER_LIBRARY")
    if lib:   # the package without a bundled library: tell the executors where it is
        b = b.config("spark.executorEnv.MEDNER_LIBRARY", lib)
    return b.getOrCreate()


def main(argv=None):
    args = parse_args(argv)
    opts = pipeline_options(args)
    spark = build_session(args)
    spark.sparkContext.setLogLevel("WARN")
    # The executors import medner_spark by name (and so keep its cache).
    spark.sparkContext.addPyFile(os.path.join(HERE, "medner_spark.py"))
    stats_dir = os.path.abspath(args.stats_dir) if args.stats_dir else None
    if stats_dir:
        os.makedirs(stats_dir, exist_ok=True)

    notes = read_notes(spark, args)
    if args.partitions:
        notes = notes.repartition(args.partitions)
    fn = functools.partial(medner_spark.annotate_batches, opts=opts, stats_dir=stats_dir)
    entities = notes.mapInPandas(fn, entity_schema())

    t0 = time.perf_counter()
    writer = entities.write.mode("overwrite")
    if args.output_format == "parquet":
        writer.parquet(args.output)
    else:
        writer.json(args.output)
    seconds = time.perf_counter() - t0

    if not args.quiet:
        n_notes = notes.count()
        out = spark.read.parquet(args.output) if args.output_format == "parquet" \
            else spark.read.json(args.output)
        n_ents = out.count()
        print(f"annotate_notes: {n_notes} notes, {n_ents} entities in {seconds:.1f} s "
              f"({n_notes / seconds:.1f} notes/s, {n_ents / seconds:.1f} entities/s) "
              f"-> {args.output}")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
