"""make bench-train-parity: the Hugging Face side and the comparison (tests/bench/bench_train_parity.sh).

Recipe parity of `medner train` with transformers.Trainer (docs/training.md, "Recipe parity"):
same initial weights, same data in the same order, same hyper-parameters, dropout off, fp32.

  bench_train_parity.py prepare SRC TRAIN DST
      SRC's encoder + a token-classification head for the labels of TRAIN (sorted distinct tags, as
      HF run_ner and medner derive them), seeded (torch.manual_seed(0)), saved as a Hugging Face model
      directory DST (config with id2label/label2id, model.safetensors with the classifier, tokenizer).
  bench_train_parity.py hf INIT TRAIN LOG.jsonl [--out DIR] [--max-steps N] [--epochs N] [--batch N]
                         [--grad-accum N] [--loss model|token] [--lr X] [--warmup-steps N]
                         [--weight-decay X] [--max-grad-norm X] [--max-length N] [--threads N] [--seed N]
      transformers.Trainer on TRAIN from INIT: fast tokenizer (is_split_into_words=True, truncation at
      max_length), labels with label_all_tokens=False (-100 on later pieces and specials),
      DataCollatorForTokenClassification, a SequentialSampler (= medner's --no-shuffle), dropout 0,
      adamw_torch, linear schedule; one JSON line per optimizer step (loss, lr, grad_norm) in LOG.
  bench_train_parity.py compare MEDNER.jsonl HF.jsonl [--tol 1e-3] [--steps N]
      the per-step table (loss, |diff|, lr, grad norm), max |diff|, PASS/FAIL; exit status 1 on FAIL.
  bench_train_parity.py f1 MEDNER_EVAL.json HF_EVAL.json [--tol 0.3]
      micro F1 of both (bin/medner eval --json outputs), the difference in F1 points vs tol.
  bench_train_parity.py seqeval MODEL TEST [--max-length N]
      the HF model's own predictions on TEST (first piece of each word, arg-max) through seqeval.
"""
import argparse
import json
import os
import shutil
import sys


def read_conll(path):
    """Sentences as (words, tags); blank line ends a sentence; -DOCSTART- sentences skipped."""
    sents, words, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if words and words[0] != "-DOCSTART-":
                    sents.append((words, tags))
                words, tags = [], []
                continue
            w, t = line.split("\t")
            words.append(w)
            tags.append(t)
    if words and words[0] != "-DOCSTART-":
        sents.append((words, tags))
    return sents


def labels_of(sents):
    # medner: the sorted distinct tags of the training file, byte order (docs/training.md, "Data");
    # Python's str order is code-point order, the same as UTF-8 byte order.
    return sorted({t for _, tags in sents for t in tags}, key=lambda s: s.encode("utf-8"))


TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def prepare(src, train, dst):
    import torch
    from transformers import BertForTokenClassification
    labels = labels_of(read_conll(train))
    torch.manual_seed(0)
    m = BertForTokenClassification.from_pretrained(
        src, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={l: i for i, l in enumerate(labels)})
    assert m.classifier.weight.shape[0] == len(labels)
    os.makedirs(dst, exist_ok=True)
    m.save_pretrained(dst, safe_serialization=True)
    for f in TOKENIZER_FILES:
        if os.path.exists(os.path.join(src, f)):
            shutil.copy(os.path.join(src, f), dst)
    print(f"prepared {dst}: labels {labels}")


def encode(tok, sents, label2id, max_length):
    feats = []
    for words, tags in sents:
        enc = tok(words, is_split_into_words=True, truncation=True, max_length=max_length)
        prev, labs = None, []
        for w in enc.word_ids():
            # label_all_tokens=False: the first piece of a word gets its label, the rest -100
            labs.append(-100 if w is None or w == prev else label2id[tags[w]])
            prev = w
        feats.append({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                      "token_type_ids": enc["token_type_ids"], "labels": labs})
    return feats


def hf(a):
    import torch
    import transformers
    from torch.utils.data import SequentialSampler
    from transformers import (AutoModelForTokenClassification, AutoTokenizer,
                              DataCollatorForTokenClassification, PrinterCallback, Trainer,
                              TrainerCallback, TrainingArguments)
    torch.set_num_threads(a.threads)
    tok = AutoTokenizer.from_pretrained(a.init)
    assert tok.is_fast
    model = AutoModelForTokenClassification.from_pretrained(
        a.init, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        attn_implementation="eager")
    sents = read_conll(a.train)
    labels = labels_of(sents)
    id2label = [model.config.id2label[i] for i in range(model.config.num_labels)]
    if id2label != labels:
        sys.exit(f"{a.init}: id2label {id2label} differs from the training labels {labels}")
    feats = encode(tok, sents, model.config.label2id, a.max_length)

    class Sequential(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            return SequentialSampler(train_dataset if train_dataset is not None else self.train_dataset)

    rows = []

    class Log(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs and "grad_norm" in logs:
                rows.append({"step": state.global_step, "loss": float(logs["loss"]),
                             "lr": float(logs["learning_rate"]),
                             "grad_norm": float(logs["grad_norm"])})

    out = a.out or a.log + ".hf-out"
    args = TrainingArguments(
        output_dir=out, per_device_train_batch_size=a.batch, gradient_accumulation_steps=a.grad_accum,
        learning_rate=a.lr, weight_decay=a.weight_decay, max_grad_norm=a.max_grad_norm,
        warmup_steps=a.warmup_steps, lr_scheduler_type="linear", optim="adamw_torch",
        adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=1e-8,
        max_steps=a.max_steps if a.max_steps else -1, num_train_epochs=a.epochs,
        logging_steps=1, logging_strategy="steps", save_strategy="no", eval_strategy="no",
        report_to="none", use_cpu=True, seed=a.seed, dataloader_num_workers=0,
        dataloader_drop_last=False, remove_unused_columns=False, disable_tqdm=True)
    loss_func = None
    if a.loss == "token":
        # the mean over the labelled tokens of the whole optimizer step (Trainer's num_items_in_batch),
        # which BertForTokenClassification drops: it declares **kwargs but returns the mean over its
        # micro-batch, and Trainer then skips the division by gradient_accumulation_steps
        # (huggingface/transformers#47688), so with accumulation the step's loss is the sum of the
        # micro-batch means. The same as the model's loss with gradient_accumulation_steps 1.
        def loss_func(outputs, labels, num_items_in_batch=None):
            logits = outputs["logits"]
            ce = torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]).float(),
                                                   labels.view(-1), ignore_index=-100,
                                                   reduction="sum")
            return ce / num_items_in_batch
    trainer = Sequential(model=model, args=args, train_dataset=feats,
                         data_collator=DataCollatorForTokenClassification(tok),
                         callbacks=[Log()], compute_loss_func=loss_func)
    trainer.remove_callback(PrinterCallback)  # the per-step dicts on stdout: the table shows them
    # the optimizer groups HF Trainer makes: no decay on biases and LayerNorm weights
    decay = set(trainer.get_decay_parameter_names(model))
    for n, p in model.named_parameters():
        assert (n in decay) == (p.dim() == 2), f"decay group of {n} is not medner's (2-D only)"
    trainer.train()
    with open(a.log, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    if a.out:
        trainer.save_model(a.out)
        tok.save_pretrained(a.out)
    print(f"hf: {len(rows)} steps, torch {torch.__version__}, transformers {transformers.__version__}, "
          f"threads {torch.get_num_threads()}")


def load_medner(path):
    rows = []
    with open(path) as f:
        for line in f:
            o = json.loads(line)
            if o.get("event") == "step":
                rows.append({"step": o["step"], "loss": o["loss"], "lr": o["lr"],
                             "grad_norm": o["grad_norm"]})
    return rows


def load_hf(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def compare(a):
    m, h = load_medner(a.medner), load_hf(a.hf)
    n = a.steps or max(len(m), len(h))
    if len(m) < n or len(h) < n:
        print(f"FAIL: steps logged: medner {len(m)}, HF {len(h)}, expected {n}")
        return 1
    print(f"{'step':>4} {'loss medner':>12} {'loss HF':>12} {'|diff|':>9}  {'lr medner':>10} "
          f"{'lr HF':>10}  {'gnorm medner':>12} {'gnorm HF':>10} {'rel':>8}")
    md = ml = mg = 0.0
    for i in range(n):
        a_, b_ = m[i], h[i]
        if a_["step"] != b_["step"]:
            print(f"FAIL: step numbers differ at row {i}: {a_['step']} vs {b_['step']}")
            return 1
        d = abs(a_["loss"] - b_["loss"])
        dl = abs(a_["lr"] - b_["lr"]) / max(abs(b_["lr"]), 1e-30) if b_["lr"] else abs(a_["lr"])
        dg = abs(a_["grad_norm"] - b_["grad_norm"]) / max(abs(b_["grad_norm"]), 1e-30)
        md, ml, mg = max(md, d), max(ml, dl), max(mg, dg)
        print(f"{a_['step']:>4} {a_['loss']:>12.6f} {b_['loss']:>12.6f} {d:>9.2e}  {a_['lr']:>10.4e} "
              f"{b_['lr']:>10.4e}  {a_['grad_norm']:>12.6f} {b_['grad_norm']:>10.6f} {dg:>8.1e}")
    ok = md <= a.tol and ml <= 1e-6
    print(f"max |loss diff| {md:.3e} (tolerance {a.tol:g}); max relative lr diff {ml:.1e}; "
          f"max relative grad-norm diff {mg:.1e}")
    print(f"{'PASS' if ok else 'FAIL'}: per-step training loss within {a.tol:g} for {n} steps"
          + ("" if ml <= 1e-6 else " (learning rates differ)"))
    return 0 if ok else 1


def f1(a):
    def micro(path):
        with open(path) as f:
            o = json.load(f)
        for k in ("micro avg", "micro_avg", "micro"):
            if k in o:
                return o[k]["f1"] if "f1" in o[k] else o[k]["f1-score"]
        if "averages" in o:
            return o["averages"]["micro"]["f1"]
        sys.exit(f"{path}: no micro average in {list(o)}")
    fm, fh = micro(a.medner) * 100, micro(a.hf) * 100
    d = abs(fm - fh)
    print(f"test F1 (medner eval on each model): medner-trained {fm:.2f}, HF-trained {fh:.2f}, "
          f"|diff| {d:.2f} points (tolerance {a.tol:g})")
    print(f"{'PASS' if d <= a.tol else 'FAIL'}: final test F1 within {a.tol:g} points")
    return 0 if d <= a.tol else 1


def hf_seqeval(a):
    import torch
    from seqeval.metrics import f1_score, precision_score, recall_score
    from transformers import AutoModelForTokenClassification, AutoTokenizer
    torch.set_num_threads(a.threads)
    tok = AutoTokenizer.from_pretrained(a.model)
    model = AutoModelForTokenClassification.from_pretrained(a.model).eval()
    sents = read_conll(a.test)
    gold, pred = [], []
    with torch.no_grad():
        for words, tags in sents:
            enc = tok(words, is_split_into_words=True, truncation=True, max_length=a.max_length,
                      return_tensors="pt")
            logits = model(**enc).logits[0]
            ids = logits.argmax(-1).tolist()
            p, g, prev = [], [], None
            for i, w in enumerate(enc.word_ids()):
                if w is not None and w != prev:
                    p.append(model.config.id2label[ids[i]])
                    g.append(tags[w])
                prev = w
            gold.append(g)
            pred.append(p)
    print(json.dumps({"precision": precision_score(gold, pred), "recall": recall_score(gold, pred),
                      "f1": f1_score(gold, pred)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("src")
    p.add_argument("train")
    p.add_argument("dst")
    p = sub.add_parser("hf")
    p.add_argument("init")
    p.add_argument("train")
    p.add_argument("log")
    p.add_argument("--out")
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--epochs", type=float, default=1)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--loss", choices=("model", "token"), default="model",
                   help="model: the model's own loss (Trainer as shipped); token: sum / labelled "
                        "tokens of the optimizer step")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--warmup-steps", type=int, default=5)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--max-grad-norm", type=float, default=1.0)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=13)
    p = sub.add_parser("compare")
    p.add_argument("medner")
    p.add_argument("hf")
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument("--steps", type=int, default=0)
    p = sub.add_parser("f1")
    p.add_argument("medner")
    p.add_argument("hf")
    p.add_argument("--tol", type=float, default=0.3)
    p = sub.add_parser("seqeval")
    p.add_argument("model")
    p.add_argument("test")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if a.cmd == "prepare":
        prepare(a.src, a.train, a.dst)
    elif a.cmd == "hf":
        hf(a)
    elif a.cmd == "compare":
        sys.exit(compare(a))
    elif a.cmd == "f1":
        sys.exit(f1(a))
    else:
        hf_seqeval(a)


if __name__ == "__main__":
    main()
