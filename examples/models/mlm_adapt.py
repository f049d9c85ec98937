#!/usr/bin/env python3
"""Domain-adaptive masked-LM pre-training of a BERT encoder in PyTorch (an experiment, issue 18).

Question it answers: does continuing MLM pre-training of all-MiniLM-L6-v2 on the biomedical text
that is reachable here (the PubMed abstracts of ../shared/data/raw that are NOT in NCBI-disease dev or
test, i.e. NCBI-disease train and JNLPBA abstracts) raise NCBI-disease dev F1 after `medner train`?
It is a feasibility check before building an MLM objective into `medner train`; no shipped model
depends on it. Recipe: HF run_mlm's (documents tokenised, concatenated, cut into blocks of
--block tokens; 15 % masking, 80/10/10; AdamW, linear warm-up/decay), torch.autocast bf16 on CPU.
The MLM head of a sentence-transformers checkpoint is absent: its transform is initialised by
transformers, the decoder tied to the word embeddings. Writes the encoder (BertModel keys, as the
base) with the base's tokenizer files into --out, loadable by `medner train --base`.

  python3 examples/models/mlm_adapt.py --base .cache/models/all-MiniLM-L6-v2 \
      --data-dir ../shared/data --out .cache/mlm/minilm-pubmed --epochs 2 --threads 2
"""
import argparse
import json
import os
import random
import shutil
import time


def ids_of(pubtator):
    out = set()
    with open(pubtator, encoding="utf-8") as f:
        for line in f:
            if "|t|" in line:
                out.add(line.split("|", 1)[0])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=float, default=2)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--block", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()

    import torch
    from transformers import (BertForMaskedLM, BertTokenizerFast, DataCollatorForLanguageModeling,
                              get_linear_schedule_with_warmup)

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(args.threads)
    raw = os.path.join(args.data_dir, "raw")
    held_out = ids_of(os.path.join(args.data_dir, "ncbi-disease/pubtator/NCBIdevelopset_corpus.txt"))
    held_out |= ids_of(os.path.join(args.data_dir, "ncbi-disease/pubtator/NCBItestset_corpus.txt"))
    with open(os.path.join(raw, "pubmed_abstracts.ids.tsv"), encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:]
    with open(os.path.join(raw, "pubmed_abstracts.txt"), encoding="utf-8") as f:
        docs = f.read().split("\n")
    texts, skipped = [], 0
    for (line, corpus, doc_id) in rows:
        if corpus == "ncbi-disease" and doc_id in held_out:
            skipped += 1
            continue
        texts.append(docs[int(line) - 1])
    tok = BertTokenizerFast.from_pretrained(args.base)
    stream = []
    for t in texts:
        stream.extend(tok(t, add_special_tokens=False)["input_ids"])
    body = args.block - 2
    blocks = [[tok.cls_token_id] + stream[i:i + body] + [tok.sep_token_id]
              for i in range(0, len(stream) - body + 1, body)]
    print(json.dumps({"documents": len(texts), "held_out_skipped": skipped,
                      "wordpieces": len(stream), "blocks": len(blocks)}), flush=True)

    model = BertForMaskedLM.from_pretrained(args.base)
    model.train()
    coll = DataCollatorForLanguageModeling(tok, mlm_probability=0.15)
    steps_per_epoch = len(blocks) // args.batch
    total = int(steps_per_epoch * args.epochs)
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)],
         "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=args.lr)
    sched = get_linear_schedule_with_warmup(opt, int(0.06 * total), total)
    step, t0, run = 0, time.time(), 0.0
    while step < total:
        order = list(range(len(blocks)))
        random.shuffle(order)
        for b in range(steps_per_epoch):
            if step >= total:
                break
            batch = coll([{"input_ids": blocks[i]} for i in order[b * args.batch:(b + 1) * args.batch]])
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = model(input_ids=batch["input_ids"], labels=batch["labels"]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            run = 0.98 * run + 0.02 * float(loss) if step > 1 else float(loss)
            if step % 50 == 0 or step == total:
                el = time.time() - t0
                print(json.dumps({"step": step, "total": total, "loss_ema": round(run, 4),
                                  "tokens_per_s": round(step * args.batch * args.block / el, 1)}),
                      flush=True)
    os.makedirs(args.out, exist_ok=True)
    model.bert.save_pretrained(args.out, safe_serialization=True)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        src = os.path.join(args.base, name)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(args.out, name))
    print(json.dumps({"out": args.out, "steps": step, "seconds": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    main()
