// The body of the C kernels, included once per instruction set by kernels.c
// with SUFFIX(name), VBYTES (vector bytes), FMA32/FMA64 (vector multiply-add)
// and SFMA32/SFMA64 (scalar, the same operation lane by lane) defined.

typedef float SUFFIX(vf) __attribute__((vector_size(VBYTES)));
typedef double SUFFIX(vd) __attribute__((vector_size(VBYTES)));

// GEMM_MR, the rows of a full tile, comes from kernels.c per instruction set
// (as many as the vector registers hold: 2·GEMM_MR accumulators + 3).
#define GEMM_MAX_MR 8
// Row tiles of at least this many rows per column panel pack the panel first
// (contiguous, cache-friendly); fewer rows read B in place.
#define GEMM_PACK_ROWS 24
// A single row of C is computed GEMM_STREAM_COLUMNS columns at a time.
#define GEMM_STREAM_COLUMNS 1024

// One GEMM per element type; T is the scalar, V the vector, L lanes per vector.
// C is computed in column panels of NR = 2L columns and row tiles of up to
// GEMM_MR rows; every element is one sum over k in increasing order
// (fused multiply-add where the CPU has it), whichever tile or panel holds it.
#define DEFINE_GEMM(NAME, T, V, L, FMA, SFMA)                                                            \
/* R rows (a compile-time constant after inlining) × one panel: b points at the panel's */            \
/* first column, row p of the panel at b + p·bstride; `cols` ≤ 2L of them are stored. */              \
static inline __attribute__((always_inline)) void SUFFIX(NAME##_tile)(                                \
    const size_t R, size_t k, const T *a, size_t lda, const T *b, size_t bstride,                    \
    T *c, size_t ldc, size_t cols) {                                                                  \
    V acc0[GEMM_MAX_MR], acc1[GEMM_MAX_MR];                                                           \
    for (size_t r = 0; r < R; r++) { acc0[r] = (V){0}; acc1[r] = (V){0}; }                            \
    for (size_t p = 0; p < k; p++) {                                                                  \
        V b0, b1;                                                                                     \
        __builtin_memcpy(&b0, b + p * bstride, sizeof(V));                                            \
        __builtin_memcpy(&b1, b + p * bstride + L, sizeof(V));                                        \
        for (size_t r = 0; r < R; r++) {                                                              \
            V av = (V){0} + a[r * lda + p];                                                           \
            acc0[r] = FMA(av, b0, acc0[r]);                                                           \
            acc1[r] = FMA(av, b1, acc1[r]);                                                           \
        }                                                                                             \
    }                                                                                                 \
    for (size_t r = 0; r < R; r++) {                                                                  \
        T *dst = c + r * ldc;                                                                         \
        if (cols == 2 * L) {                                                                          \
            __builtin_memcpy(dst, &acc0[r], sizeof(V));                                               \
            __builtin_memcpy(dst + L, &acc1[r], sizeof(V));                                           \
        } else {                                                                                      \
            T tmp[2 * L];                                                                             \
            __builtin_memcpy(tmp, &acc0[r], sizeof(V));                                               \
            __builtin_memcpy(tmp + L, &acc1[r], sizeof(V));                                           \
            for (size_t j = 0; j < cols; j++) dst[j] = tmp[j];                                        \
        }                                                                                             \
    }                                                                                                 \
}                                                                                                     \
                                                                                                      \
/* Rows [row_begin, row_end) of C against one panel, GEMM_MR rows at a time. */                       \
static void SUFFIX(NAME##_panel)(size_t k, const T *a, size_t lda, const T *b, size_t bstride,        \
                                 T *c, size_t ldc, size_t cols, size_t row_begin, size_t row_end) {   \
    size_t i = row_begin;                                                                             \
    for (; i + GEMM_MR <= row_end; i += GEMM_MR)                                                      \
        SUFFIX(NAME##_tile)(GEMM_MR, k, a + i * lda, lda, b, bstride, c + i * ldc, ldc, cols);        \
    switch (row_end - i) {                                                                            \
    case 7: SUFFIX(NAME##_tile)(7, k, a + i * lda, lda, b, bstride, c + i * ldc, ldc, cols); break;   \
    case 6: SUFFIX(NAME##_tile)(6, k, a + i * lda, lda, b, bstride, c + i * ldc, ldc, cols); break;   \
    case 5: SUFFIX(NAME##_tile)(5, k, a + i * lda, lda, b, bstride, c + i * ldc, ldc, cols); break;   \
    case 4: SUFFIX(NAME##_tile)(4, k, a + i * lda, lda, b, bstride, c + i * ldc, ldc, cols); break;   \
    case 3: SUFFIX(NAME##_tile)(3, k, a + i * lda, lda, b, bstride, c + i * ldc, ldc, cols); break;   \
    case 2: SUFFIX(NAME##_tile)(2, k, a + i * lda, lda, b, bstride, c + i * ldc, ldc, cols); break;   \
    case 1: SUFFIX(NAME##_tile)(1, k, a + i * lda, lda, b, bstride, c + i * ldc, ldc, cols); break;   \
    default: break;                                                                                   \
    }                                                                                                 \
}                                                                                                     \
                                                                                                      \
/* One row of C (a decoding step): B streamed row by row, the row of C kept in L1 */                \
/* (blocks of GEMM_STREAM_COLUMNS) — the same sums in the same order as the tiles. */                \
static void SUFFIX(NAME##_row)(size_t n, size_t k, const T *restrict a, const T *restrict b,          \
                               size_t ldb, T *restrict c) {                                           \
    for (size_t j0 = 0; j0 < n; j0 += GEMM_STREAM_COLUMNS) {                                          \
        size_t width = n - j0 < GEMM_STREAM_COLUMNS ? n - j0 : GEMM_STREAM_COLUMNS;                   \
        T *restrict out = c + j0;                                                                     \
        for (size_t j = 0; j < width; j++) out[j] = 0;                                                \
        size_t p = 0;                                                                                 \
        /* Four rows of B per pass over `out` (four sequential streams), still added in order. */     \
        for (; p + 4 <= k; p += 4) {                                                                  \
            const T a0 = a[p], a1 = a[p + 1], a2 = a[p + 2], a3 = a[p + 3];                           \
            const T *restrict r0 = b + p * ldb + j0, *restrict r1 = r0 + ldb;                         \
            const T *restrict r2 = r1 + ldb, *restrict r3 = r2 + ldb;                                 \
            for (size_t j = 0; j < width; j++)                                                        \
                out[j] = SFMA(a3, r3[j], SFMA(a2, r2[j], SFMA(a1, r1[j], SFMA(a0, r0[j], out[j]))));  \
        }                                                                                             \
        for (; p < k; p++) {                                                                          \
            const T av = a[p];                                                                        \
            const T *restrict row = b + p * ldb + j0;                                                 \
            for (size_t j = 0; j < width; j++) out[j] = SFMA(av, row[j], out[j]);                     \
        }                                                                                             \
    }                                                                                                 \
}                                                                                                     \
                                                                                                      \
/* Copies `cols` ≤ NR columns of k rows of B into a k × NR panel, zero-padded. */                     \
static void SUFFIX(NAME##_pack)(size_t k, const T *b, size_t ldb, size_t cols, T *panel) {             \
    const size_t NR = 2 * L;                                                                          \
    for (size_t p = 0; p < k; p++) {                                                                  \
        size_t j = 0;                                                                                 \
        if (cols == NR) {                                                                             \
            __builtin_memcpy(panel + p * NR, b + p * ldb, NR * sizeof(T));                            \
            continue;                                                                                 \
        }                                                                                             \
        for (; j < cols; j++) panel[p * NR + j] = b[p * ldb + j];                                     \
        for (; j < NR; j++) panel[p * NR + j] = 0;                                                    \
    }                                                                                                 \
}                                                                                                     \
                                                                                                      \
static void SUFFIX(NAME)(size_t m, size_t n, size_t k, const T *a, size_t lda, const T *b,            \
                         size_t ldb, T *c, size_t ldc, size_t row_begin, size_t row_end) {            \
    (void)m;                                                                                          \
    const size_t NR = 2 * L;                                                                          \
    if (row_end <= row_begin || n == 0) return;                                                       \
    if (k == 0) {                                                                                     \
        for (size_t i = row_begin; i < row_end; i++)                                                  \
            for (size_t j = 0; j < n; j++) c[i * ldc + j] = 0;                                        \
        return;                                                                                       \
    }                                                                                                 \
    size_t rows = row_end - row_begin;                                                                \
    if (rows == 1) {                                                                                  \
        SUFFIX(NAME##_row)(n, k, a + row_begin * lda, b, ldb, c + row_begin * ldc);                   \
        return;                                                                                       \
    }                                                                                                 \
    int pack_all = rows >= GEMM_PACK_ROWS;                                                            \
    /* A panel buffer: on the stack when small, else from the heap; none if nothing needs it. */      \
    T stack_panel[2048 / sizeof(T) * 8] __attribute__((aligned(64)));                                 \
    T *panel = 0;                                                                                     \
    int heap = 0;                                                                                     \
    if (pack_all || n % NR != 0) {                                                                    \
        if (k * NR <= sizeof(stack_panel) / sizeof(T)) panel = stack_panel;                           \
        else { panel = (T *)malloc(k * NR * sizeof(T)); heap = 1; }                                   \
    }                                                                                                 \
    for (size_t q = 0; q < n; q += NR) {                                                              \
        size_t cols = n - q < NR ? n - q : NR;                                                        \
        const T *bp = b + q;                                                                          \
        size_t bstride = ldb;                                                                         \
        if (cols < NR || pack_all) {                                                                  \
            if (!panel) { /* out of memory: one row at a time, the same sums */                        \
                for (size_t i = row_begin; i < row_end; i++)                                          \
                    for (size_t j = 0; j < cols; j++) {                                               \
                        T s = 0;                                                                      \
                        for (size_t p = 0; p < k; p++) s = SFMA(a[i * lda + p], b[p * ldb + q + j], s); \
                        c[i * ldc + q + j] = s;                                                       \
                    }                                                                                 \
                continue;                                                                             \
            }                                                                                         \
            SUFFIX(NAME##_pack)(k, b + q, ldb, cols, panel);                                          \
            bp = panel;                                                                               \
            bstride = NR;                                                                             \
        }                                                                                             \
        SUFFIX(NAME##_panel)(k, a, lda, bp, bstride, c + q, ldc, cols, row_begin, row_end);           \
    }                                                                                                 \
    if (heap) free(panel);                                                                            \
}

DEFINE_GEMM(sgemm, float, SUFFIX(vf), (VBYTES / 4), FMA32, SFMA32)
DEFINE_GEMM(dgemm, double, SUFFIX(vd), (VBYTES / 8), FMA64, SFMA64)

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
// combined pairwise. `out` may alias `x`.
#define DEFINE_RMSNORM(NAME, T, SQRT)                                                       \
static void SUFFIX(NAME)(size_t rows, size_t cols, const T *x, T epsilon, T *out) {         \
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
        for (size_t c = 0; c < cols; c++) dst[c] = src[c] / denominator;                    \
    }                                                                                       \
}

DEFINE_RMSNORM(rmsnorm_f32, float, __builtin_sqrtf)
DEFINE_RMSNORM(rmsnorm_f64, double, __builtin_sqrt)

DEFINE_ATTENTION_ROW(attention_row_f32, float, SUFFIX(exp32))
DEFINE_ATTENTION_ROW(attention_row_f64, double, SUFFIX(exp64))

// tanh(z) = sign(z)·(1 − 2/(e^{2|z|} + 1)).
static void SUFFIX(gelu_f64)(double *x, size_t n) {
    const double c = 0.79788456080286535588;  // sqrt(2/pi)
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        double z = c * (v + 0.044715 * (v * v * v));
        double az = z < 0 ? -z : z;
        double th = 1.0 - 2.0 / (SUFFIX(exp64)(2.0 * az) + 1.0);
        th = z < 0 ? -th : th;
        x[i] = 0.5 * v * (1.0 + th);
    }
}

static void SUFFIX(gelu_f32)(float *x, size_t n) {
    const float c = 0.797884560802865f;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float z = c * (v + 0.044715f * (v * v * v));
        float az = z < 0 ? -z : z;
        float th = 1.0f - 2.0f / (SUFFIX(exp32)(2.0f * az) + 1.0f);
        th = z < 0 ? -th : th;
        x[i] = 0.5f * v * (1.0f + th);
    }
}

// GELU's derivative times the upstream gradient: out = dy·gelu′(x),
// gelu′(x) = 0.5(1 + t) + 0.5x(1 − t²)·c(1 + 3·0.044715x²), t = tanh(c(x + 0.044715x³)),
// tanh as in the forward GELU.
#define DEFINE_GELU_BACKWARD(NAME, T, EXP, C)                                              \
static void SUFFIX(NAME)(const T *x, const T *dy, T *out, size_t n) {                      \
    const T c = C, a = (T)0.044715;                                                        \
    for (size_t i = 0; i < n; i++) {                                                       \
        T v = x[i];                                                                        \
        T z = c * (v + a * (v * v * v));                                                   \
        T az = z < 0 ? -z : z;                                                             \
        T th = (T)1 - (T)2 / (EXP((T)2 * az) + (T)1);                                      \
        th = z < 0 ? -th : th;                                                             \
        T derivative = (T)0.5 * ((T)1 + th) + (T)0.5 * v * ((T)1 - th * th) * c * ((T)1 + (T)3 * a * v * v); \
        out[i] = dy[i] * derivative;                                                       \
    }                                                                                      \
}

DEFINE_GELU_BACKWARD(gelu_backward_f32, float, SUFFIX(exp32), 0.797884560802865f)
DEFINE_GELU_BACKWARD(gelu_backward_f64, double, SUFFIX(exp64), 0.79788456080286535588)
