import RealModule
/// AdamW (decoupled weight decay) over all of a model's parameters, in
/// float64 moments whatever the weights' precision.
///
/// For each parameter θ with gradient g at step t (from 1):
/// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ),
/// θ ← θ − lr·(m̂/(√v̂ + ε) + λθ), where λ applies to matrices only (biases
/// and nothing else are not decayed). Defaults: β₁ 0.9, β₂ 0.95, ε 1e-8, λ 0.01.
public struct AdamW: Sendable, Equatable {
    public var beta1 = 0.9
    public var beta2 = 0.95
    public var epsilon = 1e-8
    public var weightDecay = 0.01
    /// Steps taken so far.
    public private(set) var step = 0
    /// First and second moments, one array per tensor in canonical order.
    public private(set) var firstMoments: [[Double]] = []
    public private(set) var secondMoments: [[Double]] = []

    public init(beta1: Double = 0.9, beta2: Double = 0.95, epsilon: Double = 1e-8, weightDecay: Double = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Restores a saved state (moments in canonical tensor order).
    public init(step: Int, firstMoments: [[Double]], secondMoments: [[Double]],
                beta1: Double = 0.9, beta2: Double = 0.95, epsilon: Double = 1e-8, weightDecay: Double = 0.01) {
        self.init(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
        self.step = step
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }

    /// One update of `weights` by `gradients` (same shapes) at learning rate `lr`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public mutating func update<T: KernelScalar>(
        _ weights: TransformerWeights<T>, gradients: TransformerWeights<T>, learningRate lr: Double
    ) throws -> TransformerWeights<T> {
        let params = weights.parameterTensors
        let grads = gradients.parameterTensors
        if firstMoments.isEmpty {
            firstMoments = params.map { [Double](repeating: 0, count: $0.tensor.count) }
            secondMoments = firstMoments
        }
        step += 1
        let correction1 = 1 - Double.pow(beta1, step), correction2 = 1 - Double.pow(beta2, step)
        var updated: [Tensor<T>] = []
        for (i, (name, tensor)) in params.enumerated() {
            let decay = tensor.rank >= 2 ? weightDecay : 0
            var values = tensor.scalars
            let g = grads[i].tensor.scalars
            for j in values.indices {
                let gj = Double(g[j])
                firstMoments[i][j] = beta1 * firstMoments[i][j] + (1 - beta1) * gj
                secondMoments[i][j] = beta2 * secondMoments[i][j] + (1 - beta2) * gj * gj
                let mHat = firstMoments[i][j] / correction1
                let vHat = secondMoments[i][j] / correction2
                let theta = Double(values[j])
                values[j] = T(theta - lr * (mHat / (vHat.squareRoot() + epsilon) + decay * theta))
            }
            updated.append(try Tensor(shape: tensor.shape, scalars: values, what: name))
        }
        return try TransformerWeights(parameterTensors: updated, like: weights)
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

    /// A model of `like`'s hyperparameters from tensors in canonical order.
    public init(parameterTensors tensors: [Tensor<Scalar>], like: TransformerWeights<Scalar>) throws {
        let h = like.hyperparameters
        guard tensors.count == 1 + 8 * h.nBlock else {
            throw KernelError.invalidArgument(name: "tensors", value: "\(tensors.count)", requirement: "must be 1 + 8·n_block")
        }
        var blocks: [BlockWeights<Scalar>] = []
        for b in 0..<h.nBlock {
            let t = Array(tensors[(1 + 8 * b)..<(9 + 8 * b)])
            blocks.append(BlockWeights(W_1: t[0], b_1: t[1], W_2: t[2], b_2: t[3], W_Q: t[4], W_K: t[5], W_V: t[6], W_O: t[7]))
        }
        try self.init(hyperparameters: h, W_E: tensors[0], blocks: blocks)
    }
}
