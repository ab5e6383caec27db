#!/usr/bin/env python3
"""PyTorch's side of compare.sh: the book's model (LSTM(128) + Linear, one-hot input, RMSprop,
cross-entropy) trained on the same Nietzsche windows with batch 128, and generation both ways;
with --recipe instead the recipe of docs/results.md: sequence mode, nn.LSTM(num_layers=2) of 384
units with dropout 0.4 + Linear, one-hot input, Adam, 64 streams read in order, 100 steps per
update, the loss at every step, the state carried (detached) between updates.
Run with Debian's /usr/bin/python3 (python3-torch 1.13).  Prints one JSON object.

    /usr/bin/python3 benchmarks/torch_reference.py --threads 1 [--seconds 10] [--recipe]
"""
import argparse
import json
import os
import time

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seconds", type=float, default=10.0, help="time per measurement")
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "nietzsche.txt"))
    p.add_argument("--recipe", action="store_true", help="the 2 x 384 sequence-mode recipe only")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)

    text = open(args.data, encoding="utf-8").read().lower()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text])
    if args.recipe:
        recipe(args, ids, len(chars))
        return
    T, B, V, H = 60, 128, len(chars), 128
    starts = torch.arange(0, len(text) - T, 3)

    lstm, dense = torch.nn.LSTM(V, H), torch.nn.Linear(H, V)
    params = list(lstm.parameters()) + list(dense.parameters())
    opt = torch.optim.RMSprop(params, lr=0.01, alpha=0.9, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(1)

    def batch():
        w = starts[torch.randint(len(starts), (B,), generator=gen)]
        x = ids[w.unsqueeze(0) + torch.arange(T).unsqueeze(1)]          # (T, B)
        return torch.nn.functional.one_hot(x, V).float(), ids[w + T]

    def step(x, y):
        opt.zero_grad()
        out, _ = lstm(x)
        loss = loss_fn(dense(out[-1]), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(3):
        step(*batch())
    batches = [batch() for _ in range(8)]
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        step(*batches[n % len(batches)])
        n += 1
    train_rate = n * B / (time.perf_counter() - start)

    # Generation: the book's loop re-reads the window for each character; the stateful loop
    # feeds one character and carries (h, c).
    with torch.no_grad():
        window = torch.nn.functional.one_hot(ids[:T], V).float().unsqueeze(1)   # (T, 1, V)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds / 2:
            out, _ = lstm(window)
            probs = torch.softmax(dense(out[-1, 0]), 0)
            nxt = torch.multinomial(probs, 1)
            window = torch.cat([window[1:], torch.nn.functional.one_hot(nxt, V).float().view(1, 1, V)])
            n += 1
        window_rate = n / (time.perf_counter() - start)

        state = None
        x = torch.nn.functional.one_hot(ids[:1], V).float().view(1, 1, V)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds / 2:
            out, state = lstm(x, state)
            probs = torch.softmax(dense(out[0, 0]), 0)
            nxt = torch.multinomial(probs, 1)
            x = torch.nn.functional.one_hot(nxt, V).float().view(1, 1, V)
            n += 1
        stateful_rate = n / (time.perf_counter() - start)

    print(json.dumps({"torch": torch.__version__, "threads": args.threads,
                      "train_sequences_per_s": train_rate,
                      "generate_window_chars_per_s": window_rate,
                      "generate_stateful_chars_per_s": stateful_rate,
                      "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "")}))


def recipe(args, ids, V):
    H, L, B, T = 384, 2, 64, 100
    lstm, dense = torch.nn.LSTM(V, H, num_layers=L, dropout=0.4), torch.nn.Linear(H, V)
    params = list(lstm.parameters()) + list(dense.parameters())
    opt = torch.optim.Adam(params, lr=0.004)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = (len(ids) - 1) // B
    streams = ids[: n * B + 1]
    inputs, targets = streams[:-1].view(B, n).t(), streams[1:].view(B, n).t()   # (n, B)
    state, pos = None, 0

    def step():
        nonlocal state, pos
        if pos + T > n:
            state, pos = None, 0
        x = torch.nn.functional.one_hot(inputs[pos:pos + T], V).float()
        y = targets[pos:pos + T]
        opt.zero_grad()
        out, state = lstm(x, state)
        state = tuple(s.detach() for s in state)
        loss = loss_fn(dense(out).reshape(-1, V), y.reshape(-1))
        loss.backward()
        opt.step()
        pos += T

    step()
    k, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds or k < 2:
        step()
        k += 1
    rate = k * T * B / (time.perf_counter() - start)
    print(json.dumps({"torch": torch.__version__, "threads": args.threads, "recipe_chars_per_s": rate,
                      "recipe_steps": k, "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "")}))


if __name__ == "__main__":
    main()
