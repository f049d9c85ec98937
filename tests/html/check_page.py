#!/usr/bin/env python3
"""Check a page of `medner annotate --format html` against the JSON lines
`medner annotate --format jsonl` gives for the same input and options.

    check_page.py PAGE RESULTS.jsonl (--input-jsonl IN.jsonl | --files F...)
                  [--injection] [--dom]

PAGE is the page as written (test-cli-html.sh) or as Chromium serialised it
after loading it (--dom, test-html.sh). Prints "check_page: N checks passed"
or the first failure (exit 1). Standard library only.
"""
import argparse
import collections
import html.parser
import json
import sys

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}
FLAGS = [("negated", "neg"), ("uncertain", "unc"), ("historical", "hist"),
         ("hypothetical", "hyp"), ("family", "fam")]
INJECTED = "<script>document.title='pwned';document.body.insertAdjacentHTML('beforeend','<p id=pwned>')</script>"


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def iter(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.iter()

    def find_all(self, tag=None, cls=None):
        return [n for n in self.iter()
                if (tag is None or n.tag == tag) and (cls is None or cls in n.classes())]


class Builder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", [], None)
        self.cur = self.root
        self.all_attrs = []

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.all_attrs.append((tag, attrs))
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.all_attrs.append((tag, attrs))
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


class Checker:
    def __init__(self):
        self.n = 0

    def ok(self, cond, what):
        if not cond:
            print(f"check_page: FAIL: {what}")
            sys.exit(1)
        self.n += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("results")
    ap.add_argument("--input-jsonl")
    ap.add_argument("--files", nargs="*")
    ap.add_argument("--injection", action="store_true")
    ap.add_argument("--dom", action="store_true")
    a = ap.parse_args()
    c = Checker()
    raw = open(a.page, encoding="utf-8", newline="").read()
    results = [json.loads(l) for l in open(a.results, encoding="utf-8") if l.strip()]
    texts = []
    if a.files is not None:
        for f in a.files:
            try:
                texts.append(open(f, encoding="utf-8", newline="").read())
            except OSError:
                texts.append(None)
    else:
        for l in open(a.input_jsonl, encoding="utf-8"):
            if not l.strip():
                continue
            try:
                texts.append(json.loads(l)["text"])
            except (ValueError, KeyError, TypeError):
                texts.append(None)
    c.ok(len(texts) == len(results), f"{len(texts)} inputs, {len(results)} results")

    b = Builder()
    b.feed(raw)
    b.close()
    root = b.root

    # --- self-contained: nothing to fetch, nothing to run -------------------
    c.ok(not root.find_all("script"), "a <script> element in the page")
    for tag in ("img", "iframe", "object", "embed", "link", "video", "audio", "svg", "base",
                "form", "source"):
        c.ok(not root.find_all(tag), f"a <{tag}> element in the page")
    for tag, attrs in b.all_attrs:
        for k, v in attrs:
            c.ok(not k.startswith("on"), f"event handler attribute {k} on <{tag}>")
            c.ok(k not in ("src", "srcset", "action", "formaction", "poster", "background"),
                 f"resource attribute {k}={v!r} on <{tag}>")
            if k == "href":
                c.ok(v.startswith("#"), f"link to {v!r} (only in-page anchors)")
            if k == "style":
                c.ok("url(" not in v.lower() and "@import" not in v.lower(), f"style {v!r}")
    for s in root.find_all("style"):
        css = s.text().lower()
        c.ok("url(" not in css and "@import" not in css and "http" not in css,
             "the stylesheet refers to something outside the page")
    inputs_text = "".join(t or "" for t in texts)
    for scheme in ("http://", "https://", "//fonts."):
        if scheme not in inputs_text:
            c.ok(scheme not in raw, f"{scheme} in the page")
    titles = root.find_all("title")
    c.ok(len(titles) == 1 and titles[0].text() == "medner annotations",
         f"document title {[t.text() for t in titles]}")
    c.ok(not [n for n in root.iter() if n.attrs.get("id") == "pwned"],
         "the injected element id=pwned exists")
    csp = [m for m in root.find_all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    c.ok(csp and "default-src 'none'" in csp[0].attrs.get("content", ""), "no CSP meta")

    # --- documents ------------------------------------------------------------
    docs = root.find_all("section", "doc")
    c.ok(len(docs) == len(results), f"{len(docs)} document sections, {len(results)} results")
    all_labels = collections.Counter()
    for i, (sec, res, text) in enumerate(zip(docs, results, texts)):
        where = f"document {i + 1} ({res.get('id')!r})"
        c.ok(sec.attrs.get("id") == f"doc-{i + 1}", f"{where}: anchor {sec.attrs.get('id')}")
        ident = sec.find_all("span", "id")
        c.ok(ident and ident[0].text() == str(res.get("id")),
             f"{where}: heading shows {ident[0].text() if ident else None!r}")
        if "error" in res:
            c.ok("err" in sec.classes(), f"{where}: error section not marked")
            err = sec.find_all("p", "error")
            c.ok(err and res["error"] in err[0].text(), f"{where}: error message not shown")
            c.ok(not sec.find_all("mark"), f"{where}: marks in an error section")
            continue
        ents = res["entities"]
        all_labels.update(e["label"] for e in ents)
        cnt = sec.find_all("h2")[0].find_all("span", "cnt")
        c.ok(cnt and cnt[0].text().split()[0] == str(len(ents)), f"{where}: count in heading")
        body = sec.find_all("div", "text")
        if text == "":
            c.ok(not body and sec.find_all("p", "empty"), f"{where}: empty document")
        else:
            c.ok(len(body) == 1, f"{where}: one text block")
            want = text.replace("\r\n", "\n").replace("\r", "\n") if a.dom else text
            got = body[0].text()
            c.ok(got == want, f"{where}: the text block is not the document text "
                              f"(first difference at {next((k for k in range(min(len(got), len(want))) if got[k] != want[k]), min(len(got), len(want)))})")
        marks = [m for m in sec.find_all("mark") if "e" in m.classes()]
        c.ok(len(marks) == len(ents), f"{where}: {len(marks)} marks, {len(ents)} entities")
        key = lambda m: (int(m.attrs["data-start"]), int(m.attrs["data-end"]), m.attrs["data-label"])
        marks.sort(key=key)
        for m, e in zip(marks, sorted(ents, key=lambda e: (e["start"], e["end"], e["label"]))):
            w = f"{where}, entity {e['text']!r} [{e['start']},{e['end']})"
            c.ok(m.attrs.get("data-label") == e["label"], f"{w}: label {m.attrs.get('data-label')!r}")
            c.ok(m.text() == e["text"], f"{w}: mark text {m.text()!r}")
            for k, j in (("data-start", "start"), ("data-end", "end"),
                         ("data-start-char", "start_char"), ("data-end-char", "end_char")):
                c.ok(int(m.attrs.get(k, -1)) == e[j], f"{w}: {k}={m.attrs.get(k)}")
            c.ok(float(m.attrs.get("data-score", "nan")) == e["score"], f"{w}: score")
            t = m.attrs.get("title", "")
            c.ok(t.split("\n")[0] == e["label"], f"{w}: title's first line {t!r}")
            c.ok(f"bytes [{e['start']},{e['end']})" in t and
                 f"characters [{e['start_char']},{e['end_char']})" in t, f"{w}: offsets in title {t!r}")
            sc = repr(round(e["score"], 4))
            sc = sc[:-2] if sc.endswith(".0") else sc
            c.ok(f"\nscore {sc}\n" in t, f"{w}: score {sc} in title {t!r}")
            if "negated" in e:
                want_flags = {name for name, _ in FLAGS if e[name]}
                c.ok(set(m.attrs.get("data-flags", "").split()) == want_flags, f"{w}: flags")
                for name, cls in FLAGS:
                    c.ok((cls in m.classes()) == e[name], f"{w}: class {cls} vs {name}={e[name]}")
                    c.ok((name in t) == e[name], f"{w}: {name} in title")
                c.ok(f"section {e['section']}" in t, f"{w}: section in title")

    # --- legend: a row per label, counts as in the JSON lines ------------------
    legend = {li.attrs.get("data-label"): li for li in root.find_all("li", "lg")}
    c.ok(set(legend) == set(all_labels), f"legend labels {sorted(legend)} vs {sorted(all_labels)}")
    for lab, n in all_labels.items():
        li = legend[lab]
        c.ok(li.attrs.get("data-count") == str(n), f"legend count of {lab!r}")
        c.ok(li.find_all("span", "cnt")[0].text() == str(n), f"legend shows {lab!r}'s count")
        c.ok(li.find_all("span", "lab")[0].text() == lab, f"legend shows the label {lab!r}")

    # --- document list (several documents only) -------------------------------
    toc = root.find_all("ol", "toc")
    if len(results) > 1:
        c.ok(len(toc) == 1, "no document list")
        rows = toc[0].find_all("li")
        c.ok(len(rows) == len(results), f"{len(rows)} rows in the document list")
        for k, (li, res) in enumerate(zip(rows, results)):
            link = li.find_all("a")[0]
            c.ok(link.attrs.get("href") == f"#doc-{k + 1}", f"row {k + 1}: href")
            c.ok(link.text() == str(res.get("id")), f"row {k + 1}: {link.text()!r}")
            want = "error" if "error" in res else str(len(res["entities"]))
            c.ok(li.find_all("span", "cnt")[0].text() == want, f"row {k + 1}: count")
    else:
        c.ok(not toc, "a document list for a single document")

    # --- the injected markup is text, and did nothing -----------------------------
    if a.injection:
        found = [s for s in docs if INJECTED in s.text()]
        c.ok(found, "the injected <script> is not shown as text")
        c.ok(any('"><img src=x onerror=alert(1)>' in s.text() for s in docs),
             "the injected <img> is not shown as text")
    print(f"check_page: {c.n} checks passed")


if __name__ == "__main__":
    main()
