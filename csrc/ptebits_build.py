"""cffi builder for ptebits._native (run by setup.py's cffi_modules).

The cdef declares every constant as ``...`` so the C compiler supplies the
value from ptebits.h: Python can never drift from the header.
"""
import os
import re

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = ["csrc/codec.c", "csrc/decode.c", "csrc/levels.c"]


def _constant_names():
    """Every #define in ptebits.h whose value is an integer expression."""
    names = []
    with open(os.path.join(HERE, "ptebits.h")) as header:
        for line in header:
            m = re.match(r"#define\s+(PB_[A-Z0-9_]+)\s+\S", line)
            if m and not m.group(1).endswith("_H") and "(" not in line.split()[1]:
                names.append(m.group(1))
    return names


def _declarations():
    """The typedefs and prototypes of ptebits.h, between its cdef markers;
    array sizes named by macros become [...] for cffi to ask the compiler."""
    with open(os.path.join(HERE, "ptebits.h")) as header:
        text = header.read()
    decls = text.split("/* cdef: begin", 1)[1].split("*/", 1)[1]
    decls = decls.split("/* cdef: end */", 1)[0]
    decls = re.sub(r"\[PB_\w+\]", "[...]", decls)
    # a struct with [...] members must be declared partial
    return decls.replace("} pb_profile;", "    ...;\n} pb_profile;")


CDEF = "\n".join("#define %s ..." % name for name in _constant_names()) + _declarations()

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "ptebits._native",
    '#include "ptebits.h"',
    sources=SOURCES,
    include_dirs=["csrc"],
    depends=["csrc/ptebits.h", "csrc/entry.h"],
    extra_compile_args=["-std=c99", "-O3"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
