#ifndef TXW_KERNELS_H
#define TXW_KERNELS_H
// Hot loops of TXWKernels in C. On x86-64 compiled three times (AVX-512,
// AVX2+FMA, baseline SSE2) and dispatched on the CPU at run time; on other
// CPUs (arm64, …) compiled once, the portable set. Callers check every size;
// these functions trust them.
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The instruction set the kernels run with on this thread: 2 = AVX-512,
/// 1 = AVX2+FMA, 0 = portable (baseline x86-64, and the only set on other
/// CPUs: multiply then add, no fused multiply-add, the same bits on every CPU).
/// The CPU's best unless TXW_KERNEL_LEVEL lowers it.
int txw_kernel_level(void);
/// Forces a level on the calling thread (tests, benchmarks); a level the CPU
/// lacks is lowered to one it has; a negative level returns to the default.
void txw_set_kernel_level(int level);

/// C[m×n] = A[m×k]·B[k×n], row-major with leading dimensions lda, ldb, ldc.
/// Every element of C is one sum over k in increasing order (fused
/// multiply-add at levels 1 and 2), whatever m and n, so splitting C into
/// blocks of rows or columns across threads never changes a result.
void txw_sgemm(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
               float *c, size_t ldc);
void txw_dgemm(size_t m, size_t n, size_t k, const double *a, size_t lda, const double *b, size_t ldb,
               double *c, size_t ldc);

/// C[m×n] = op(A)·op(B): op(A) = A (m×k, row stride lda) or, when trans_a
/// is not 0, Aᵀ with `a` holding the k×m matrix A (row stride lda ≥ m);
/// op(B) = B (k×n) or, when trans_b is not 0, Bᵀ with `b` holding n×k (row
/// stride ldb ≥ k). No transpose is materialised, and every element is the
/// same in-order sum over k as txw_sgemm's on the transposed copy: the bits of
/// A·Bᵀ are those of A·(Bᵀ materialised).
void txw_sgemm_t(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a, size_t lda,
                 const float *b, size_t ldb, float *c, size_t ldc);
void txw_dgemm_t(int trans_a, int trans_b, size_t m, size_t n, size_t k, const double *a, size_t lda,
                 const double *b, size_t ldb, double *c, size_t ldc);

/// The most rows per tile, vectors per panel, and k, row or column block of a plan.
#define TXW_GEMM_MAX_MR 16
#define TXW_GEMM_MAX_NR 3
#define TXW_GEMM_MAX_BLOCK 1048576

/// How a GEMM blocks its work (Spec/kernels.md, "Performance"): tiles of `mr`
/// rows × `nr` vectors of columns (nr·lanes columns: 8 floats per vector with
/// AVX2, 16 with AVX-512, 4 at the baseline), k in blocks of `kc`, rows in
/// blocks of `mc`, columns in blocks of `nc`. Valid: mr 1…16, nr 1…3, kc,
/// mc, nc 1…TXW_GEMM_MAX_BLOCK. No plan changes a result: every element is
/// the same in-order sum over k whatever the plan.
typedef struct txw_gemm_plan {
    int mr;
    int nr;
    size_t kc;
    size_t mc;
    size_t nc;
} txw_gemm_plan;

/// Data cache sizes in bytes (L2 and L3: this processor's share) and where
/// they came from: 1 = Linux sysfs, 2 = CPUID, 0 = defaults (32 KiB, 256 KiB,
/// 256 KiB). Found once per process.
typedef struct txw_cache_sizes {
    size_t l1;
    size_t l2;
    size_t l3;
    int source;
} txw_cache_sizes;
void txw_cache_sizes_get(txw_cache_sizes *out);

/// 1 if every field of `plan` is in range, else 0.
int txw_gemm_plan_check(const txw_gemm_plan *plan);
/// The plan chosen from the caches and the registers of instruction-set
/// `level` for elements of `element_bytes` (4 or 8) bytes.
void txw_gemm_plan_auto(int level, size_t element_bytes, txw_gemm_plan *plan);
/// The plan products run with by default: txw_gemm_plan_auto with the
/// settings of the environment variable TXW_GEMM ("mr=4,nr=2,kc=128",
/// any of mr, nr, kc, mc, nc) in place of the chosen ones; a TXW_GEMM that
/// does not parse is ignored whole (txw_gemm_override_problem says why).
void txw_gemm_plan_current(int level, size_t element_bytes, txw_gemm_plan *plan);
/// Why TXW_GEMM was ignored (a static string), or NULL when unset or used.
const char *txw_gemm_override_problem(void);
/// Parses TXW_GEMM's syntax into `plan`, replacing the settings given;
/// returns NULL, or a static string saying what is wrong (plan untouched).
const char *txw_gemm_plan_parse(const char *text, txw_gemm_plan *plan);

/// txw_sgemm_t / txw_dgemm_t by `plan` (NULL or invalid: txw_gemm_plan_current's).
void txw_sgemm_plan(const txw_gemm_plan *plan, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                    const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc);
void txw_dgemm_plan(const txw_gemm_plan *plan, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                    const double *a, size_t lda, const double *b, size_t ldb, double *c, size_t ldc);

/// B packed once for many products (a model's weights): op(B) — B (k×n,
/// row stride ldb ≥ n) or, when trans_b is not 0, Bᵀ with `b` holding n×k
/// (ldb ≥ k) — copied into column panels of nr vectors (nr·lanes columns,
/// lanes as in txw_gemm_plan at the level), each panel k × nr·lanes
/// contiguous, zero-padded past column n. The layout depends on the level
/// and nr only, not on kc, mc or nc.
/// txw_gemm_packed_count: the elements `out` needs, 0 when nr is not 1…3,
/// element_bytes not 4 or 8, or the count overflows.
size_t txw_gemm_packed_count(int level, size_t element_bytes, int nr, size_t n, size_t k);
/// Packs at the calling thread's level (txw_kernel_level).
void txw_sgemm_pack(int nr, int trans_b, size_t n, size_t k, const float *b, size_t ldb, float *out);
void txw_dgemm_pack(int nr, int trans_b, size_t n, size_t k, const double *b, size_t ldb, double *out);
/// txw_sgemm_plan / txw_dgemm_plan with op(B) packed by txw_*gemm_pack at the
/// calling thread's level with plan->nr (the caller checks both; `plan`
/// must be valid): nothing of B is copied, and every element of C has the
/// bits txw_*gemm_plan gives with B unpacked.
void txw_sgemm_packed(const txw_gemm_plan *plan, int trans_a, size_t m, size_t n, size_t k, const float *a,
                      size_t lda, const float *packed, float *c, size_t ldc);
void txw_dgemm_packed(const txw_gemm_plan *plan, int trans_a, size_t m, size_t n, size_t k, const double *a,
                      size_t lda, const double *packed, double *c, size_t ldc);

/// x[i] = exp(x[i]) for n values, in place (Taylor polynomial after range
/// reduction, ~1e-16 relative in f64; 0 below underflow, +inf above
/// overflow, NaN stays NaN).
void txw_exp_f32(float *x, size_t n);
void txw_exp_f64(double *x, size_t n);

/// One row of causal attention weights, in place: row[0..visible) are raw
/// scores Q·K, divided here by `scale` (√d_head); row[visible..count) stand
/// for future positions at `mask`. Softmax over the whole row as the notebook
/// (maximum over all entries, mask value included; the visible terms summed
/// as 16 interleaved partial sums combined pairwise, then the masked ones).
/// Writes the weights of [0, visible) and the masked weight over
/// [visible, width) — over [visible, count) when that weight is not 0 — and
/// returns the masked weight (0 unless the scores come within ~100 (f32) or
/// ~745 (f64) of the mask value).
float txw_attention_row_f32(float *row, size_t visible, size_t count, size_t width, float scale, float mask);
double txw_attention_row_f64(double *row, size_t visible, size_t count, size_t width, double scale, double mask);

/// rmsnorm of `rows` rows of `cols` values: x / sqrt(mean(x²) + epsilon),
/// the sum of squares as 16 interleaved partial sums (element c into partial
/// c mod 16) combined pairwise; `out` may alias `x`.
void txw_rmsnorm_f32(size_t rows, size_t cols, const float *x, float epsilon, float *out);
void txw_rmsnorm_f64(size_t rows, size_t cols, const double *x, double epsilon, double *out);

/// The denominators sqrt(mean(x²) + epsilon) of txw_rmsnorm_* (the same
/// operations, the same bits), one per row, into `scales` (`rows` values).
void txw_rmsnorm_scales_f32(size_t rows, size_t cols, const float *x, float epsilon, float *scales);
void txw_rmsnorm_scales_f64(size_t rows, size_t cols, const double *x, double epsilon, double *scales);

/// The rmsnorm backward of `rows` rows of `cols`, added: out = add + dy/s − x·k,
/// k = (Σ dy·x) / (cols·s·s·s), s = √(Σx²/cols + epsilon) with Σx² summed as
/// txw_rmsnorm_* sums it (so its s) and Σ dy·x the same way. `out` may be `dy` or `add`.
void txw_rmsnorm_backward_f32(size_t rows, size_t cols, const float *x, const float *dy, const float *add,
                              float epsilon, float *out);
void txw_rmsnorm_backward_f64(size_t rows, size_t cols, const double *x, const double *dy, const double *add,
                              double epsilon, double *out);

/// GELU, tanh approximation, in place: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))),
/// tanh(z) as sign(z)·(1 − 2/(e^{2|z|} + 1)) with the exp of txw_exp_*.
void txw_gelu_f32(float *x, size_t n);
void txw_gelu_f64(double *x, size_t n);

/// out[i] = dy[i]·gelu′(x[i]) for n values (GELU's tanh approximation
/// differentiated; tanh computed as in txw_gelu_*).
void txw_gelu_backward_f32(const float *x, const float *dy, float *out, size_t n);
void txw_gelu_backward_f64(const double *x, const double *dy, double *out, size_t n);

/// AdamW over n parameters θ with gradients g and float64 moments m1, m2 (in
/// place), the new θ into `out` (which may be `theta`); k holds β₁, β₂,
/// 1 − β₁ᵗ, 1 − β₂ᵗ, lr, ε, λ, s. Per element:
/// g ← g·s rounded to θ's type (s = 1: g itself); m1 ← β₁·m1 + (1−β₁)·g; m2 ← β₂·m2 + ((1−β₂)·g)·g;
/// θ ← θ − lr·((m1/(1−β₁ᵗ)) / (√(m2/(1−β₂ᵗ)) + ε) + λ·θ), in float64, rounded
/// once to θ's type; no fused multiply-adds, so the same bits at every level.
void txw_adamw_f32(const float *theta, float *out, const float *g, double *m1, double *m2, size_t n, const double *k);
void txw_adamw_f64(const double *theta, double *out, const double *g, double *m1, double *m2, size_t n, const double *k);

/// act[i] = GELU(x[i]) (as txw_gelu_*) and x[i] = GELU′(x[i]) (the factor
/// txw_gelu_backward_* multiplies dy by), for n values, one tanh for both.
void txw_gelu_recording_f32(float *x, float *act, size_t n);
void txw_gelu_recording_f64(double *x, double *act, size_t n);

/// The score gradient of causal attention rows, in place over `dp`: row i of
/// `rows` (each `count` long) sees visible = min(first + i + 1, count) entries;
/// ds[l] = p[l]·(dp[l] − Σ_l p[l]·dp[l]) / scale for l < visible, 0 past it.
/// The dot product covers the whole row (masked weights included) as 16
/// interleaved partial sums (entry l into partial l mod 16) combined pairwise.
void txw_attention_backward_f32(const float *p, float *dp, size_t rows, size_t count, size_t first, float scale);
void txw_attention_backward_f64(const double *p, double *dp, size_t rows, size_t count, size_t first, double scale);

/// out (cols × rows, row-major) = the transpose of a (rows × cols, row stride lda).
void txw_transpose_f32(size_t rows, size_t cols, const float *a, size_t lda, float *out);
void txw_transpose_f64(size_t rows, size_t cols, const double *a, size_t lda, double *out);

#ifdef __cplusplus
}
#endif
#endif
