"""`python -m benchmarks`: oiocli's speed measured against this machine's own limits.

One run measures the limits (disk, MD5, CRC32, erasure coding, cliff start-up), then our
scenarios through the public API and the `oio` CLI, prints each figure beside the limit it is
bounded by as a ratio, and writes the whole run as JSON to `benchmarks/results/`.
See `python -m benchmarks --help`.
"""
