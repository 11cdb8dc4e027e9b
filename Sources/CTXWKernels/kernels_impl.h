// The body of the C kernels, included once per instruction set by kernels.c
// with SUFFIX(name), VBYTES (vector bytes), FMA32/FMA64 (vector multiply-add)
// and SFMA32/SFMA64 (scalar, the same operation lane by lane) defined.

typedef float SUFFIX(vf) __attribute__((vector_size(VBYTES)));
typedef double SUFFIX(vd) __attribute__((vector_size(VBYTES)));

#define GEMM_MR 6

// One GEMM per element type; T is the scalar, V the vector, L lanes per vector.
#define DEFINE_GEMM(NAME, T, V, L, FMA, SFMA)                                                            \
static void SUFFIX(NAME##_rows)(size_t n, size_t k, const T *a, const T *b, size_t ldb, T *c) {        \
    /* One row of C, no packing: c[j] = sum_k a[k]·b[k][j], k ascending (as the packed kernel). */    \
    size_t j = 0;                                                                                     \
    for (; j + 2 * L <= n; j += 2 * L) {                                                              \
        V c0 = {0}, c1 = {0};                                                                         \
        for (size_t p = 0; p < k; p++) {                                                              \
            V b0, b1;                                                                                 \
            __builtin_memcpy(&b0, b + p * ldb + j, sizeof(V));                                        \
            __builtin_memcpy(&b1, b + p * ldb + j + L, sizeof(V));                                    \
            V av = (V){0} + a[p];                                                                     \
            c0 = FMA(av, b0, c0);                                                                     \
            c1 = FMA(av, b1, c1);                                                                     \
        }                                                                                             \
        __builtin_memcpy(c + j, &c0, sizeof(V));                                                      \
        __builtin_memcpy(c + j + L, &c1, sizeof(V));                                                  \
    }                                                                                                 \
    for (; j < n; j++) {                                                                              \
        T s = 0;                                                                                      \
        for (size_t p = 0; p < k; p++) s = SFMA(a[p], b[p * ldb + j], s);                            \
        c[j] = s;                                                                                     \
    }                                                                                                 \
}                                                                                                     \
                                                                                                      \
static size_t SUFFIX(NAME##_packed_size)(size_t n, size_t k) {                                      \
    return (n + 2 * L - 1) / (2 * L) * k * 2 * L;                                                     \
}                                                                                                     \
                                                                                                      \
static void SUFFIX(NAME##_pack)(size_t n, size_t k, const T *b, size_t ldb, T *packed) {              \
    const size_t NR = 2 * L;                                                                          \
    size_t panels = (n + NR - 1) / NR;                                                                \
    for (size_t q = 0; q < panels; q++) {                                                             \
        T *dst = packed + q * k * NR;                                                                 \
        size_t cols = n - q * NR < NR ? n - q * NR : NR;                                              \
        for (size_t p = 0; p < k; p++) {                                                              \
            const T *src = b + p * ldb + q * NR;                                                      \
            size_t j = 0;                                                                             \
            for (; j < cols; j++) dst[p * NR + j] = src[j];                                           \
            for (; j < NR; j++) dst[p * NR + j] = 0;                                                  \
        }                                                                                             \
    }                                                                                                 \
}                                                                                                     \
                                                                                                      \
/* C rows [row_begin, row_end) from B packed by NAME##_pack; needs k ≥ 1. */                          \
static void SUFFIX(NAME##_packed)(size_t n, size_t k, const T *a, size_t lda, const T *packed,        \
                                  T *c, size_t ldc, size_t row_begin, size_t row_end) {              \
    const size_t NR = 2 * L;                                                                          \
    size_t panels = (n + NR - 1) / NR;                                                                \
    for (size_t q = 0; q < panels; q++) {                                                             \
        const T *bp = packed + q * k * NR;                                                            \
        size_t cols = n - q * NR < NR ? n - q * NR : NR;                                              \
        for (size_t i = row_begin; i < row_end; i += GEMM_MR) {                                       \
            size_t rows = row_end - i < GEMM_MR ? row_end - i : GEMM_MR;                              \
            const T *r0 = a + i * lda;                                                                \
            const T *r1 = a + (i + (rows > 1 ? 1 : 0)) * lda;                                         \
            const T *r2 = a + (i + (rows > 2 ? 2 : 0)) * lda;                                         \
            const T *r3 = a + (i + (rows > 3 ? 3 : 0)) * lda;                                         \
            const T *r4 = a + (i + (rows > 4 ? 4 : 0)) * lda;                                         \
            const T *r5 = a + (i + (rows > 5 ? 5 : 0)) * lda;                                         \
            V c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};                       \
            V c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};                       \
            for (size_t p = 0; p < k; p++) {                                                          \
                V b0, b1, av;                                                                         \
                __builtin_memcpy(&b0, bp + p * NR, sizeof(V));                                        \
                __builtin_memcpy(&b1, bp + p * NR + L, sizeof(V));                                    \
                av = (V){0} + r0[p]; c00 = FMA(av, b0, c00); c01 = FMA(av, b1, c01);                 \
                av = (V){0} + r1[p]; c10 = FMA(av, b0, c10); c11 = FMA(av, b1, c11);                 \
                av = (V){0} + r2[p]; c20 = FMA(av, b0, c20); c21 = FMA(av, b1, c21);                 \
                av = (V){0} + r3[p]; c30 = FMA(av, b0, c30); c31 = FMA(av, b1, c31);                 \
                av = (V){0} + r4[p]; c40 = FMA(av, b0, c40); c41 = FMA(av, b1, c41);                 \
                av = (V){0} + r5[p]; c50 = FMA(av, b0, c50); c51 = FMA(av, b1, c51);                 \
            }                                                                                         \
            V out[GEMM_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}}; \
            for (size_t r = 0; r < rows; r++) {                                                       \
                T *dst = c + (i + r) * ldc + q * NR;                                                  \
                if (cols == NR) {                                                                     \
                    __builtin_memcpy(dst, &out[r][0], sizeof(V));                                     \
                    __builtin_memcpy(dst + L, &out[r][1], sizeof(V));                                 \
                } else {                                                                              \
                    T tmp[2 * L];                                                                     \
                    __builtin_memcpy(tmp, &out[r][0], sizeof(V));                                     \
                    __builtin_memcpy(tmp + L, &out[r][1], sizeof(V));                                 \
                    for (size_t j = 0; j < cols; j++) dst[j] = tmp[j];                                \
                }                                                                                     \
            }                                                                                         \
        }                                                                                             \
    }                                                                                                 \
}                                                                                                     \
                                                                                                      \
static void SUFFIX(NAME)(size_t m, size_t n, size_t k, const T *a, size_t lda, const T *b,            \
                         size_t ldb, T *c, size_t ldc, size_t row_begin, size_t row_end) {            \
    (void)m;                                                                                          \
    if (row_end <= row_begin || n == 0) return;                                                       \
    if (k == 0) {                                                                                     \
        for (size_t i = row_begin; i < row_end; i++)                                                  \
            for (size_t j = 0; j < n; j++) c[i * ldc + j] = 0;                                        \
        return;                                                                                       \
    }                                                                                                 \
    T *packed = row_end - row_begin < 3 ? 0                                                           \
        : (T *)aligned_alloc(64, (SUFFIX(NAME##_packed_size)(n, k) * sizeof(T) + 63) / 64 * 64);      \
    if (!packed) { /* a row or two, or out of memory: the row kernel, same results */                 \
        for (size_t i = row_begin; i < row_end; i++) SUFFIX(NAME##_rows)(n, k, a + i * lda, b, ldb, c + i * ldc); \
        return;                                                                                       \
    }                                                                                                 \
    SUFFIX(NAME##_pack)(n, k, b, ldb, packed);                                                        \
    SUFFIX(NAME##_packed)(n, k, a, lda, packed, c, ldc, row_begin, row_end);                          \
    free(packed);                                                                                     \
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

// One attention row: scores[0..visible) divided by `scale`, the rest at the
// mask value; softmax over all `count` entries, the maximum over the whole
// row, the sum in index order.
#define DEFINE_ATTENTION_ROW(NAME, T, EXP)                                                  \
static void SUFFIX(NAME)(T *row, size_t visible, size_t count, T scale, T mask) {           \
    T top = visible < count ? mask : -__builtin_inf();                                      \
    for (size_t l = 0; l < visible; l++) {                                                  \
        row[l] = row[l] / scale;                                                            \
        top = row[l] > top ? row[l] : top;                                                  \
    }                                                                                       \
    for (size_t l = 0; l < visible; l++) row[l] = EXP(row[l] - top);                        \
    /* 8 interleaved partial sums, added pairwise: fixed for a given row length. */         \
    T part[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                                   \
    size_t l8 = visible / 8 * 8;                                                            \
    for (size_t l = 0; l < l8; l += 8)                                                      \
        for (size_t u = 0; u < 8; u++) part[u] += row[l + u];                               \
    T sum = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7])); \
    for (size_t l = l8; l < visible; l++) sum += row[l];                                    \
    T masked = visible < count ? EXP(mask - top) : 0;                                       \
    for (size_t l = visible; l < count; l++) sum += masked;                                 \
    for (size_t l = 0; l < visible; l++) row[l] = row[l] / sum;                             \
    T weight = masked / sum;                                                                \
    for (size_t l = visible; l < count; l++) row[l] = weight;                               \
}

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
