from setuptools import setup

setup(cffi_modules=["csrc/ptebits_build.py:ffibuilder"])
