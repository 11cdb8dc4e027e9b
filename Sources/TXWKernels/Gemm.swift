import CTXWKernels
import TXWThreads

/// Row-major matrix products, the one place the kernels multiply matrices.
///
/// The work goes to the C kernels (`txw_sgemm`/`txw_dgemm`: packed panels,
/// AVX-512 / AVX2+FMA / baseline chosen at run time; Spec/kernels.md,
/// "Performance"). Large products are split over output rows across
/// `KernelThreads.count` threads (the computation's `KernelConfiguration`); each element is one sum over k in
/// increasing order, so the split never changes a result.
@usableFromInline
enum Gemm {
    /// Products below this many multiply-adds run on one thread.
    static let parallelThreshold = 1 << 18
    /// Products of fewer than 12 rows whose B has fewer elements run on one
    /// thread. Measured on the decoding step (one row): splitting the standard
    /// toy's 64K-element weights over 2 threads cost more than it saved (f64
    /// 6,166 → 4,789 tokens/s), splitting the large toy's 1M–2M-element ones
    /// paid (f32 113 → 152 tokens/s).
    static let fewRowsThreshold = 1 << 20

    /// `C[m×n] = op(A) · op(B)`, overwriting C. Leading dimensions are row
    /// strides. `op(A)` is A (m×k) or, with `transposeA`, Aᵀ where `a` holds
    /// the k×m matrix (lda ≥ m); `op(B)` is B (k×n) or, with `transposeB`, Bᵀ
    /// where `b` holds n×k (ldb ≥ k). No transpose is materialised; each
    /// element is the same sum over k in increasing order as on a transposed
    /// copy, so `A·Bᵀ` has the bits of `A·(Bᵀ materialised)`. `plan`:
    /// the blocking (default `GemmPlan.current`); no plan changes a result.
    @usableFromInline
    static func multiply<T: KernelScalar>(
        plan: GemmPlan? = nil, transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        a: UnsafePointer<T>, lda: Int,
        b: UnsafePointer<T>, ldb: Int,
        c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        let threads = KernelThreads.count
        let work = m * n * max(k, 1)
        // Parts on whole tiles (rows) or whole panels (columns) of the plan.
        let level = KernelInstructionSet.level
        let plan = plan ?? GemmPlan.current(for: T.self, level: level)
        let tileRows = min(plan.rowsPerTile, level == 2 ? 16 : 8)
        let panel = plan.panelVectors * (level == 2 ? 64 : level == 1 ? 32 : 16) / MemoryLayout<T>.size
        // A few rows (a decoding step) read B once: wide enough products are
        // split over columns, so each thread streams its share of B.
        let parts = max(1, m < 12
            ? (n * max(k, 1) < fewRowsThreshold ? 1 : min(threads, n / 64))
            : (work < parallelThreshold ? 1 : min(threads, m / tileRows)))
        // Row chunks of whole tiles (but for the last) keep the packed path busy.
        let chunk = ((m + parts - 1) / parts + tileRows - 1) / tileRows * tileRows
        // Split over columns when there are enough and C is at least as wide
        // as it is tall: each thread then packs only its own columns of B but
        // all of A (m·k values); splitting rows, each packs all of B (k·n)
        // and only its rows of A. So the split that copies less: columns for
        // a weight gradient (m = d_model, k = the rows), rows for an
        // activation times a weight (m = the rows). A few rows (decoding)
        // always split columns. Either way each element is one sum in the
        // same order. (Training step of the standard toy, 1,040 rows, on the
        // AMD EPYC: perf's share of packing A fell when its row products
        // stopped splitting columns; Spec/kernels.md, "The training step".)
        // UnsafeShared: A and B are only read (rule 2); each part writes its
        // own columns or rows of C (rule 1).
        let (a, b, c) = (UnsafeShared(a), UnsafeShared(b), UnsafeShared(c))
        if parts > 1 && n >= 64 * parts && (m < 12 || n >= m) {
            let columns = ((n + parts - 1) / parts + panel - 1) / panel * panel
            KernelThreads.parallel(parts) { part in
                let begin = min(part * columns, n)
                let end = min(begin + columns, n)
                guard begin < end else { return }
                serial(plan: plan, transposeA: transposeA, transposeB: transposeB, m: m, n: end - begin, k: k,
                       a: a.pointer, lda: lda, b: b.pointer + (transposeB ? begin * ldb : begin), ldb: ldb,
                       c: c.pointer + begin, ldc: ldc)
            }
            return
        }
        KernelThreads.parallel(parts) { part in
            let begin = min(part * chunk, m)
            let end = min(begin + chunk, m)
            guard begin < end else { return }
            serial(plan: plan, transposeA: transposeA, transposeB: transposeB, m: end - begin, n: n, k: k,
                   a: a.pointer + (transposeA ? begin : begin * lda), lda: lda, b: b.pointer, ldb: ldb,
                   c: c.pointer + begin * ldc, ldc: ldc)
        }
    }

    /// `C[m×n] = A[m×k] · B[k×n]` on the calling thread (the caller splits
    /// the work; `multiply` hands each thread its rows or columns through
    /// here). Each element is the same sum however the product is split.
    /// `plan`, `transposeA` and `transposeB` as in `multiply`.
    @usableFromInline
    static func serial<T: KernelScalar>(
        plan: GemmPlan? = nil, transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        a: UnsafePointer<T>, lda: Int,
        b: UnsafePointer<T>, ldb: Int,
        c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        let (ta, tb): (Int32, Int32) = (transposeA ? 1 : 0, transposeB ? 1 : 0)
        // No plan: the C code takes GemmPlan.current's (warning once about a bad TXW_GEMM).
        var cPlan = (plan ?? GemmPlan.current(for: T.self)).c
        if T.self == Float.self {
            txw_sgemm_plan(&cPlan, ta, tb, m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda,
                           UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb,
                           UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc)
        } else if T.self == Double.self {
            txw_dgemm_plan(&cPlan, ta, tb, m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), lda,
                           UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), ldb,
                           UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), ldc)
        } else {
            let (ars, acs) = transposeA ? (1, lda) : (lda, 1)
            let (brs, bcs) = transposeB ? (1, ldb) : (ldb, 1)
            for i in 0..<m {
                for j in 0..<n {
                    var sum: T = 0
                    for p in 0..<k { sum += a[i * ars + p * acs] * b[p * brs + j * bcs] }
                    c[i * ldc + j] = sum
                }
            }
        }
    }

    /// `serial` with B's panels packed beforehand (`PackedMatrix`, op(B) of
    /// n columns and k rows) when they fit the plan and this thread's level;
    /// otherwise B (k × n, row stride ldb) as `serial` reads it. The same
    /// bits either way.
    static func serial<T: KernelScalar>(
        plan: GemmPlan? = nil, transposeA: Bool = false, m: Int, n: Int, k: Int,
        a: UnsafePointer<T>, lda: Int, packed: PackedMatrix<T>?, b: UnsafePointer<T>, ldb: Int,
        c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        var cPlan = (plan ?? GemmPlan.current(for: T.self)).c
        if let packed, packed.n == n, packed.k == k, packed.fits(GemmPlan(cPlan)) {
            let ta: Int32 = transposeA ? 1 : 0
            packed.panels.withUnsafeBufferPointer { panels in
                let raw = UnsafeRawPointer(panels.baseAddress!)
                if T.self == Float.self {
                    txw_sgemm_packed(&cPlan, ta, m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda,
                                     raw.assumingMemoryBound(to: Float.self),
                                     UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc)
                } else {
                    // PackedMatrix exists for Float and Double only.
                    txw_dgemm_packed(&cPlan, ta, m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), lda,
                                     raw.assumingMemoryBound(to: Double.self),
                                     UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), ldc)
                }
            }
            return
        }
        serial(plan: GemmPlan(cPlan), transposeA: transposeA, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
    }

    /// `x[i] = exp(x[i])` for `count` values.
    @usableFromInline
    static func expInPlace<T: KernelScalar>(_ x: UnsafeMutablePointer<T>, count: Int) {
        if T.self == Float.self {
            txw_exp_f32(UnsafeMutableRawPointer(x).assumingMemoryBound(to: Float.self), count)
        } else if T.self == Double.self {
            txw_exp_f64(UnsafeMutableRawPointer(x).assumingMemoryBound(to: Double.self), count)
        } else {
            for i in 0..<count { x[i] = T.exp(x[i]) }
        }
    }
}
