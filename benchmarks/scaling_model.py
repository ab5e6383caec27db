#!/usr/bin/env python3
"""The scaling model of docs/distributed.md, on paper: the network latency and bandwidth a step
needs so that combining gradients costs at most 10 % of it (90 % efficiency), at 4, 16 and 64
ranks, for the book's model and the 2 x 384 recipe, with the ordered (chain) and the unordered
(MPI_Allreduce) reduction.  Not a measurement: it takes the compute time per sequence that
distributed.sh measured on one process of 2 threads.
    python3 benchmarks/scaling_model.py BOOK_MS_PER_STEP RECIPE_MS_PER_STEP
(the compute part of a 1 process x 2 threads step: its step time minus its combine time).

Costs, for a gradient of M bytes, N ranks, latency a per message, bandwidth b:
  chain     (N - 1 + k - 1) hops of one segment (k segments of s = M / k bytes) passed along the
            ranks, then k pipelined broadcasts of a segment down a tree of depth ceil(log2 N):
            (N + ceil(log2 N) + 2k - 3) (a + s / b)
  allreduce Rabenseifner's (recursive halving reduce-scatter, doubling allgather), what Open
            MPI picks for large buffers: 2 ceil(log2 N) a + 2 (N - 1) / N * M / b
Compute per step at N ranks of 2 threads, the global batch B fixed (the tool's --batch):
  c * ceil(B / (2 N)), c the time of one sequence on one thread as measured here; smaller
  slices are assumed as fast per sequence (optimistic), the summing arithmetic is left out.
  Second table: the batch grown with the ranks (every rank B sequences, c * B / 2).
"""
import math
import sys

SEGMENT = 65536 * 4  # bytes: mpi_chain_reducer's default segment of 65,536 floats
MODELS = {  # name: (gradient bytes = the padded parameter buffer * 4, global batch B)
    "book (1 x 128, window, B 128)": (102592 * 4, 128),
    "recipe (2 x 384, sequence, B 64)": (1882048 * 4, 64),
}


def chain(n, m, a, b):
    k = math.ceil(m / SEGMENT)
    return (n + math.ceil(math.log2(n)) + 2 * k - 3) * (a + m / k / b)


def allreduce(n, m, a, b):
    return 2 * math.ceil(math.log2(n)) * a + 2 * (n - 1) / n * m / b


def needed_bandwidth(cost, n, m, a, budget):
    """The smallest b with cost(n, m, a, b) <= budget, or None if latency alone exceeds it."""
    if cost(n, m, a, math.inf) >= budget:
        return None
    lo, hi = 1.0, 1e15
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if cost(n, m, a, mid) <= budget else (mid, hi)
    return hi


def table(step_ms, weak):
    print("| model | ranks | compute ms/step | budget ms (10 %) | reduction | max latency (infinite "
          "bandwidth) | bandwidth needed at 2 µs latency | at 30 µs |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for (name, (m, batch)), ms in zip(MODELS.items(), step_ms):
        per_sequence = ms / 1000 / (batch / 2)  # s, one thread
        for n in (4, 16, 64):
            sequences = batch / 2 if weak else math.ceil(batch / (2 * n))
            compute = per_sequence * sequences
            budget = compute / 9  # comm <= compute / 9  <=>  compute / (compute + comm) >= 0.9
            for label, cost in (("ordered (chain)", chain), ("allreduce", allreduce)):
                unit = cost(n, m, 1.0, math.inf)  # messages on the critical path
                cells = []
                for a in (2e-6, 30e-6):
                    b = needed_bandwidth(cost, n, m, a, budget)
                    cells.append("impossible" if b is None else f"{b * 8 / 1e9:.1f} Gbit/s")
                print(f"| {name} | {n} | {compute * 1000:.2f} | {budget * 1000:.3f} | {label} | "
                      f"{budget / unit * 1e6:.1f} µs | {cells[0]} | {cells[1]} |")


def main():
    step_ms = [float(x) for x in sys.argv[1:3]]
    print("The global batch fixed (the tool's --batch): N ranks share B sequences.\n")
    table(step_ms, weak=False)
    print("\nThe batch grown with the ranks: every rank computes B sequences (global batch N B).\n")
    table(step_ms, weak=True)


if __name__ == "__main__":
    main()
