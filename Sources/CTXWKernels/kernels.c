#include "txw_kernels.h"
#include <stdint.h>
#include <stdlib.h>

// Each instruction set's kernels: kernels_impl.h included once per set with
// SUFFIX(name), VBYTES and the multiply-adds defined. On x86-64 three
// sets, chosen at run time; on any other CPU only the portable one.
#if defined(__x86_64__)
#define TXW_X86_LEVELS 1

// AVX-512 (F, VL, DQ, BW) with FMA.
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))), apply_to = function)
#define SUFFIX(name) name##_avx512
#define VBYTES 64
#define GEMM_LEVEL_MAX_MR 16  /* 32 zmm registers */
#define FMA32(a, b, c) __builtin_elementwise_fma(a, b, c)
#define FMA64(a, b, c) __builtin_elementwise_fma(a, b, c)
#define SFMA32(a, b, c) __builtin_fmaf(a, b, c)
#define SFMA64(a, b, c) __builtin_fma(a, b, c)
#include "kernels_impl.h"
#undef SUFFIX
#undef VBYTES
#undef GEMM_LEVEL_MAX_MR
#pragma clang attribute pop

// AVX2 with FMA.
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define SUFFIX(name) name##_avx2
#define VBYTES 32
#define GEMM_LEVEL_MAX_MR 8  /* 16 ymm registers */
#include "kernels_impl.h"
#undef SUFFIX
#undef VBYTES
#undef GEMM_LEVEL_MAX_MR
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
#define GEMM_LEVEL_MAX_MR 8  /* 16 xmm registers */
#define FMA32(a, b, c) ((a) * (b) + (c))
#define FMA64(a, b, c) ((a) * (b) + (c))
#define SFMA32(a, b, c) ((a) * (b) + (c))
#define SFMA64(a, b, c) ((a) * (b) + (c))
#pragma clang fp contract(off)
#include "kernels_impl.h"
#undef SUFFIX
#undef VBYTES
#undef GEMM_LEVEL_MAX_MR

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

// ---- The GEMM's plan: blocking chosen from the caches and the registers ----

#if defined(__linux__)
#include <fcntl.h>
#include <unistd.h>
#endif
#if defined(__x86_64__)
#include <cpuid.h>
#endif

// Reads a small sysfs file (Linux) into buf, NUL-terminated; 0 if unreadable.
static int plan_read_file(const char *path, char *buf, size_t size) {
#if defined(__linux__)
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t got = read(fd, buf, size - 1);
    close(fd);
    if (got <= 0) return 0;
    buf[got] = 0;
    return 1;
#else
    (void)path; (void)buf; (void)size;
    return 0;
#endif
}

// A decimal number at *s (advancing s); 0 with no digit or above `most`.
static size_t plan_number(const char **s, size_t most, int *ok) {
    size_t v = 0;
    int digits = 0;
    while (**s >= '0' && **s <= '9') {
        v = v * 10 + (size_t)(**s - '0');
        if (v > most) { *ok = 0; return 0; }
        (*s)++;
        digits++;
    }
    if (!digits) *ok = 0;
    return v;
}

// The CPUs in a sysfs list such as "0-3,8,10-11".
static size_t plan_cpu_count(const char *s) {
    size_t count = 0;
    int ok = 1;
    while (*s >= '0' && *s <= '9') {
        size_t lo = plan_number(&s, 1 << 20, &ok), hi = lo;
        if (*s == '-') { s++; hi = plan_number(&s, 1 << 20, &ok); }
        if (!ok || hi < lo) return 0;
        count += hi - lo + 1;
        if (*s != ',') break;
        s++;
    }
    return count;
}

static void plan_caches_sysfs(txw_cache_sizes *out) {
    for (int index = 0; index < 16; index++) {
        char path[96], buf[256];
        const char *base = "/sys/devices/system/cpu/cpu0/cache/index";
        size_t n = 0;
        while (base[n]) { path[n] = base[n]; n++; }
        if (index >= 10) path[n++] = (char)('0' + index / 10);
        path[n++] = (char)('0' + index % 10);
        path[n++] = '/';
        const char *names[4] = {"level", "type", "size", "shared_cpu_list"};
        char values[4][64];
        int have = 1;
        for (int f = 0; f < 4 && have; f++) {
            size_t m = n;
            for (const char *q = names[f]; *q; q++) path[m++] = *q;
            path[m] = 0;
            if (!plan_read_file(path, buf, sizeof buf)) { have = f == 3; values[f][0] = 0; continue; }
            size_t len = 0;
            while (buf[len] && buf[len] != '\n' && len + 1 < sizeof values[f]) { values[f][len] = buf[len]; len++; }
            values[f][len] = 0;
        }
        if (!have) break;
        const char *s = values[0];
        int ok = 1;
        size_t level = plan_number(&s, 9, &ok);
        s = values[2];
        size_t size = plan_number(&s, (size_t)1 << 40, &ok);
        if (*s == 'K') size <<= 10;
        else if (*s == 'M') size <<= 20;
        else if (*s == 'G') size <<= 30;
        if (!ok || size == 0) continue;
        const char *type = values[1];
        int data = type[0] == 'D' || type[0] == 'U';  // "Data" or "Unified", not "Instruction"
        if (!data) continue;
        size_t sharing = plan_cpu_count(values[3]);
        if (level == 1) out->l1 = size;
        else if (level == 2) out->l2 = sharing > 1 ? size / sharing : size;
        else if (level == 3) out->l3 = sharing > 1 ? size / sharing : size;
    }
    if (out->l1 && out->l2) out->source = 1;
}

static void plan_caches_cpuid(txw_cache_sizes *out) {
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    unsigned leaf = 0;
    if (b == 0x756e6547 && a >= 4) leaf = 4;  // "Genu"ineIntel: deterministic cache parameters
    else if (b == 0x68747541) {               // "Auth"enticAMD: its extended equivalent
        unsigned most = __get_cpuid_max(0x80000000, 0);
        if (most >= 0x8000001D) leaf = 0x8000001D;
    }
    if (!leaf) return;
    for (unsigned sub = 0; sub < 16; sub++) {
        __cpuid_count(leaf, sub, a, b, c, d);
        unsigned type = a & 31, level = (a >> 5) & 7;
        if (type == 0) break;
        if (type == 2) continue;  // instructions
        size_t size = (size_t)((b >> 22) + 1) * (((b >> 12) & 0x3ff) + 1) * ((b & 0xfff) + 1) * ((size_t)c + 1);
        size_t sharing = ((a >> 14) & 0xfff) + 1;
        if (level == 1) out->l1 = size;
        else if (level == 2) out->l2 = size / sharing;
        else if (level == 3) out->l3 = size / sharing;
    }
    if (out->l1 && out->l2) out->source = 2;
#else
    (void)out;
#endif
}

static txw_cache_sizes plan_caches_found;
static int plan_caches_state;  // 0 not yet, 1 being found, 2 found

void txw_cache_sizes_get(txw_cache_sizes *out) {
    if (__atomic_load_n(&plan_caches_state, __ATOMIC_ACQUIRE) != 2) {
        txw_cache_sizes found = {0, 0, 0, 0};
        plan_caches_sysfs(&found);
        if (!found.source) {
            found = (txw_cache_sizes){0, 0, 0, 0};
            plan_caches_cpuid(&found);
        }
        if (!found.source) found = (txw_cache_sizes){0, 0, 0, 0};
        // Safe defaults where nothing was found (and sanity bounds).
        if (found.l1 < 8 << 10 || found.l1 > 4 << 20) found.l1 = 32 << 10;
        if (found.l2 < found.l1 || found.l2 > 64 << 20) found.l2 = found.l1 > 256 << 10 ? found.l1 : 256 << 10;
        if (found.l3 < found.l2 || found.l3 > (size_t)1 << 32) found.l3 = found.l2;
        // Every thread finds the same values: whichever stores last, they agree.
        int expected = 0;
        if (__atomic_compare_exchange_n(&plan_caches_state, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            plan_caches_found = found;
            __atomic_store_n(&plan_caches_state, 2, __ATOMIC_RELEASE);
        } else {
            *out = found;
            return;
        }
    }
    *out = plan_caches_found;
}

int txw_gemm_plan_check(const txw_gemm_plan *plan) {
    return plan && plan->mr >= 1 && plan->mr <= TXW_GEMM_MAX_MR && plan->nr >= 1 && plan->nr <= TXW_GEMM_MAX_NR &&
           plan->kc >= 1 && plan->kc <= TXW_GEMM_MAX_BLOCK && plan->mc >= 1 && plan->mc <= TXW_GEMM_MAX_BLOCK &&
           plan->nc >= 1 && plan->nc <= TXW_GEMM_MAX_BLOCK;
}

// The vector registers of a level: 32 zmm with AVX-512, else 16 (ymm, xmm; NEON has 32, used as 16).
static size_t plan_registers(int level) { return level == 2 ? 32 : 16; }
static size_t plan_vector_bytes(int level) { return level == 2 ? 64 : level == 1 ? 32 : 16; }

static size_t plan_round_down(size_t v, size_t unit, size_t least) {
    v = v / unit * unit;
    return v < least ? least : v;
}

void txw_gemm_plan_auto(int level, size_t element_bytes, txw_gemm_plan *plan) {
    txw_cache_sizes caches;
    txw_cache_sizes_get(&caches);
    if (element_bytes != 4) element_bytes = 8;
    // Two vectors per panel; as many rows as the registers hold: mr·2
    // accumulators + 2 panel vectors + 1 broadcast value ≤ the registers.
    size_t nv = 2, mr = (plan_registers(level) - nv - 1) / nv;
    if (mr > TXW_GEMM_MAX_MR) mr = TXW_GEMM_MAX_MR;
    size_t nr = nv * plan_vector_bytes(level) / element_bytes;
    // kc: a kc × nr panel of B and an mr × kc sliver of A fill L1 (measured on
    // the EPYC: ¾ of it, kc 216 in f64, was slower at k = 512 than 288).
    size_t kc = plan_round_down(caches.l1 / ((mr + nr) * element_bytes), 16, 32);
    // mc: an mc × kc block of A in half of L2 (the panels of B pass through the rest).
    size_t mc = plan_round_down(caches.l2 / 2 / (kc * element_bytes), mr, mr);
    // nc: a kc × nc block of B in half of this core's share of L3.
    size_t nc = plan_round_down(caches.l3 / 2 / (kc * element_bytes), nr, nr);
    if (mc > TXW_GEMM_MAX_BLOCK) mc = plan_round_down(TXW_GEMM_MAX_BLOCK, mr, mr);
    if (nc > TXW_GEMM_MAX_BLOCK) nc = plan_round_down(TXW_GEMM_MAX_BLOCK, nr, nr);
    *plan = (txw_gemm_plan){(int)mr, (int)nv, kc, mc, nc};
}

const char *txw_gemm_plan_parse(const char *text, txw_gemm_plan *plan) {
    txw_gemm_plan parsed = *plan;
    const char *keys[5] = {"mr", "nr", "kc", "mc", "nc"};
    const size_t most[5] = {TXW_GEMM_MAX_MR, TXW_GEMM_MAX_NR, TXW_GEMM_MAX_BLOCK, TXW_GEMM_MAX_BLOCK,
                            TXW_GEMM_MAX_BLOCK};
    int seen[5] = {0, 0, 0, 0, 0};
    const char *s = text;
    if (!*s) return "empty";
    for (;;) {
        int key = -1;
        for (int i = 0; i < 5; i++)
            if (s[0] == keys[i][0] && s[1] == keys[i][1] && s[2] == '=') key = i;
        if (key < 0) return "expected mr=, nr=, kc=, mc= or nc=";
        if (seen[key]) return "a key given twice";
        seen[key] = 1;
        s += 3;
        int ok = 1;
        size_t v = plan_number(&s, most[key], &ok);
        if (!ok || v == 0) {
            switch (key) {
            case 0: return "mr must be 1 to 16";
            case 1: return "nr must be 1 to 3";
            default: return "kc, mc and nc must be 1 to 1048576";
            }
        }
        switch (key) {
        case 0: parsed.mr = (int)v; break;
        case 1: parsed.nr = (int)v; break;
        case 2: parsed.kc = v; break;
        case 3: parsed.mc = v; break;
        default: parsed.nc = v; break;
        }
        if (*s == 0) break;
        if (*s != ',') return "expected a comma between settings";
        s++;
    }
    *plan = parsed;
    return 0;
}

// TXW_GEMM, read once: the settings it gives (the rest from the CPU), or why it was ignored.
static txw_gemm_plan plan_override;
static const char *plan_override_problem;
static int plan_override_state;  // 0 not read, 1 being read, 2 none, 3 set, 4 ignored

static int plan_override_read(void) {
    int state = __atomic_load_n(&plan_override_state, __ATOMIC_ACQUIRE);
    if (state >= 2) return state;
    int expected = 0;
    if (!__atomic_compare_exchange_n(&plan_override_state, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        while ((state = __atomic_load_n(&plan_override_state, __ATOMIC_ACQUIRE)) < 2) {}
        return state;
    }
    const char *text = getenv("TXW_GEMM");
    state = 2;
    if (text && *text) {
        // Zeros mark the settings not given.
        plan_override = (txw_gemm_plan){0, 0, 0, 0, 0};
        const char *problem = txw_gemm_plan_parse(text, &plan_override);
        if (problem) { plan_override_problem = problem; state = 4; }
        else state = 3;
    }
    __atomic_store_n(&plan_override_state, state, __ATOMIC_RELEASE);
    return state;
}

const char *txw_gemm_override_problem(void) {
    return plan_override_read() == 4 ? plan_override_problem : 0;
}

void txw_gemm_plan_current(int level, size_t element_bytes, txw_gemm_plan *plan) {
    txw_gemm_plan_auto(level, element_bytes, plan);
    if (plan_override_read() != 3) return;
    if (plan_override.mr) plan->mr = plan_override.mr;
    if (plan_override.nr) plan->nr = plan_override.nr;
    if (plan_override.kc) plan->kc = plan_override.kc;
    if (plan_override.mc) plan->mc = plan_override.mc;
    if (plan_override.nc) plan->nc = plan_override.nc;
}

// The plan a product runs with: `plan` when valid, else the process's for this level.
static const txw_gemm_plan *plan_or_current(const txw_gemm_plan *plan, int level, size_t element_bytes,
                                            txw_gemm_plan *storage) {
    if (txw_gemm_plan_check(plan)) return plan;
    txw_gemm_plan_current(level, element_bytes, storage);
    return storage;
}

void txw_sgemm_plan(const txw_gemm_plan *plan, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                    const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc) {
    txw_gemm_plan storage;
    const txw_gemm_plan *p = plan_or_current(plan, txw_kernel_level(), sizeof(float), &storage);
    DISPATCH(sgemm_plan, (p, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, NULL))
}

void txw_dgemm_plan(const txw_gemm_plan *plan, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                    const double *a, size_t lda, const double *b, size_t ldb, double *c, size_t ldc) {
    txw_gemm_plan storage;
    const txw_gemm_plan *p = plan_or_current(plan, txw_kernel_level(), sizeof(double), &storage);
    DISPATCH(dgemm_plan, (p, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, NULL))
}

size_t txw_gemm_packed_count(int level, size_t element_bytes, int nr, size_t n, size_t k) {
    if (nr < 1 || nr > TXW_GEMM_MAX_NR || (element_bytes != 4 && element_bytes != 8)) return 0;
    const size_t vector = level >= 2 ? 64 : level == 1 ? 32 : 16;
    const size_t width = (size_t)nr * (vector / element_bytes);
    size_t panels = n / width + (n % width != 0), columns, count;
    if (__builtin_mul_overflow(panels, width, &columns) || __builtin_mul_overflow(columns, k, &count)) return 0;
    return count;
}

void txw_sgemm_pack(int nr, int trans_b, size_t n, size_t k, const float *b, size_t ldb, float *out) {
    DISPATCH(sgemm_pack_panels, ((size_t)nr, trans_b, n, k, b, ldb, out))
}

void txw_dgemm_pack(int nr, int trans_b, size_t n, size_t k, const double *b, size_t ldb, double *out) {
    DISPATCH(dgemm_pack_panels, ((size_t)nr, trans_b, n, k, b, ldb, out))
}

void txw_sgemm_packed(const txw_gemm_plan *plan, int trans_a, size_t m, size_t n, size_t k, const float *a,
                      size_t lda, const float *packed, float *c, size_t ldc) {
    DISPATCH(sgemm_plan, (plan, trans_a, 0, m, n, k, a, lda, NULL, 0, c, ldc, packed))
}

void txw_dgemm_packed(const txw_gemm_plan *plan, int trans_a, size_t m, size_t n, size_t k, const double *a,
                      size_t lda, const double *packed, double *c, size_t ldc) {
    DISPATCH(dgemm_plan, (plan, trans_a, 0, m, n, k, a, lda, NULL, 0, c, ldc, packed))
}

void txw_sgemm_t(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a, size_t lda,
                 const float *b, size_t ldb, float *c, size_t ldc) {
    txw_sgemm_plan(0, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
}

void txw_dgemm_t(int trans_a, int trans_b, size_t m, size_t n, size_t k, const double *a, size_t lda,
                 const double *b, size_t ldb, double *c, size_t ldc) {
    txw_dgemm_plan(0, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
}

void txw_sgemm(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
               float *c, size_t ldc) {
    txw_sgemm_plan(0, 0, 0, m, n, k, a, lda, b, ldb, c, ldc);
}

void txw_dgemm(size_t m, size_t n, size_t k, const double *a, size_t lda, const double *b, size_t ldb,
               double *c, size_t ldc) {
    txw_dgemm_plan(0, 0, 0, m, n, k, a, lda, b, ldb, c, ldc);
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
void txw_rmsnorm_backward_f32(size_t rows, size_t cols, const float *x, const float *dy, const float *add,
                              float epsilon, float *out) {
    DISPATCH(rmsnorm_backward_f32, (rows, cols, x, dy, add, epsilon, out))
}
void txw_rmsnorm_backward_f64(size_t rows, size_t cols, const double *x, const double *dy, const double *add,
                              double epsilon, double *out) {
    DISPATCH(rmsnorm_backward_f64, (rows, cols, x, dy, add, epsilon, out))
}
void txw_gelu_f32(float *x, size_t n) { DISPATCH(gelu_f32, (x, n)) }
void txw_gelu_backward_f32(const float *x, const float *dy, float *out, size_t n) {
    DISPATCH(gelu_f32_backward, (x, dy, out, n))
}
void txw_gelu_backward_f64(const double *x, const double *dy, double *out, size_t n) {
    DISPATCH(gelu_f64_backward, (x, dy, out, n))
}
void txw_gelu_f64(double *x, size_t n) { DISPATCH(gelu_f64, (x, n)) }
void txw_gelu_recording_f32(float *x, float *act, size_t n) { DISPATCH(gelu_f32_recording, (x, act, n)) }
void txw_gelu_recording_f64(double *x, double *act, size_t n) { DISPATCH(gelu_f64_recording, (x, act, n)) }
void txw_attention_backward_f32(const float *p, float *dp, size_t rows, size_t count, size_t first, float scale) {
    DISPATCH(attention_backward_f32, (p, dp, rows, count, first, scale))
}
void txw_attention_backward_f64(const double *p, double *dp, size_t rows, size_t count, size_t first, double scale) {
    DISPATCH(attention_backward_f64, (p, dp, rows, count, first, scale))
}
void txw_adamw_f32(const float *theta, float *out, const float *g, double *m1, double *m2, size_t n, const double *k) {
    DISPATCH(adamw_f32, (theta, out, g, m1, m2, n, k))
}
void txw_adamw_f64(const double *theta, double *out, const double *g, double *m1, double *m2, size_t n, const double *k) {
    DISPATCH(adamw_f64, (theta, out, g, m1, m2, n, k))
}
void txw_transpose_f32(size_t rows, size_t cols, const float *a, size_t lda, float *out) {
    DISPATCH(transpose_f32, (rows, cols, a, lda, out))
}
void txw_transpose_f64(size_t rows, size_t cols, const double *a, size_t lda, double *out) {
    DISPATCH(transpose_f64, (rows, cols, a, lda, out))
}
