// The GEMM of one element type, included by kernels_impl.h once for float and
// once for double (per instruction set) with these defined:
//   GEMM_NAME  the entry's name before SUFFIX (sgemm or dgemm)
//   T, V, L    the scalar, its vector type and the lanes per vector
//   FMA, SFMA  vector and scalar multiply-add (fused where the CPU has it)
//
// C = op(A)·op(B) by a plan (txw_gemm_plan): panels of NR = nr·L columns, row
// tiles of up to mr rows, k in blocks of kc, rows in blocks of mc, columns in
// blocks of nc (Goto's loop nest: jc → pc → ic → jr → ir). Whatever the plan,
// every element of C is one chain of multiply-adds over k in increasing order
// starting from 0: a tile's accumulators are stored to C after each k block
// and reloaded (exactly: a stored value is the accumulator's value) before the
// next, so k blocking splits the chain without reordering it.

#define GEMM_PASTE(a, b) a##b
#define GEMM_JOIN(a, b) GEMM_PASTE(a, b)
// GEMM_FN(_tile) is e.g. sgemm_tile_avx2.
#define GEMM_SUFFIXED(name) SUFFIX(name)
#define GEMM_FN(part) GEMM_SUFFIXED(GEMM_JOIN(GEMM_NAME, part))

// R rows × NV vectors (both compile-time constants after inlining) of C over
// k values: element (r, p) of A at a[r·ars + p·acs] (a packed sliver: 1, R;
// A in place: lda, 1; Aᵀ in place: 1, lda); row p of the B panel at
// b + p·bstride. With `first` the sums start from 0, else from C (the value a
// previous k block stored). `cols` ≤ NV·L columns are stored.
static inline __attribute__((always_inline)) void GEMM_FN(_tile)(
    const size_t R, const size_t NV, size_t k, const T *a, size_t ars, size_t acs, const T *b,
    size_t bstride, T *c, size_t ldc, size_t cols, int first) {
    const size_t width = NV * L;
    // A narrower tile (the last columns) goes through a local copy, so the
    // accumulators are loaded and stored the same way as a full tile's.
    T edge[GEMM_MAX_MR * 3 * L];
    T *cp = c;
    size_t cs = ldc;
    if (cols < width) {
        cp = edge;
        cs = 3 * L;
        for (size_t r = 0; r < R; r++)
            for (size_t j = 0; j < width; j++) edge[r * cs + j] = first || j >= cols ? 0 : c[r * ldc + j];
    }
    V acc[GEMM_MAX_MR][3];
    for (size_t r = 0; r < R; r++)
        for (size_t v = 0; v < NV; v++) {
            V x = (V){0};
            if (!first) __builtin_memcpy(&x, cp + r * cs + v * L, sizeof(V));
            acc[r][v] = x;
        }
    // A broadcast value as s·1 (exact, and folded to a plain broadcast; 0 + s is not: −0 + 0 = +0).
    const V one = (V){0} + 1;
    for (size_t p = 0; p < k; p++) {
        V bv[3];
        for (size_t v = 0; v < NV; v++) __builtin_memcpy(&bv[v], b + p * bstride + v * L, sizeof(V));
        for (size_t r = 0; r < R; r++) {
            V av = a[r * ars + p * acs] * one;
            for (size_t v = 0; v < NV; v++) acc[r][v] = FMA(av, bv[v], acc[r][v]);
        }
    }
    for (size_t r = 0; r < R; r++)
        for (size_t v = 0; v < NV; v++) __builtin_memcpy(cp + r * cs + v * L, &acc[r][v], sizeof(V));
    if (cp != c)
        for (size_t r = 0; r < R; r++)
            for (size_t j = 0; j < cols; j++) c[r * ldc + j] = edge[r * cs + j];
}

// One function per tile shape (NV vectors × R rows) and A's form, small
// enough to compile quickly: `p` reads a packed sliver (element (r, p) at
// a[p·R + r]), `u` A in place (a[r·ars + p]), `t` Aᵀ in place (a[r + p·ars]:
// a packed sliver's layout with row stride ars). A table holds them.
typedef void (*GEMM_FN(_tile_fn))(size_t k, const T *a, size_t ars, const T *b, size_t bstride, T *c,
                                   size_t ldc, size_t cols, int first);
#define GEMM_TILE_DEFINE(NV, R)                                                                   \
    static void GEMM_FN(_t##NV##_##R##p)(size_t k, const T *a, size_t ars, const T *b, size_t bstride, \
                                         T *c, size_t ldc, size_t cols, int first) {              \
        (void)ars;                                                                                \
        GEMM_FN(_tile)(R, NV, k, a, 1, R, b, bstride, c, ldc, cols, first);                       \
    }                                                                                             \
    static void GEMM_FN(_t##NV##_##R##u)(size_t k, const T *a, size_t ars, const T *b, size_t bstride, \
                                         T *c, size_t ldc, size_t cols, int first) {              \
        GEMM_FN(_tile)(R, NV, k, a, ars, 1, b, bstride, c, ldc, cols, first);                     \
    }                                                                                             \
    static void GEMM_FN(_t##NV##_##R##t)(size_t k, const T *a, size_t ars, const T *b, size_t bstride, \
                                         T *c, size_t ldc, size_t cols, int first) {              \
        GEMM_FN(_tile)(R, NV, k, a, 1, ars, b, bstride, c, ldc, cols, first);                     \
    }
#define GEMM_TILES_8(NV) GEMM_TILE_DEFINE(NV, 1) GEMM_TILE_DEFINE(NV, 2) GEMM_TILE_DEFINE(NV, 3) \
    GEMM_TILE_DEFINE(NV, 4) GEMM_TILE_DEFINE(NV, 5) GEMM_TILE_DEFINE(NV, 6) GEMM_TILE_DEFINE(NV, 7) \
    GEMM_TILE_DEFINE(NV, 8)
#define GEMM_TILES_16(NV) GEMM_TILES_8(NV) GEMM_TILE_DEFINE(NV, 9) GEMM_TILE_DEFINE(NV, 10) \
    GEMM_TILE_DEFINE(NV, 11) GEMM_TILE_DEFINE(NV, 12) GEMM_TILE_DEFINE(NV, 13) GEMM_TILE_DEFINE(NV, 14) \
    GEMM_TILE_DEFINE(NV, 15) GEMM_TILE_DEFINE(NV, 16)
#define GEMM_ROW8(NV, M) GEMM_FN(_t##NV##_1##M), GEMM_FN(_t##NV##_2##M), GEMM_FN(_t##NV##_3##M), \
    GEMM_FN(_t##NV##_4##M), GEMM_FN(_t##NV##_5##M), GEMM_FN(_t##NV##_6##M), GEMM_FN(_t##NV##_7##M), \
    GEMM_FN(_t##NV##_8##M)
#define GEMM_ROW16(NV, M) GEMM_ROW8(NV, M), GEMM_FN(_t##NV##_9##M), GEMM_FN(_t##NV##_10##M), \
    GEMM_FN(_t##NV##_11##M), GEMM_FN(_t##NV##_12##M), GEMM_FN(_t##NV##_13##M), GEMM_FN(_t##NV##_14##M), \
    GEMM_FN(_t##NV##_15##M), GEMM_FN(_t##NV##_16##M)
#if GEMM_LEVEL_MAX_MR == 16
GEMM_TILES_16(1) GEMM_TILES_16(2) GEMM_TILES_16(3)
static const GEMM_FN(_tile_fn) GEMM_FN(_tiles)[3][3][GEMM_LEVEL_MAX_MR] = {
    {{GEMM_ROW16(1, p)}, {GEMM_ROW16(2, p)}, {GEMM_ROW16(3, p)}},
    {{GEMM_ROW16(1, u)}, {GEMM_ROW16(2, u)}, {GEMM_ROW16(3, u)}},
    {{GEMM_ROW16(1, t)}, {GEMM_ROW16(2, t)}, {GEMM_ROW16(3, t)}},
};
#else
GEMM_TILES_8(1) GEMM_TILES_8(2) GEMM_TILES_8(3)
static const GEMM_FN(_tile_fn) GEMM_FN(_tiles)[3][3][GEMM_LEVEL_MAX_MR] = {
    {{GEMM_ROW8(1, p)}, {GEMM_ROW8(2, p)}, {GEMM_ROW8(3, p)}},
    {{GEMM_ROW8(1, u)}, {GEMM_ROW8(2, u)}, {GEMM_ROW8(3, u)}},
    {{GEMM_ROW8(1, t)}, {GEMM_ROW8(2, t)}, {GEMM_ROW8(3, t)}},
};
#endif
#undef GEMM_ROW16
#undef GEMM_ROW8
#undef GEMM_TILES_16
#undef GEMM_TILES_8
#undef GEMM_TILE_DEFINE

// How a GEMM reads A: packed slivers, in place, or Aᵀ in place (defined once:
// this file is included per element type and instruction set).
#ifndef GEMM_A_FORMS
#define GEMM_A_FORMS
enum { GEMM_A_PACKED = 0, GEMM_A_IN_PLACE = 1, GEMM_A_TRANSPOSED_IN_PLACE = 2 };
#endif

// `rows` rows of C against one panel of nv vectors, mr rows at a time, then
// one tile of the rest. A (`form`) is a packed block (slivers of mr rows,
// the last of the rest), or read in place: A with row stride ars, or Aᵀ
// (row r of op(A) is column r of the k × m storage, row stride ars).
static void GEMM_FN(_panel)(size_t nv, size_t mr, size_t rows, size_t k, const T *a, int form, size_t ars,
                            const T *b, size_t bstride, T *c, size_t ldc, size_t cols, int first) {
    const GEMM_FN(_tile_fn) *tiles = GEMM_FN(_tiles)[form][nv - 1];
    const size_t step = form == GEMM_A_PACKED ? k : form == GEMM_A_IN_PLACE ? ars : 1;
    size_t i = 0;
    for (; i + mr <= rows; i += mr) tiles[mr - 1](k, a + i * step, ars, b, bstride, c + i * ldc, ldc, cols, first);
    if (i < rows) tiles[rows - i - 1](k, a + i * step, ars, b, bstride, c + i * ldc, ldc, cols, first);
}

// One row of C (a decoding step): B streamed row by row, the row of C kept in
// L1 (blocks of GEMM_STREAM_COLUMNS) — the same sums in the same order as the
// tiles. Element p of the row of op(A) at a[p·as].
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

// k rows of NV·L columns (b row stride ldb) into a k × NV·L panel, a vector
// at a time (NV a constant after inlining: a copy of a variable width was a
// call to memmove per row, 6% of the standard toy's training step).
static inline __attribute__((always_inline)) void GEMM_FN(_pack_rows)(const size_t NV, size_t k, const T *b, size_t ldb,
                                                                       T *restrict panel) {
    for (size_t p = 0; p < k; p++)
        for (size_t v = 0; v < NV; v++) {
            V x;
            __builtin_memcpy(&x, b + p * ldb + v * L, sizeof(V));
            __builtin_memcpy(panel + (p * NV + v) * L, &x, sizeof(V));
        }
}

// An 8 × 8 tile transposed in registers: row q of `out` (stride os) is
// column q of `in` (rows of stride is). Three rounds of shuffles of
// 8-element vectors (one ymm of floats with AVX2; the compiler splits wider
// ones), no memory round trip (a local tile array compiled to 64 scalar
// stores and loads).
static inline __attribute__((always_inline)) void GEMM_FN(_transpose8)(const T *in, size_t is, T *out, size_t os) {
    typedef T T8 __attribute__((vector_size(8 * sizeof(T))));
    T8 r[8], t[8], u[8];
    for (size_t i = 0; i < 8; i++) __builtin_memcpy(&r[i], in + i * is, sizeof(T8));
    for (size_t i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (size_t i = 0; i < 8; i += 4)
        for (size_t h = 0; h < 2; h++) {
            u[i + 2 * h] = __builtin_shufflevector(t[i + h], t[i + h + 2], 0, 1, 8, 9, 4, 5, 12, 13);
            u[i + 2 * h + 1] = __builtin_shufflevector(t[i + h], t[i + h + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    for (size_t q = 0; q < 4; q++) {
        T8 lo = __builtin_shufflevector(u[q], u[q + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        T8 hi = __builtin_shufflevector(u[q], u[q + 4], 4, 5, 6, 7, 12, 13, 14, 15);
        __builtin_memcpy(out + q * os, &lo, sizeof(T8));
        __builtin_memcpy(out + (q + 4) * os, &hi, sizeof(T8));
    }
}

// Copies `cols` ≤ nr columns of k rows of op(B) into a k × nr panel,
// zero-padded: b at the panel's first element of op(B); with `trans`, b holds
// Bᵀ (column j of op(B) is row j of b). Bᵀ goes through 8 × 8 tiles (a
// fixed-size transpose the compiler does in registers), not one scattered
// store per element (the training step's Bᵀ products).
static void GEMM_FN(_pack_b)(size_t k, const T *b, size_t ldb, int trans, size_t cols, size_t nr, T *panel) {
    if (trans) {
        size_t j0 = 0;
        for (; j0 + 8 <= cols; j0 += 8) {
            size_t p = 0;
            for (; p + 8 <= k; p += 8) GEMM_FN(_transpose8)(b + j0 * ldb + p, ldb, panel + p * nr + j0, nr);
            for (; p < k; p++)
                for (size_t r = 0; r < 8; r++) panel[p * nr + j0 + r] = b[(j0 + r) * ldb + p];
        }
        for (size_t j = j0; j < cols; j++)
            for (size_t p = 0; p < k; p++) panel[p * nr + j] = b[j * ldb + p];
        for (size_t j = cols; j < nr; j++)
            for (size_t p = 0; p < k; p++) panel[p * nr + j] = 0;
        return;
    }
    if (cols == nr) {
        switch (nr / L) {
        case 1: GEMM_FN(_pack_rows)(1, k, b, ldb, panel); return;
        case 2: GEMM_FN(_pack_rows)(2, k, b, ldb, panel); return;
        case 3: GEMM_FN(_pack_rows)(3, k, b, ldb, panel); return;
        default: break;
        }
    }
    for (size_t p = 0; p < k; p++) {
        size_t j = 0;
        for (; j < cols; j++) panel[p * nr + j] = b[p * ldb + j];
        for (; j < nr; j++) panel[p * nr + j] = 0;
    }
}

// k rows of `cols` columns of B (row stride ldb) into panels of NR = NV·L
// columns, panel q at out + q·NR·k (row p of it at + p·NR), the last
// zero-padded: row by row, so B is read as one forward stream (packing panel
// by panel read NR values from each of k rows, a new cache line per row: the
// weight gradients' products, whose B is k = 1,040 rows of activations, spent
// half of their packing time waiting on those loads). NV a constant after inlining.
static inline __attribute__((always_inline)) void GEMM_FN(_pack_block_nv)(const size_t NV, size_t k, const T *b, size_t ldb,
                                                                           size_t cols, T *restrict out) {
    const size_t NR = NV * L, full = cols / NR * NR;
    for (size_t p = 0; p < k; p++) {
        const T *row = b + p * ldb;
        for (size_t j = 0; j < full; j += NR)
            for (size_t v = 0; v < NV; v++) {
                V x;
                __builtin_memcpy(&x, row + j + v * L, sizeof(V));
                __builtin_memcpy(out + j * k + p * NR + v * L, &x, sizeof(V));
            }
        if (full < cols) {
            T *dst = out + full * k + p * NR;
            size_t j = 0;
            for (; full + j < cols; j++) dst[j] = row[full + j];
            for (; j < NR; j++) dst[j] = 0;
        }
    }
}

static void GEMM_FN(_pack_block)(size_t k, const T *b, size_t ldb, size_t cols, size_t nv, T *out) {
    switch (nv) {
    case 1: GEMM_FN(_pack_block_nv)(1, k, b, ldb, cols, out); return;
    case 2: GEMM_FN(_pack_block_nv)(2, k, b, ldb, cols, out); return;
    case 3: GEMM_FN(_pack_block_nv)(3, k, b, ldb, cols, out); return;
    default:
        for (size_t j = 0; j < cols; j += nv * L)
            GEMM_FN(_pack_b)(k, b + j, ldb, 0, cols - j < nv * L ? cols - j : nv * L, nv * L, out + j * k);
    }
}

// One sliver of R rows × k of op(A) (element (r, p) at a[r·ars + p·acs]),
// p-major: element (r, p) at s[p·R + r]. R is a constant after inlining, so
// the copies unroll: A (acs = 1) 4 values of k at a time, the R rows read in
// step; Aᵀ (ars = 1) R contiguous values per p. (perf, training step of the
// standard toy on the AMD EPYC: the GEMM's own time, mostly this copy, from
// 15.6% to 13.7% of the step.)
static inline __attribute__((always_inline)) void GEMM_FN(_sliver)(const size_t R, size_t k, const T *a, size_t ars,
                                                                    size_t acs, T *restrict s) {
    if (acs == 1) {
        size_t p = 0;
        for (; p + 4 <= k; p += 4)
            for (size_t q = 0; q < 4; q++)
                for (size_t r = 0; r < R; r++) s[(p + q) * R + r] = a[r * ars + p + q];
        for (; p < k; p++)
            for (size_t r = 0; r < R; r++) s[p * R + r] = a[r * ars + p];
    } else if (ars == 1) {
        for (size_t p = 0; p < k; p++) __builtin_memcpy(s + p * R, a + p * acs, R * sizeof(T));
    } else {
        for (size_t p = 0; p < k; p++)
            for (size_t r = 0; r < R; r++) s[p * R + r] = a[r * ars + p * acs];
    }
}

#define GEMM_SLIVER_CASE(R) \
    case R: GEMM_FN(_sliver)(R, k, src, ars, acs, s); break;

// Copies `rows` rows × k of op(A) (element (r, p) at a[r·ars + p·acs]) into
// slivers of mr rows (the last of the rest), each p-major: sliver s at
// out + s·mr·k, element (r, p) of a sliver of R rows at [p·R + r].
static void GEMM_FN(_pack_a)(size_t rows, size_t k, const T *a, size_t ars, size_t acs, size_t mr, T *out) {
    for (size_t i = 0; i < rows; i += mr) {
        size_t R = rows - i < mr ? rows - i : mr;
        T *s = out + i * k;
        const T *src = a + i * ars;
        switch (R) {
            GEMM_SLIVER_CASE(1) GEMM_SLIVER_CASE(2) GEMM_SLIVER_CASE(3) GEMM_SLIVER_CASE(4)
            GEMM_SLIVER_CASE(5) GEMM_SLIVER_CASE(6) GEMM_SLIVER_CASE(7) GEMM_SLIVER_CASE(8)
            GEMM_SLIVER_CASE(9) GEMM_SLIVER_CASE(10) GEMM_SLIVER_CASE(11) GEMM_SLIVER_CASE(12)
            GEMM_SLIVER_CASE(13) GEMM_SLIVER_CASE(14) GEMM_SLIVER_CASE(15) GEMM_SLIVER_CASE(16)
        default: GEMM_FN(_sliver)(R, k, src, ars, acs, s); break;
        }
    }
}
#undef GEMM_SLIVER_CASE

// op(B) (k × n; with `trans`, b holds Bᵀ, n × k) whole into panels of
// NR = nv·L columns, the layout the tiles read: panel q (columns q·NR …) is
// k × NR contiguous at out + q·NR·k, zero-padded past column n; the k block
// from pc starts at + pc·NR. Independent of kc, mc and nc, so one packing
// serves every plan with this nv at this level (GEMM_FN(_plan)'s `bpacked`).
static void GEMM_FN(_pack_panels)(size_t nv, int trans, size_t n, size_t k, const T *b, size_t ldb, T *out) {
    const size_t NR = nv * L;
    if (!trans) {
        GEMM_FN(_pack_block)(k, b, ldb, n, nv, out);
        return;
    }
    for (size_t j = 0; j < n; j += NR) {
        const size_t cols = n - j < NR ? n - j : NR;
        GEMM_FN(_pack_b)(k, trans ? b + j * ldb : b + j, ldb, trans, cols, NR, out + j * k);
    }
}

// `cols` columns of `rows` rows of C one element at a time (the same sums): the
// path when no packing buffer could be allocated.
static void GEMM_FN(_columns)(size_t rows, size_t k, const T *a, size_t ars, size_t acs, const T *b,
                              size_t brs, size_t bcs, T *c, size_t ldc, size_t cols) {
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            T s = 0;
            for (size_t p = 0; p < k; p++) s = SFMA(a[i * ars + p * acs], b[p * brs + j * bcs], s);
            c[i * ldc + j] = s;
        }
}

// C[m×n] = op(A)·op(B) by `plan` (valid for this level: txw_gemm_plan_check):
// op(A) = A (m×k, row stride lda) or, with trans_a, Aᵀ where a holds k×m;
// op(B) = B (k×n) or, with trans_b, Bᵀ where b holds n×k. Nothing is
// transposed in memory: Bᵀ is packed straight into panels, Aᵀ packed or read
// by column. Each element is the same in-order sum whatever the plan.
// With `bpacked` (not NULL), op(B) comes already packed by GEMM_FN(_pack_panels)
// with the plan's nr (b, ldb and trans_b are then unused): nothing of B is
// copied, and the tiles read the same values, so the sums are the same bits.
static void GEMM_FN(_plan)(const txw_gemm_plan *plan, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                           const T *a, size_t lda, const T *b, size_t ldb, T *c, size_t ldc, const T *bpacked) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) c[i * ldc + j] = 0;
        return;
    }
    if (m == 1 && !trans_b && !bpacked) {
        GEMM_FN(_row)(n, k, a, trans_a ? lda : 1, b, ldb, c);
        return;
    }
    const size_t nv = (size_t)plan->nr, NR = nv * L;
    const size_t mr = (size_t)plan->mr < GEMM_LEVEL_MAX_MR ? (size_t)plan->mr : GEMM_LEVEL_MAX_MR;
    const size_t kc = plan->kc < k ? plan->kc : k;
    const size_t mc = plan->mc < m ? plan->mc : m;
    const size_t ncols = plan->nc < n ? plan->nc : n;
    const size_t nc = (ncols + NR - 1) / NR * NR;
    const size_t ars = trans_a ? 1 : lda, acs = trans_a ? lda : 1;
    // B packed whole (every panel of a block) for enough rows or Bᵀ; else read
    // in place but for a last, narrower panel. A packed when there are enough
    // panels to reuse each sliver.
    const int pack_all = !bpacked && (m >= GEMM_PACK_ROWS || trans_b);
    // Aᵀ with few panels is read in place (each k step of a tile reads mr
    // contiguous values): packing it would cost more than its reuse saves.
    const int pack_a = n >= GEMM_PACK_A_PANELS * NR;
    const int a_form = pack_a ? GEMM_A_PACKED : trans_a ? GEMM_A_TRANSPOSED_IN_PLACE : GEMM_A_IN_PLACE;
    const size_t bsize = bpacked ? 0 : (pack_all ? nc : NR) * kc, asize = pack_a ? mc * kc : 0;
    T stack[2048] __attribute__((aligned(64)));
    T *buffer = stack;
    int heap = 0;
    if (bsize + asize > sizeof(stack) / sizeof(T)) {
        buffer = (T *)malloc((bsize + asize) * sizeof(T));
        heap = 1;
        if (!buffer) {  // out of memory
            if (bpacked) {
                // Each panel is k × NR with row stride NR: the same sums, column by column.
                for (size_t j = 0; j < n; j += NR)
                    GEMM_FN(_columns)(m, k, a, ars, acs, bpacked + j * k, NR, 1, c + j, ldc, n - j < NR ? n - j : NR);
                return;
            }
            GEMM_FN(_columns)(m, k, a, ars, acs, b, trans_b ? 1 : ldb, trans_b ? ldb : 1, c, ldc, n);
            return;
        }
    }
    T *bpack = buffer, *apack = buffer + bsize;
    for (size_t jc = 0; jc < n; jc += nc) {
        const size_t nb = n - jc < nc ? n - jc : nc;
        for (size_t pc = 0; pc < k; pc += kc) {
            const size_t kb = k - pc < kc ? k - pc : kc;
            const int first = pc == 0;
            if (pack_all && !trans_b)
                GEMM_FN(_pack_block)(kb, b + pc * ldb + jc, ldb, nb, nv, bpack);
            else if (pack_all)
                for (size_t jr = 0; jr < nb; jr += NR) {
                    const size_t cols = nb - jr < NR ? nb - jr : NR;
                    const size_t j = jc + jr;
                    GEMM_FN(_pack_b)(kb, trans_b ? b + j * ldb + pc : b + pc * ldb + j, ldb, trans_b, cols, NR,
                                     bpack + jr * kb);
                }
            for (size_t ic = 0; ic < m; ic += mc) {
                const size_t mb = m - ic < mc ? m - ic : mc;
                const T *ablock = a + ic * ars + pc * acs;
                if (pack_a) GEMM_FN(_pack_a)(mb, kb, ablock, ars, acs, mr, apack);
                for (size_t jr = 0; jr < nb; jr += NR) {
                    const size_t cols = nb - jr < NR ? nb - jr : NR;
                    const size_t j = jc + jr;
                    const T *bp;
                    size_t bstride;
                    if (bpacked) {
                        bp = bpacked + j * k + pc * NR;
                        bstride = NR;
                    } else if (pack_all) {
                        bp = bpack + jr * kb;
                        bstride = NR;
                    } else if (cols < NR) {
                        // Packed once per k block (the first row block), reused by the others.
                        if (ic == 0) GEMM_FN(_pack_b)(kb, b + pc * ldb + j, ldb, 0, cols, NR, bpack);
                        bp = bpack;
                        bstride = NR;
                    } else {
                        bp = b + pc * ldb + j;
                        bstride = ldb;
                    }
                    GEMM_FN(_panel)(nv, mr, mb, kb, pack_a ? apack : ablock, a_form, trans_a ? lda : ars, bp, bstride,
                                    c + ic * ldc + j, ldc, cols, first);
                }
            }
        }
    }
    if (heap) free(buffer);
}

#undef GEMM_FN
#undef GEMM_SUFFIXED
#undef GEMM_JOIN
#undef GEMM_PASTE
