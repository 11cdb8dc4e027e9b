#!/usr/bin/env python3
"""Side-by-side benchmark: txw (release build) against its peers, in one run.

    python3 tools/benchmark/bench.py BIN_DIR OUT_MD [--quick]

BIN_DIR holds the release txw-pack and txw-bench; OUT_MD is where the table
goes (BENCHMARKS.md). Every row compares txw with its peer on the same model
and inputs, medians over repeated runs, and prints the ratio. Peers: the
numpy reference of the notebook (tools/reference/reference.py), numpy's
float32 matmul, safetensors.numpy.load_file, np.load of npz (stored and
compressed), `zstd -d` of the same raw bytes, and PyTorch on the CPU (eager
and torch.compile; tools/benchmark/torch_peer.py) with the goals of issue 16.
Peak memory (max RSS) is measured in a fresh process per load.

BENCHMARKS.md keeps one section per CPU model (tools/benchmark/report.py): a
run replaces its own CPU's section and keeps the others.
"""

import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
sys.path.insert(0, os.path.join(ROOT, "tools", "python"))
import reference as ref  # noqa: E402
import txw  # noqa: E402

sys.path.insert(0, HERE)
import report  # noqa: E402

STANDARD = dict(vocab_size=256, d_model=128, n_head=4, d_head=32, d_mlp=512, n_block=4)
LARGE = dict(vocab_size=4096, d_model=512, n_head=8, d_head=64, d_mlp=2048, n_block=8)
HUNDRED_MB = dict(vocab_size=4096, d_model=1024, n_head=16, d_head=64, d_mlp=3072, n_block=2)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def timed(fn, reps):
    """Median of `reps` timed calls after one untimed call (txw-bench warms up too)."""
    fn()
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return median(out)


def pack(bin_dir, path, shape, seed=1):
    flags = []
    for key, value in shape.items():
        flags += ["--" + key.replace("_", "-"), str(value)]
    subprocess.run([os.path.join(bin_dir, "txw-pack"), "--random", *flags, "--seed", str(seed), "-o", path, "--force"],
                   check=True, stdout=subprocess.DEVNULL)


def bench(bin_dir, *args):
    out = subprocess.run([os.path.join(bin_dir, "txw-bench"), *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def forward_flops(h, m):
    """Multiply-adds × 2 of the notebook's forward as written (full m×m attention products)."""
    d, H, dh, F, N, V = h["d_model"], h["n_head"], h["d_head"], h["d_mlp"], h["n_block"], h["vocab_size"]
    per_block = 2 * m * d * 3 * H * dh + 2 * m * H * dh * d + 2 * 2 * m * d * F + 2 * 2 * H * m * m * dh
    return N * per_block + 2 * m * d * V


def tokens(m, V):
    return np.array([(i * 7919 + 13) % V for i in range(m)])


def child_load(kind, path):
    """Time and max RSS of one load in a fresh Python process."""
    code = f"""
import resource, time, numpy as np
t = time.perf_counter()
kind, path = {kind!r}, {path!r}
if kind == "safetensors":
    from safetensors.numpy import load_file
    arrays = load_file(path)
    total = sum(a.nbytes for a in arrays.values())
elif kind == "npz":
    with np.load(path) as z:
        arrays = {{k: z[k] for k in z.files}}
    total = sum(a.nbytes for a in arrays.values())
elif kind == "txw-python":
    import sys; sys.path.insert(0, {os.path.join(ROOT, "tools", "python")!r})
    import txw
    c = txw.read_container(path)
    arrays = [c.read(t.name) for t in c.tensors]
    total = sum(a.nbytes for a in arrays)
elapsed = time.perf_counter() - t
# VmHWM starts afresh at exec (ru_maxrss would carry the parent's peak).
hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")][0] * 1024
print(elapsed, total, hwm)
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def zstd_decompress_time(path, reps):
    def run():
        subprocess.run(["zstd", "-d", "-q", "-c", path], check=True, stdout=subprocess.DEVNULL)
    return timed(run, reps)


def activation_cache_rows(bin_dir, std_path, reps):
    """The activation cache (issue 15): every activation of the standard toy
    at m=256 next to the plain forward pass, timed alternately by txw-bench
    (goal: at most 2x), and writing the cache as .txw and .npz (in memory)."""
    rows = []
    for precision in ("f32", "f64"):
        c = bench(bin_dir, "cache", std_path, "--precision", precision, "--repetitions", str(reps * 3))
        rows.append((f"activation cache, standard toy, m=256, {precision}", f"{c['median_s'] * 1e3:.2f} ms",
                     f"{c['forward_median_s'] * 1e3:.2f} ms", 1 / c["ratio"],
                     f"txw's plain forward pass (cache/forward = {c['ratio']:.2f}x; goal <= 2x); writing it: "
                     f".txw {c['txw_write_median_s'] * 1e3:.1f} ms ({c['txw_bytes'] / 1e6:.1f} MB), "
                     f".npz {c['npz_write_median_s'] * 1e3:.1f} ms ({c['npz_bytes'] / 1e6:.1f} MB)"))
    return rows


def main():
    bin_dir, out_md = sys.argv[1], sys.argv[2]
    quick = "--quick" in sys.argv
    reps = 3 if quick else 10
    load_at_start = load_average()
    others_at_start = others_busy()
    work = os.path.join(ROOT, ".build", "bench")
    os.makedirs(work, exist_ok=True)
    rows = []  # (benchmark, txw, peer, ratio, note)

    # --- models
    std_path = os.path.join(work, "standard.txw")
    large_path = os.path.join(work, "large.txw")
    big_path = os.path.join(work, "hundred.txw")
    log("packing the models …")
    pack(bin_dir, std_path, STANDARD)
    pack(bin_dir, large_path, LARGE)
    pack(bin_dir, big_path, HUNDRED_MB)

    # --- forward, loss, sampling on the standard toy
    model = txw.load(std_path)  # float64 arrays, as the notebook computes
    x = tokens(256, STANDARD["vocab_size"])
    log("numpy reference: forward, loss …")
    np_forward = timed(lambda: ref.transformer(x, model.W_E, model.blocks), 3 if quick else 5)
    np_loss = timed(lambda: ref.loss_logsumexp(x, model.W_E, model.blocks), 3 if quick else 5)
    for precision in ("f32", "f64"):
        f = bench(bin_dir, "forward", std_path, "--precision", precision, "--repetitions", str(reps * 3))["median_s"]
        rows.append((f"forward, standard toy, m=256, {precision}", f"{f * 1e3:.2f} ms", f"{np_forward * 1e3:.1f} ms",
                     np_forward / f, "numpy reference (float64)"))
    rows += activation_cache_rows(bin_dir, std_path, reps)
    for precision in ("f32", "f64"):
        f = bench(bin_dir, "loss", std_path, "--precision", precision, "--repetitions", str(reps * 3))["median_s"]
        rows.append((f"loss over 256 tokens, {precision}", f"{f * 1e3:.2f} ms", f"{np_loss * 1e3:.1f} ms",
                     np_loss / f, "numpy reference (float64)"))
    n_sample = 32 if quick else 256
    log(f"numpy reference: sampling n={n_sample} …")
    prompt = tokens(8, STANDARD["vocab_size"])
    t = time.perf_counter()
    ref.topk_sample_notebook(prompt, model.W_E, model.blocks, n_sample, 10, 1.0, 42)
    np_tps = n_sample / (time.perf_counter() - t)
    for precision in ("f32", "f64"):
        s = bench(bin_dir, "sample", std_path, "--precision", precision, "-n", "256", "-k", "10", "-t", "1",
                  "--repetitions", str(reps))
        rows.append((f"sampling n=256 after 8 tokens, k=10, t=1, {precision}", f"{s['tokens_per_s']:.0f} tok/s",
                     f"{np_tps:.1f} tok/s", s["tokens_per_s"] / np_tps, "numpy reference recomputes the sequence"))
    # Past the context every token is a pass over the last C tokens (no cache).
    log(f"numpy reference: cropped sampling n={n_sample}, context 64 …")
    long_prompt = tokens(64, STANDARD["vocab_size"])
    t = time.perf_counter()
    ref.cropped_sample(long_prompt, model.W_E, model.blocks, n_sample, 64, 10, 1.0, 42)
    np_cropped = n_sample / (time.perf_counter() - t)
    for precision in ("f32", "f64"):
        s = bench(bin_dir, "sample", std_path, "--precision", precision, "-n", "256", "-k", "10", "-t", "1",
                  "--prompt", "64", "--context", "64", "--repetitions", str(reps))
        rows.append((f"sampling n=256 past a context of 64 (prompt 64), k=10, t=1, {precision}", f"{s['tokens_per_s']:.0f} tok/s",
                     f"{np_cropped:.1f} tok/s", s["tokens_per_s"] / np_cropped,
                     "numpy reference cropped_sample; every token a pass over 64 tokens"))

    # --- large toy vs numpy float32 matmul
    a = np.random.default_rng(0).standard_normal((512, 512), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((512, 512), dtype=np.float32)
    mm = timed(lambda: a @ b, 50)
    np_gflops = 2 * 512 ** 3 / mm / 1e9
    large = bench(bin_dir, "forward", large_path, "--m", "512", "--repetitions", str(reps))["median_s"]
    large_gflops = forward_flops(LARGE, 512) / large / 1e9
    rows.append(("forward, large toy, m=512, f32", f"{large_gflops:.1f} GFLOP/s ({large * 1e3:.0f} ms)",
                 f"{np_gflops:.1f} GFLOP/s", large_gflops / np_gflops, "numpy float32 matmul 512×512×512"))

    # --- a training step on the standard toy (forward and backward ≈ 3× the forward's FLOPs)
    step = bench(bin_dir, "train", std_path, "--batch", "16", "--context", "64", "--repetitions", str(3 if quick else 5))["median_s"]
    train_gflops = 3 * 16 * forward_flops(STANDARD, 65) / step / 1e9
    rows.append(("training step, standard toy, batch 16 × 65 tokens, f32", f"{train_gflops:.1f} GFLOP/s ({step * 1e3:.0f} ms)",
                 f"{np_gflops:.1f} GFLOP/s", train_gflops / np_gflops, "numpy float32 matmul 512×512×512; FLOPs = 3 × forward"))

    # --- load + verify a ~100 MB f32 model
    log("exporting the 100 MB model to safetensors, npz and raw zstd …")
    big = txw.read_container(big_path)
    arrays = {t.name: big.read(t.name) for t in big.tensors}
    raw_bytes = sum(v.nbytes for v in arrays.values())
    st_path = os.path.join(work, "hundred.safetensors")
    npz_path = os.path.join(work, "hundred.npz")
    npzc_path = os.path.join(work, "hundred_compressed.npz")
    raw_path = os.path.join(work, "hundred.raw")
    from safetensors.numpy import save_file
    save_file(arrays, st_path)
    np.savez(npz_path, **arrays)
    np.savez_compressed(npzc_path, **arrays)
    with open(raw_path, "wb") as f:
        for v in arrays.values():
            f.write(np.ascontiguousarray(v).tobytes())
    subprocess.run(["zstd", "-q", "-f", "-3", "--single-thread", raw_path, "-o", raw_path + ".zst"], check=True)
    # Free the arrays before starting the measured processes: a child's peak
    # RSS starts at its parent's RSS when it is forked.
    del arrays, big, model
    import gc
    gc.collect()
    zstd_t = zstd_decompress_time(raw_path + ".zst", reps)
    zstd_tp = raw_bytes / zstd_t / 1e6
    # The process's own footprint (runtime, libraries), measured on a tiny file.
    golden = os.path.join(ROOT, "samples", "golden.txw")
    baseline = bench(bin_dir, "load", golden, "--repetitions", "1")["max_rss_bytes"]
    for threads in (1, 2):
        # One load per process, so the peak memory is that of one load.
        runs = [bench(bin_dir, "load", big_path, "--threads", str(threads), "--repetitions", "1") for _ in range(reps)]
        tp = runs[0]["decoded_bytes"] / median([r["median_s"] for r in runs]) / 1e6
        rss = max(r["max_rss_bytes"] for r in runs)
        rows.append((f"load + verify 100 MB, {threads} thread{'s' if threads > 1 else ''}",
                     f"{tp:.0f} MB/s, RSS {rss / raw_bytes:.2f}× data ({(rss - baseline) / raw_bytes:.2f}× above the {baseline / 1e6:.0f} MB process baseline)",
                     f"zstd -d {zstd_tp:.0f} MB/s", tp / zstd_tp, "zstd -3 of the same raw bytes, single thread"))
    for kind, path, label in (("safetensors", st_path, "safetensors.numpy.load_file"),
                              ("npz", npz_path, "np.load, npz stored"),
                              ("npz", npzc_path, "np.load, npz compressed")):
        samples = [child_load(kind, path) for _ in range(3)]
        t = median([s[0] for s in samples])
        rss = max(s[2] for s in samples)
        rows.append((f"load 100 MB: {label}", "", f"{raw_bytes / t / 1e6:.0f} MB/s, RSS {rss / raw_bytes:.2f}× data", None,
                     "peer only (compare with the txw rows above)"))

    # --- file sizes
    sizes = {name: os.path.getsize(p) for name, p in
             (("txw", big_path), ("safetensors", st_path), ("npz_compressed", npzc_path))}
    rows.append(("file size, 100 MB f32 weights", f"{sizes['txw'] / 1e6:.1f} MB",
                 f"safetensors {sizes['safetensors'] / 1e6:.1f} MB", sizes["safetensors"] / sizes["txw"],
                 f"npz_compressed {sizes['npz_compressed'] / 1e6:.1f} MB; ratio = safetensors / txw"))

    # --- PyTorch on the CPU, the same rows (checked against txw-run first), after
    # every txw row so that no torch thread or compile worker shares the machine with them
    torch_table = torch_rows(bin_dir, std_path, large_path, quick, mm)

    # --- the table
    header = ["benchmark", "txw", "peer", "ratio (txw / peer speed)", "peer"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, ours, peer, ratio, note in rows:
        lines.append(f"| {name} | {ours} | {peer} | {'' if ratio is None else f'{ratio:.1f}×'} | {note} |")
    table = "\n".join(lines)
    print(table)
    print()
    print(torch_table)
    loads = (load_at_start, load_average(), others_at_start, others_busy())
    if busy(loads):  # the verdicts too say that they are not reliable
        for verdict in ("met", "not met"):
            torch_table = torch_table.replace(f" | {verdict} |", f" | {verdict} (busy machine: unreliable) |")
    write_report(out_md, table, torch_table, quick, loads)
    log(f"wrote {out_md}")


# --- PyTorch rows (issue 16): eager and torch.compile, with the goals

GOALS = {  # row: [(which torch, least txw / torch ratio)]
    "forward f32": [("eager", 2.0), ("compile", 1.5)],
    "forward f64": [("eager", 1.5)],
    "large": [("compile", 1.0)],
    "sample": [("eager", 10.0)],
    "train": [("eager", 1.0)],
}


def goal_text(key, ratios):
    """(goal, met) of a row from its ratios {'eager': r or None, 'compile': …}."""
    parts, met = [], []
    for kind, least in GOALS[key]:
        parts.append(f"≥ {least:g}× {'torch.compile' if kind == 'compile' else 'eager'}")
        r = ratios.get(kind)
        met.append(None if r is None else r >= least)
    if None in met:
        verdict = "not measured"
    else:
        verdict = "met" if all(met) else "not met"
    return " and ".join(parts), verdict


def torch_rows(bin_dir, std_path, large_path, quick, numpy_matmul_s):
    """The torch table: each row txw, torch eager, torch.compile, the ratios and the goal.

    Nothing is timed before torch's f64 logits agree with txw-run's (1e-9
    relative) and its greedy key/value-cache tokens equal txw-run's; rows
    that disagree are refused with the reason."""
    header = ["row", "txw", "torch eager", "torch.compile", "txw / eager", "txw / compile", "goal", "on this CPU"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    try:
        import torch_peer as tp
    except ImportError as e:
        lines.append(f"| all rows | | refused: torch is not installed ({e}; tools/bench installs torch==2.13.0+cpu) | | | | | |")
        return "\n".join(lines)
    tp.setup()
    reps = 3 if quick else 10
    std = txw.load(std_path)
    large = txw.load(large_path)

    # txw measured again around each torch row, alternating: txw, torch,
    # txw, torch, txw. A virtual machine's speed drifts over a run and
    # varies by ±20% from minute to minute, so only measurements side by side
    # are compared: the row shows the median of txw's three figures and, for
    # each torch kind, the mean of its two.
    again = {
        "forward f32": lambda: bench(bin_dir, "forward", std_path, "--precision", "f32", "--repetitions", str(reps * 3))["median_s"],
        "forward f64": lambda: bench(bin_dir, "forward", std_path, "--precision", "f64", "--repetitions", str(reps * 3))["median_s"],
        "large": lambda: bench(bin_dir, "forward", large_path, "--m", "512", "--repetitions", str(reps))["median_s"],
        "sample": lambda: bench(bin_dir, "sample", std_path, "--precision", "f32", "-n", "256", "-k", "10", "-t", "1",
                                "--repetitions", str(reps))["tokens_per_s"],
        "train": lambda: bench(bin_dir, "train", std_path, "--batch", "16", "--context", "64",
                               "--repetitions", str(3 if quick else 5))["median_s"],
    }

    def side_by_side(key, torch_times):
        """torch_times() ({kind: (value, why)}) twice between three txw measurements of row `key`;
        returns (torch's, each kind the mean of its two values; txw's median)."""
        mine = [again[key]()]
        runs = []
        for _ in range(2):
            runs.append(torch_times())
            mine.append(again[key]())
        merged = {}
        for kind, (v, why) in runs[0].items():
            w = runs[1].get(kind, (None, why))[0]
            merged[kind] = ((v + w) / 2, why) if v is not None and w is not None else (None, why)
        return merged, sorted(mine)[1]

    def line(name, txw_value, txw_fmt, eager, compiled, key, fmt, speed):
        """eager/compiled: (value, why); speed(v) turns a value into a speed (higher is better)."""
        ratios, cells = {}, []
        txw_text = txw_fmt(txw_value)
        for kind, (v, why) in (("eager", eager), ("compile", compiled)):
            cells.append(fmt(v) if v is not None else f"– ({why})")
            ratios[kind] = None if v is None else speed(txw_value) / speed(v)
        goal, verdict = goal_text(key, ratios) if key in GOALS else ("", "")
        r = [("" if ratios[k] is None else f"{ratios[k]:.2f}×") for k in ("eager", "compile")]
        lines.append(f"| {name} | {txw_text} | {cells[0]} | {cells[1]} | {r[0]} | {r[1]} | {goal} | {verdict} |")

    def refused(name, why):
        lines.append(f"| {name} | | refused: {why} | | | | | |")

    ms = lambda v: f"{v * 1e3:.2f} ms"  # noqa: E731
    inverse = lambda v: 1 / v  # noqa: E731

    log("torch: checking the f64 logits against txw-run …")
    x256 = tokens(256, STANDARD["vocab_size"])
    why_std = tp.check_logits(std, bin_dir, std_path, x256)
    if why_std:
        for name in ("forward, standard toy, m=256, f32", "forward, standard toy, m=256, f64",
                     "sampling n=256 after 8 tokens, k=10, t=1, f32", "training step, standard toy, batch 16 × 65 tokens, f32"):
            refused(name, f"torch disagrees with txw-run: {why_std}")
    else:
        for precision, dtype in (("f32", tp.torch.float32), ("f64", tp.torch.float64)):
            log(f"torch: forward, standard toy, {precision} …")
            t, mine = side_by_side(f"forward {precision}", lambda: tp.forward_times(std, dtype, 256, reps * 3))
            line(f"forward, standard toy, m=256, {precision}", mine, ms,
                 t["eager"], t["compile"], f"forward {precision}", ms, inverse)

    why_large = tp.check_logits(large, bin_dir, large_path, tokens(64, LARGE["vocab_size"]))
    if why_large:
        refused("forward, large toy, m=512, f32", f"torch disagrees with txw-run at m=64: {why_large}")
    else:
        log("torch: forward, large toy …")
        flops = forward_flops(LARGE, 512)
        gf = lambda v: f"{flops / v / 1e9:.1f} GFLOP/s ({v * 1e3:.0f} ms)"  # noqa: E731
        t, mine = side_by_side("large", lambda: tp.forward_times(large, tp.torch.float32, 512, reps))
        line("forward, large toy, m=512, f32", mine, gf, t["eager"], t["compile"], "large", gf, inverse)

    if not why_std:
        prompt = [int(v) for v in tokens(8, STANDARD["vocab_size"])]
        why = tp.check_greedy(std, bin_dir, std_path, prompt, 256)
        if why:
            refused("sampling n=256 after 8 tokens, k=10, t=1, f32", f"the key/value-cache loop disagrees with txw-run: {why}")
        else:
            log("torch: sampling with a key/value cache …")
            t, mine = side_by_side("sample", lambda: tp.sample_times(std, prompt, 256, 10, 1.0, 3 if quick else 5))
            tps = lambda v: f"{v:.0f} tok/s"  # noqa: E731
            line("sampling n=256 after 8 tokens, k=10, t=1, f32 (torch: a plain key/value cache)",
                 mine, tps, t["eager"], t["compile"], "sample", tps, lambda v: v)
        log("torch: training step …")
        flops = 3 * 16 * forward_flops(STANDARD, 65)
        gf = lambda v: f"{flops / v / 1e9:.1f} GFLOP/s ({v * 1e3:.0f} ms)"  # noqa: E731
        stream = [int(v) for v in tokens(4096, STANDARD["vocab_size"])]
        t, mine = side_by_side("train", lambda: tp.train_times(std, stream, 16, 64, 3 if quick else 5))
        line("training step, standard toy, batch 16 × 65 tokens, f32 (autograd + AdamW)", mine, gf,
             t["eager"], t["compile"], "train", gf, inverse)

    a = tp.torch.randn(512, 512)
    b = tp.torch.randn(512, 512)
    mm = tp.timed(lambda: a @ b, 50)
    lines.append(f"| f32 matmul 512³ (peer only) | | {2 * 512 ** 3 / mm / 1e9:.1f} GFLOP/s | | | | "
                 f"numpy: {2 * 512 ** 3 / numpy_matmul_s / 1e9:.1f} GFLOP/s | |")
    return "\n".join(lines)


# --- BENCHMARKS.md: one section per CPU

PREAMBLE = """# Benchmarks

Written by `bash tools/bench` (release build; numpy and PyTorch side by side in the same run), one section
per CPU model: a run replaces the section of its own CPU (vendor, family, model) and keeps the others.
Medians over repeated runs; ratios are txw's speed over the peer's (higher is better; for file size, the
peer's size over txw's). In the PyTorch table each row alternates txw, torch, txw, torch, txw (txw's figure is the median of
its three, each torch kind's the mean of its two), so the ratios compare measurements side by side even when
the machine's speed drifts over the run. Before timing, txw-bench runs the measured operation for 0.5 s, each numpy peer
once and each torch peer for 0.5 s, untimed (idle processors of a virtual machine take a moment to reach full
speed; torch.compile compiles on its first call). Loads run one per fresh process, for txw and its peers, so
the peak memory is that of one load.

PyTorch runs on 2 threads (`torch.set_num_threads(2)`), forwards under `torch.inference_mode()`, the
notebook's model written as a torch user would (tools/benchmark/torch_peer.py: the same math as
tools/reference/reference.py, the same weights read from the .txw). Before any torch row is timed its f64
logits are checked against `txw-run --precision f64 --logits` (1e-9 relative) and its greedy key/value-cache
tokens against `txw-run --sample -t 0`; a row that disagrees is refused. The goals are those of issue 16.
"""


def cpu():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            return report.cpu_identity(f.read())
    except OSError:
        return report.cpu_identity("")


def load_average():
    """The 1-minute load average, or None where the system has none."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def others_busy(seconds=3.0):
    """The fraction of all cores' time other processes used over `seconds`,
    read from /proc/stat while this run does nothing (None where there is no
    /proc/stat). Unlike the load average, which trails by minutes, this
    does not count the release build tools/bench has just run."""
    def sample():
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields), idle
    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total1 - total0
    return None if total <= 0 else 1 - (idle1 - idle0) / total


def busy(loads):
    """Whether other processes shared the machine: `loads` holds, besides
    the load averages, the fraction of the cores other processes used just
    before and just after the measurements (`others_busy`); more than 15%
    of them at either end is a busy machine."""
    others = loads[2:4] if len(loads) >= 4 else ()
    if not others or None in others:
        return False
    return max(others) > 0.15


def load_text(loads):
    """A line on how busy the machine was: figures measured while other
    processes kept the cores busy are slower, torch's most (its OpenMP
    threads wait for each other by spinning)."""
    if None in loads[:2]:
        return "- load average: unknown"
    cores = os.cpu_count() or 1
    text = f"- load average (1 min) at the start {loads[0]:.1f}, at the end {loads[1]:.1f}, on {cores} cores"
    if len(loads) >= 4 and None not in loads[2:4]:
        text += (f"; other processes used {100 * loads[2]:.0f}% of the cores just before the measurements "
                 f"and {100 * loads[3]:.0f}% just after (/proc/stat, 3 s each)")
    if busy(loads):
        text += (" — **other processes shared the machine during this run: every figure is slower than on a quiet "
                 "machine, torch's most, and the ratios and goals are not reliable; rerun on a quiet machine**")
    return text


def write_report(out_md, table, torch_table, quick, loads=(None, None)):
    here = cpu()
    versions = f"numpy {np.__version__}, Python {platform.python_version()}"
    try:
        import torch
        versions += f", torch {torch.__version__} (CPU capability {torch.backends.cpu.get_cpu_capability()})"
    except ImportError:
        versions += ", torch not installed"
    body = (f"- machine: {here.model_name}, {os.cpu_count()} cores, {platform.system()} {platform.release()}\n"
            f"- {versions}\n"
            f"{load_text(loads)}\n"
            f"- date: {time.strftime('%Y-%m-%d')}{' (quick run)' if quick else ''}\n\n"
            f"{table}\n\n### PyTorch on the same CPU, and the goals\n\n{torch_table}\n")
    existing = None
    if os.path.exists(out_md):
        with open(out_md, encoding="utf-8") as f:
            existing = f.read()
    merged = report.merge_sections(existing, PREAMBLE, here.key, report.section_text(here.key, here.title, body))
    tmp = out_md + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(merged)
    os.replace(tmp, out_md)

if __name__ == "__main__":
    main()
