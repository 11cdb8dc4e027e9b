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
* ``adamw_step``: one step of the optimizer txw-train uses (AdamW with
  decoupled weight decay on matrices only; Spec/kernels.md, "AdamW").

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


def parse_ablation(spec):
    """``blocks.{i}.attn.head.{h}`` -> ("head", i, h); ``blocks.{i}.mlp.neuron.{n}`` -> ("neuron", i, n)."""
    parts = spec.split(".")
    assert len(parts) == 5 and parts[0] == "blocks", spec
    kind = {("attn", "head"): "head", ("mlp", "neuron"): "neuron"}[(parts[2], parts[3])]
    return kind, int(parts[1]), int(parts[4])


def _replace(values, index, mode, fixed):
    """values[:, index] (a head's (m, d_head) or a neuron's (m,)) replaced
    by 0, by its mean over the positions, or by the fixed value given."""
    if fixed is not None:
        values[:, index] = fixed
    elif mode == "zero":
        values[:, index] = 0.0
    else:
        values[:, index] = values[:, index].mean(axis=0)
    return values[0, index].copy()


def run_with_cache(x, W_E, paras, ablations=(), mode="zero", mask=MASK_VALUE, fixed=None):
    """The notebook's transformer recording every intermediate under the
    TransformerLens name Spec/kernels.md gives it ("Activation names"), with
    heads and neurons ablated ("Ablations"): a head's z (m, d_head) set to 0
    or to its mean over the positions before W_O, a neuron's GELU output
    likewise before W_2. The values recorded are those after the ablation.

    ``fixed``: a dict (kind, block, index) -> replacement to use instead of
    computing it (the sampler's prompt means). Returns (cache, replacements):
    cache a dict name -> float64 array, replacements the dict of values used.
    """
    targets = [parse_ablation(s) if isinstance(s, str) else s for s in ablations]
    x = np.asarray(x)
    cache, used = {}, {}
    m = len(x)
    d_model = W_E.shape[1]
    cache["hook_embed"] = embed(x, W_E)
    cache["hook_pos_embed"] = pos_embed(m, d_model)
    h = cache["hook_embed"] + cache["hook_pos_embed"]
    for i, p in enumerate(paras):
        b = f"blocks.{i}."
        d_head, n_head = p.W_Q.shape[1], p.W_Q.shape[2]
        cache[b + "hook_resid_pre"] = h
        scale = np.sqrt(np.mean(h * h, axis=-1, keepdims=True) + EPSILON)
        cache[b + "ln1.hook_scale"] = scale
        xn = h / scale
        cache[b + "ln1.hook_normalized"] = xn
        Q = np.einsum("md,dhn->mhn", xn, p.W_Q).transpose(0, 2, 1)  # (pos, head, d_head)
        K = np.einsum("md,dhn->mhn", xn, p.W_K).transpose(0, 2, 1)
        V = np.einsum("md,dhn->mhn", xn, p.W_V).transpose(0, 2, 1)
        cache[b + "attn.hook_q"], cache[b + "attn.hook_k"], cache[b + "attn.hook_v"] = Q, K, V
        scores = (Q.transpose(1, 0, 2) @ K.transpose(1, 2, 0)) / np.sqrt(d_head)  # (head, query, key)
        masked = apply_causal_mask(scores, mask)
        cache[b + "attn.hook_attn_scores"] = masked
        pattern = softmax(masked)
        cache[b + "attn.hook_pattern"] = pattern
        z = (pattern @ V.transpose(1, 0, 2)).transpose(1, 0, 2).copy()  # (pos, head, d_head)
        for kind, blk, idx in targets:
            if kind == "head" and blk == i:
                key = ("head", blk, idx)
                used[key] = _replace(z, idx, mode, None if fixed is None else fixed[key])
        cache[b + "attn.hook_z"] = z
        attn_out = z.reshape(m, -1) @ p.W_O
        cache[b + "hook_attn_out"] = attn_out
        r = h + attn_out
        cache[b + "hook_resid_mid"] = r
        scale2 = np.sqrt(np.mean(r * r, axis=-1, keepdims=True) + EPSILON)
        cache[b + "ln2.hook_scale"] = scale2
        rn = r / scale2
        cache[b + "ln2.hook_normalized"] = rn
        pre = rn @ p.W_1 + p.b_1
        cache[b + "mlp.hook_pre"] = pre
        post = gelu(pre)
        for kind, blk, idx in targets:
            if kind == "neuron" and blk == i:
                key = ("neuron", blk, idx)
                used[key] = _replace(post, idx, mode, None if fixed is None else fixed[key])
        cache[b + "mlp.hook_post"] = post
        mlp_out = post @ p.W_2 + p.b_2
        cache[b + "hook_mlp_out"] = mlp_out
        h = r + mlp_out
        cache[b + "hook_resid_post"] = h
    cache["logits"] = unembed(h, W_E.T)
    return cache, used


def ablated_sample(x, W_E, paras, n, k, t=1.0, seed=42, ablations=(), mode="zero", C=None, mask=MASK_VALUE):
    """``cropped_sample`` (``topk_sample_spec`` without C) of the ablated
    model. Mean: the means over the prompt's positions (of the prompt's own
    ablated pass) replace the ablated values in every later pass, fixed
    while sampling (Spec/cli.md)."""
    rng = np.random.default_rng(seed)
    seq = list(x)
    fixed = None
    if mode == "mean" and ablations:
        _, fixed = run_with_cache(np.array(seq if C is None else seq[-C:]), W_E, paras, ablations, "mean", mask)
    res = []
    for _ in range(n):
        window = seq if C is None else seq[-C:]
        cache, _ = run_with_cache(np.array(window), W_E, paras, ablations, mode, mask, fixed)
        token = spec_choice(cache["logits"][-1, :], k, t, rng)
        seq.append(token)
        res.append(token)
    return res


def logit_lens(x, W_E, paras, k, ablations=(), mode="zero", mask=MASK_VALUE):
    """The logit lens: at the points hook_resid_pre of block 0 (embedding +
    positions) and each block's hook_resid_post, logits = resid @ W_E.T (no
    final norm); per point and position the k largest (stable: ties by the
    lower id first) with their softmax probabilities at temperature 1.
    Returns (names, ids (P, m, k), logits (P, m, k), probs (P, m, k))."""
    cache, _ = run_with_cache(x, W_E, paras, ablations, mode, mask)
    names = ["blocks.0.hook_resid_pre"] + [f"blocks.{i}.hook_resid_post" for i in range(len(paras))]
    k = min(k, W_E.shape[0])
    ids, logits, probs = [], [], []
    for name in names:
        y = cache[name] @ W_E.T
        p = softmax(y)
        order = np.argsort(-y, axis=-1, kind="stable")[:, :k]
        ids.append(order)
        logits.append(np.take_along_axis(y, order, axis=-1))
        probs.append(np.take_along_axis(p, order, axis=-1))
    return names, np.array(ids), np.array(logits), np.array(probs)


def adamw_step(params, grads, m, v, t, lr, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.01):
    """One AdamW step at step number t (from 1) over lists of float64 arrays.

    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    m_hat = m / (1 - b1^t);  v_hat = v / (1 - b2^t);
    theta <- theta - lr (m_hat / (sqrt(v_hat) + eps) + lambda theta),
    lambda = weight_decay for arrays of rank >= 2 (matrices), 0 for biases.
    Returns new lists (params, m, v); the inputs are not modified.
    """
    c1, c2 = 1 - beta1**t, 1 - beta2**t
    out_p, out_m, out_v = [], [], []
    for theta, g, mi, vi in zip(params, grads, m, v):
        decay = weight_decay if np.ndim(theta) >= 2 else 0.0
        mi = beta1 * mi + (1 - beta1) * g
        vi = beta2 * vi + (1 - beta2) * g * g
        m_hat, v_hat = mi / c1, vi / c2
        out_p.append(theta - lr * (m_hat / (np.sqrt(v_hat) + eps) + decay * theta))
        out_m.append(mi)
        out_v.append(vi)
    return out_p, out_m, out_v
