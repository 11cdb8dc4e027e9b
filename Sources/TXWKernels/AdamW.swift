import CTXWKernels
import RealModule
import TXWThreads
/// AdamW (decoupled weight decay) over all of a model's parameters, in
/// float64 moments whatever the weights' precision.
///
/// For each parameter θ with gradient g at step t (from 1):
/// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ),
/// θ ← θ − lr·(m̂/(√v̂ + ε) + λθ), where λ applies to matrices only (biases
/// and nothing else are not decayed). Defaults: β₁ 0.9, β₂ 0.95, ε 1e-8, λ 0.01.
public struct AdamW: Sendable, Equatable {
    /// β₁, the decay of the first moment.
    public var beta1 = 0.9
    /// β₂, the decay of the second moment.
    public var beta2 = 0.95
    /// ε, added to √v̂ in the denominator.
    public var epsilon = 1e-8
    /// λ, the decoupled weight decay, applied to matrices only.
    public var weightDecay = 0.01
    /// Steps taken so far.
    public private(set) var step = 0
    /// First moments, one array per tensor in canonical order (empty before the first step).
    public private(set) var firstMoments: [[Double]] = []
    /// Second moments, one array per tensor in canonical order (empty before the first step).
    public private(set) var secondMoments: [[Double]] = []

    /// A fresh optimizer (step 0, no moments) with the given coefficients.
    public init(beta1: Double = 0.9, beta2: Double = 0.95, epsilon: Double = 1e-8, weightDecay: Double = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Restores a saved state (moments in canonical tensor order).
    package init(step: Int, firstMoments: [[Double]], secondMoments: [[Double]],
                beta1: Double = 0.9, beta2: Double = 0.95, epsilon: Double = 1e-8, weightDecay: Double = 0.01) {
        self.init(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
        self.step = step
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }

    /// One update of `weights` by `gradients` at learning rate `lr`; returns
    /// the updated weights and advances `step`.
    ///
    /// - Throws: `KernelError.invalidArgument` when `gradients` do not have
    ///   the weights' hyperparameters (so their shapes), or when the moments
    ///   this optimizer holds were made for another model.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public mutating func update<T: KernelScalar>(
        _ weights: TransformerWeights<T>, gradients: TransformerWeights<T>, learningRate lr: Double
    ) throws -> TransformerWeights<T> {
        guard gradients.hyperparameters == weights.hyperparameters else {
            throw KernelError.invalidArgument(
                name: "gradients", value: "\(gradients.hyperparameters)", requirement: "must have the weights' hyperparameters")
        }
        return try update(weights, gradientScalars: gradients.parameterTensors.map(\.tensor.scalars), learningRate: lr)
    }

    /// `update(_:gradients:learningRate:)` with the gradients as arrays in
    /// canonical tensor order (`parameterTensors`), each the size of its
    /// tensor (the caller checks): the training step's path, which does not
    /// build a `TransformerWeights` (and its fused copies) for the gradients.
    /// Each gradient value g is first replaced by `T(Double(g) · gradientScale)`
    /// (a batch's sum to its mean, in the pass that updates; 1 leaves g as it is).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    package mutating func update<T: KernelScalar>(
        _ weights: TransformerWeights<T>, gradientScalars grads: [[T]], learningRate lr: Double, gradientScale: Double = 1
    ) throws -> TransformerWeights<T> {
        let params = weights.parameterTensors
        if !firstMoments.isEmpty {
            let counts = params.map { $0.tensor.count }
            guard firstMoments.map(\.count) == counts, secondMoments.map(\.count) == counts else {
                throw KernelError.invalidArgument(
                    name: "optimizer state", value: "\(firstMoments.count) tensors",
                    requirement: "must match the weights' \(counts.count) tensors and their sizes")
            }
        }
        if firstMoments.isEmpty {
            firstMoments = params.map { [Double](repeating: 0, count: $0.tensor.count) }
            secondMoments = firstMoments
        }
        step += 1
        let correction1 = 1 - Double.pow(beta1, step), correction2 = 1 - Double.pow(beta2, step)
        var updated: [Tensor<T>] = []
        for (i, (name, tensor)) in params.enumerated() {
            let decay = tensor.rank >= 2 ? weightDecay : 0
            let g = grads[i]
            let (beta1, beta2, epsilon) = (beta1, beta2, epsilon)
            // The new values are written into a fresh array (not a copy of
            // the old one updated in place: a copy of 16K–64K floats went
            // through glibc's memmove at 2–3 GB/s on the AMD EPYC).
            let values = [T](unsafeUninitializedCapacity: tensor.count) { out, initialized in
            tensor.scalars.withUnsafeBufferPointer { old in g.withUnsafeBufferPointer { g in
            firstMoments[i].withUnsafeMutableBufferPointer { first in secondMoments[i].withUnsafeMutableBufferPointer { second in
                // Element by element, so splitting the elements across the
                // kernel threads never changes a result. UnsafeShared: each
                // range reads and writes only its own elements.
                let (so, sn, sg) = (UnsafeShared(old.baseAddress!), UnsafeShared(out.baseAddress!), UnsafeShared(g.baseAddress!))
                let (sf, ss) = (UnsafeShared(first.baseAddress!), UnsafeShared(second.baseAddress!))
                let coefficients = [beta1, beta2, correction1, correction2, lr, epsilon, decay, gradientScale]
                Backward.split(old.count, grain: 1 << 12) { range in
                    let (old, values, g, first, second) = (so.pointer, sn.pointer, sg.pointer, sf.pointer, ss.pointer)
                    let (lower, count) = (range.lowerBound, range.count)
                    if T.self == Float.self {
                        // The C kernel: the loop below four elements at a time (the same bits).
                        txw_adamw_f32(UnsafeRawPointer(old + lower).assumingMemoryBound(to: Float.self),
                                      UnsafeMutableRawPointer(values + lower).assumingMemoryBound(to: Float.self),
                                      UnsafeRawPointer(g + lower).assumingMemoryBound(to: Float.self),
                                      first + lower, second + lower, count, coefficients)
                        return
                    }
                    if T.self == Double.self {
                        txw_adamw_f64(UnsafeRawPointer(old + lower).assumingMemoryBound(to: Double.self),
                                      UnsafeMutableRawPointer(values + lower).assumingMemoryBound(to: Double.self),
                                      UnsafeRawPointer(g + lower).assumingMemoryBound(to: Double.self),
                                      first + lower, second + lower, count, coefficients)
                        return
                    }
                    for j in range {
                        let gj = Double(T(Double(g[j]) * gradientScale))
                        first[j] = beta1 * first[j] + (1 - beta1) * gj
                        second[j] = beta2 * second[j] + (1 - beta2) * gj * gj
                        let mHat = first[j] / correction1
                        let vHat = second[j] / correction2
                        let theta = Double(old[j])
                        (values + j).initialize(to: T(theta - lr * (mHat / (vHat.squareRoot() + epsilon) + decay * theta)))
                    }
                }
            }}}}
                initialized = tensor.count
            }
            updated.append(try Tensor(shape: tensor.shape, scalars: values, what: name))
        }
        return try TransformerWeights(hyperparameters: weights.hyperparameters, parameterTensors: updated)
    }
}

extension TransformerWeights {
    /// Every tensor in canonical order (`W_E`, then each block's fields), with its name.
    public var parameterTensors: [(name: String, tensor: Tensor<Scalar>)] {
        var out: [(String, Tensor<Scalar>)] = [("W_E", W_E)]
        for (i, block) in blocks.enumerated() {
            for (field, tensor) in block.fields { out.append(("blocks.\(i).\(field)", tensor)) }
        }
        return out
    }

    /// A model of `hyperparameters` from its tensors in canonical order (the
    /// order of `parameterTensors` and of `Hyperparameters.tensorShapes()`),
    /// checked as `init(hyperparameters:W_E:blocks:)` checks.
    public init(hyperparameters h: Hyperparameters, parameterTensors tensors: [Tensor<Scalar>]) throws {
        let perBlock = BlockWeights<Scalar>.fieldCount
        guard h.nBlock >= 0, !tensors.isEmpty, (tensors.count - 1) % perBlock == 0, (tensors.count - 1) / perBlock == h.nBlock else {
            throw KernelError.invalidArgument(name: "tensors", value: "\(tensors.count)", requirement: "must be 1 + 8·n_block")
        }
        let blocks = (0..<h.nBlock).map { b in
            BlockWeights(fieldsInOrder: tensors[(1 + perBlock * b)..<(1 + perBlock * (b + 1))])
        }
        try self.init(hyperparameters: h, W_E: tensors[0], blocks: blocks)
    }
}
