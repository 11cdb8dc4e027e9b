"""The notebook's model in PyTorch, written the way a notebook user would.

The same math as tools/reference/reference.py (Spec/kernels.md): sinusoidal
positions, rmsnorm with the model's epsilon (no weight), causal mask by the
model's mask value (not -inf), softmax over the whole row, GELU with the tanh
approximation (the notebook's), the MLP with biases, tied unembedding, no
final norm. Weights come from the .txw through the txw Python package.

Used by bench.py only: it imports torch, which tools/test never installs.
Nothing here is timed before :func:`check_logits` has compared the f64
logits with txw-run's.
"""

import json
import math
import os
import subprocess
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

THREADS = 2


def setup():
    torch.set_num_threads(THREADS)


def version():
    return torch.__version__


class Model(nn.Module):
    """The transformer of the notebook over a batch of token sequences (B, m)."""

    def __init__(self, txw_model, dtype, max_len=1024):
        super().__init__()
        hp = txw_model.hyperparameters
        self.V, self.d = hp["vocab_size"], hp["d_model"]
        self.H, self.dh = hp["n_head"], hp["d_head"]
        self.eps = float(hp["rmsnorm_epsilon"])
        self.mask_value = float(hp["mask_value"])
        self.base = float(hp["positional_base"])
        self.dtype = dtype

        def param(a):
            return nn.Parameter(torch.tensor(np.asarray(a, dtype=np.float64), dtype=dtype))

        def heads(w):  # (d, d_head, n_head) -> (d, n_head * d_head), column h·d_head + j
            return np.asarray(w).transpose(0, 2, 1).reshape(w.shape[0], -1)

        self.W_E = param(txw_model.W_E)
        self.blocks = nn.ModuleList()
        for p in txw_model.blocks:
            b = nn.Module()
            b.W_Q, b.W_K, b.W_V = param(heads(p.W_Q)), param(heads(p.W_K)), param(heads(p.W_V))
            b.W_O = param(p.W_O)
            b.W_1, b.b_1, b.W_2, b.b_2 = param(p.W_1), param(p.b_1), param(p.W_2), param(p.b_2)
            self.blocks.append(b)
        self.register_buffer("pe", self.pos_embed(max_len).to(dtype))

    # -- the notebook's functions
    def pos_embed(self, m):
        """The sinusoidal table, computed once in float64 (as txw does) for max_len positions."""
        pos = torch.arange(m, dtype=torch.float64)[:, None]
        dim = torch.arange(0, self.d, 2, dtype=torch.float64)[None, :]
        angle = pos / (self.base ** (dim / self.d))
        pe = torch.zeros(m, self.d, dtype=torch.float64)
        pe[:, 0::2] = torch.sin(angle)
        pe[:, 1::2] = torch.cos(angle)
        return pe

    def rmsnorm(self, x):
        return x / torch.sqrt(torch.mean(x * x, dim=-1, keepdim=True) + self.eps)

    def split(self, x):  # (B, m, H·dh) -> (B, H, m, dh)
        B, m, _ = x.shape
        return x.view(B, m, self.H, self.dh).transpose(1, 2)

    def attention(self, b, x):
        B, m, _ = x.shape
        q, k, v = self.split(x @ b.W_Q), self.split(x @ b.W_K), self.split(x @ b.W_V)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.dh)
        causal = torch.ones(m, m, dtype=torch.bool).tril()
        weights = torch.softmax(scores.masked_fill(~causal, self.mask_value), dim=-1)
        context = (weights @ v).transpose(1, 2).reshape(B, m, self.H * self.dh)
        return context @ b.W_O

    def mlp(self, b, x):
        return F.gelu(x @ b.W_1 + b.b_1, approximate="tanh") @ b.W_2 + b.b_2

    def forward(self, tokens):
        h = self.W_E[tokens] + self.pe[:tokens.shape[-1]]
        for b in self.blocks:
            r = h + self.attention(b, self.rmsnorm(h))
            h = r + self.mlp(b, self.rmsnorm(r))
        return h @ self.W_E.T

    # -- sampling with a plain key/value cache
    def step(self, tokens, start, cache):
        """Logits of the last position of `tokens` (B=1, n new tokens at
        positions start…start+n−1), appending their keys and values to `cache`."""
        n = tokens.shape[-1]
        h = self.W_E[tokens] + self.pe[start:start + n]
        for i, b in enumerate(self.blocks):
            x = self.rmsnorm(h)
            q, k, v = self.split(x @ b.W_Q), self.split(x @ b.W_K), self.split(x @ b.W_V)
            if i < len(cache):
                k = torch.cat([cache[i][0], k], dim=2)
                v = torch.cat([cache[i][1], v], dim=2)
                cache[i] = (k, v)
            else:
                cache.append((k, v))
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.dh)
            if n > 1:  # the prompt: row r sees positions ≤ start + r
                causal = torch.ones(n, start + n, dtype=torch.bool).tril(diagonal=start)
                scores = scores.masked_fill(~causal, self.mask_value)
            context = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(1, n, self.H * self.dh)
            r = h + context @ b.W_O
            h = r + self.mlp(b, self.rmsnorm(r))
        return (h[:, -1] @ self.W_E.T)[0]

    def sample(self, prompt, n, k, t, generator):
        """n tokens after `prompt`: top-k of logits / t, softmax, one draw (t = 0: argmax)."""
        cache = []
        tokens = torch.tensor([prompt])
        logits = self.step(tokens, 0, cache)
        out = []
        for i in range(n):
            if t == 0:
                token = int(torch.argmax(logits))
            else:
                top = torch.topk(logits / t, k)
                probs = torch.softmax(top.values, dim=-1)
                token = int(top.indices[torch.multinomial(probs, 1, generator=generator)])
            out.append(token)
            if i + 1 < n:
                logits = self.step(torch.tensor([[token]]), len(prompt) + i, cache)
        return out


# -- the checks before any timing

def txw_logits(bin_dir, model_path, tokens):
    """txw-run's f64 logits of one sequence."""
    out = subprocess.run([os.path.join(bin_dir, "txw-run"), model_path, "--logits", "--precision", "f64", "--json",
                          "--tokens", " ".join(map(str, tokens))], check=True, capture_output=True, text=True)
    return np.array(json.loads(out.stdout)["logits"], dtype=np.float64)


def txw_greedy(bin_dir, model_path, prompt, n, precision):
    out = subprocess.run([os.path.join(bin_dir, "txw-run"), model_path, "--sample", "--precision", precision, "-t", "0",
                          "-n", str(n), "--json", "--tokens", " ".join(map(str, prompt))],
                         check=True, capture_output=True, text=True)
    return list(json.loads(out.stdout)["tokens"])


def disagreement(found, expected, rel, floor):
    """None when every |found − expected| ≤ max(rel·|expected|, floor), else a sentence."""
    excess = np.abs(found - expected) - np.maximum(rel * np.abs(expected), floor)
    if found.shape == expected.shape and np.all(excess <= 0):
        return None
    if found.shape != expected.shape:
        return f"shapes differ: {found.shape} vs {expected.shape}"
    i = np.unravel_index(np.argmax(excess), excess.shape)
    return (f"logit {tuple(int(v) for v in i)} is {float(found[i])!r}, txw-run f64 gives {float(expected[i])!r} "
            f"(tolerance max({rel:g}·|expected|, {floor:g}))")


def check_logits(txw_model, bin_dir, model_path, tokens):
    """None when torch's f64 logits agree with txw-run's to 1e-9 relative and
    its f32 logits to 1e-4·max(|expected|, 1) (Spec/kernels.md tolerances),
    else why not."""
    expected = txw_logits(bin_dir, model_path, tokens)
    x = torch.tensor([list(tokens)])
    with torch.inference_mode():
        f64 = Model(txw_model, torch.float64)(x)[0].numpy()
        f32 = Model(txw_model, torch.float32)(x)[0].double().numpy()
    why = disagreement(f64, expected, 1e-9, 1e-12)
    if why:
        return "f64: " + why
    why = disagreement(f32, expected, 1e-4, 1e-4)  # 1e-4·max(|expected|, 1)
    return "f32: " + why if why else None


def check_greedy(txw_model, bin_dir, model_path, prompt, n):
    """None when the key/value-cache loop's greedy tokens (f64) equal txw-run's, else why not."""
    expected = txw_greedy(bin_dir, model_path, prompt, n, "f64")
    with torch.inference_mode():
        found = Model(txw_model, torch.float64).sample(list(prompt), n, 1, 0, None)
    if found == expected:
        return None
    first = next(i for i in range(n) if found[i] != expected[i])
    return f"greedy token {first} is {found[first]}, txw-run --precision f64 -t 0 gives {expected[first]}"


# -- timing

def timed(fn, reps, warmup=0.5):
    """Median seconds of `reps` calls after `warmup` seconds of untimed calls (at least one)."""
    start = time.perf_counter()
    fn()
    while time.perf_counter() - start < warmup:
        fn()
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    samples.sort()
    n = len(samples)
    return samples[n // 2] if n % 2 else (samples[n // 2 - 1] + samples[n // 2]) / 2


def compiled(fn):
    """torch.compile(fn), or the reason it cannot run here (as a string)."""
    try:
        return torch.compile(fn)
    except Exception as e:  # noqa: BLE001 - the row says why
        return f"torch.compile failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


def try_timed(fn, reps, warmup=0.5, *args):
    """(seconds, None) or (None, why) of fn(*args): `fn` may be the reason
    torch.compile failed, and a compiled function may fail on its first call."""
    if isinstance(fn, str):
        return None, fn
    try:
        return timed(lambda: fn(*args), reps, warmup), None
    except Exception as e:  # noqa: BLE001 - the row says why
        text = str(e).strip().splitlines()
        return None, f"torch.compile failed: {type(e).__name__}: {text[0][:160] if text else ''}"


def forward_times(txw_model, dtype, m, reps):
    """{'eager': (s, why), 'compile': (s, why)} of one forward of m tokens."""
    model = Model(txw_model, dtype)
    x = torch.tensor([[(i * 7919 + 13) % model.V for i in range(m)]])
    out = {}
    with torch.inference_mode():
        out["eager"] = try_timed(lambda: model(x), reps)
        out["compile"] = try_timed(compiled(model), reps, 0.5, x)
    return out


SAMPLE_COMPILE_SKIPPED = ("not run: the cache grows every step, so torch.compile (dynamic=True) guards and "
                          "recompiles; in trials it took minutes and ran slower than eager")


def sample_times(txw_model, prompt, n, k, t, reps, compile_step=False):
    """Tokens per second of the key/value-cache loop, f32: eager, and with
    `compile_step` the step compiled with dynamic shapes (else the reason it is not run)."""
    model = Model(txw_model, torch.float32)
    g = torch.Generator().manual_seed(42)
    out = {}
    with torch.inference_mode():
        s, why = try_timed(lambda: model.sample(list(prompt), n, k, t, g), reps)
        out["eager"] = (n / s if s else None, why)
        if not compile_step:
            out["compile"] = (None, SAMPLE_COMPILE_SKIPPED)
            return out
        step = model.step
        try:
            model.step = torch.compile(step, dynamic=True)
            s, why = try_timed(lambda: model.sample(list(prompt), n, k, t, g), reps)
        except Exception as e:  # noqa: BLE001
            s, why = None, f"torch.compile failed: {type(e).__name__}"
        finally:
            model.step = step
        out["compile"] = (n / s if s else None, why)
    return out


def train_times(txw_model, stream, batch, context, reps, lr=3e-3):
    """Seconds of one training step: forward, mean next-token cross-entropy over
    `batch` windows of context + 1 tokens, backward, AdamW (β 0.9, 0.95, ε 1e-8,
    weight decay 0.01 on matrices only: txw-train's defaults), float32."""
    out = {}
    for kind in ("eager", "compile"):
        model = Model(txw_model, torch.float32)
        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=lr, betas=(0.9, 0.95), eps=1e-8)
        forward = model if kind == "eager" else compiled(model)
        if isinstance(forward, str):
            out[kind] = (None, forward)
            continue
        rng = np.random.default_rng(42)
        data = torch.tensor(stream)

        def train_step():
            starts = rng.integers(0, len(stream) - context - 1, size=batch)
            x = torch.stack([data[s:s + context + 1] for s in starts])
            logits = forward(x)
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, model.V), x[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()

        out[kind] = try_timed(train_step, reps)
    return out
