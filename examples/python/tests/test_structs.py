"""The ctypes mirrors of the params structs have exactly the C layout.

A C program compiled against include/medner.h prints sizeof and, for every
field, offsetof and the field's size; the test compares them with ctypes.  The
header is also parsed for the member names, so a field missing from (or added
to) a mirror fails even when padding would hide it from sizeof.
"""

import ctypes
import re
import subprocess

from conftest import ROOT

from medner import _capi

HEADER = ROOT / "include" / "medner.h"


def header_structs():
    """{struct name: [member names in order]} of every `typedef struct X { ... } X;`."""
    text = HEADER.read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    out = {}
    for name, body in re.findall(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*\1\s*;", text, re.S):
        members = []
        for decl in body.split(";"):
            decl = decl.strip()
            if not decl:
                continue
            m = re.search(r"\(\s*\*\s*(\w+)\s*\)\s*\(", decl)      # function pointer
            members.append(m.group(1) if m else re.findall(r"\w+", decl)[-1])
        out[name] = members
    return out


def test_every_header_struct_is_mirrored():
    structs = header_structs()
    assert len(structs) >= 9, structs
    assert sorted(structs) == sorted(_capi.STRUCTS)
    for name, members in structs.items():
        assert [f[0] for f in _capi.STRUCTS[name]._fields_] == members, name


def test_sizes_and_offsets_match_c(tmp_path):
    lines = ["#include <stddef.h>", "#include <stdio.h>", "#include <medner.h>",
             "int main(void) {"]
    for name, cls in _capi.STRUCTS.items():
        lines.append(f'  printf("{name} sizeof %zu\\n", sizeof({name}));')
        for field, _ in cls._fields_:
            lines.append(f'  printf("{name} {field} %zu %zu\\n", offsetof({name}, {field}), '
                         f'sizeof((({name} *)0)->{field}));')
    lines += ["  return 0;", "}"]
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layout"
    subprocess.run(["cc", "-std=c99", "-Wall", "-Werror", f"-I{ROOT / 'include'}", str(src),
                    "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    checked = 0
    for line in out.splitlines():
        name, field, *nums = line.split()
        cls = _capi.STRUCTS[name]
        if field == "sizeof":
            assert ctypes.sizeof(cls) == int(nums[0]), name
        else:
            desc = getattr(cls, field)
            assert (desc.offset, desc.size) == (int(nums[0]), int(nums[1])), f"{name}.{field}"
        checked += 1
    assert checked == sum(len(c._fields_) + 1 for c in _capi.STRUCTS.values())


def test_struct_size_is_set_like_the_init_macros():
    for cls in _capi.STRUCTS.values():
        s = cls()
        assert s.struct_size == ctypes.sizeof(cls)


def test_status_codes_match_the_header():
    """Every MEDNER_E_* of enum medner_status has a Status member of the same
    value (a code added to the header without the binding fails here)."""
    import medner
    codes = dict(re.findall(r"MEDNER_(E_[A-Z0-9_]+|OK)\s*=\s*(-?\d+)", HEADER.read_text()))
    assert len(codes) >= 12, codes
    for name, value in codes.items():
        member = name[2:] if name.startswith("E_") else name
        assert medner.Status[member] == int(value), (name, value)
    assert len(medner.Status) == len(codes)
