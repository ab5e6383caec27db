#!/usr/bin/env python3
"""Writes the reference fixtures the C++ tests compare against (tests/fixtures/*.txt).

Run with Debian's interpreter, which has python3-torch 1.13:
    /usr/bin/python3 tools/make_fixtures.py [--out tests/fixtures] [--data-dir ../shared/data]

Everything is computed by PyTorch in float64 from fixed seeds, so a rerun reproduces the files
byte for byte.  Format (read by tests/support/check.hpp):
    charlstm-fixture 1
    # comment lines
    <name> <ndim> <d0> ... <dn-1>
    <values in row-major (C) order, repr() of each float, so exact>
    ...
    end
Layouts are PyTorch's: w_x (4H, V) = weight_ih_l0, w_h (4H, H) = weight_hh_l0, b (4H) = bias_ih_l0
(bias_hh_l0 is frozen at zero, so the model has one bias as charlstm does), dense_w (V, H),
dense_b (V), gate order i, f, g, o.  Stacked fixtures (lstm_stacked*.txt) name layer k's tensors
w_x_l<k> (4H, V or H), w_h_l<k>, b_l<k>, and its states h0_l<k> (B, H) and so on.  Batch tensors are (B, H) or (B, V); ids and targets (T, B)
and (B).  The dataset statistics are facts about ../shared/data, which is never copied here.
"""
import argparse
import math
import os
import sys

import torch


def tensor_lines(name, value):
    t = torch.as_tensor(value)
    shape = list(t.shape)
    head = f"{name} {len(shape)}" + "".join(f" {d}" for d in shape)
    flat = t.reshape(-1).tolist()
    if t.dtype.is_floating_point:
        body = [repr(float(x)) for x in flat]
    else:
        body = [str(int(x)) for x in flat]
    rows = [" ".join(body[k:k + 8]) for k in range(0, len(body), 8)] or [""]
    return [head] + rows


def write_fixture(path, comment, tensors):
    lines = ["charlstm-fixture 1"] + [f"# {c}" for c in comment]
    for name, value in tensors:
        lines += tensor_lines(name, value)
    lines.append("end")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


class BookModel(torch.nn.Module):
    """nn.LSTM(V, H) with one bias, then nn.Linear(H, V)."""

    def __init__(self, V, H):
        super().__init__()
        self.lstm = torch.nn.LSTM(V, H)
        self.lstm.bias_hh_l0.requires_grad_(False)
        with torch.no_grad():
            self.lstm.bias_hh_l0.zero_()
        self.dense = torch.nn.Linear(H, V)

    def forward(self, onehot, h0, c0):
        out, (hT, cT) = self.lstm(onehot, (h0.unsqueeze(0), c0.unsqueeze(0)))
        return out, hT[0], cT[0]

    def trainable(self):
        return [self.lstm.weight_ih_l0, self.lstm.weight_hh_l0, self.lstm.bias_ih_l0,
                self.dense.weight, self.dense.bias]


def lstm_fixture(path, V, H, B, T, zero_state, seed):
    torch.manual_seed(seed)
    model = BookModel(V, H)
    with torch.no_grad():
        for p in model.trainable():
            p.uniform_(-0.5, 0.5)
    ids = torch.randint(0, V, (T, B))
    targets = torch.randint(0, V, (B,))
    seq_targets = torch.randint(0, V, (T, B))
    if zero_state:
        h0, c0 = torch.zeros(B, H), torch.zeros(B, H)
    else:
        h0, c0 = torch.empty(B, H).uniform_(-0.5, 0.5), torch.empty(B, H).uniform_(-0.5, 0.5)
    h0.requires_grad_(True)
    c0.requires_grad_(True)
    onehot = torch.nn.functional.one_hot(ids, V).to(torch.float64)
    names = ["w_x", "w_h", "b", "dense_w", "dense_b"]
    weights = [(n, p.detach().clone()) for n, p in zip(names, model.trainable())]

    # Window mode (the book): the loss reads the last step only.
    out, hT, cT = model(onehot, h0, c0)
    logits = model.dense(hT)
    loss = torch.nn.functional.cross_entropy(logits, targets)
    grads = torch.autograd.grad(loss, model.trainable() + [h0, c0], retain_graph=True)

    # Sequence mode: the loss at every step.
    seq_logits = model.dense(out)  # (T, B, V)
    seq_loss = torch.nn.functional.cross_entropy(seq_logits.reshape(T * B, V), seq_targets.reshape(-1))
    seq_grads = torch.autograd.grad(seq_loss, model.trainable() + [h0, c0])

    # Three RMSprop steps of the window loss with Keras's rho and epsilon.
    optimizer = torch.optim.RMSprop(model.trainable(), lr=0.01, alpha=0.9, eps=1e-7)
    losses = []
    for step in range(4):
        optimizer.zero_grad()
        _, hT_step, _ = model(onehot, h0.detach(), c0.detach())
        step_loss = torch.nn.functional.cross_entropy(model.dense(hT_step), targets)
        losses.append(step_loss.item())
        if step < 3:
            step_loss.backward()
            optimizer.step()

    tensors = [("V", torch.tensor(V)), ("H", torch.tensor(H)), ("B", torch.tensor(B)),
               ("T", torch.tensor(T))]
    tensors += weights
    tensors += [("ids", ids), ("targets", targets), ("h0", h0.detach()), ("c0", c0.detach()),
                ("logits", logits.detach()), ("loss", loss.detach())]
    tensors += [("grad_" + n, g) for n, g in zip(names, grads[:5])]
    tensors += [("d_h0", grads[5]), ("d_c0", grads[6])]
    tensors += [("rmsprop_losses", torch.tensor(losses, dtype=torch.float64))]
    tensors += [(n + "_after", p.detach()) for n, p in zip(names, model.trainable())]
    tensors += [("seq_targets", seq_targets), ("seq_loss", seq_loss.detach())]
    tensors += [("seq_grad_" + n, g) for n, g in zip(names, seq_grads[:5])]
    tensors += [("seq_d_h0", seq_grads[5]), ("seq_d_c0", seq_grads[6])]
    tensors += [("h_T", hT.detach()), ("c_T", cT.detach())]
    comment = [f"PyTorch {torch.__version__}, float64, seed {seed}: V={V} H={H} B={B} T={T}",
               "window loss: cross-entropy of dense(h_T); seq loss: mean over all T*B steps",
               "RMSprop(lr=0.01, alpha=0.9, eps=1e-7): rmsprop_losses[k] is the loss after k steps"]
    write_fixture(path, comment, tensors)
    print(f"  loss {loss.item():.6f} (ln V = {math.log(V):.6f}), after 3 RMSprop steps {losses[-1]:.6f}")


class StackedModel(torch.nn.Module):
    """nn.LSTM(V, H, num_layers=L) with one bias per layer (bias_hh frozen at zero), nn.Linear."""

    def __init__(self, V, H, L):
        super().__init__()
        self.L = L
        self.lstm = torch.nn.LSTM(V, H, num_layers=L)
        for k in range(L):
            bias_hh = getattr(self.lstm, f"bias_hh_l{k}")
            bias_hh.requires_grad_(False)
            with torch.no_grad():
                bias_hh.zero_()
        self.dense = torch.nn.Linear(H, V)

    def layer_params(self, k):
        return [getattr(self.lstm, f"weight_ih_l{k}"), getattr(self.lstm, f"weight_hh_l{k}"),
                getattr(self.lstm, f"bias_ih_l{k}")]

    def trainable(self):
        out = []
        for k in range(self.L):
            out += self.layer_params(k)
        return out + [self.dense.weight, self.dense.bias]

    def names(self):
        out = []
        for k in range(self.L):
            out += [f"w_x_l{k}", f"w_h_l{k}", f"b_l{k}"]
        return out + ["dense_w", "dense_b"]


def stacked_fixture(path, V, H, L, B, T, zero_state, adam_sequence, seed):
    """Stacked layers, window and sequence losses, and three Adam steps (PyTorch defaults for
    betas and eps, lr 0.01) on the sequence loss if adam_sequence, else on the window loss."""
    torch.manual_seed(seed)
    model = StackedModel(V, H, L)
    with torch.no_grad():
        for p in model.trainable():
            p.uniform_(-0.5, 0.5)
    ids = torch.randint(0, V, (T, B))
    targets = torch.randint(0, V, (B,))
    seq_targets = torch.randint(0, V, (T, B))
    if zero_state:
        h0, c0 = torch.zeros(L, B, H), torch.zeros(L, B, H)
    else:
        h0, c0 = torch.empty(L, B, H).uniform_(-0.5, 0.5), torch.empty(L, B, H).uniform_(-0.5, 0.5)
    h0.requires_grad_(True)
    c0.requires_grad_(True)
    onehot = torch.nn.functional.one_hot(ids, V).to(torch.float64)
    names = model.names()
    params = model.trainable()
    weights = [(n, p.detach().clone()) for n, p in zip(names, params)]

    out, (hT, cT) = model.lstm(onehot, (h0, c0))
    logits = model.dense(hT[-1])
    loss = torch.nn.functional.cross_entropy(logits, targets)
    grads = torch.autograd.grad(loss, params + [h0, c0], retain_graph=True)
    seq_logits = model.dense(out)
    seq_loss = torch.nn.functional.cross_entropy(seq_logits.reshape(T * B, V), seq_targets.reshape(-1))
    seq_grads = torch.autograd.grad(seq_loss, params + [h0, c0])

    def step_loss():
        out_s, (hT_s, _) = model.lstm(onehot, (h0.detach(), c0.detach()))
        if adam_sequence:
            return torch.nn.functional.cross_entropy(model.dense(out_s).reshape(T * B, V),
                                                     seq_targets.reshape(-1))
        return torch.nn.functional.cross_entropy(model.dense(hT_s[-1]), targets)

    optimizer = torch.optim.Adam(params, lr=0.01)
    losses = []
    for step in range(4):
        optimizer.zero_grad()
        value = step_loss()
        losses.append(value.item())
        if step < 3:
            value.backward()
            optimizer.step()

    n = len(names)
    tensors = [("V", torch.tensor(V)), ("H", torch.tensor(H)), ("L", torch.tensor(L)),
               ("B", torch.tensor(B)), ("T", torch.tensor(T))]
    tensors += weights
    tensors += [("ids", ids), ("targets", targets), ("seq_targets", seq_targets)]
    tensors += [(f"h0_l{k}", h0[k].detach()) for k in range(L)]
    tensors += [(f"c0_l{k}", c0[k].detach()) for k in range(L)]
    tensors += [("logits", logits.detach()), ("loss", loss.detach())]
    tensors += [("grad_" + name, g) for name, g in zip(names, grads[:n])]
    tensors += [(f"d_h0_l{k}", grads[n][k]) for k in range(L)]
    tensors += [(f"d_c0_l{k}", grads[n + 1][k]) for k in range(L)]
    tensors += [("seq_loss", seq_loss.detach())]
    tensors += [("seq_grad_" + name, g) for name, g in zip(names, seq_grads[:n])]
    tensors += [(f"seq_d_h0_l{k}", seq_grads[n][k]) for k in range(L)]
    tensors += [(f"seq_d_c0_l{k}", seq_grads[n + 1][k]) for k in range(L)]
    tensors += [(f"h_T_l{k}", hT[k].detach()) for k in range(L)]
    tensors += [(f"c_T_l{k}", cT[k].detach()) for k in range(L)]
    tensors += [("adam_sequence", torch.tensor(1 if adam_sequence else 0))]
    tensors += [("adam_losses", torch.tensor(losses, dtype=torch.float64))]
    tensors += [(name + "_after", p.detach()) for name, p in zip(names, params)]
    comment = [f"PyTorch {torch.__version__}, float64, seed {seed}: V={V} H={H} L={L} B={B} T={T}",
               "nn.LSTM(num_layers=L), dropout 0; window loss: cross-entropy of dense(h_T) of the top layer;",
               "seq loss: mean over all T*B steps; Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-8) on the "
               + ("seq" if adam_sequence else "window") + " loss: adam_losses[k] is the loss after k steps"]
    write_fixture(path, comment, tensors)
    print(f"  loss {loss.item():.6f}, seq loss {seq_loss.item():.6f}, after 3 Adam steps {losses[-1]:.6f}")


def lowercase_fixture(path, data_dir):
    tensors = []
    for stem in ["nietzsche", "moes_tavern_lines", "tinyshakespeare"]:
        with open(os.path.join(data_dir, stem + ".txt"), encoding="utf-8") as f:
            text = f.read()
        lower = text.lower()
        changed = sorted({c for c in text if c.lower() != c})
        pairs = []
        for c in changed:
            if len(c.lower()) != 1:
                sys.exit(f"{stem}: {c!r} lowercases to {len(c.lower())} code points")
            pairs.append([ord(c), ord(c.lower())])
        tensors += [(stem + "_vocab", torch.tensor([ord(c) for c in sorted(set(text))])),
                    (stem + "_vocab_lower", torch.tensor([ord(c) for c in sorted(set(lower))])),
                    (stem + "_len_lower", torch.tensor(len(lower))),
                    (stem + "_lower_map", torch.tensor(pairs, dtype=torch.int64).reshape(-1, 2))]
        non_ascii = sorted({c for c in text if ord(c) > 127})
        print(f"  {stem}: {len(text)} code points, vocabulary {len(set(text))}, "
              f"lowercased {len(set(lower))}, non-ASCII {''.join(non_ascii)!r}")
    write_fixture(path, ["Python's str.lower() and sorted(set(text)) on ../shared/data"], tensors)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(root, "tests", "fixtures"))
    parser.add_argument("--data-dir", default=os.path.join(root, "..", "shared", "data"))
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    lstm_fixture(os.path.join(args.out, "lstm_small.txt"), V=7, H=5, B=3, T=4, zero_state=False, seed=1234)
    lstm_fixture(os.path.join(args.out, "lstm_book_shape.txt"), V=57, H=32, B=4, T=10, zero_state=True, seed=4321)
    lowercase_fixture(os.path.join(args.out, "lowercase_vocab.txt"), args.data_dir)
    stacked_fixture(os.path.join(args.out, "lstm_stacked2.txt"), V=7, H=5, L=2, B=3, T=4,
                    zero_state=False, adam_sequence=True, seed=2024)
    stacked_fixture(os.path.join(args.out, "lstm_stacked3.txt"), V=6, H=4, L=3, B=2, T=5,
                    zero_state=True, adam_sequence=False, seed=3035)


if __name__ == "__main__":
    main()
