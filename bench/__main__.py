"""`python -m bench`: every benchmark in turn, each writing its tables into bench/results/."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

from . import first_step, input_cost, memory, pretrained, server_load, sync, tensors, throughput
from .dataset import dataset_in

# Cheapest first, the long browser runs last (memory trains an epoch on up to 100,000 images). sync and server
# share one imported 5,000-image dataset.
BENCHMARKS = {
    "server": server_load,
    "sync": sync,
    "input": input_cost,
    "tensors": tensors,
    "throughput": throughput,
    "first_step": first_step,
    "pretrained": pretrained,
    "memory": memory,
}
NEEDS_DATASET = {"server", "sync"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"only these ({', '.join(BENCHMARKS)}); default: all")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        dataset = None
        if NEEDS_DATASET & set(names):
            dataset = dataset_in(tmp, 5000)
            print(f"dataset: {dataset[1]}", file=sys.stderr)
        for name in names:
            print(f"== {name}", file=sys.stderr)
            t = time.monotonic()
            module = BENCHMARKS[name]
            if name in NEEDS_DATASET:
                module.main([], dataset=dataset)
            else:
                module.main([])
            print(f"== {name}: {time.monotonic() - t:.0f} s", file=sys.stderr)
    print(f"all benchmarks: {time.monotonic() - started:.0f} s; tables in bench/results/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
