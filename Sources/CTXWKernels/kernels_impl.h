// The body of the C kernels, included once per instruction set by kernels.c
// with SUFFIX(name), VBYTES (vector bytes), FMA32/FMA64 (vector multiply-add)
// and SFMA32/SFMA64 (scalar, the same operation lane by lane) defined.

typedef float SUFFIX(vf) __attribute__((vector_size(VBYTES)));
typedef double SUFFIX(vd) __attribute__((vector_size(VBYTES)));

// The most rows of a tile (every plan's mr, and the tiles of the rows left, at most this).
#define GEMM_MAX_MR TXW_GEMM_MAX_MR
// Products of at least this many rows pack every panel of B (contiguous,
// cache-friendly); fewer rows read B in place (but a last, narrower panel).
#define GEMM_PACK_ROWS 24
// A is packed into slivers when C has at least this many panels (each sliver
// then serves them all); narrower products read A in place.
#define GEMM_PACK_A_PANELS 4
// A single row of C is computed GEMM_STREAM_COLUMNS columns at a time.
#define GEMM_STREAM_COLUMNS 1024

// One GEMM per element type (gemm_impl.h).
#define GEMM_NAME sgemm
#define T float
#define V SUFFIX(vf)
#define L (VBYTES / 4)
#define FMA FMA32
#define SFMA SFMA32
#include "gemm_impl.h"
#undef GEMM_NAME
#undef T
#undef V
#undef L
#undef FMA
#undef SFMA

#define GEMM_NAME dgemm
#define T double
#define V SUFFIX(vd)
#define L (VBYTES / 8)
#define FMA FMA64
#define SFMA SFMA64
#include "gemm_impl.h"
#undef GEMM_NAME
#undef T
#undef V
#undef L
#undef FMA
#undef SFMA

static inline uint64_t SUFFIX(bits64)(double x) { uint64_t u; __builtin_memcpy(&u, &x, 8); return u; }
static inline double SUFFIX(from64)(uint64_t u) { double x; __builtin_memcpy(&x, &u, 8); return x; }
static inline uint32_t SUFFIX(bits32)(float x) { uint32_t u; __builtin_memcpy(&u, &x, 4); return u; }
static inline float SUFFIX(from32)(uint32_t u) { float x; __builtin_memcpy(&x, &u, 4); return x; }

// exp(x) = 2^k · e^r, k = round(x / ln 2), r = x − k·ln 2 (two-part ln 2),
// e^r by its Taylor series to r^13 (|r| ≤ ln2/2: truncation < 1e-17), 2^k
// applied as two exact powers of two so subnormal and near-overflow results
// round once. Branch-free so the loop vectorizes.
static inline double SUFFIX(exp64)(double x) {
    const double shifter = 0x1.8p52;
    double xc = x < -746.0 ? -746.0 : (x > 710.0 ? 710.0 : x);
    double t = xc * 1.4426950408889634 + shifter;
    double kf = t - shifter;
    double r = xc - kf * 6.93147180369123816490e-01;
    r = r - kf * 1.90821492927058770002e-10;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    double kc = kf < -1022.0 ? -1022.0 : (kf > 1023.0 ? 1023.0 : kf);
    double kd = kf - kc;
    uint64_t base = SUFFIX(bits64)(shifter);
    uint64_t e1 = (SUFFIX(bits64)(kc + shifter) - base + 1023) << 52;
    uint64_t e2 = (SUFFIX(bits64)(kd + shifter) - base + 1023) << 52;
    double y = p * SUFFIX(from64)(e1) * SUFFIX(from64)(e2);
    return x != x ? x : y;
}

static inline float SUFFIX(exp32)(float x) {
    const float shifter = 0x1.8p23f;
    float xc = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x);
    float t = xc * 1.44269504f + shifter;
    float kf = t - shifter;
    float r = xc - kf * 0.693145751953125f;
    r = r - kf * 1.428606765330187e-06f;
    float p = 1.0f / 40320.0f;
    p = p * r + 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    float kc = kf < -126.0f ? -126.0f : (kf > 127.0f ? 127.0f : kf);
    float kd = kf - kc;
    uint32_t base = SUFFIX(bits32)(shifter);
    uint32_t e1 = (SUFFIX(bits32)(kc + shifter) - base + 127) << 23;
    uint32_t e2 = (SUFFIX(bits32)(kd + shifter) - base + 127) << 23;
    float y = p * SUFFIX(from32)(e1) * SUFFIX(from32)(e2);
    return x != x ? x : y;
}

static void SUFFIX(exp_f64)(double *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = SUFFIX(exp64)(x[i]);
}

static void SUFFIX(exp_f32)(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = SUFFIX(exp32)(x[i]);
}

// Sixteen partial sums combined pairwise: ((p0+p1)+(p2+p3)) + … .
// `len` ≤ 16 values from src to dst: a full block as one fixed-size copy (inlined
// as vector moves), a shorter one value by value; never a call to memcpy (on
// the AMD EPYC a call per block cost more than the block's arithmetic).
#define COPY16(dst, src, len)                                                                       \
    do {                                                                                            \
        if ((len) == 16) __builtin_memcpy((dst), (src), 16 * sizeof(*(dst)));                     \
        else for (size_t copy_ = 0; copy_ < (len); copy_++) (dst)[copy_] = (src)[copy_];          \
    } while (0)

#define PAIRWISE16(p)                                                                               \
    ((((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))) +                          \
     (((p[8] + p[9]) + (p[10] + p[11])) + ((p[12] + p[13]) + (p[14] + p[15]))))

// One attention row: scores[0..visible) divided by `scale`, the rest at the
// mask value; softmax over all `count` entries, the maximum over the whole
// row, the sum of the visible terms as 16 interleaved partial sums (entry l
// into partial l mod 16) combined pairwise, then the masked terms one by one.
// Writes the weights of [0, visible) and the masked weight over
// [visible, width), or over [visible, count) when it is not 0; returns the
// masked weight. The last partial block of 16 goes through a local buffer so
// every loop has a fixed shape and vectorizes.
#define DEFINE_ATTENTION_ROW(NAME, T, EXP)                                                  \
typedef T SUFFIX(NAME##_v16) __attribute__((vector_size(16 * sizeof(T))));                  \
static T SUFFIX(NAME)(T *row, size_t visible, size_t count, size_t width, T scale, T mask) { \
    typedef SUFFIX(NAME##_v16) V16;                                                         \
    T top = visible < count ? mask : -__builtin_inf();                                      \
    size_t full = visible / 16 * 16, rest = visible - full;                                 \
    /* Scale; the maximum (exact in any order) as 16 partial maxima. A NaN score */         \
    /* never becomes the maximum (as `v > top ? v : top`); it stays NaN in the row. */      \
    V16 most = (V16){0} + top, divisor = (V16){0} + scale;                                  \
    for (size_t l = 0; l < full; l += 16) {                                                 \
        V16 v;                                                                              \
        __builtin_memcpy(&v, row + l, sizeof v);                                            \
        v = v / divisor;                                                                    \
        __builtin_memcpy(row + l, &v, sizeof v);                                            \
        most = __builtin_elementwise_max(v, most);                                          \
    }                                                                                       \
    /* The last rest < 16 scores go through a local vector (copies, no branches */          \
    /* around divisions): divided as a whole, lanes past `rest` then set to `top`. */        \
    T tail[16] __attribute__((aligned(64)));                                                \
    for (size_t u = 0; u < rest; u++) tail[u] = row[full + u];                              \
    for (size_t u = rest; u < 16; u++) tail[u] = 0;                                         \
    {                                                                                       \
        V16 v;                                                                              \
        __builtin_memcpy(&v, tail, sizeof v);                                               \
        v = v / divisor;                                                                    \
        __builtin_memcpy(tail, &v, sizeof v);                                               \
    }                                                                                       \
    for (size_t u = rest; u < 16; u++) tail[u] = top;                                       \
    for (size_t u = 0; u < 16; u++) top = tail[u] > top ? tail[u] : top;                    \
    for (size_t u = 0; u < 16; u++) top = most[u] > top ? most[u] : top;                    \
    for (size_t l = 0; l < full; l++) row[l] = EXP(row[l] - top);                           \
    for (size_t u = 0; u < 16; u++) tail[u] = EXP(tail[u] - top);                           \
    for (size_t u = rest; u < 16; u++) tail[u] = 0;                                         \
    V16 part = {0};                                                                         \
    for (size_t l = 0; l < full; l += 16) {                                                 \
        V16 v;                                                                              \
        __builtin_memcpy(&v, row + l, sizeof v);                                            \
        part += v;                                                                          \
    }                                                                                       \
    {                                                                                       \
        V16 v;                                                                              \
        __builtin_memcpy(&v, tail, sizeof v);                                               \
        part += v;                                                                          \
    }                                                                                       \
    T sum = PAIRWISE16(part);                                                               \
    T masked = visible < count ? EXP(mask - top) : 0;                                       \
    /* Adding a masked weight of 0 leaves the sum as it is. */                              \
    if (masked != 0)                                                                        \
        for (size_t l = visible; l < count; l++) sum += masked;                             \
    for (size_t l = 0; l < full; l++) row[l] = row[l] / sum; /* divided, as the notebook */ \
    {                                                                                       \
        V16 v;                                                                              \
        __builtin_memcpy(&v, tail, sizeof v);                                               \
        v = v / ((V16){0} + sum);                                                           \
        __builtin_memcpy(tail, &v, sizeof v);                                               \
    }                                                                                       \
    for (size_t u = 0; u < rest; u++) row[full + u] = tail[u];                              \
    T weight = masked / sum;                                                                \
    size_t end = weight != 0 ? count : (width < count ? width : count);                     \
    for (size_t l = visible; l < end; l++) row[l] = weight;                                 \
    return weight;                                                                          \
}

// rmsnorm of `rows` rows of `cols`: x / sqrt(mean(x²) + epsilon), the sum of
// squares as 16 interleaved partial sums (element c into partial c mod 16)
// combined pairwise. `out` may alias `x`. With `scales`, each row's denominator
// is also written there; with `out` NULL only the denominators are.
#define DEFINE_RMSNORM(NAME, T, SQRT)                                                       \
static void SUFFIX(NAME)(size_t rows, size_t cols, const T *x, T epsilon, T *out,         \
                         T *scales) {                                                       \
    size_t full = cols / 16 * 16;                                                           \
    for (size_t r = 0; r < rows; r++) {                                                     \
        const T *src = x + r * cols;                                                        \
        T *dst = out + r * cols;                                                            \
        T part[16];                                                                         \
        for (size_t u = 0; u < 16; u++) part[u] = 0;                                        \
        for (size_t c = 0; c < full; c += 16)                                               \
            for (size_t u = 0; u < 16; u++) part[u] += src[c + u] * src[c + u];            \
        for (size_t u = 0; full + u < cols; u++) part[u] += src[full + u] * src[full + u];  \
        T denominator = SQRT(PAIRWISE16(part) / (T)cols + epsilon);                         \
        if (scales) scales[r] = denominator;                                                \
        if (!out) continue;                                                                 \
        for (size_t c = 0; c < cols; c++) dst[c] = src[c] / denominator;                    \
    }                                                                                       \
}

DEFINE_RMSNORM(rmsnorm_f32, float, __builtin_sqrtf)
DEFINE_RMSNORM(rmsnorm_f64, double, __builtin_sqrt)

// The rmsnorm backward of rows of `cols`, added to `add`:
// out = add + (dy/s − x·k), k = (Σ dy·x) / (n·s·s·s), s = √(Σx²/n + ε) with
// Σx² as the forward sums it (16 interleaved partial sums combined pairwise:
// the forward's s at this level) and Σ dy·x the same way. The last loop goes
// through local blocks of 16, so `out` may alias `dy` or `add` and it still
// vectorizes.
#define DEFINE_RMSNORM_BACKWARD(NAME, T, SQRT)                                              \
static void SUFFIX(NAME)(size_t rows, size_t cols, const T *x, const T *dy, const T *add,  \
                         T epsilon, T *out) {                                               \
    size_t full = cols / 16 * 16;                                                           \
    for (size_t r = 0; r < rows; r++) {                                                     \
        const T *xr = x + r * cols, *dr = dy + r * cols, *ar = add + r * cols;             \
        T *orow = out + r * cols;                                                           \
        T sq[16], dt[16];                                                                   \
        for (size_t u = 0; u < 16; u++) sq[u] = dt[u] = 0;                                  \
        for (size_t c = 0; c < full; c += 16)                                               \
            for (size_t u = 0; u < 16; u++) {                                               \
                sq[u] += xr[c + u] * xr[c + u];                                             \
                dt[u] += dr[c + u] * xr[c + u];                                             \
            }                                                                               \
        for (size_t u = 0; full + u < cols; u++) {                                          \
            sq[u] += xr[full + u] * xr[full + u];                                           \
            dt[u] += dr[full + u] * xr[full + u];                                           \
        }                                                                                   \
        T s = SQRT(PAIRWISE16(sq) / (T)cols + epsilon);                                     \
        T k = PAIRWISE16(dt) / ((T)cols * s * s * s);                                       \
        for (size_t c0 = 0; c0 < cols; c0 += 16) {                                          \
            size_t len = cols - c0 < 16 ? cols - c0 : 16;                                   \
            T xs[16], ds[16], as[16], os[16];                                               \
            for (size_t u = 0; u < 16; u++) xs[u] = ds[u] = as[u] = 0;                      \
            COPY16(xs, xr + c0, len);                                 \
            COPY16(ds, dr + c0, len);                                 \
            COPY16(as, ar + c0, len);                                 \
            for (size_t u = 0; u < 16; u++) os[u] = as[u] + (ds[u] / s - xs[u] * k);        \
            COPY16(orow + c0, os, len);                               \
        }                                                                                   \
    }                                                                                       \
}

DEFINE_RMSNORM_BACKWARD(rmsnorm_backward_f32, float, __builtin_sqrtf)
DEFINE_RMSNORM_BACKWARD(rmsnorm_backward_f64, double, __builtin_sqrt)

DEFINE_ATTENTION_ROW(attention_row_f32, float, SUFFIX(exp32))
DEFINE_ATTENTION_ROW(attention_row_f64, double, SUFFIX(exp64))

// GELU, the tanh approximation: one definition per precision, the forward
// and the backward (and through them every GELU of TXWKernels).
// t = tanh(z), z = c·(x + 0.044715·x³), c = √(2/π), tanh(z) = sign(z)·(1 − 2/(e^{2|z|} + 1));
// gelu(x) = 0.5·x·(1 + t);
// gelu′(x) = 0.5(1 + t) + 0.5x(1 − t²)·c(1 + 3·0.044715x²).
#define DEFINE_GELU(NAME, T, EXP, C)                                                       \
static inline T SUFFIX(NAME##_tanh)(T v) {                                                 \
    const T c = C, a = (T)0.044715;                                                        \
    T z = c * (v + a * (v * v * v));                                                       \
    T az = z < 0 ? -z : z;                                                                 \
    T th = (T)1 - (T)2 / (EXP((T)2 * az) + (T)1);                                          \
    return z < 0 ? -th : th;                                                               \
}                                                                                          \
                                                                                           \
static void SUFFIX(NAME)(T *x, size_t n) {                                                 \
    for (size_t i = 0; i < n; i++) {                                                       \
        T v = x[i];                                                                        \
        x[i] = (T)0.5 * v * ((T)1 + SUFFIX(NAME##_tanh)(v));                               \
    }                                                                                      \
}                                                                                          \
                                                                                           \
/* Blocks of 16 through local arrays: `out` may alias `dy` (or x) and every */           \
/* block's loop has a fixed shape, so it vectorizes either way. */                        \
static void SUFFIX(NAME##_backward)(const T *x, const T *dy, T *out, size_t n) {          \
    const T c = C, a = (T)0.044715;                                                        \
    for (size_t i0 = 0; i0 < n; i0 += 16) {                                                \
        size_t len = n - i0 < 16 ? n - i0 : 16;                                            \
        T xs[16], ds[16], os[16];                                                          \
        for (size_t u = 0; u < 16; u++) xs[u] = ds[u] = 0;                                 \
        COPY16(xs, x + i0, len);                                     \
        COPY16(ds, dy + i0, len);                                    \
        for (size_t u = 0; u < 16; u++) {                                                  \
            T v = xs[u];                                                                   \
            T th = SUFFIX(NAME##_tanh)(v);                                                 \
            T derivative = (T)0.5 * ((T)1 + th) + (T)0.5 * v * ((T)1 - th * th) * c * ((T)1 + (T)3 * a * v * v); \
            os[u] = ds[u] * derivative;                                                    \
        }                                                                                  \
        COPY16(out + i0, os, len);                                   \
    }                                                                                      \
}                                                                                          \
                                                                                           \
/* act[i] = gelu(x[i]) and x[i] = gelu′(x[i]), one tanh for both: the training */         \
/* step's forward keeps the derivative for its backward. The expressions are */           \
/* the forward's and the backward's, so the same bits as those two. */                    \
static void SUFFIX(NAME##_recording)(T *x, T *act, size_t n) {                             \
    const T c = C, a = (T)0.044715;                                                        \
    for (size_t i0 = 0; i0 < n; i0 += 16) {                                                \
        size_t len = n - i0 < 16 ? n - i0 : 16;                                            \
        T xs[16], as[16], ds[16];                                                          \
        for (size_t u = 0; u < 16; u++) xs[u] = 0;                                         \
        COPY16(xs, x + i0, len);                                     \
        for (size_t u = 0; u < 16; u++) {                                                  \
            T v = xs[u];                                                                   \
            T th = SUFFIX(NAME##_tanh)(v);                                                 \
            as[u] = (T)0.5 * v * ((T)1 + th);                                              \
            ds[u] = (T)0.5 * ((T)1 + th) + (T)0.5 * v * ((T)1 - th * th) * c * ((T)1 + (T)3 * a * v * v); \
        }                                                                                  \
        COPY16(act + i0, as, len);                                   \
        COPY16(x + i0, ds, len);                                     \
    }                                                                                      \
}

DEFINE_GELU(gelu_f32, float, SUFFIX(exp32), 0.797884560802865f)
DEFINE_GELU(gelu_f64, double, SUFFIX(exp64), 0.79788456080286535588)

// AdamW over n parameters θ into `out` (which may be θ; float64 moments, in
// place; the coefficients in `k`: β₁, β₂,
// 1 − β₁ᵗ, 1 − β₂ᵗ, lr, ε, λ, s), each element by AdamW.update's equations in
// their order: g = T(g·s) (the gradient scaled, rounded to T: s = 1/B makes a
// batch's mean of a sum; s = 1 leaves g as it is); m ← β₁m + (1−β₁)g;
// v ← β₂v + ((1−β₂)g)g; θ ← θ − lr·((m/c₁) / (√(v/c₂) + ε) + λθ). Four
// elements at a time; nothing contracted into a fused multiply-add and
// division and square root correctly rounded, so the same bits as the
// element-by-element loop at every level.
#define DEFINE_ADAMW(NAME, T)                                                               \
typedef T SUFFIX(NAME##_v4) __attribute__((vector_size(4 * sizeof(T))));                  \
static void SUFFIX(NAME)(const T *theta, T *out, const T *restrict g, double *restrict m1,  \
                         double *restrict m2, size_t n, const double *k) {                 \
    _Pragma("clang fp contract(off)")                                                       \
    typedef double D4 __attribute__((vector_size(32)));                                     \
    typedef SUFFIX(NAME##_v4) T4;                                                           \
    const double b1 = k[0], b2 = k[1], c1 = k[2], c2 = k[3], lr = k[4], eps = k[5], decay = k[6]; \
    const double scale = k[7], o1 = 1 - b1, o2 = 1 - b2;                                    \
    size_t j = 0;                                                                           \
    for (; j + 4 <= n; j += 4) {                                                            \
        T4 gt, tt;                                                                          \
        D4 a, b;                                                                            \
        __builtin_memcpy(&gt, g + j, sizeof gt);                                           \
        __builtin_memcpy(&tt, theta + j, sizeof tt);                                       \
        __builtin_memcpy(&a, m1 + j, sizeof a);                                            \
        __builtin_memcpy(&b, m2 + j, sizeof b);                                            \
        gt = __builtin_convertvector(__builtin_convertvector(gt, D4) * scale, T4);          \
        D4 gj = __builtin_convertvector(gt, D4), th = __builtin_convertvector(tt, D4);      \
        a = b1 * a + o1 * gj;                                                               \
        b = b2 * b + o2 * gj * gj;                                                          \
        D4 step = (a / c1) / (__builtin_elementwise_sqrt(b / c2) + eps) + decay * th;       \
        tt = __builtin_convertvector(th - lr * step, T4);                                   \
        __builtin_memcpy(m1 + j, &a, sizeof a);                                            \
        __builtin_memcpy(m2 + j, &b, sizeof b);                                            \
        __builtin_memcpy(out + j, &tt, sizeof tt);                                         \
    }                                                                                       \
    for (; j < n; j++) {                                                                    \
        double gj = (double)(T)((double)g[j] * scale), th = (double)theta[j];               \
        m1[j] = b1 * m1[j] + o1 * gj;                                                       \
        m2[j] = b2 * m2[j] + o2 * gj * gj;                                                  \
        out[j] = (T)(th - lr * ((m1[j] / c1) / (__builtin_sqrt(m2[j] / c2) + eps) + decay * th)); \
    }                                                                                       \
}

DEFINE_ADAMW(adamw_f32, float)
DEFINE_ADAMW(adamw_f64, double)

// The score gradient of causal attention rows from the weights p and their
// gradient dp (rows of `count`), in place over dp: for row i, with
// visible = min(first + i + 1, count),
// ds[l] = p[l]·(dp[l] − Σ_all p·dp) / scale for l < visible, 0 past it (the
// masked scores are constants). The dot product runs over the whole row
// (masked weights included, 0 unless the scores neared the mask value) as
// 16 interleaved partial sums (entry l into partial l mod 16) combined pairwise.
#define DEFINE_ATTENTION_BACKWARD(NAME, T)                                                  \
static void SUFFIX(NAME)(const T *p, T *dp, size_t rows, size_t count, size_t first, T scale) { \
    size_t full = count / 16 * 16;                                                          \
    for (size_t i = 0; i < rows; i++) {                                                     \
        const T *pr = p + i * count;                                                        \
        T *dr = dp + i * count;                                                             \
        size_t visible = first + i + 1 < count ? first + i + 1 : count;                     \
        T part[16];                                                                         \
        for (size_t u = 0; u < 16; u++) part[u] = 0;                                        \
        for (size_t c = 0; c < full; c += 16)                                               \
            for (size_t u = 0; u < 16; u++) part[u] += pr[c + u] * dr[c + u];              \
        for (size_t u = 0; full + u < count; u++) part[u] += pr[full + u] * dr[full + u];   \
        T dot = PAIRWISE16(part);                                                           \
        for (size_t l = 0; l < visible; l++) dr[l] = pr[l] * (dr[l] - dot) / scale;         \
        for (size_t l = visible; l < count; l++) dr[l] = 0;                                 \
    }                                                                                       \
}

DEFINE_ATTENTION_BACKWARD(attention_backward_f32, float)
DEFINE_ATTENTION_BACKWARD(attention_backward_f64, double)

// Out-of-place transpose: out (cols × rows) of a (rows × cols, row stride
// lda) in 8 × 8 tiles; exact.
#define DEFINE_TRANSPOSE(NAME, T)                                                           \
static void SUFFIX(NAME)(size_t rows, size_t cols, const T *a, size_t lda, T *out) {       \
    for (size_t r0 = 0; r0 < rows; r0 += 8) {                                               \
        size_t r1 = r0 + 8 < rows ? r0 + 8 : rows;                                          \
        for (size_t c0 = 0; c0 < cols; c0 += 8) {                                           \
            size_t c1 = c0 + 8 < cols ? c0 + 8 : cols;                                      \
            if (r1 - r0 == 8 && c1 - c0 == 8) { /* a full tile: fixed loops */              \
                T tile[8][8];                                                               \
                for (size_t r = 0; r < 8; r++)                                              \
                    for (size_t c = 0; c < 8; c++) tile[c][r] = a[(r0 + r) * lda + c0 + c]; \
                for (size_t c = 0; c < 8; c++)                                              \
                    for (size_t r = 0; r < 8; r++) out[(c0 + c) * rows + r0 + r] = tile[c][r]; \
                continue;                                                                   \
            }                                                                               \
            for (size_t c = c0; c < c1; c++)                                                \
                for (size_t r = r0; r < r1; r++) out[c * rows + r] = a[r * lda + c];        \
        }                                                                                   \
    }                                                                                       \
}

DEFINE_TRANSPOSE(transpose_f32, float)
DEFINE_TRANSPOSE(transpose_f64, double)
