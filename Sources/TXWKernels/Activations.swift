import CTXWKernels
import RealModule
import TXWThreads

/// Heads and neurons to ablate in a forward pass, and how (Spec/kernels.md,
/// "Ablations").
///
/// An ablated head's `hook_z` (every position, every `d_head` component)
/// is replaced before `W_O`; an ablated neuron's `mlp.hook_post` before
/// `W_2`. `zero` replaces it by 0; `mean` by the mean over the input's
/// positions of the value the pass computed there (summed in float64 in
/// position order, divided by m, rounded to the compute precision).
public struct Ablation: Sendable, Hashable {
    /// What replaces an ablated value.
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// Zero.
        case zero
        /// The mean over the input's positions of the value before the ablation.
        case mean
    }

    /// One ablated head or neuron.
    public enum Target: Sendable, Hashable, Comparable, CustomStringConvertible {
        /// Head `head` of block `block`: its z, `blocks.{block}.attn.hook_z[:, head, :]`.
        case head(block: Int, head: Int)
        /// Neuron `neuron` of block `block`'s MLP: `blocks.{block}.mlp.hook_post[:, neuron]`.
        case neuron(block: Int, neuron: Int)

        /// `blocks.{i}.attn.head.{h}` or `blocks.{i}.mlp.neuron.{n}`.
        public var description: String {
            switch self {
            case let .head(b, h): "blocks.\(b).attn.head.\(h)"
            case let .neuron(b, n): "blocks.\(b).mlp.neuron.\(n)"
            }
        }

        /// Parses `blocks.{i}.attn.head.{h}` or `blocks.{i}.mlp.neuron.{n}`
        /// (decimal integers without sign or leading zeros); nil otherwise.
        public init?(_ spec: String) {
            let parts = spec.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 5, parts[0] == "blocks" else { return nil }
            func number(_ s: String) -> Int? {
                guard !s.isEmpty, s.count <= 18, s.allSatisfy({ $0 >= "0" && $0 <= "9" }), s == "0" || s.first != "0" else { return nil }
                return Int(s)
            }
            guard let b = number(parts[1]), let i = number(parts[4]) else { return nil }
            switch (parts[2], parts[3]) {
            case ("attn", "head"): self = .head(block: b, head: i)
            case ("mlp", "neuron"): self = .neuron(block: b, neuron: i)
            default: return nil
            }
        }

        var block: Int {
            switch self {
            case let .head(b, _), let .neuron(b, _): b
            }
        }
    }

    /// The targets, sorted (heads before neurons, then by block and index), each once.
    public let targets: [Target]
    /// Zero or mean.
    public let mode: Mode

    /// The ablation of `targets` (sorted, a repeated one kept once) with `mode`.
    public init(_ targets: [Target], mode: Mode = .zero) {
        self.targets = Array(Set(targets)).sorted()
        self.mode = mode
    }

    /// Throws when a target's block, head or neuron is outside the model `h`.
    public func validate(against h: Hyperparameters) throws {
        for t in targets {
            let (index, limit, what): (Int, Int, String)
            switch t {
            case let .head(b, head):
                guard b >= 0, b < h.nBlock else { throw Self.outside(t, "block", b, "n_block", h.nBlock) }
                (index, limit, what) = (head, h.nHead, "n_head")
            case let .neuron(b, n):
                guard b >= 0, b < h.nBlock else { throw Self.outside(t, "block", b, "n_block", h.nBlock) }
                (index, limit, what) = (n, h.dMLP, "d_mlp")
            }
            guard index >= 0, index < limit else {
                throw Self.outside(t, what == "n_head" ? "head" : "neuron", index, what, limit)
            }
        }
    }

    static func outside(_ t: Target, _ what: String, _ value: Int, _ limitName: String, _ limit: Int) -> KernelError {
        .invalidArgument(name: "ablation", value: t.description,
                         requirement: "\(what) \(value) is outside the model: must be < \(limitName) = \(limit)")
    }
}

/// Every intermediate of one forward pass, by TransformerLens's names
/// without the batch axis (Spec/kernels.md, "Activation names"), as the
/// pass computed it (`TransformerWeights.activations(for:selecting:ablation:configuration:)`).
///
/// The values live in one array; `scalars(_:)` gives one activation's
/// values without copying them, `tensor(_:)` a copy.
public struct ActivationCache<Scalar: KernelScalar>: Sendable {
    /// One stored activation: its name, shape and place in `storage`.
    public struct Entry: Sendable, Hashable {
        /// The hook name, e.g. `blocks.0.attn.hook_pattern`.
        public let name: String
        /// Its shape (row-major).
        public let shape: [Int]
        /// Its first element in the storage.
        public let offset: Int
        /// Its element count.
        public let count: Int
    }

    /// The stored activations, in the order of `TransformerWeights.activationNames(nBlock:)`.
    public let entries: [Entry]
    /// The input tokens.
    public let tokens: [Int]
    /// The ablation the pass ran with, if any (the values are those after it).
    public let ablation: Ablation?
    let storage: [Scalar]

    /// The entry named `name`, nil when it is not stored.
    public func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }

    /// The values of `entry` (row-major), without a copy.
    public func scalars(_ entry: Entry) -> ArraySlice<Scalar> { storage[entry.offset..<(entry.offset + entry.count)] }

    /// A copy of the activation `name`, nil when it is not stored.
    public func tensor(_ name: String) -> Tensor<Scalar>? {
        entry(name).map { Tensor(uncheckedShape: $0.shape, scalars: Array(scalars($0))) }
    }
}

/// The per-block activations, in TransformerLens's order within a block.
enum BlockHook: Int, CaseIterable, Sendable {
    case residPre, ln1Scale, ln1Normalized, q, k, v, attnScores, pattern, z, attnOut, residMid,
         ln2Scale, ln2Normalized, mlpPre, mlpPost, mlpOut, residPost

    var suffix: String {
        switch self {
        case .residPre: "hook_resid_pre"
        case .ln1Scale: "ln1.hook_scale"
        case .ln1Normalized: "ln1.hook_normalized"
        case .q: "attn.hook_q"
        case .k: "attn.hook_k"
        case .v: "attn.hook_v"
        case .attnScores: "attn.hook_attn_scores"
        case .pattern: "attn.hook_pattern"
        case .z: "attn.hook_z"
        case .attnOut: "hook_attn_out"
        case .residMid: "hook_resid_mid"
        case .ln2Scale: "ln2.hook_scale"
        case .ln2Normalized: "ln2.hook_normalized"
        case .mlpPre: "mlp.hook_pre"
        case .mlpPost: "mlp.hook_post"
        case .mlpOut: "hook_mlp_out"
        case .residPost: "hook_resid_post"
        }
    }

    func shape(_ h: Hyperparameters, m: Int) -> [Int] {
        switch self {
        case .residPre, .ln1Normalized, .attnOut, .residMid, .ln2Normalized, .mlpOut, .residPost: [m, h.dModel]
        case .ln1Scale, .ln2Scale: [m, 1]
        case .q, .k, .v, .z: [m, h.nHead, h.dHead]
        case .attnScores, .pattern: [h.nHead, m, m]
        case .mlpPre, .mlpPost: [m, h.dMLP]
        }
    }
}

extension TransformerWeights {
    /// Every activation name of a model with `nBlock` blocks, in order:
    /// `hook_embed`, `hook_pos_embed`, each block's 17 names from
    /// `blocks.{i}.hook_resid_pre` to `blocks.{i}.hook_resid_post`, then `logits`.
    public static func activationNames(nBlock: Int) -> [String] {
        ["hook_embed", "hook_pos_embed"]
            + (0..<max(nBlock, 0)).flatMap { b in BlockHook.allCases.map { "blocks.\(b).\($0.suffix)" } }
            + ["logits"]
    }

    /// The shape of activation `name` for m tokens, nil for an unknown name.
    public func activationShape(_ name: String, tokens m: Int) -> [Int]? {
        let h = hyperparameters
        switch name {
        case "hook_embed", "hook_pos_embed": return [m, h.dModel]
        case "logits": return [m, h.vocabSize]
        default:
            for b in 0..<h.nBlock {
                let prefix = "blocks.\(b)."
                guard name.hasPrefix(prefix) else { continue }
                let rest = name.dropFirst(prefix.count)
                if let hook = BlockHook.allCases.first(where: { $0.suffix == rest }) { return hook.shape(h, m: m) }
            }
            return nil
        }
    }

    /// The entries of the selected names for m tokens (in name order), and the total element count (nil on overflow).
    func activationLayout(tokens m: Int, selecting: (String) -> Bool) -> (entries: [ActivationCache<Scalar>.Entry], count: Int)? {
        var entries: [ActivationCache<Scalar>.Entry] = []
        var offset = 0
        for name in Self.activationNames(nBlock: hyperparameters.nBlock) where selecting(name) {
            guard let shape = activationShape(name, tokens: m), let count = CheckedBytes.product(of: shape) else { return nil }
            entries.append(.init(name: name, shape: shape, offset: offset, count: count))
            let (next, overflow) = offset.addingReportingOverflow(count)
            if overflow { return nil }
            offset = next
        }
        return (entries, offset)
    }

    /// The bytes `activations(for:selecting:ablation:configuration:)`
    /// allocates for m tokens (nil on overflow): the cache itself, and the
    /// pass's own buffers (`SequenceForward.memoryNeed`, a mean ablation's
    /// (m, n_head·d_head) and (m, d_mlp) buffers, the logits when they are
    /// not stored).
    package func activationsMemoryNeed(tokens m: Int, selecting: (String) -> Bool, threads: Int) -> Int? {
        let s = MemoryLayout<Scalar>.size
        guard let layout = activationLayout(tokens: m, selecting: selecting) else { return nil }
        return CheckedBytes.sum([
            CheckedBytes.product(layout.count, s),
            recordedMemoryNeed(m: m, threads: threads),
        ])
    }

    /// A recorded or ablated pass's buffers besides its outputs.
    package func recordedMemoryNeed(m: Int, threads: Int) -> Int? {
        let h = hyperparameters, s = MemoryLayout<Scalar>.size
        let hd = CheckedBytes.product(h.dHead, h.nHead)
        return CheckedBytes.sum([
            SequenceForward.memoryNeed(h, m: m, scalarBytes: s, threads: threads),
            hd.flatMap { CheckedBytes.product(m, $0 + h.dMLP, s) },
            hd.flatMap { CheckedBytes.product(h.nBlock, $0 + h.dMLP, s) },
            CheckedBytes.product(h.dModel, 2 * s),
        ])
    }

    /// One forward pass over `tokens` recording the activations whose names
    /// `selecting` accepts (default: all), with `ablation` applied (the
    /// recorded values are those after it). The values are the ones
    /// `logits(for:configuration:)` computes, bit for bit: `logits` equals
    /// its result. Throws for an empty sequence, a token outside the
    /// vocabulary or an ablation outside the model.
    public func activations(
        for tokens: [Int], selecting: (String) -> Bool = { _ in true }, ablation: Ablation? = nil,
        configuration: KernelConfiguration = .default
    ) throws -> ActivationCache<Scalar> {
        try Kernels.checkTokens(tokens, vocabSize: hyperparameters.vocabSize)
        try ablation?.validate(against: hyperparameters)
        let m = tokens.count
        guard let layout = activationLayout(tokens: m, selecting: selecting) else {
            throw KernelError.invalidArgument(name: "tokens", value: "\(m)", requirement: "too many for an activation cache (its size overflows)")
        }
        // Not zeroed first: the pass writes every element of every selected
        // activation (each row of each name; the masked entries of the
        // scores and pattern too), and Scalar is a trivial type.
        let storage = [Scalar](unsafeUninitializedCapacity: max(layout.count, 1)) { buffer, initialized in
            // Fresh memory the pass touches once: huge pages spare it most of
            // its page faults (the standard toy's f64 cache, 25.6 MB: faults
            // and page clearing were ~30% of the pass's own time).
            HugePages.advise(UnsafeMutableRawBufferPointer(buffer))
            if layout.count > 0 {
                var pointers: [String: UnsafeMutablePointer<Scalar>] = [:]
                for e in layout.entries { pointers[e.name] = buffer.baseAddress! + e.offset }
                configuration.applied {
                    RecordedForward.run(self, tokens: tokens, logits: pointers["logits"], hidden: nil,
                                        recorder: .init(pointers, nBlock: hyperparameters.nBlock), ablation: ablation)
                }
            }
            initialized = layout.count
        }
        return ActivationCache(entries: layout.entries, tokens: tokens, ablation: ablation, storage: storage)
    }

    /// The (m, V) logits of `tokens` with `ablation` applied; with no
    /// target, `logits(for:configuration:)` bit for bit.
    public func logits(for tokens: [Int], ablation: Ablation, configuration: KernelConfiguration = .default) throws -> Tensor<Scalar> {
        try Kernels.checkTokens(tokens, vocabSize: hyperparameters.vocabSize)
        try ablation.validate(against: hyperparameters)
        let (m, V) = (tokens.count, hyperparameters.vocabSize)
        var out = [Scalar](repeating: 0, count: m * V)
        configuration.applied {
            out.withUnsafeMutableBufferPointer { ob in
                RecordedForward.run(self, tokens: tokens, logits: ob.baseAddress!, hidden: nil, recorder: nil, ablation: ablation)
            }
        }
        return Tensor(uncheckedShape: [m, V], scalars: out)
    }
}

extension Kernels {
    /// Unchecked rmsnorm denominators sqrt(mean(x²) + ε) of `rows` rows: the
    /// same operations as `rmsnormRows`, the same bits.
    static func rmsnormScales<T: KernelScalar>(rows: Int, cols: Int, x: UnsafePointer<T>, epsilon: T, out: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            txw_rmsnorm_scales_f32(rows, cols, UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), Float(epsilon),
                                   UnsafeMutableRawPointer(out).assumingMemoryBound(to: Float.self))
        } else if T.self == Double.self {
            txw_rmsnorm_scales_f64(rows, cols, UnsafeRawPointer(x).assumingMemoryBound(to: Double.self), Double(epsilon),
                                   UnsafeMutableRawPointer(out).assumingMemoryBound(to: Double.self))
        } else {
            let n = T(cols)
            for r in 0..<rows {
                var part = [T](repeating: 0, count: 16)
                for c in 0..<cols { part[c % 16] += x[r * cols + c] * x[r * cols + c] }
                while part.count > 1 { part = stride(from: 0, to: part.count, by: 2).map { part[$0] + part[$0 + 1] } }
                out[r] = (part[0] / n + epsilon).squareRoot()
            }
        }
    }
}

extension TopKSampler {
    /// `sample(_:prompt:count:context:configuration:split:continuing:onToken:onRecompute:)`
    /// of the model with `ablation` applied (Spec/cli.md, "Ablations"):
    /// each token is a recorded pass over the sequence so far (its last C
    /// tokens with a context; no key/value cache). With mode `mean` the
    /// replacement values are the means over the prompt's positions (its
    /// last C with a context) in the prompt's own ablated pass, fixed while
    /// sampling.
    @discardableResult
    public func sample<T>(
        _ weights: TransformerWeights<T>, prompt: [Int], count n: Int, context: Int? = nil, ablation: Ablation,
        configuration: KernelConfiguration = .default, continuing rng: inout NumpyRandom,
        onToken: (Int) throws -> Void = { _ in }
    ) throws -> [Int] {
        guard n >= 0 else {
            throw KernelError.invalidArgument(name: "n", value: "\(n)", requirement: "must be ≥ 0")
        }
        if let context, context < 1 {
            throw KernelError.invalidArgument(name: "context", value: "\(context)", requirement: "must be ≥ 1")
        }
        let h = weights.hyperparameters, V = h.vocabSize
        try Kernels.checkTokens(prompt, vocabSize: V, what: "prompt")
        try ablation.validate(against: h)
        guard !prompt.count.addingReportingOverflow(n).overflow else {
            throw KernelError.invalidArgument(name: "n", value: "\(n)", requirement: "prompt length + n must fit in Int")
        }
        let C = context ?? Int.max
        var sequence = prompt
        var produced: [Int] = []
        var fixed: [T]?
        var last = [Double](repeating: 0, count: V)
        for step in 0..<n {
            let window = sequence.count <= C ? sequence : Array(sequence.suffix(C))
            var logits = [T](repeating: 0, count: window.count * V)
            var values = [T](repeating: 0, count: h.nBlock * (h.nHead * h.dHead + h.dMLP))
            configuration.applied {
                logits.withUnsafeMutableBufferPointer { l in
                    values.withUnsafeMutableBufferPointer { r in
                        RecordedForward.run(weights, tokens: window, logits: l.baseAddress!, hidden: nil, recorder: nil,
                                            ablation: ablation, replacements: r.baseAddress!, fixed: fixed)
                    }
                }
            }
            if step == 0 && ablation.mode == .mean { fixed = values }
            for v in 0..<V { last[v] = Double(logits[(window.count - 1) * V + v]) }
            let token = try choose(from: last, rng: &rng, position: sequence.count - 1)
            produced.append(token)
            try onToken(token)
            sequence.append(token)
        }
        return produced
    }

    /// The bytes the ablated `sample` allocates at its peak (nil on
    /// overflow): one recorded pass over min(positions, C) tokens, its
    /// logits, the sequence and the float64 logits.
    package static func ablatedMemoryNeed<T: KernelScalar>(_ weights: TransformerWeights<T>, positions: Int, context: Int?, threads: Int) -> Int? {
        let h = weights.hyperparameters, s = MemoryLayout<T>.size
        let window = max(1, min(positions, context ?? positions))
        return CheckedBytes.sum([
            weights.recordedMemoryNeed(m: window, threads: threads),
            CheckedBytes.product(window, h.vocabSize, s),
            CheckedBytes.product(h.vocabSize, 8),
            CheckedBytes.product(positions, 16),
        ])
    }
}

/// The logit lens of one input (`TransformerWeights.logitLens(for:k:ablation:configuration:)`):
/// at each point of the residual stream and each position, the k tokens
/// with the largest logits `resid · W_Eᵀ` (no final norm, as the model has
/// none), with those logits and their softmax probabilities (temperature 1).
public struct LogitLens: Sendable, Equatable {
    /// The points: `blocks.0.hook_resid_pre` (embedding + positions), then
    /// `blocks.{i}.hook_resid_post` for each block.
    public let points: [String]
    /// The input tokens.
    public let tokens: [Int]
    /// The tokens kept per point and position: min(k, V).
    public let k: Int
    /// Token ids, (point, position, k) row-major: largest logit first, ties by lower id.
    public let ids: [Int]
    /// Their logits, in float64, in the same order.
    public let logits: [Double]
    /// Their softmax probabilities over all V logits of that point and position.
    public let probabilities: [Double]
    /// The first (point · m + position) whose V logits are not all finite
    /// (NaN or ±inf: overflowing numbers or non-finite weights), nil when
    /// every row is finite. Such a row has no softmax: its entries are ids
    /// 0 … k − 1 with their logits and NaN probabilities.
    public let firstNonFiniteRow: Int?

    /// The flat index of (point, position, rank).
    public func index(point: Int, position: Int, rank: Int) -> Int { (point * tokens.count + position) * k + rank }
}

extension TransformerWeights {
    /// The logit lens of `tokens` with the `k` top tokens (clamped to V)
    /// and `ablation` applied, if any. The last point's logits are the
    /// model's, bit for bit (the same product). Throws as
    /// `activations(for:selecting:ablation:configuration:)`, or for k < 1.
    public func logitLens(
        for tokens: [Int], k: Int, ablation: Ablation? = nil, configuration: KernelConfiguration = .default
    ) throws -> LogitLens {
        guard k >= 1 else { throw KernelError.invalidArgument(name: "k", value: "\(k)", requirement: "must be ≥ 1") }
        let h = hyperparameters
        let points = ["blocks.0.hook_resid_pre"] + (0..<h.nBlock).map { "blocks.\($0).hook_resid_post" }
        let wanted = Set(points)
        let cache = try activations(for: tokens, selecting: { wanted.contains($0) }, ablation: ablation, configuration: configuration)
        let (m, d, V) = (tokens.count, h.dModel, h.vocabSize)
        let kept = min(k, V)
        var ids: [Int] = [], logits: [Double] = [], probabilities: [Double] = []
        ids.reserveCapacity(points.count * m * kept)
        var rows = [Scalar](repeating: 0, count: m * V)
        var firstNonFinite: Int?
        for (pointIndex, point) in points.enumerated() {
            let resid = Array(cache.scalars(cache.entry(point)!))
            configuration.applied {
                resid.withUnsafeBufferPointer { r in
                    unembedding.withUnsafeBufferPointer { u in
                        rows.withUnsafeMutableBufferPointer { o in
                            Gemm.multiply(m: m, n: V, k: d, a: r.baseAddress!, lda: d, b: u.baseAddress!, ldb: V, c: o.baseAddress!, ldc: V)
                        }
                    }
                }
            }
            for i in 0..<m {
                let row = (0..<V).map { Double(rows[i * V + $0]) }
                // A row with a non-finite logit has no softmax: it is
                // reported (firstNonFiniteRow), its entries the first ids with NaN probabilities.
                guard row.allSatisfy(\.isFinite) else {
                    if firstNonFinite == nil { firstNonFinite = pointIndex * m + i }
                    for id in 0..<kept {
                        ids.append(id)
                        logits.append(row[id])
                        probabilities.append(.nan)
                    }
                    continue
                }
                let top = row.max()!
                var sum = 0.0
                for v in row { sum += Double.exp(v - top) }
                let order = (0..<V).sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }.prefix(kept)
                for id in order {
                    ids.append(id)
                    logits.append(row[id])
                    probabilities.append(Double.exp(row[id] - top) / sum)
                }
            }
        }
        return LogitLens(points: points, tokens: tokens, k: kept, ids: ids, logits: logits, probabilities: probabilities,
                         firstNonFiniteRow: firstNonFinite)
    }

    /// The bytes `logitLens` allocates (nil on overflow): the recorded
    /// residual points, the pass, and one point's (m, V) logits.
    package func logitLensMemoryNeed(tokens m: Int, threads: Int) -> Int? {
        let h = hyperparameters, s = MemoryLayout<Scalar>.size
        return CheckedBytes.sum([
            CheckedBytes.product(h.nBlock + 1, m, h.dModel, 2 * s),
            recordedMemoryNeed(m: m, threads: threads),
            CheckedBytes.product(m, h.vocabSize, s + 16),
        ])
    }
}
