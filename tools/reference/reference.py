"""numpy reference of the seed notebook's toy transformer.

Written from the notebook's equations (see Spec/kernels.md); every function
computes in float64 exactly as the notebook's cell of the same name does.
Two functions are added beside the notebook's own:

* ``loss_logsumexp``: the loss computed with log-sum-exp (finite wherever the
  notebook's ``compute_loss`` is finite, and where it overflows to inf).
* ``topk_sample_spec``: the sampler as Spec/kernels.md defines it (stable
  top-k order, clamped k, greedy t = 0). For t > 0, k <= V and no tied logits
  it returns exactly what ``topk_sample_notebook`` returns.
* ``windowed_loss``: the loss of a long sequence evaluated in windows of C
  tokens with stride S (Spec/kernels.md, "Windowed loss"); with N <= C it is
  ``loss_logsumexp``.
* ``cropped_sample``: ``topk_sample_spec`` where the model sees only the last
  C tokens before each draw, positions counted from 0 within that window
  (Spec/kernels.md, "Cropped sampling").

This module is a test oracle, not a library: it has no dependency but numpy.
"""

from collections import namedtuple

import numpy as np

BlockParameter = namedtuple(
    "BlockParameter", ["W_1", "b_1", "W_2", "b_2", "W_Q", "W_K", "W_V", "W_O"]
)

MASK_VALUE = -1e9
EPSILON = 1e-9
POSITIONAL_BASE = 10000


def embed(x, W_E):
    return W_E[x]


def pos_embed(m, d_model, base=POSITIONAL_BASE):
    pe = np.zeros((m, d_model))
    pos = np.arange(m)[:, np.newaxis]
    dim = np.arange(0, d_model, 2)[np.newaxis, :]
    angle = pos / (base ** (dim / d_model))
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle)
    return pe


def rmsnorm(x, epsilon=EPSILON):
    mean_square = np.mean(x * x, axis=-1, keepdims=True) + epsilon
    return x / np.sqrt(mean_square)


def softmax(x, t=1):
    if t != 0:
        x = x / t
        shifted = x - np.max(x, axis=-1, keepdims=True)
        e = np.exp(shifted)
        return e / np.sum(e, axis=-1, keepdims=True)
    maxima = np.max(x, axis=-1, keepdims=True)
    mask = (x == maxima).astype(float)
    return mask / np.sum(mask, axis=-1, keepdims=True)


def apply_causal_mask(x, very_negative_number=MASK_VALUE):
    m = x.shape[-1]
    keep = np.tril(np.ones((m, m), dtype=bool))
    keep = np.broadcast_to(keep, x.shape)
    res = x.copy()
    res[~keep] = very_negative_number
    return res


def attention(x, W_Q, W_K, W_V, W_O, mask=MASK_VALUE):
    d_model, d_head, n_head = W_Q.shape
    m = x.shape[0]
    Q = np.einsum("md,dhn->mhn", x, W_Q).transpose(2, 0, 1)
    K = np.einsum("md,dhn->mhn", x, W_K).transpose(2, 0, 1)
    V = np.einsum("md,dhn->mhn", x, W_V).transpose(2, 0, 1)
    scores = (Q @ K.transpose(0, 2, 1)) / np.sqrt(d_head)
    weights = softmax(apply_causal_mask(scores, mask))
    context = (weights @ V).transpose(1, 0, 2).reshape(m, -1)
    return context @ W_O


def gelu(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def mlp(x, W_1, b_1, W_2, b_2):
    hidden = gelu(x @ W_1 + b_1)
    return hidden @ W_2 + b_2


def block(x, p, mask=MASK_VALUE):
    r = x + attention(rmsnorm(x), p.W_Q, p.W_K, p.W_V, p.W_O, mask)
    return r + mlp(rmsnorm(r), p.W_1, p.b_1, p.W_2, p.b_2)


def unembed(x, W_U):
    return np.einsum("md,dv->mv", x, W_U)


def transformer(x, W_E, paras, mask=MASK_VALUE):
    h = embed(x, W_E)
    m, d_model = h.shape
    h = h + pos_embed(m, d_model)
    for p in paras:
        h = block(h, p, mask)
    return unembed(h, W_E.T)


def compute_loss_notebook(x, W_E, paras):
    """The notebook's compute_loss: inf when a probability underflows."""
    y = transformer(x, W_E, paras)
    probs = softmax(y[:-1, :])
    gt = x[1:]
    with np.errstate(divide="ignore"):
        return float(np.mean(-np.log(probs[np.arange(len(gt)), gt])))


def loss_logsumexp(x, W_E, paras, mask=MASK_VALUE):
    y = transformer(x, W_E, paras, mask)[:-1, :]
    gt = x[1:]
    top = np.max(y, axis=-1)
    lse = top + np.log(np.sum(np.exp(y - top[:, None]), axis=-1))
    return float(np.mean(lse - y[np.arange(len(gt)), gt]))


def topk_sample_notebook(x, W_E, paras, n, k, t=1, seed=42):
    """The notebook's topk_sample with its default_rng(42) made a parameter."""
    rng = np.random.default_rng(seed)
    res = []
    seq = np.array(x).copy()
    for _ in range(n):
        last = transformer(seq, W_E, paras)[-1, :]
        if t != 0:
            last /= t
        top_k = np.argsort(last)[-k:]
        probs = softmax(last[top_k])
        token = top_k[rng.choice(k, p=probs)]
        seq = np.concatenate((seq, [token]))
        res.append(int(token))
    return res


def spec_choice(last, k, t, rng):
    """One draw of the sampler of Spec/kernels.md from the last position's
    logits: greedy for t = 0 (no random number drawn), else top-k of
    logits / t in stable order, softmax, one rng.random() against the cdf."""
    last = np.asarray(last, dtype=np.float64)
    k = min(k, last.shape[0])
    if t == 0:
        return int(np.argmax(last))  # first maximum: lowest id on ties
    last = last / t
    order = np.argsort(last, kind="stable")  # ascending, ties by id
    top_k = order[-k:]
    probs = softmax(last[top_k])
    cdf = np.cumsum(probs)
    cdf /= cdf[-1]
    u = rng.random()
    idx = int(np.searchsorted(cdf, u, side="right"))
    return int(top_k[min(idx, k - 1)])


def topk_sample_spec(x, W_E, paras, n, k, t=1.0, seed=42):
    """The sampler of Spec/kernels.md, step by step."""
    rng = np.random.default_rng(seed)
    res = []
    seq = list(x)
    for _ in range(n):
        last = transformer(np.array(seq), W_E, paras)[-1, :]
        token = spec_choice(last, k, t, rng)
        seq.append(token)
        res.append(token)
    return res


def topk_samples_spec(x, W_E, paras, n, k, t=1.0, seed=42, count=1):
    """``count`` samples of ``n`` tokens after the same prompt from ONE
    generator (``txw-run --num-samples``): sample i + 1 continues the stream
    of ``default_rng(seed)`` where sample i left it; sample 1 is
    ``topk_sample_spec``'s."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        seq, res = list(x), []
        for _ in range(n):
            token = spec_choice(transformer(np.array(seq), W_E, paras)[-1, :], k, t, rng)
            seq.append(token)
            res.append(token)
        samples.append(res)
    return samples


def windowed_loss(x, W_E, paras, C, S, mask=MASK_VALUE):
    """The mean next-token loss of N >= 2 tokens evaluated in windows.

    Windows start at b = 0, S, 2S, ... and cover tokens [b, min(b + C, N));
    the walk stops after the window that reaches N. The window at b scores
    the targets j (1 <= j <= N - 1) with max(e_prev, b + 1) <= j < e, where e
    is its end and e_prev the previous window's end (0 for the first), each
    from that window's own logits at position j - 1 - b (computed with
    positions counted from 0 within the window). The loss is the mean of the
    log-sum-exp terms over all N - 1 targets. Needs 1 <= S <= C - 1.
    Returns (loss, number of windows).
    """
    x = np.asarray(x)
    N = len(x)
    assert N >= 2 and C >= 2 and 1 <= S <= C - 1
    parts, scored = [], []
    b, e_prev, windows = 0, 0, 0
    while True:
        e = min(b + C, N)
        y = transformer(x[b:e], W_E, paras, mask)
        windows += 1
        j = np.arange(max(e_prev, b + 1), e)  # the targets this window scores
        rows = y[j - 1 - b]
        # The same expression as loss_logsumexp, on this window's rows.
        top = np.max(rows, axis=-1)
        lse = top + np.log(np.sum(np.exp(rows - top[:, None]), axis=-1))
        parts.append(lse - rows[np.arange(len(j)), x[j]])
        scored.extend(int(v) for v in j)
        if e == N:
            break
        e_prev = e
        b += S
    assert scored == list(range(1, N)), scored  # every target once, in order
    return float(np.mean(np.concatenate(parts))), windows


def cropped_sample(x, W_E, paras, n, C, k, t=1.0, seed=42, mask=MASK_VALUE):
    """``topk_sample_spec`` with a context of C tokens: before each new token
    the model sees only the last C tokens of prompt + generated so far,
    positions counted from 0 within that window (nanoGPT's
    ``idx[:, -block_size:]``); the same draw and the same generator stream."""
    assert C >= 1
    rng = np.random.default_rng(seed)
    res = []
    seq = list(x)
    for _ in range(n):
        last = transformer(np.array(seq[-C:]), W_E, paras, mask)[-1, :]
        token = spec_choice(last, k, t, rng)
        seq.append(token)
        res.append(token)
    return res
