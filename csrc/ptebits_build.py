"""cffi builder for ptebits._native (run by setup.py's cffi_modules).

The cdef declares every constant as ``...`` so the C compiler supplies the
value from ptebits.h: Python can never drift from the header.
"""
import glob
import os
import re

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
# every .c in csrc/ is part of the core; every header with cdef markers is
# part of its Python interface (ptebits.h holds the bit layouts; others hold
# helpers that are not about bits, such as live.h)
SOURCES = sorted(os.path.relpath(p, os.path.dirname(HERE))
                 for p in glob.glob(os.path.join(HERE, "*.c")))
HEADERS = ["ptebits.h"] + sorted(
    os.path.basename(p) for p in glob.glob(os.path.join(HERE, "*.h"))
    if os.path.basename(p) not in ("ptebits.h", "entry.h"))


def _constant_names(name):
    """Every #define PB_* in a header whose value is an integer expression."""
    names = []
    with open(os.path.join(HERE, name)) as header:
        for line in header:
            m = re.match(r"#define\s+(PB_[A-Z0-9_]+)\s+\S", line)
            if m and not m.group(1).endswith("_H") and "(" not in line.split()[1]:
                names.append(m.group(1))
    return names


def _declarations(name):
    """The typedefs and prototypes of a header, between its cdef markers;
    array sizes named by macros become [...] for cffi to ask the compiler."""
    with open(os.path.join(HERE, name)) as header:
        text = header.read()
    if "/* cdef: begin" not in text:
        return ""
    decls = text.split("/* cdef: begin", 1)[1].split("*/", 1)[1]
    decls = decls.split("/* cdef: end */", 1)[0]
    decls = re.sub(r"\[PB_\w+\]", "[...]", decls)
    # a struct with [...] members must be declared partial
    return decls.replace("} pb_profile;", "    ...;\n} pb_profile;")


CDEF = "\n".join("#define %s ..." % c for h in HEADERS for c in _constant_names(h)) + \
    "".join(_declarations(h) for h in HEADERS)

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "ptebits._native",
    "".join('#include "%s"\n' % h for h in HEADERS),
    sources=SOURCES,
    include_dirs=["csrc"],
    depends=["csrc/" + h for h in HEADERS] + ["csrc/entry.h"],
    extra_compile_args=["-std=c99", "-O3"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
