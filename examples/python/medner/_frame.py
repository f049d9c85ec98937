"""Entities as a pandas DataFrame (Pipeline.to_frame).  pandas is imported
only when a frame is made: `import medner` does not need it."""

import itertools

# column -> pandas dtype, in column order
COLUMNS = {
    "doc": None,            # int64 positions, or the index labels of a Series
    "label": "object",      # str (object in every pandas version, also when empty)
    "start": "int64",       # str (code-point) offsets: texts[doc][start:end] == text
    "end": "int64",
    "text": "object",
    "score": "float64",
    "negated": "bool",
    "uncertain": "bool",
    "historical": "bool",
    "hypothetical": "bool",
    "family": "bool",
    "section": "object",    # None where clinical context did not run
    "sentence": "Int64",    # nullable: <NA> where clinical context did not run
}


def _pandas():
    try:
        import pandas
    except ImportError as e:
        raise ImportError("medner: to_frame() needs pandas, which is not installed "
                          "(pip install pandas)") from e
    return pandas


def to_frame(pipeline, texts, batch_size=256):
    """Annotate `texts` with `pipeline` (a medner.Pipeline, or any callable
    that maps a list of str to a list of lists of medner.Entity) and return
    a pandas DataFrame with one row per entity, in text order:

      doc      position of the text in `texts` (its index label when `texts`
               is a pandas Series, so the frame joins back onto it)
      label, start, end, text, score
      negated, uncertain, historical, hypothetical, family, section, sentence
               clinical context (docs/context.md); False/None/<NA> when it
               did not run

    `texts` is a str (one document) or an iterable of str; it is annotated
    `batch_size` texts per pipeline call.  Raises ImportError when pandas is
    missing."""
    pd = _pandas()
    if isinstance(texts, str):
        texts = [texts]
    ids = list(texts.index) if isinstance(texts, pd.Series) else None
    rows = {name: [] for name in COLUMNS}
    it = iter(texts)
    n = 0
    size = max(int(batch_size), 1)
    while True:
        batch = list(itertools.islice(it, size))
        if not batch:
            break
        for i, ents in enumerate(pipeline(batch), start=n):
            doc = ids[i] if ids is not None else i
            for e in ents:
                rows["doc"].append(doc)
                for name in COLUMNS:
                    if name != "doc":
                        rows[name].append(getattr(e, name))
        n += len(batch)
    dtypes = dict(COLUMNS)
    dtypes["doc"] = "int64" if ids is None else (None if rows["doc"] else texts.index.dtype)
    return pd.DataFrame({name: pd.Series(values, dtype=dtypes[name])
                         for name, values in rows.items()}, columns=list(COLUMNS))
