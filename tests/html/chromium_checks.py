#!/usr/bin/env python3
"""Checks on what headless Chromium made of a page (make test-html).

    chromium_checks.py png FILE.png WIDTH HEIGHT
        a PNG of that size that is not a blank page: enough non-white pixels
        and enough different colours (the entity highlights)
    chromium_checks.py netlog NETLOG.json PAGE_URL
        no request made by the page (network isolation key file://) for
        anything but the page itself; Chromium's own background requests
        (update checks and the like, not the page's) are left aside

Standard library only (zlib for the PNG). Exit 0 and one line "ok ..." or
exit 1 and "FAIL: ...".
"""
import json
import struct
import sys
import zlib


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path}: not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + n
    if ihdr is None or not idat:
        fail(f"{path}: no IHDR/IDAT")
    w, h, depth, ctype, _, _, interlace = ihdr
    channels = {2: 3, 6: 4}.get(ctype)
    if depth != 8 or channels is None or interlace:
        fail(f"{path}: unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
    raw = zlib.decompress(b"".join(idat))
    stride = w * channels
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            elif f != 0:
                fail(f"{path}: bad filter {f} on row {y}")
        rows.append(bytes(line))
        prev = line
    return w, h, channels, rows


def png(path, want_w, want_h):
    w, h, ch, rows = read_png(path)
    if (w, h) != (want_w, want_h):
        fail(f"{path}: {w}x{h}, expected {want_w}x{want_h}")
    non_white, colours, total = 0, set(), 0
    for y in range(0, h, 2):          # every other row and column: enough, and quick
        r = rows[y]
        for x in range(0, w * ch, 2 * ch):
            px = r[x:x + 3]
            total += 1
            if min(px) < 235:
                non_white += 1
                colours.add((px[0] >> 4, px[1] >> 4, px[2] >> 4))
    share = non_white / total
    if share < 0.05:
        fail(f"{path}: {share:.1%} non-white pixels (a blank page?)")
    if len(colours) < 24:
        fail(f"{path}: only {len(colours)} colours (no highlights?)")
    print(f"ok {path}: {w}x{h}, {share:.1%} non-white, {len(colours)} colours")


def netlog(path, page_url):
    d = json.load(open(path))
    types = {v: k for k, v in d["constants"]["logEventTypes"].items()}
    seen, page_requests = 0, []
    for e in d.get("events", []):
        p = e.get("params") or {}
        if types.get(e.get("type")) != "URL_REQUEST_START_JOB" or "url" not in p:
            continue
        seen += 1
        if not str(p.get("network_isolation_key", "")).startswith("file://"):
            continue  # Chromium's own (update checks, accounts): not the page's
        if p["url"] != page_url:
            page_requests.append(p["url"])
    if page_requests:
        fail(f"the page requested {page_requests}")
    print(f"ok {path}: no request from the page ({seen} requests of the browser itself)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "png":
        png(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 4 and sys.argv[1] == "netlog":
        netlog(sys.argv[2], sys.argv[3])
    else:
        print(__doc__)
        sys.exit(2)
