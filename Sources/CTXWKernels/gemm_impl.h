// The GEMM of one element type, included by kernels_impl.h once for float and
// once for double (per instruction set) with these defined:
//   GEMM_NAME  the entry's name before SUFFIX (sgemm or dgemm)
//   T, V, L    the scalar, its vector type and the lanes per vector
//   FMA, SFMA  vector and scalar multiply-add (fused where the CPU has it)
// C is computed in column panels of NR = 2L columns and row tiles of up to
// GEMM_MR rows; every element is one sum over k in increasing order,
// whichever tile or panel holds it.

#define GEMM_PASTE(a, b) a##b
#define GEMM_JOIN(a, b) GEMM_PASTE(a, b)
// GEMM_FN(_tile) is e.g. sgemm_tile_avx2.
#define GEMM_SUFFIXED(name) SUFFIX(name)
#define GEMM_FN(part) GEMM_SUFFIXED(GEMM_JOIN(GEMM_NAME, part))
#define NR (2 * L)

// R rows (a compile-time constant after inlining) × one panel: element (r, p)
// of A at a[r·ars + p·acs] (ars = lda, acs = 1 for A; ars = 1, acs = lda for
// Aᵀ read by column); b points at the panel's first column, row p of the
// panel at b + p·bstride; `cols` ≤ NR of them are stored.
static inline __attribute__((always_inline)) void GEMM_FN(_tile)(
    const size_t R, size_t k, const T *a, size_t ars, size_t acs, const T *b, size_t bstride,
    T *c, size_t ldc, size_t cols) {
    V acc0[GEMM_MAX_MR], acc1[GEMM_MAX_MR];
    for (size_t r = 0; r < R; r++) { acc0[r] = (V){0}; acc1[r] = (V){0}; }
    for (size_t p = 0; p < k; p++) {
        V b0, b1;
        __builtin_memcpy(&b0, b + p * bstride, sizeof(V));
        __builtin_memcpy(&b1, b + p * bstride + L, sizeof(V));
        for (size_t r = 0; r < R; r++) {
            V av = (V){0} + a[r * ars + p * acs];
            acc0[r] = FMA(av, b0, acc0[r]);
            acc1[r] = FMA(av, b1, acc1[r]);
        }
    }
    for (size_t r = 0; r < R; r++) {
        T *dst = c + r * ldc;
        if (cols == NR) {
            __builtin_memcpy(dst, &acc0[r], sizeof(V));
            __builtin_memcpy(dst + L, &acc1[r], sizeof(V));
        } else {
            T tmp[NR];
            __builtin_memcpy(tmp, &acc0[r], sizeof(V));
            __builtin_memcpy(tmp + L, &acc1[r], sizeof(V));
            for (size_t j = 0; j < cols; j++) dst[j] = tmp[j];
        }
    }
}

// `rows` rows of C against one panel, GEMM_MR rows at a time, then one tile of
// the rows left (each size its own constant, so every tile's loops unroll).
// Inlined into its two callers, A and Aᵀ, so each has its strides as constants.
static inline __attribute__((always_inline)) void GEMM_FN(_panel)(
    size_t k, const T *a, size_t ars, size_t acs, const T *b, size_t bstride,
    T *c, size_t ldc, size_t cols, size_t rows) {
    size_t i = 0;
    for (; i + GEMM_MR <= rows; i += GEMM_MR)
        GEMM_FN(_tile)(GEMM_MR, k, a + i * ars, ars, acs, b, bstride, c + i * ldc, ldc, cols);
#define GEMM_REST(R) \
    case R: GEMM_FN(_tile)(R, k, a + i * ars, ars, acs, b, bstride, c + i * ldc, ldc, cols); break;
    switch (rows - i) {
    GEMM_REST(7) GEMM_REST(6) GEMM_REST(5) GEMM_REST(4) GEMM_REST(3) GEMM_REST(2) GEMM_REST(1)
    default: break;
    }
#undef GEMM_REST
}

// One row of C (a decoding step): B streamed row by row, the row of C kept in
// L1 (blocks of GEMM_STREAM_COLUMNS) — the same sums in the same order as the tiles.
static void GEMM_FN(_row)(size_t n, size_t k, const T *restrict a, size_t as, const T *restrict b,
                          size_t ldb, T *restrict c) {
    for (size_t j0 = 0; j0 < n; j0 += GEMM_STREAM_COLUMNS) {
        size_t width = n - j0 < GEMM_STREAM_COLUMNS ? n - j0 : GEMM_STREAM_COLUMNS;
        T *restrict out = c + j0;
        for (size_t j = 0; j < width; j++) out[j] = 0;
        size_t p = 0;
        // Four rows of B per pass over `out` (four sequential streams), still added in order.
        for (; p + 4 <= k; p += 4) {
            const T a0 = a[p * as], a1 = a[(p + 1) * as], a2 = a[(p + 2) * as], a3 = a[(p + 3) * as];
            const T *restrict r0 = b + p * ldb + j0, *restrict r1 = r0 + ldb;
            const T *restrict r2 = r1 + ldb, *restrict r3 = r2 + ldb;
            for (size_t j = 0; j < width; j++)
                out[j] = SFMA(a3, r3[j], SFMA(a2, r2[j], SFMA(a1, r1[j], SFMA(a0, r0[j], out[j]))));
        }
        for (; p < k; p++) {
            const T av = a[p * as];
            const T *restrict row = b + p * ldb + j0;
            for (size_t j = 0; j < width; j++) out[j] = SFMA(av, row[j], out[j]);
        }
    }
}

// Copies `cols` ≤ NR columns of k rows of B into a k × NR panel, zero-padded;
// with `trans`, b holds Bᵀ (column j of B is row j of b) and is read by rows.
static void GEMM_FN(_pack)(size_t k, const T *b, size_t ldb, size_t cols, T *panel, int trans) {
    if (trans) {
        for (size_t j = 0; j < cols; j++)
            for (size_t p = 0; p < k; p++) panel[p * NR + j] = b[j * ldb + p];
        for (size_t j = cols; j < NR; j++)
            for (size_t p = 0; p < k; p++) panel[p * NR + j] = 0;
        return;
    }
    for (size_t p = 0; p < k; p++) {
        size_t j = 0;
        if (cols == NR) {
            __builtin_memcpy(panel + p * NR, b + p * ldb, NR * sizeof(T));
            continue;
        }
        for (; j < cols; j++) panel[p * NR + j] = b[p * ldb + j];
        for (; j < NR; j++) panel[p * NR + j] = 0;
    }
}

// `cols` columns of `rows` rows of C one element at a time (the same sums): the
// path when no panel buffer could be allocated.
static void GEMM_FN(_columns)(size_t rows, size_t k, const T *a, size_t ars, size_t acs, const T *b,
                              size_t brs, size_t bcs, T *c, size_t ldc, size_t cols) {
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            T s = 0;
            for (size_t p = 0; p < k; p++) s = SFMA(a[i * ars + p * acs], b[p * brs + j * bcs], s);
            c[i * ldc + j] = s;
        }
}

// C[m×n] = op(A)·op(B) (txw_sgemm_t / txw_dgemm_t): op(A) = A (m×k, row
// stride lda) or, with trans_a, Aᵀ where a holds k×m; op(B) = B (k×n) or,
// with trans_b, Bᵀ where b holds n×k. Nothing is transposed in memory: Bᵀ is
// packed straight into panels, Aᵀ read by column; each element is the same
// in-order sum as with the transpose materialised.
static void GEMM_FN(_t)(int trans_a, int trans_b, size_t m, size_t n, size_t k, const T *a, size_t lda,
                        const T *b, size_t ldb, T *c, size_t ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) c[i * ldc + j] = 0;
        return;
    }
    if (m == 1 && !trans_b) {
        GEMM_FN(_row)(n, k, a, trans_a ? lda : 1, b, ldb, c);
        return;
    }
    int pack_all = m >= GEMM_PACK_ROWS || trans_b;
    // A panel buffer: on the stack when small, else from the heap; none if nothing needs it.
    T stack_panel[2048 / sizeof(T) * 8] __attribute__((aligned(64)));
    T *panel = 0;
    int heap = 0;
    if (pack_all || n % NR != 0) {
        if (k * NR <= sizeof(stack_panel) / sizeof(T)) panel = stack_panel;
        else { panel = (T *)malloc(k * NR * sizeof(T)); heap = 1; }
    }
    for (size_t q = 0; q < n; q += NR) {
        size_t cols = n - q < NR ? n - q : NR;
        const T *bq = trans_b ? b + q * ldb : b + q;
        const T *bp = bq;
        size_t bstride = ldb;
        if (cols < NR || pack_all) {
            if (!panel) {  // out of memory
                GEMM_FN(_columns)(m, k, a, trans_a ? 1 : lda, trans_a ? lda : 1, bq, trans_b ? 1 : ldb,
                                  trans_b ? ldb : 1, c + q, ldc, cols);
                continue;
            }
            GEMM_FN(_pack)(k, bq, ldb, cols, panel, trans_b);
            bp = panel;
            bstride = NR;
        }
        if (trans_a) GEMM_FN(_panel)(k, a, 1, lda, bp, bstride, c + q, ldc, cols, m);
        else GEMM_FN(_panel)(k, a, lda, 1, bp, bstride, c + q, ldc, cols, m);
    }
    if (heap) free(panel);
}

// C[m×n] = A[m×k]·B[k×n] (txw_sgemm / txw_dgemm).
static void GEMM_FN()(size_t m, size_t n, size_t k, const T *a, size_t lda, const T *b,
                      size_t ldb, T *c, size_t ldc) {
    GEMM_FN(_t)(0, 0, m, n, k, a, lda, b, ldb, c, ldc);
}

#undef NR
#undef GEMM_FN
#undef GEMM_SUFFIXED
#undef GEMM_JOIN
#undef GEMM_PASTE
