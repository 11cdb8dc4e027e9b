#!/usr/bin/env python3
"""Side-by-side benchmark: txw (release build) against its peers, in one run.

    python3 tools/benchmark/bench.py BIN_DIR OUT_MD [--quick]

BIN_DIR holds the release txw-pack and txw-bench; OUT_MD is where the table
goes (BENCHMARKS.md). Every row compares txw with its peer on the same model
and inputs, medians over repeated runs, and prints the ratio. Peers: the
numpy reference of the notebook (tools/reference/reference.py), numpy's
float32 matmul, safetensors.numpy.load_file, np.load of npz (stored and
compressed), and `zstd -d` of the same raw bytes. Peak memory (max RSS) is
measured in a fresh process per load.
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

    # --- the table
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    try:
        model_name = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
        machine = f"{model_name}, {os.cpu_count()} cores"
    except (OSError, IndexError):
        pass
    level = subprocess.run([os.path.join(bin_dir, "txw-bench"), "--help"], capture_output=True, text=True)
    header = ["benchmark", "txw", "peer", "ratio (txw / peer speed)", "peer"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, ours, peer, ratio, note in rows:
        lines.append(f"| {name} | {ours} | {peer} | {'' if ratio is None else f'{ratio:.1f}×'} | {note} |")
    table = "\n".join(lines)
    print(table)
    with open(out_md, "w", encoding="utf-8") as f:
        f.write("# Benchmarks\n\n")
        f.write("Written by `bash tools/bench` (release build; numpy side by side in the same run). "
                "Medians over repeated runs; ratios are txw's speed over the peer's (higher is better; "
                "for file size, the peer's size over txw's). Before timing, txw-bench runs the measured "
                "operation for 0.5 s and each numpy peer once, untimed (idle processors of this virtual "
                "machine take a moment to reach full speed). Loads run one per fresh process, for txw and "
                "its peers, so the peak memory is that of one load.\n\n")
        f.write(f"- machine: {machine}, {platform.system()} {platform.release()}\n")
        f.write(f"- numpy {np.__version__}, Python {platform.python_version()}\n")
        f.write(f"- date: {time.strftime('%Y-%m-%d')}{' (quick run)' if quick else ''}\n\n")
        f.write(table + "\n")
    log(f"wrote {out_md}")


if __name__ == "__main__":
    main()
