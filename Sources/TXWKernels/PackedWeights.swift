import CTXWKernels
import Synchronization

/// A weight matrix copied once into the GEMM's column panels
/// (`txw_*gemm_pack`): op(B) (k × n) as panels of `panelVectors` vectors of
/// columns at instruction-set `level`, each panel k rows contiguous. A product
/// that takes it (`Gemm.serial(…, packed:)`) copies nothing of B; one that
/// packs B itself copies the whole matrix again for every call (every chunk
/// of rows, on every thread). The values read are the same, so the results
/// are the same bits.
struct PackedMatrix<T: KernelScalar>: Sendable {
    /// The panels, `txw_gemm_packed_count(level, size, panelVectors, n, k)` values.
    let panels: [T]
    let n, k, level, panelVectors: Int

    /// op(B) packed at the calling thread's level with `panelVectors`, or nil
    /// when T is neither Float nor Double or the size overflows.
    /// Unchecked: `b` holds B (k × n, row stride ldb) or, with `transposed`, Bᵀ (n × k).
    init?(_ b: UnsafePointer<T>, ldb: Int, n: Int, k: Int, transposed: Bool = false, panelVectors: Int) {
        let level = KernelInstructionSet.level
        let count = txw_gemm_packed_count(Int32(level), MemoryLayout<T>.size, Int32(panelVectors), n, k)
        guard count > 0, T.self == Float.self || T.self == Double.self else { return nil }
        panels = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            let out = UnsafeMutableRawPointer(buffer.baseAddress!)
            if T.self == Float.self {
                txw_sgemm_pack(Int32(panelVectors), transposed ? 1 : 0, n, k,
                               UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb,
                               out.assumingMemoryBound(to: Float.self))
            } else {
                txw_dgemm_pack(Int32(panelVectors), transposed ? 1 : 0, n, k,
                               UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), ldb,
                               out.assumingMemoryBound(to: Double.self))
            }
            initialized = count
        }
        (self.n, self.k, self.level, self.panelVectors) = (n, k, level, panelVectors)
    }

    /// `init` from an array holding B (k × n, row-major).
    init?(_ b: [T], n: Int, k: Int, panelVectors: Int) {
        guard let packed = b.withUnsafeBufferPointer({ p in
            PackedMatrix(p.baseAddress!, ldb: n, n: n, k: k, panelVectors: panelVectors)
        }) else { return nil }
        self = packed
    }

    /// Whether a product with `plan` at the calling thread's level can read these panels.
    func fits(_ plan: GemmPlan) -> Bool {
        plan.panelVectors == panelVectors && KernelInstructionSet.level == level
    }
}

/// The weights `SequenceForward` multiplies by, each packed once
/// (`PackedMatrix`) for one panel width at one instruction-set level: per
/// block the fused Q/K/V weights, W_O, W_1 and W_2, and the unembedding W_Eᵀ.
///
/// Decision (measured, Spec/kernels.md "Performance"): a model keeps this
/// second copy of its weights for its lifetime, made on its first sequence
/// forward of at least `SequenceForward.packedMinimumRows` rows. Without it,
/// a large model's 128-row chunks packed every weight matrix again on every
/// thread (17.7% of the large toy's forward at m = 512 on an AMD EPYC, its
/// 109 MB of f32 weights streamed from memory each time), and a small
/// model's 16-row chunks read the weights in place, row by strided row
/// (with the panels: the standard toy's forward at m = 256 about 12% faster
/// in f32, 20% in f64).
struct PackedForwardWeights<T: KernelScalar>: Sendable {
    let level, panelVectors: Int
    let fusedQKV, W_O, W_1, W_2: [PackedMatrix<T>]
    let unembedding: PackedMatrix<T>

    init?(_ weights: TransformerWeights<T>, panelVectors: Int) {
        let h = weights.hyperparameters
        let hd = h.dHead * h.nHead
        var qkv: [PackedMatrix<T>] = [], o: [PackedMatrix<T>] = [], w1: [PackedMatrix<T>] = [], w2: [PackedMatrix<T>] = []
        for b in 0..<h.nBlock {
            let block = weights.blocks[b]
            guard let q = PackedMatrix(weights.fusedQKV[b], n: 3 * hd, k: h.dModel, panelVectors: panelVectors),
                  let wo = PackedMatrix(block.W_O.scalars, n: h.dModel, k: hd, panelVectors: panelVectors),
                  let a = PackedMatrix(block.W_1.scalars, n: h.dMLP, k: h.dModel, panelVectors: panelVectors),
                  let c = PackedMatrix(block.W_2.scalars, n: h.dModel, k: h.dMLP, panelVectors: panelVectors)
            else { return nil }
            qkv.append(q)
            o.append(wo)
            w1.append(a)
            w2.append(c)
        }
        // W_Eᵀ (d_model × V) straight from W_E (V × d_model): the panels of a transposed B.
        guard let u = weights.W_E.scalars.withUnsafeBufferPointer({ p in
            PackedMatrix(p.baseAddress!, ldb: h.dModel, n: h.vocabSize, k: h.dModel, transposed: true,
                         panelVectors: panelVectors)
        }) else { return nil }
        (level, self.panelVectors) = (KernelInstructionSet.level, panelVectors)
        (fusedQKV, W_O, W_1, W_2, unembedding) = (qkv, o, w1, w2, u)
    }
}

/// Where a `TransformerWeights` keeps its `PackedForwardWeights` (one set:
/// the last level and panel width asked for). Shared by copies of the value,
/// which hold the same weights; ignored by `==`. One class for Float and
/// Double models: the slot holds the set as `any Sendable`.
final class ForwardPackCache: Sendable {
    private let slot = Mutex<(any Sendable)?>(nil)

    init() {}

    /// The packed weights for `panelVectors` at the calling thread's level:
    /// the kept ones when they match, else (with `create`) packed now and
    /// kept in their place, else nil. Packs under the lock, so concurrent
    /// first calls pack once.
    func packed<T: KernelScalar>(_ weights: TransformerWeights<T>, panelVectors: Int, create: Bool) -> PackedForwardWeights<T>? {
        let level = KernelInstructionSet.level
        return slot.withLock { kept -> PackedForwardWeights<T>? in
            if let current = kept as? PackedForwardWeights<T>, current.level == level, current.panelVectors == panelVectors {
                return current
            }
            guard create, let made = PackedForwardWeights(weights, panelVectors: panelVectors) else { return nil }
            kept = made
            return made
        }
    }

    /// The bytes a `PackedForwardWeights` of `h` takes (elements of
    /// `scalarBytes`, panels of `panelVectors` at `level`), nil on overflow:
    /// for `SequenceForward.memoryNeed`.
    static func bytes(_ h: Hyperparameters, scalarBytes: Int, level: Int, panelVectors: Int) -> Int? {
        let hd = h.dHead * h.nHead
        func count(_ n: Int, _ k: Int) -> Int? {
            let c = txw_gemm_packed_count(Int32(level), scalarBytes, Int32(panelVectors), n, k)
            return c > 0 ? c : nil
        }
        let perBlock = [count(3 * hd, h.dModel), count(h.dModel, hd), count(h.dMLP, h.dModel), count(h.dModel, h.dMLP)]
        let block = CheckedBytes.sum(perBlock)
        let total = CheckedBytes.sum([block.flatMap { CheckedBytes.product($0, h.nBlock) }, count(h.vocabSize, h.dModel)])
        return total.flatMap { CheckedBytes.product($0, scalarBytes) }
    }

    /// Whether a packed set is kept (tests).
    var isFilled: Bool { slot.withLock { $0 != nil } }
}
