#!/usr/bin/env python3
"""Convert a PyTorch checkpoint (pytorch_model.bin) to model.safetensors.

medner reads weights only from safetensors files (memory-mapped, validated,
no code execution), so a Hugging Face model directory that holds only
pytorch_model.bin -- or pytorch_model.bin.index.json with its shards -- must be
converted once:

    python3 examples/tools/convert_to_safetensors.py path/to/model-dir

This writes path/to/model-dir/model.safetensors next to the .bin file(s) and
leaves everything else alone; config.json and the tokenizer files are used as
they are. The .bin file is read with torch.load(weights_only=True), which
refuses pickled code. Tensors that share storage (tied weights, e.g. the
MaskedLM decoder tied to the word embeddings) are cloned, because safetensors
stores every tensor on its own. The written file is read back and compared
with the original tensors unless --no-verify is given.

Requirements (from PyPI): torch, safetensors
    pip install torch safetensors

Options:
    --output PATH   where to write (default: DIR/model.safetensors)
    --force         overwrite an existing output file
    --no-verify     skip reading the result back
"""
import argparse
import json
import os
import sys


def load_state_dict(model_dir):
    """All tensors of pytorch_model.bin or of the shards its index lists."""
    import torch

    single = os.path.join(model_dir, "pytorch_model.bin")
    index = os.path.join(model_dir, "pytorch_model.bin.index.json")
    if os.path.isfile(single):
        files = [single]
    elif os.path.isfile(index):
        with open(index, encoding="utf-8") as f:
            weight_map = json.load(f)["weight_map"]
        names = sorted(set(weight_map.values()))
        for name in names:
            if "/" in name or "\\" in name or ".." in name:
                sys.exit(f"{index}: shard name {name!r} is not a file in the directory")
        files = [os.path.join(model_dir, name) for name in names]
    else:
        sys.exit(f"{model_dir}: no pytorch_model.bin or pytorch_model.bin.index.json")
    state = {}
    for path in files:
        part = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(part, dict):
            sys.exit(f"{path}: expected a state dict, found {type(part).__name__}")
        for name, value in part.items():
            if not isinstance(value, torch.Tensor):
                print(f"skipping {name!r}: not a tensor ({type(value).__name__})",
                      file=sys.stderr)
                continue
            if name in state:
                sys.exit(f"{path}: tensor {name!r} appears in two files")
            state[name] = value
    return state


def unshare(state):
    """Clone tensors whose storage another tensor already uses; make every
    tensor contiguous (safetensors stores dense row-major data only)."""
    seen = set()
    out = {}
    for name in sorted(state):
        t = state[name]
        key = (t.device.type, t.untyped_storage().data_ptr())
        if key in seen and t.numel() > 0:
            t = t.clone()
        else:
            seen.add(key)
        out[name] = t.contiguous()
    return out


def main():
    parser = argparse.ArgumentParser(
        description="Convert pytorch_model.bin (or its shards) in a Hugging Face model "
                    "directory to model.safetensors, for medner.")
    parser.add_argument("model_dir", help="directory holding pytorch_model.bin "
                        "or pytorch_model.bin.index.json")
    parser.add_argument("--output", help="output file (default: MODEL_DIR/model.safetensors)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    parser.add_argument("--no-verify", action="store_true",
                        help="do not read the written file back")
    args = parser.parse_args()

    try:
        import torch
        from safetensors.torch import load_file, save_file
    except ImportError as e:
        sys.exit(f"needs torch and safetensors (pip install torch safetensors): {e}")

    output = args.output or os.path.join(args.model_dir, "model.safetensors")
    if os.path.exists(output) and not args.force:
        sys.exit(f"{output} exists; use --force to overwrite it")
    state = unshare(load_state_dict(args.model_dir))
    tmp = output + ".tmp"
    save_file(state, tmp, metadata={"format": "pt"})
    if not args.no_verify:
        back = load_file(tmp)
        if sorted(back) != sorted(state):
            os.remove(tmp)
            sys.exit("verification failed: tensor names differ")
        for name, t in state.items():
            b = back[name]
            if b.dtype != t.dtype or b.shape != t.shape or not torch.equal(
                    b.reshape(-1).view(torch.uint8), t.reshape(-1).view(torch.uint8)):
                os.remove(tmp)
                sys.exit(f"verification failed: tensor {name!r} differs")
    os.replace(tmp, output)
    params = sum(t.numel() for t in state.values())
    print(f"wrote {output}: {len(state)} tensors, {params} values")


if __name__ == "__main__":
    main()
