#!/usr/bin/env python3
"""Goldens for the label alignment of medner's trainer (src/train/data.c, issue 18).

Hugging Face's token-classification recipe (transformers examples/pytorch/
token-classification/run_ner.py, tokenize_and_align_labels with
label_all_tokens=False): tokenizer(words, is_split_into_words=True,
truncation=True, max_length=N); the first sub-token of each word gets the
word's label id, the other sub-tokens and [CLS]/[SEP] get -100; label ids
index sorted(set(train labels)).

Writes tests/data/train-data/align.tsv (the sentences, CoNLL) and
tests/data/train-data/align-golden.json ({"labels": [...], "max_length": N,
"sentences": [{"input_ids": [...], "labels": [...]}]}). Sentences: the
first 6 of tests/data/train-data/ncbi-train.tsv (NCBI-disease, see README.md
there) plus 3 written here to exercise punctuation inside a word, accents,
a word the vocabulary lacks and truncation (max_length 24 cuts the longer
sentences).

Run from the repository root: python3 tests/reference/make_train_align_goldens.py
(transformers only; the tokenizer is tests/data/models/tiny-bert-tc)."""
import json

from transformers import BertTokenizerFast

TOK = "tests/data/models/tiny-bert-tc"
MAX_LENGTH = 24


def read_conll(path, limit):
    sents, words, tags = [], [], []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            if words:
                sents.append((words, tags))
                words, tags = [], []
                if len(sents) == limit:
                    break
            continue
        w, t = line.split("\t")
        words.append(w)
        tags.append(t)
    return sents


def main():
    sents = read_conll("tests/data/train-data/ncbi-train.tsv", 6)
    sents += [
        (["Non-small", "cell", "lung", "cancer", "(", "NSCLC", ")", "."],
         ["B-Disease", "I-Disease", "I-Disease", "I-Disease", "O", "B-Disease", "O", "O"]),
        (["Café", "au", "lait", "spots", "in", "von", "Recklinghausen's", "disease"],
         ["B-Disease", "I-Disease", "I-Disease", "I-Disease", "O", "B-Disease", "I-Disease", "I-Disease"]),
        (["BRCA1/2", "carriers", "x", "qzxqzv"], ["O", "O", "O", "O"]),
    ]
    tok = BertTokenizerFast.from_pretrained(TOK)
    labels = sorted({t for _, ts in sents for t in ts})
    lid = {l: i for i, l in enumerate(labels)}
    out = {"labels": labels, "max_length": MAX_LENGTH, "sentences": []}
    for words, tags in sents:
        enc = tok(words, is_split_into_words=True, truncation=True, max_length=MAX_LENGTH)
        prev, lab = None, []
        for w in enc.word_ids():
            if w is None:
                lab.append(-100)
            elif w != prev:
                lab.append(lid[tags[w]])
            else:
                lab.append(-100)
            prev = w
        full = tok(words, is_split_into_words=True)["input_ids"]
        out["sentences"].append({"input_ids": enc["input_ids"], "labels": lab,
                                 "truncated": len(full) > MAX_LENGTH})
    with open("tests/data/train-data/align.tsv", "w", encoding="utf-8") as f:
        for words, tags in sents:
            for w, t in zip(words, tags):
                f.write(f"{w}\t{t}\n")
            f.write("\n")
    with open("tests/data/train-data/align-golden.json", "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
