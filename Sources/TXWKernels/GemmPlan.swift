#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CTXWKernels

/// How a matrix product blocks its work: tiles of `rowsPerTile` rows ×
/// `panelVectors` vectors of columns, k in blocks of `kBlock`, rows in blocks
/// of `rowBlock`, columns in blocks of `columnBlock` (Spec/kernels.md,
/// "Performance"). Chosen once per process from the caches and the
/// instruction set (`current`), overridable with the environment variable
/// TXW_GEMM, or given to `Gemm.multiply(plan:…)`. No plan changes a result:
/// every element of a product is one sum over k in increasing order.
@usableFromInline
package struct GemmPlan: Sendable, Hashable, CustomStringConvertible {
    /// Rows per tile (mr), 1…16; above the level's most (16 with AVX-512, 8 otherwise) it runs as that most.
    package var rowsPerTile: Int
    /// Vectors of columns per panel (nr), 1…3.
    package var panelVectors: Int
    /// Values of k per block (kc), 1…1048576.
    package var kBlock: Int
    /// Rows per block (mc), 1…1048576.
    package var rowBlock: Int
    /// Columns per block (nc), 1…1048576 (rounded up to whole panels).
    package var columnBlock: Int

    /// A plan with these settings, or nil when one is out of range.
    package init?(rowsPerTile: Int, panelVectors: Int, kBlock: Int, rowBlock: Int, columnBlock: Int) {
        self.rowsPerTile = rowsPerTile
        self.panelVectors = panelVectors
        self.kBlock = kBlock
        self.rowBlock = rowBlock
        self.columnBlock = columnBlock
        guard rowsPerTile >= 1, panelVectors >= 1, kBlock >= 1, rowBlock >= 1, columnBlock >= 1,
              rowsPerTile <= Int(TXW_GEMM_MAX_MR), panelVectors <= Int(TXW_GEMM_MAX_NR),
              kBlock <= Int(TXW_GEMM_MAX_BLOCK), rowBlock <= Int(TXW_GEMM_MAX_BLOCK),
              columnBlock <= Int(TXW_GEMM_MAX_BLOCK) else { return nil }
    }

    init(_ plan: txw_gemm_plan) {
        (rowsPerTile, panelVectors, kBlock, rowBlock, columnBlock) =
            (Int(plan.mr), Int(plan.nr), Int(plan.kc), Int(plan.mc), Int(plan.nc))
    }

    var c: txw_gemm_plan {
        txw_gemm_plan(mr: Int32(rowsPerTile), nr: Int32(panelVectors), kc: kBlock, mc: rowBlock, nc: columnBlock)
    }

    /// TXW_GEMM's syntax ("mr=4,nr=2,kc=128", any of mr, nr, kc, mc, nc):
    /// this plan with the settings given replaced; or the reason it does not parse.
    package func parsing(_ text: String) -> Result<GemmPlan, GemmPlanError> {
        var plan = c
        let problem = text.withCString { txw_gemm_plan_parse($0, &plan) }
        if let problem { return .failure(GemmPlanError(text: text, reason: String(cString: problem))) }
        return .success(GemmPlan(plan))
    }

    /// The plan chosen for elements of type `T` at instruction-set `level`
    /// (default: this thread's) from the CPU's caches and registers alone.
    package static func automatic<T: KernelScalar>(for _: T.Type, level: Int? = nil) -> GemmPlan {
        var plan = txw_gemm_plan()
        txw_gemm_plan_auto(Int32(level ?? KernelInstructionSet.level), MemoryLayout<T>.size, &plan)
        return GemmPlan(plan)
    }

    /// The plan products run with by default: `automatic` with TXW_GEMM's
    /// settings in place of the chosen ones. A TXW_GEMM that does not parse is
    /// ignored whole, with one warning on standard error per process.
    package static func current<T: KernelScalar>(for _: T.Type, level: Int? = nil) -> GemmPlan {
        _ = warnedOnce
        var plan = txw_gemm_plan()
        txw_gemm_plan_current(Int32(level ?? KernelInstructionSet.level), MemoryLayout<T>.size, &plan)
        return GemmPlan(plan)
    }

    /// Why TXW_GEMM was ignored, or nil when it is unset or used.
    package static var overrideProblem: String? { txw_gemm_override_problem().map { String(cString: $0) } }

    /// The data caches the automatic plans were computed from, in bytes (L2
    /// and L3: this processor's share), and where they came from.
    package static var caches: (l1: Int, l2: Int, l3: Int, source: String) {
        var sizes = txw_cache_sizes()
        txw_cache_sizes_get(&sizes)
        let source = sizes.source == 1 ? "sysfs" : sizes.source == 2 ? "cpuid" : "defaults"
        return (sizes.l1, sizes.l2, sizes.l3, source)
    }

    /// The one warning about a TXW_GEMM that does not parse.
    private static let warnedOnce: Void = {
        guard let problem = overrideProblem else { return }
        let line = "txw: warning: TXW_GEMM ignored (\(problem)); the GEMM uses the plan chosen from the CPU\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }()

    /// TXW_GEMM's syntax: "mr=6,nr=2,kc=288,mc=240,nc=7680".
    @usableFromInline
    package var description: String {
        "mr=\(rowsPerTile),nr=\(panelVectors),kc=\(kBlock),mc=\(rowBlock),nc=\(columnBlock)"
    }
}

/// A plan's text that does not parse: the text and what is wrong with it.
package struct GemmPlanError: Error, Equatable, Sendable {
    /// The text given.
    package var text: String
    /// What is wrong (e.g. "mr must be 1 to 16").
    package var reason: String
}

extension GemmPlan {
    /// C = op(A)·op(B) with this plan on `configuration`'s threads, the
    /// operands packed (row strides: A k or, with `transposeA`, m; B n or k; C n),
    /// for txw-bench. Returns false, computing nothing, when a count is not
    /// m·k, k·n, m·n.
    package func multiply<T: KernelScalar>(
        transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
        a: [T], b: [T], c: inout [T], configuration: KernelConfiguration
    ) -> Bool {
        guard m >= 1, n >= 1, k >= 1, a.count == m * k, b.count == k * n, c.count == m * n else { return false }
        configuration.applied {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                Gemm.multiply(plan: self, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                              a: ap.baseAddress!, lda: transposeA ? m : k, b: bp.baseAddress!, ldb: transposeB ? k : n,
                              c: cp.baseAddress!, ldc: n)
            }}}
        }
        return true
    }
}
