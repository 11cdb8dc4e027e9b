#!/usr/bin/env python3
"""Writes the kernel fixtures the Swift tests compare against.

    python3 tools/reference/make_fixtures.py [OUT_ROOT]

OUT_ROOT defaults to Tests/Fixtures; kernel fixtures go to OUT_ROOT/kernels,
the tools' end-to-end fixtures (a notebook model saved with np.savez,
np.savez_compressed and as safetensors, and the reference's outputs for it)
to OUT_ROOT/tools. Output is deterministic (fixed seeds, shortest round-trip
decimals; npz members carry zip timestamps, so those are compared by value),
and the test command regenerates everything into a temporary folder and
fails if it differs from the committed files. Each file is JSON: {"kernel": NAME, "cases": [...]}; a tensor is
{"shape": [...], "data": [row-major float64...]}; 64-bit integers that JSON
numbers cannot carry exactly are hex strings.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402

INPUT_SEED = 20261129


def f32(a):
    return np.asarray(a).astype(np.float32).astype(np.float64)


def normal(rng, loc, scale, size):
    """Normal draws rounded to float32, so the float32 tests start from exactly
    the inputs the float64 reference saw."""
    return f32(rng.normal(loc, scale, size))


def tensor(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.ravel()]}


def block_json(p):
    return {name: tensor(getattr(p, name)) for name in ref.BlockParameter._fields}


def random_model(rng, V, d, H, dh, F, N, scale_E=0.5):
    W_E = normal(rng, 0, scale_E, (V, d))
    blocks = []
    for _ in range(N):
        blocks.append(
            ref.BlockParameter(
                W_1=normal(rng, 0, d**-0.5, (d, F)),
                b_1=normal(rng, 0, 0.1, (F,)),
                W_2=normal(rng, 0, F**-0.5, (F, d)),
                b_2=normal(rng, 0, 0.1, (d,)),
                W_Q=normal(rng, 0, d**-0.5, (d, dh, H)),
                W_K=normal(rng, 0, d**-0.5, (d, dh, H)),
                W_V=normal(rng, 0, d**-0.5, (d, dh, H)),
                W_O=normal(rng, 0, (H * dh) ** -0.5, (H * dh, d)),
            )
        )
    return W_E, blocks


def write(out_dir, name, cases):
    path = os.path.join(out_dir, name + ".json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"kernel": name, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")


def embed_cases(rng):
    cases = []
    for name, V, d, tokens in [
        ("basic", 11, 6, [3, 0, 10, 3, 7]),
        ("single_token", 5, 4, [4]),
        ("vocab2", 2, 2, [1, 1, 0]),
    ]:
        W_E = normal(rng, 0, 1, (V, d))
        x = np.array(tokens)
        cases.append({"name": name, "W_E": tensor(W_E), "tokens": tokens, "out": tensor(ref.embed(x, W_E))})
    return cases


def pos_embed_cases():
    cases = []
    for m, d in [(5, 8), (1, 2), (7, 6), (3, 10), (64, 32), (300, 4)]:
        cases.append({"name": f"m{m}_d{d}", "m": m, "d_model": d, "out": tensor(ref.pos_embed(m, d))})
    return cases


def rmsnorm_cases(rng):
    xs = [
        ("basic", normal(rng, 0, 1, (4, 6))),
        ("single_column", normal(rng, 0, 3, (3, 1))),
        ("zero_row", np.vstack([np.zeros(5), normal(rng, 0, 1, 5)])),
        ("tiny_values_epsilon_matters", normal(rng, 0, 1e-5, (2, 4))),
        ("large_values", normal(rng, 0, 1e6, (2, 8))),
    ]
    return [{"name": n, "x": tensor(x), "out": tensor(ref.rmsnorm(x))} for n, x in xs]


def softmax_cases(rng):
    ties = np.array([[1.0, 3.0, 3.0, -2.0], [5.0, 5.0, 5.0, 5.0], [-1.0, 0.0, -1.0, 0.0]])
    specs = [
        ("vector_t1", normal(rng, 0, 1, (7,)), 1.0),
        ("matrix_t1", normal(rng, 0, 2, (3, 5)), 1.0),
        ("rank3_t1", normal(rng, 0, 2, (2, 3, 4)), 1.0),
        ("matrix_t_half", normal(rng, 0, 1, (3, 5)), 0.5),
        ("matrix_t_3", normal(rng, 0, 1, (3, 5)), 3.0),
        ("t_very_small", normal(rng, 0, 1, (4, 6)), 1e-4),
        ("t_tiny", normal(rng, 0, 1, (2, 6)), 1e-12),
        ("t_very_large", normal(rng, 0, 1, (4, 6)), 1e6),
        ("large_logits_overflow", f32(normal(rng, 0, 1e4, (3, 6)) + 1e5), 1.0),
        ("very_negative_logits", f32(normal(rng, 0, 1, (2, 5)) - 1e5), 1.0),
        ("ties_t1", ties, 1.0),
        ("t0_ties", ties, 0.0),
        ("t0_rank3", np.round(normal(rng, 0, 1, (2, 2, 5))), 0.0),
        ("single_element", np.array([[4.0], [-3.0]]), 1.0),
    ]
    return [{"name": n, "x": tensor(x), "t": t, "out": tensor(ref.softmax(x, t))} for n, x, t in specs]


def causal_mask_cases(rng):
    cases = []
    for name, shape in [("basic", (2, 4, 4)), ("m1", (3, 1, 1)), ("one_head", (1, 5, 5))]:
        x = normal(rng, 0, 1, shape)
        cases.append({"name": name, "x": tensor(x), "out": tensor(ref.apply_causal_mask(x))})
    return cases


def gelu_cases(rng):
    x = np.concatenate([normal(rng, 0, 2, 20), [0.0, -0.0, 1e-8, -1e-8, 6.0, -6.0, 30.0, -30.0, 1e3, -1e3]])
    return [{"name": "mixed", "x": tensor(x.reshape(5, 6)), "out": tensor(ref.gelu(x.reshape(5, 6)))}]


def model_configs():
    # name, V, d_model, n_head, d_head, d_mlp, n_block, tokens, E scale
    return [
        ("basic", 11, 16, 2, 8, 32, 2, [1, 4, 1, 5, 9, 2, 6], 0.5),
        ("m1", 11, 16, 2, 8, 32, 2, [7], 0.5),
        ("one_head", 7, 8, 1, 8, 16, 1, [0, 6, 3, 3, 2], 0.5),
        ("d_head_not_d_model_over_n_head", 9, 12, 3, 5, 20, 2, [8, 0, 4, 4, 1, 7], 0.5),
        ("vocab2", 2, 4, 2, 3, 8, 1, [0, 1, 1, 0, 1, 0], 0.5),
        ("large_logits", 13, 8, 2, 4, 16, 1, [2, 11, 5, 0, 12], 40.0),
        ("flat", 11, 16, 2, 8, 32, 2, [3, 1, 4, 1, 5], 0.15),
    ]


def long_model_configs():
    """Cases past one 16-row chunk of txw's forward pass (drawn after the
    others, so adding them left every earlier fixture unchanged): a long
    sequence, and one whose mask value is near the scores, so the masked
    weights are not 0 and every position's value enters every row's sum.
    name, V, d_model, n_head, d_head, d_mlp, n_block, tokens, E scale, mask value."""
    return [
        ("long", 11, 16, 2, 8, 32, 2, [(i * 7 + 3) % 11 for i in range(70)], 0.5, None),
        ("near_mask", 11, 16, 2, 8, 32, 2, [(i * 5 + 1) % 11 for i in range(40)], 0.5, -2.0),
    ]


def layer_cases(rng):
    attention, mlp, block = [], [], []
    for name, V, d, H, dh, F, N, tokens, _ in model_configs():
        if name == "large_logits":
            continue
        _, blocks = random_model(rng, V, d, H, dh, F, 1)
        p = blocks[0]
        x = normal(rng, 0, 1, (len(tokens), d))
        a = {"name": name, "x": tensor(x), "W_Q": tensor(p.W_Q), "W_K": tensor(p.W_K),
             "W_V": tensor(p.W_V), "W_O": tensor(p.W_O),
             "out": tensor(ref.attention(x, p.W_Q, p.W_K, p.W_V, p.W_O))}
        attention.append(a)
        mlp.append({"name": name, "x": tensor(x), "W_1": tensor(p.W_1), "b_1": tensor(p.b_1),
                    "W_2": tensor(p.W_2), "b_2": tensor(p.b_2),
                    "out": tensor(ref.mlp(x, p.W_1, p.b_1, p.W_2, p.b_2))})
        block.append({"name": name, "x": tensor(x), "block": block_json(p), "out": tensor(ref.block(x, p))})
    return attention, mlp, block


def model_case(name, V, d, H, dh, F, N, tokens, W_E, blocks, mask_value=ref.MASK_VALUE):
    """A transformer.json case: the model, its tokens and the reference logits."""
    return {
        "name": name,
        "hyperparameters": {"vocab_size": V, "d_model": d, "n_head": H, "d_head": dh, "d_mlp": F, "n_block": N},
        "W_E": tensor(W_E),
        "blocks": [block_json(p) for p in blocks],
        "tokens": tokens,
        "logits": tensor(ref.transformer(np.array(tokens), W_E, blocks, mask_value)),
    }


def transformer_cases(rng):
    models, cases = {}, []
    for name, V, d, H, dh, F, N, tokens, scale in model_configs():
        key = (V, d, H, dh, F, N, scale)
        if key not in models:
            models[key] = random_model(rng, V, d, H, dh, F, N, scale_E=scale)
        W_E, blocks = models[key]
        x = np.array(tokens)
        case = model_case(name, V, d, H, dh, F, N, tokens, W_E, blocks)
        if len(tokens) >= 2:
            case["loss"] = ref.loss_logsumexp(x, W_E, blocks)
            nb = ref.compute_loss_notebook(x, W_E, blocks)
            case["notebook_loss"] = nb if np.isfinite(nb) else "inf"
        cases.append(case)
    for name, V, d, H, dh, F, N, tokens, scale, mask in long_model_configs():
        W_E, blocks = random_model(rng, V, d, H, dh, F, N, scale_E=scale)
        x = np.array(tokens)
        mask_value = ref.MASK_VALUE if mask is None else mask
        case = model_case(name, V, d, H, dh, F, N, tokens, W_E, blocks, mask_value)
        case["loss"] = ref.loss_logsumexp(x, W_E, blocks, mask_value)
        if mask is not None:
            case["mask_value"] = mask
        cases.append(case)
        models[name] = (W_E, blocks)
    return cases, models


def model_by_name(models, name):
    """A transformer.json model by its case name: (W_E, blocks, mask value)."""
    for case_name, V, d, H, dh, F, N, _, scale in model_configs():
        if case_name == name:
            W_E, blocks = models[(V, d, H, dh, F, N, scale)]
            return W_E, blocks, ref.MASK_VALUE
    for case_name, *_, mask in long_model_configs():
        if case_name == name:
            W_E, blocks = models[name]
            return W_E, blocks, ref.MASK_VALUE if mask is None else mask
    raise KeyError(name)


def token_sequence(V, n, a, c):
    """n tokens (i * a + c) mod V: a fixed sequence, independent of any generator."""
    return [(i * a + c) % V for i in range(n)]


def windowed_loss_cases(models):
    """windowed_loss of transformer.json models: C dividing N or not, S = 1,
    S = C - 1, the smallest C, N = C + 1, N <= C (the whole-sequence loss
    exactly) and a mask value near the scores."""
    specs = [
        # name, model, tokens, C, S
        ("c16_s8_n70", "long", token_sequence(11, 70, 7, 3), 16, 8),
        ("c8_s4_n40_divides", "basic", token_sequence(11, 40, 5, 2), 8, 4),
        ("c7_s3_n50", "d_head_not_d_model_over_n_head", token_sequence(9, 50, 4, 1), 7, 3),
        ("s1", "basic", token_sequence(11, 25, 3, 7), 6, 1),
        ("s_c_minus_1", "long", token_sequence(11, 70, 7, 3), 12, 11),
        ("c2_s1", "one_head", token_sequence(7, 12, 3, 2), 2, 1),
        ("n_c_plus_1", "flat", token_sequence(11, 10, 4, 0), 9, 4),
        ("large_logits_c3_s2", "large_logits", token_sequence(13, 20, 5, 4), 3, 2),
        ("near_mask_c16_s5", "near_mask", token_sequence(11, 40, 5, 1), 16, 5),
        ("n_equals_c", "basic", token_sequence(11, 16, 5, 2), 16, 8),
        ("n_below_c", "basic", [1, 4, 1, 5, 9, 2, 6], 32, 16),
        ("n2_c2", "vocab2", [1, 0], 2, 1),
    ]
    cases = []
    for name, model, tokens, C, S in specs:
        W_E, blocks, mask = model_by_name(models, model)
        x = np.array(tokens)
        loss, windows = ref.windowed_loss(x, W_E, blocks, C, S, mask)
        whole = len(tokens) <= C
        if whole:
            assert loss == ref.loss_logsumexp(x, W_E, blocks, mask), name
            assert windows == 1, name
        cases.append({"name": name, "model": model, "tokens": tokens, "context": C, "stride": S,
                      "loss": loss, "windows": windows, "equals_whole_sequence_loss": whole})
    return cases


def cropped_sample_cases(models):
    """cropped_sample of transformer.json models: prompts shorter than, equal
    to and longer than C, C = 1, k > V, t = 0 and t > 0, a C longer than the
    whole run (the uncropped sampler exactly) and a mask value near the
    scores (the sampler's recomputation path)."""
    specs = [
        # name, model, prompt, n, C, k, t, seed
        ("short_prompt_crosses_c", "flat", [1, 2, 3], 14, 6, 5, 1.0, 42),
        ("long_prompt", "flat", token_sequence(11, 12, 4, 1), 10, 5, 4, 0.7, 7),
        ("prompt_equals_c", "flat", token_sequence(11, 6, 3, 2), 8, 6, 6, 1.0, 5),
        ("k_above_V", "flat", [9], 12, 4, 50, 1.0, 3),
        ("t0_long_prompt", "flat", [1, 2, 3, 4, 5, 6, 7], 10, 4, 5, 0.0, 42),
        ("t0_short_prompt", "flat", [2], 10, 5, 5, 0.0, 42),
        ("c1", "flat", [4, 7], 8, 1, 3, 1.5, 11),
        ("t3_seed_2p64_minus_1", "flat", [0, 10, 5], 12, 7, 6, 3.0, 2**64 - 1),
        ("c_above_run_uncropped", "flat", [1, 2, 3], 12, 100, 5, 1.0, 42),
        ("vocab2", "vocab2", [0], 12, 3, 2, 1.0, 42),
        ("near_mask_short_prompt", "near_mask", [1, 2, 3], 16, 8, 6, 10.0, 77),
        ("near_mask_long_prompt", "near_mask", token_sequence(11, 12, 5, 3), 10, 8, 6, 5.0, 78),
    ]
    cases = []
    for name, model, prompt, n, C, k, t, seed in specs:
        W_E, blocks, mask = model_by_name(models, model)
        tokens = ref.cropped_sample(np.array(prompt), W_E, blocks, n, C, k, t, seed, mask)
        if len(prompt) + n - 1 <= C and mask == ref.MASK_VALUE:
            assert tokens == ref.topk_sample_spec(np.array(prompt), W_E, blocks, n, k, t, seed), name
        cases.append({"name": name, "model": model, "prompt": prompt, "n": n, "context": C, "k": k, "t": t,
                      "seed": f"{seed:#x}", "tokens": tokens})
    return cases


def sample_cases(models):
    basic = models[(11, 16, 2, 8, 32, 2, 0.15)]
    vocab2 = models[(2, 4, 2, 3, 8, 1, 0.5)]
    specs = [
        # name, model, prompt, n, k, t, seed, notebook-comparable
        ("seed42_k5", basic, [1, 2, 3], 12, 5, 1.0, 42, True),
        ("seed0_k5", basic, [1, 2, 3], 12, 5, 1.0, 0, True),
        ("seed_2p32_plus_5", basic, [4], 10, 3, 1.0, 2**32 + 5, True),
        ("seed_2p64_minus_1", basic, [4], 10, 11, 1.0, 2**64 - 1, True),
        ("t_half", basic, [0, 10], 10, 4, 0.5, 42, True),
        ("t_3", basic, [0, 10], 10, 6, 3.0, 7, True),
        ("t_very_small", basic, [5], 8, 4, 1e-3, 42, True),
        ("k1", basic, [2, 2], 6, 1, 1.0, 42, True),
        ("k_equals_V", basic, [9], 8, 11, 1.0, 3, True),
        ("k_above_V_clamped", basic, [9], 8, 50, 1.0, 3, False),
        ("t0_greedy", basic, [1, 2, 3], 8, 5, 0.0, 42, False),
        ("vocab2", vocab2, [0], 12, 2, 1.0, 42, True),
        ("n0", basic, [1], 0, 5, 1.0, 42, True),
    ]
    cases = []
    for name, (W_E, blocks), prompt, n, k, t, seed, comparable in specs:
        tokens = ref.topk_sample_spec(np.array(prompt), W_E, blocks, n, k, t, seed)
        if comparable:
            nb = ref.topk_sample_notebook(np.array(prompt), W_E, blocks, n, k, t, seed)
            assert nb == tokens, (name, nb, tokens)
        cases.append({"name": name, "model": "flat" if W_E.shape[0] == 11 else "vocab2",
                      "prompt": prompt, "n": n, "k": k, "t": t, "seed": f"{seed:#x}",
                      "tokens": tokens, "equals_notebook": comparable})
    return cases


def activation_cases(models):
    """run_with_cache of transformer.json models, every activation name, with
    and without ablations (zero and mean; heads and neurons): a short input,
    one token (a mean over one position is the value itself), d_head !=
    d_model / n_head, and 40 tokens (past one 16-row chunk, so the means
    cover several chunks) with a mask value near the scores."""
    specs = [
        # name, model, tokens, ablations, mode
        ("basic", "basic", [1, 4, 1, 5, 9, 2, 6], [], "zero"),
        ("basic_zero", "basic", [1, 4, 1, 5, 9, 2, 6], ["blocks.0.attn.head.1", "blocks.1.mlp.neuron.5"], "zero"),
        ("basic_mean", "basic", [1, 4, 1, 5, 9, 2, 6],
         ["blocks.1.attn.head.0", "blocks.0.mlp.neuron.3", "blocks.0.mlp.neuron.31"], "mean"),
        ("m1_mean", "m1", [7], ["blocks.0.attn.head.0", "blocks.1.mlp.neuron.2"], "mean"),
        ("d_head_mean_heads", "d_head_not_d_model_over_n_head", [8, 0, 4, 4, 1, 7],
         ["blocks.0.attn.head.2", "blocks.1.attn.head.0"], "mean"),
        ("long_mean", "long", token_sequence(11, 40, 7, 3), ["blocks.0.attn.head.0", "blocks.1.mlp.neuron.7"], "mean"),
        ("near_mask_zero", "near_mask", token_sequence(11, 24, 5, 1), ["blocks.0.attn.head.1"], "zero"),
    ]
    cases = []
    for name, model, tokens, ablations, mode in specs:
        W_E, blocks, mask = model_by_name(models, model)
        cache, _ = ref.run_with_cache(np.array(tokens), W_E, blocks, ablations, mode, mask)
        if not ablations:
            assert np.array_equal(cache["logits"], ref.transformer(np.array(tokens), W_E, blocks, mask)), name
        cases.append({"name": name, "model": model, "tokens": tokens, "ablations": ablations, "mode": mode,
                      "activations": {k: tensor(v) for k, v in cache.items()}})
    return cases


def ablated_sample_cases(models):
    """ablated_sample: zero and mean, with and without a context."""
    specs = [
        # name, model, prompt, n, k, t, seed, ablations, mode, C
        ("zero_head", "flat", [1, 2, 3], 12, 5, 1.0, 42, ["blocks.0.attn.head.1"], "zero", None),
        ("mean_head_neuron", "flat", [1, 2, 3, 4], 12, 5, 1.0, 7, ["blocks.1.attn.head.0", "blocks.0.mlp.neuron.4"], "mean", None),
        ("mean_cropped", "flat", token_sequence(11, 6, 3, 2), 10, 4, 0.8, 5, ["blocks.0.attn.head.0"], "mean", 4),
        ("zero_greedy", "flat", [9], 8, 5, 0.0, 42, ["blocks.1.mlp.neuron.0", "blocks.1.attn.head.1"], "zero", None),
    ]
    cases = []
    for name, model, prompt, n, k, t, seed, ablations, mode, C in specs:
        W_E, blocks, mask = model_by_name(models, model)
        tokens = ref.ablated_sample(np.array(prompt), W_E, blocks, n, k, t, seed, ablations, mode, C, mask)
        cases.append({"name": name, "model": model, "prompt": prompt, "n": n, "k": k, "t": t, "seed": f"{seed:#x}",
                      "ablations": ablations, "mode": mode, "context": C, "tokens": tokens})
    return cases


def lens_cases(models):
    """logit_lens: top-k ids, logits and probabilities per point and position."""
    specs = [
        ("basic_k5", "basic", [1, 4, 1, 5, 9, 2, 6], 5, [], "zero"),
        ("k_above_V", "vocab2", [0, 1, 1, 0], 5, [], "zero"),
        ("ablated_mean", "basic", [3, 1, 4, 1, 5], 3, ["blocks.0.attn.head.0"], "mean"),
    ]
    cases = []
    for name, model, tokens, k, ablations, mode in specs:
        W_E, blocks, mask = model_by_name(models, model)
        names, ids, logits, probs = ref.logit_lens(np.array(tokens), W_E, blocks, k, ablations, mode, mask)
        cases.append({"name": name, "model": model, "tokens": tokens, "k": k, "ablations": ablations, "mode": mode,
                      "points": names, "ids": ids.tolist(), "logits": tensor(logits), "probs": tensor(probs)})
    return cases


def rng_cases():
    cases = []
    for seed in [42, 0, 1, 2**32 + 5, 2**64 - 1, 12345678901234567890]:
        ss = np.random.SeedSequence(seed)
        state = ss.generate_state(4, np.uint64)
        raw = np.random.PCG64(seed).random_raw(8)
        doubles = np.random.default_rng(seed).random(16)
        cases.append({
            "seed": f"{seed:#x}",
            "pool": [int(v) for v in ss.pool],
            "state64": [f"{int(v):#018x}" for v in state],
            "raw64": [f"{int(v):#018x}" for v in raw],
            "doubles": [float(v) for v in doubles],
        })
    return cases


def write_safetensors(path, arrays):
    """A safetensors file written by hand (the format is a JSON header and raw bytes)."""
    header, offset, chunks = {}, 0, []
    for name, a in arrays.items():
        data = np.ascontiguousarray(a, dtype="<f8").tobytes()
        header[name] = {"dtype": "F64", "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + b"".join(chunks))


def tool_fixtures(out_dir):
    """A notebook model as a user would save it, and the reference's outputs for it."""
    rng = np.random.default_rng(4242)
    V, d, H, dh, F, N = 12, 16, 2, 8, 32, 2
    W_E, blocks = random_model(rng, V, d, H, dh, F, N, scale_E=0.3)
    arrays = {"W_E": W_E}
    for i, p in enumerate(blocks):
        for field in ref.BlockParameter._fields:
            arrays[f"blocks.{i}.{field}"] = getattr(p, field)
    np.savez(os.path.join(out_dir, "notebook.npz"), **arrays)
    np.savez_compressed(os.path.join(out_dir, "notebook_compressed.npz"), **arrays)
    write_safetensors(os.path.join(out_dir, "notebook.safetensors"), arrays)
    tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    samples = []
    for prompt, n, k, t, seed in [([3, 1, 4], 12, 5, 1.0, 42), ([0], 10, 12, 0.7, 7), ([11, 2], 8, 3, 2.0, 2**64 - 1)]:
        out = ref.topk_sample_notebook(np.array(prompt), W_E, blocks, n, k, t, seed)
        assert out == ref.topk_sample_spec(np.array(prompt), W_E, blocks, n, k, t, seed)
        samples.append({"prompt": prompt, "n": n, "k": k, "t": t, "seed": f"{seed:#x}", "tokens": out})
    greedy = ref.topk_sample_spec(np.array([3, 1, 4]), W_E, blocks, 8, 5, 0.0, 42)
    expected = {
        "hyperparameters": {"vocab_size": V, "d_model": d, "n_head": H, "d_head": dh, "d_mlp": F, "n_block": N},
        "tokens": tokens,
        "logits": tensor(ref.transformer(np.array(tokens), W_E, blocks)),
        "loss": ref.loss_logsumexp(np.array(tokens), W_E, blocks),
        "samples": samples,
        "greedy": {"prompt": [3, 1, 4], "n": 8, "k": 5, "tokens": greedy},
    }
    # txw-run --loss --context C --stride S and --sample --context C.
    long_tokens = [(i * 5 + 3) % V for i in range(40)]
    windowed = []
    for C, S in [(8, 3), (7, 6), (5, 1), (64, 32)]:
        loss, windows = ref.windowed_loss(np.array(long_tokens), W_E, blocks, C, S)
        windowed.append({"context": C, "stride": S, "loss": loss, "windows": windows})
    expected["windowed_loss"] = {"tokens": long_tokens, "cases": windowed}
    cropped = []
    for prompt, n, C, k, t, seed in [([3, 1, 4], 12, 5, 5, 1.0, 42), ([0, 1, 2, 3, 4, 5, 6, 7], 6, 4, 20, 0.0, 7),
                                     ([11, 2], 10, 3, 3, 2.0, 2**64 - 1)]:
        out = ref.cropped_sample(np.array(prompt), W_E, blocks, n, C, k, t, seed)
        cropped.append({"prompt": prompt, "n": n, "context": C, "k": k, "t": t, "seed": f"{seed:#x}", "tokens": out})
    expected["cropped_samples"] = cropped
    with open(os.path.join(out_dir, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, separators=(",", ":"))
        f.write("\n")


def adamw_cases():
    """Three AdamW steps over a small model's tensors (V 5, d_model 4, 2 heads
    of 3, d_mlp 6, 2 blocks; 19 to 30 values per tensor, off every vector
    width), from zero moments, with float32-representable parameters and
    gradients (so the float32 tests start from the float64 inputs). The
    gradients include zeros and values from 1e-6 to 1e2. Its own generator, so
    the other fixtures do not move."""
    rng = np.random.default_rng(INPUT_SEED + 16)
    V, d, H, dh, F, N = 5, 4, 2, 3, 6, 2
    shapes = [(V, d)] + [(d, F), (F,), (F, d), (d,), (d, dh, H), (d, dh, H), (d, dh, H), (H * dh, d)] * N
    params = [normal(rng, 0, 0.5, s) for s in shapes]
    initial = [tensor(p) for p in params]
    m = [np.zeros(s) for s in shapes]
    v = [np.zeros(s) for s in shapes]
    steps = []
    for t, lr in enumerate([1e-2, 3e-3, 1e-3], start=1):
        grads = []
        for s in shapes:
            g = normal(rng, 0, 1, s) * f32(10.0 ** rng.integers(-6, 3, s))
            g = f32(np.where(rng.random(s) < 0.1, 0.0, g))
            grads.append(g)
        params, m, v = ref.adamw_step(params, grads, m, v, t, lr)
        steps.append({"lr": lr, "grads": [tensor(g) for g in grads], "params": [tensor(p) for p in params],
                      "first": [tensor(a) for a in m], "second": [tensor(a) for a in v]})
    return [{"name": "three steps", "hyperparameters": {"vocab_size": V, "d_model": d, "n_head": H, "d_head": dh,
                                                         "d_mlp": F, "n_block": N},
             "params": initial,
             "steps": steps}]


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures")
    out_dir = os.path.join(root, "kernels")
    os.makedirs(out_dir, exist_ok=True)
    tools_dir = os.path.join(root, "tools")
    os.makedirs(tools_dir, exist_ok=True)
    tool_fixtures(tools_dir)
    rng = np.random.default_rng(INPUT_SEED)
    write(out_dir, "embed", embed_cases(rng))
    write(out_dir, "pos_embed", pos_embed_cases())
    write(out_dir, "rmsnorm", rmsnorm_cases(rng))
    write(out_dir, "softmax", softmax_cases(rng))
    write(out_dir, "causal_mask", causal_mask_cases(rng))
    write(out_dir, "gelu", gelu_cases(rng))
    attention, mlp, block = layer_cases(rng)
    write(out_dir, "attention", attention)
    write(out_dir, "mlp", mlp)
    write(out_dir, "block", block)
    transformer, models = transformer_cases(rng)
    write(out_dir, "transformer", transformer)
    write(out_dir, "sample", sample_cases(models))
    write(out_dir, "rng", rng_cases())
    write(out_dir, "windowed_loss", windowed_loss_cases(models))
    write(out_dir, "cropped_sample", cropped_sample_cases(models))
    write(out_dir, "activations", activation_cases(models))
    write(out_dir, "ablated_sample", ablated_sample_cases(models))
    write(out_dir, "lens", lens_cases(models))
    write(out_dir, "adamw", adamw_cases())


if __name__ == "__main__":
    main()
