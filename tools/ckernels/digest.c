// Runs every C kernel of Sources/CTXWKernels on fixed pseudo-random inputs at
// each instruction-set level this CPU has, and prints one FNV-1a digest of the
// result bits per level ("level 0 <hex>"). tools/ckernels/check compiles it for
// x86-64 and for arm64: level 0 (the portable set, no fused multiply-add) must
// give the same digest on both.
#include "txw_kernels.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t digest = 1469598103934665603ull;
static void mix(const void *p, size_t bytes) {
    const unsigned char *b = p;
    for (size_t i = 0; i < bytes; i++) digest = (digest ^ b[i]) * 1099511628211ull;
}

static uint64_t state = 88172645463325252ull;
static double uniform(void) {  // xorshift64 in [-1, 1)
    state ^= state << 13; state ^= state >> 7; state ^= state << 17;
    return (double)(state >> 11) / 9007199254740992.0 * 2 - 1;
}

static void gemms(void) {
    // Tile sizes 1…8 and their mixes, the one-row path (column blocks of 1024),
    // column edges, packed panels (≥ 24 rows), heap panels (large k).
    static const size_t shapes[][3] = {
        {1, 1, 1}, {1, 33, 7}, {2, 16, 3}, {3, 17, 5}, {5, 31, 9}, {7, 65, 16}, {8, 64, 9},
        {13, 40, 33}, {23, 70, 130}, {24, 48, 12}, {30, 100, 600}, {1, 2100, 5}, {4, 8, 0}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], lda = k + 3, ldb = n + 5;
        double *a = malloc((m * lda + 1) * 8), *b = malloc((k * ldb + 1) * 8), *c = malloc(m * n * 8);
        float *af = malloc((m * lda + 1) * 4), *bf = malloc((k * ldb + 1) * 4), *cf = malloc(m * n * 4);
        for (size_t i = 0; i < m * lda; i++) af[i] = (float)(a[i] = uniform());
        for (size_t i = 0; i < k * ldb; i++) bf[i] = (float)(b[i] = uniform());
        txw_dgemm(m, n, k, a, lda, b, ldb, c, n);
        txw_sgemm(m, n, k, af, lda, bf, ldb, cf, n);
        mix(c, m * n * 8);
        mix(cf, m * n * 4);
        free(a); free(b); free(c); free(af); free(bf); free(cf);
    }
}

static void elementwise(void) {
    enum { N = 1000 };
    static double x[N], y[N], dy[N], out[N];
    static float xf[N], yf[N], dyf[N], outf[N];
    for (size_t i = 0; i < N; i++) {
        x[i] = uniform() * (i < 900 ? 8 : 800);  // and some beyond exp's range
        dy[i] = uniform();
        xf[i] = (float)x[i];
        dyf[i] = (float)dy[i];
    }
    memcpy(y, x, sizeof x); txw_exp_f64(y, N); mix(y, sizeof y);
    memcpy(yf, xf, sizeof xf); txw_exp_f32(yf, N); mix(yf, sizeof yf);
    memcpy(y, x, sizeof x); txw_gelu_f64(y, N); mix(y, sizeof y);
    memcpy(yf, xf, sizeof xf); txw_gelu_f32(yf, N); mix(yf, sizeof yf);
    txw_gelu_backward_f64(x, dy, out, N); mix(out, sizeof out);
    txw_gelu_backward_f32(xf, dyf, outf, N); mix(outf, sizeof outf);
    txw_rmsnorm_f64(10, 100, x, 1e-5, out); mix(out, sizeof out);
    txw_rmsnorm_f32(10, 100, xf, 1e-5f, outf); mix(outf, sizeof outf);
    // Attention rows: every visible length around the 16-lane blocks, masked or not.
    for (size_t visible = 1; visible <= 40; visible++) {
        size_t count = visible + visible % 3;
        memcpy(y, x, count * 8);
        double w = txw_attention_row_f64(y, visible, count, count, 4.0, visible % 2 ? -1e9 : -3.0);
        mix(y, count * 8); mix(&w, 8);
        memcpy(yf, xf, count * 4);
        float wf = txw_attention_row_f32(yf, visible, count, count, 4.0f, visible % 2 ? -1e9f : -3.0f);
        mix(yf, count * 4); mix(&wf, 4);
    }
    // The GELU backward in place (out aliasing dy), and of a length off the 16-lane blocks.
    memcpy(out, dy, sizeof dy); txw_gelu_backward_f64(x, out, out, N - 3); mix(out, sizeof out);
    memcpy(outf, dyf, sizeof dyf); txw_gelu_backward_f32(xf, outf, outf, N - 3); mix(outf, sizeof outf);
    // Attention score gradients: rows of 21 and 31 (past one 16-lane block), causal from row 0 and from row 5.
    for (size_t count = 21; count <= 31; count += 10) {
        for (size_t first = 0; first <= 5; first += 5) {
            memcpy(y, dy, count * count * 8);
            txw_attention_backward_f64(x, y, count, count, first, 5.656854249492381);
            mix(y, count * count * 8);
            memcpy(yf, dyf, count * count * 4);
            txw_attention_backward_f32(xf, yf, count, count, first, 5.656854f);
            mix(yf, count * count * 4);
        }
    }
    // Transposes: full 8 × 8 tiles and edges, a row stride past the columns.
    txw_transpose_f64(19, 27, x, 30, out); mix(out, 19 * 27 * 8);
    txw_transpose_f32(19, 27, xf, 30, outf); mix(outf, 19 * 27 * 4);
}

int main(void) {
    int best = txw_kernel_level();
    for (int level = 0; level <= best; level++) {
        txw_set_kernel_level(level);
        if (txw_kernel_level() != level) return 1;
        digest = 1469598103934665603ull;
        state = 88172645463325252ull;
        gemms();
        elementwise();
        printf("level %d %016llx\n", level, (unsigned long long)digest);
    }
    return 0;
}
