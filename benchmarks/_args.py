"""The command line the loss benchmarks share (`bench_catalogue`, `bench_beyond`), read before Keras
is imported: `--backend` sets KERAS_BACKEND."""

import argparse


def loss_timing_parser(description):
    """--repeats, --rounds, --only (row labels, or their beginnings) and --backend."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="labels of the rows to run (default: all)")
    parser.add_argument("--backend", choices=("tensorflow", "jax", "torch"), default="tensorflow")
    return parser
