#include "txw_kernels.h"
#include <stdint.h>
#include <stdlib.h>

// Each instruction set's kernels: kernels_impl.h included once per set with
// SUFFIX(name), VBYTES, GEMM_MR and the multiply-adds defined. On x86-64 three
// sets, chosen at run time; on any other CPU only the portable one.
#if defined(__x86_64__)
#define TXW_X86_LEVELS 1

// AVX-512 (F, VL, DQ, BW) with FMA.
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))), apply_to = function)
#define SUFFIX(name) name##_avx512
#define VBYTES 64
#define GEMM_MR 8  /* 16 of the 32 zmm registers as accumulators */
#define FMA32(a, b, c) __builtin_elementwise_fma(a, b, c)
#define FMA64(a, b, c) __builtin_elementwise_fma(a, b, c)
#define SFMA32(a, b, c) __builtin_fmaf(a, b, c)
#define SFMA64(a, b, c) __builtin_fma(a, b, c)
#include "kernels_impl.h"
#undef SUFFIX
#undef VBYTES
#undef GEMM_MR
#pragma clang attribute pop

// AVX2 with FMA.
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define SUFFIX(name) name##_avx2
#define VBYTES 32
#define GEMM_MR 6  /* 12 of the 16 ymm registers */
#include "kernels_impl.h"
#undef SUFFIX
#undef VBYTES
#undef GEMM_MR
#undef FMA32
#undef FMA64
#undef SFMA32
#undef SFMA64
#pragma clang attribute pop
#endif

// The portable set (baseline x86-64 SSE2; NEON on arm64; plain C elsewhere):
// 16-byte vectors, multiply then add, each rounded, and no contraction into
// fused multiply-adds, so its results are the same bits on every CPU.
#define SUFFIX(name) name##_base
#define VBYTES 16
#define GEMM_MR 6  /* 12 of the 16 xmm registers */
#define FMA32(a, b, c) ((a) * (b) + (c))
#define FMA64(a, b, c) ((a) * (b) + (c))
#define SFMA32(a, b, c) ((a) * (b) + (c))
#define SFMA64(a, b, c) ((a) * (b) + (c))
#pragma clang fp contract(off)
#include "kernels_impl.h"
#undef SUFFIX
#undef VBYTES

// The best set this CPU has: 2 = AVX-512, 1 = AVX2+FMA, 0 = portable.
static int detected_level(void) {
#ifdef TXW_X86_LEVELS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}

static int current_level = -1;
static __thread int thread_level = -1;

static int process_level(void) {
    int level = __atomic_load_n(&current_level, __ATOMIC_RELAXED);
    if (level < 0) {
        level = detected_level();
        const char *forced = getenv("TXW_KERNEL_LEVEL");
        if (forced && forced[0] >= '0' && forced[0] <= '2' && forced[1] == 0 && forced[0] - '0' < level)
            level = forced[0] - '0';
        __atomic_store_n(&current_level, level, __ATOMIC_RELAXED);
    }
    return level;
}

int txw_kernel_level(void) { return thread_level >= 0 ? thread_level : process_level(); }

void txw_set_kernel_level(int level) {
    if (level < 0) {
        thread_level = -1;
        return;
    }
    int most = detected_level();
    thread_level = level > most ? most : level;
}

#ifdef TXW_X86_LEVELS
#define DISPATCH(name, args)                       \
    switch (txw_kernel_level()) {                  \
    case 2: name##_avx512 args; break;             \
    case 1: name##_avx2 args; break;               \
    default: name##_base args; break;              \
    }
#define DISPATCH_RETURN(name, args)                \
    switch (txw_kernel_level()) {                  \
    case 2: return name##_avx512 args;             \
    case 1: return name##_avx2 args;               \
    default: return name##_base args;              \
    }
#else
#define DISPATCH(name, args) name##_base args;
#define DISPATCH_RETURN(name, args) return name##_base args;
#endif

void txw_sgemm(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
               float *c, size_t ldc) {
    DISPATCH(sgemm, (m, n, k, a, lda, b, ldb, c, ldc))
}

void txw_dgemm(size_t m, size_t n, size_t k, const double *a, size_t lda, const double *b, size_t ldb,
               double *c, size_t ldc) {
    DISPATCH(dgemm, (m, n, k, a, lda, b, ldb, c, ldc))
}

void txw_sgemm_t(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a, size_t lda,
                 const float *b, size_t ldb, float *c, size_t ldc) {
    DISPATCH(sgemm_t, (trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc))
}

void txw_dgemm_t(int trans_a, int trans_b, size_t m, size_t n, size_t k, const double *a, size_t lda,
                 const double *b, size_t ldb, double *c, size_t ldc) {
    DISPATCH(dgemm_t, (trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc))
}

void txw_exp_f32(float *x, size_t n) { DISPATCH(exp_f32, (x, n)) }
void txw_exp_f64(double *x, size_t n) { DISPATCH(exp_f64, (x, n)) }
float txw_attention_row_f32(float *row, size_t visible, size_t count, size_t width, float scale, float mask) {
    DISPATCH_RETURN(attention_row_f32, (row, visible, count, width, scale, mask))
}
double txw_attention_row_f64(double *row, size_t visible, size_t count, size_t width, double scale, double mask) {
    DISPATCH_RETURN(attention_row_f64, (row, visible, count, width, scale, mask))
}
void txw_rmsnorm_f32(size_t rows, size_t cols, const float *x, float epsilon, float *out) {
    DISPATCH(rmsnorm_f32, (rows, cols, x, epsilon, out, NULL))
}
void txw_rmsnorm_f64(size_t rows, size_t cols, const double *x, double epsilon, double *out) {
    DISPATCH(rmsnorm_f64, (rows, cols, x, epsilon, out, NULL))
}
void txw_rmsnorm_scales_f32(size_t rows, size_t cols, const float *x, float epsilon, float *scales) {
    DISPATCH(rmsnorm_f32, (rows, cols, x, epsilon, NULL, scales))
}
void txw_rmsnorm_scales_f64(size_t rows, size_t cols, const double *x, double epsilon, double *scales) {
    DISPATCH(rmsnorm_f64, (rows, cols, x, epsilon, NULL, scales))
}
void txw_gelu_f32(float *x, size_t n) { DISPATCH(gelu_f32, (x, n)) }
void txw_gelu_backward_f32(const float *x, const float *dy, float *out, size_t n) {
    DISPATCH(gelu_f32_backward, (x, dy, out, n))
}
void txw_gelu_backward_f64(const double *x, const double *dy, double *out, size_t n) {
    DISPATCH(gelu_f64_backward, (x, dy, out, n))
}
void txw_gelu_f64(double *x, size_t n) { DISPATCH(gelu_f64, (x, n)) }
void txw_attention_backward_f32(const float *p, float *dp, size_t rows, size_t count, size_t first, float scale) {
    DISPATCH(attention_backward_f32, (p, dp, rows, count, first, scale))
}
void txw_attention_backward_f64(const double *p, double *dp, size_t rows, size_t count, size_t first, double scale) {
    DISPATCH(attention_backward_f64, (p, dp, rows, count, first, scale))
}
void txw_transpose_f32(size_t rows, size_t cols, const float *a, size_t lda, float *out) {
    DISPATCH(transpose_f32, (rows, cols, a, lda, out))
}
void txw_transpose_f64(size_t rows, size_t cols, const double *a, size_t lda, double *out) {
    DISPATCH(transpose_f64, (rows, cols, a, lda, out))
}
