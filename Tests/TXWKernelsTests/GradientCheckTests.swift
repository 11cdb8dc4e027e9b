import Testing
@testable import TXWKernels

/// Every backward kernel against central finite differences in float64:
/// for a scalar f of the kernel's output (Σ w ⊙ output, w fixed random),
/// each input's gradient (f(θ + h) − f(θ − h)) / 2h with h = 1e-5, compared
/// per tensor by ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖) ≤ 1e-6.
struct GradientCheckTests {
    static func random(_ count: Int, _ rng: inout NumpyRandom, scale: Double = 1) -> [Double] {
        (0..<count).map { _ in (rng.random() * 2 - 1) * scale }
    }

    /// The numeric gradient of `f` at `x`.
    static func numeric(_ x: [Double], _ f: ([Double]) throws -> Double) rethrows -> [Double] {
        var grad = [Double](repeating: 0, count: x.count)
        var probe = x
        for i in x.indices {
            let h = 1e-5 * max(1, abs(x[i]))
            probe[i] = x[i] + h
            let up = try f(probe)
            probe[i] = x[i] - h
            let down = try f(probe)
            probe[i] = x[i]
            grad[i] = (up - down) / (2 * h)
        }
        return grad
    }

    static func expectClose(_ analytic: [Double], _ numeric: [Double], _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        let diff = zip(analytic, numeric).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        let norm = max(analytic.map { $0 * $0 }.reduce(0, +).squareRoot(), numeric.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-300)
        #expect(diff / norm <= 1e-6, "\(what): relative error \(diff / norm)", sourceLocation: sourceLocation)
        #expect(norm > 1e-8, "\(what): the gradient should not vanish", sourceLocation: sourceLocation)
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map { $0 * $1 }.reduce(0, +) }

    @Test func elementwiseKernels() throws {
        var rng = NumpyRandom(seed: 1)
        let (m, n) = (3, 6)
        let x = Self.random(m * n, &rng, scale: 2)
        let w = Self.random(m * n, &rng)
        func rms(_ v: [Double]) throws -> [Double] { try Kernels.rmsnorm(Tensor(shape: [m, n], scalars: v)).scalars }
        Self.expectClose(Backward.rmsnorm(x: x, dy: w, cols: n, epsilon: 1e-9), try Self.numeric(x) { Self.dot(w, try rms($0)) }, "rmsnorm")
        Self.expectClose(Backward.gelu(x: x, dy: w), Self.numeric(x) { Self.dot(w, Kernels.gelu(try! Tensor(shape: [m, n], scalars: $0)).scalars) }, "gelu")
        let p = try Kernels.softmax(Tensor(shape: [m, n], scalars: x)).scalars
        Self.expectClose(Backward.softmax(p: p, dp: w, cols: n),
                         try Self.numeric(x) { Self.dot(w, try Kernels.softmax(Tensor(shape: [m, n], scalars: $0)).scalars) }, "softmax")
    }

    static let h = Hyperparameters(vocabSize: 7, dModel: 4, nHead: 2, dHead: 3, dMLP: 6, nBlock: 2)

    static func block(_ rng: inout NumpyRandom) throws -> BlockWeights<Double> {
        var fields: [String: Tensor<Double>] = [:]
        for (name, shape) in Self.h.blockShapes() {
            fields[name] = try Tensor(shape: shape, scalars: Self.random(shape.reduce(1, *), &rng, scale: 0.8))
        }
        return try BlockWeights(fields: fields)
    }

    /// Checks every field of `gradients` against the numeric gradient of `f` in that field.
    static func checkFields(_ weights: BlockWeights<Double>, _ gradients: BlockWeights<Double>, _ what: String,
                            _ f: (BlockWeights<Double>) throws -> Double) throws {
        for (i, (name, tensor)) in weights.fields.enumerated() {
            let numeric = try Self.numeric(tensor.scalars) { values in
                var fields = Dictionary(uniqueKeysWithValues: weights.fields.map { ($0.name, $0.tensor) })
                fields[name] = try Tensor(shape: tensor.shape, scalars: values)
                return try f(try BlockWeights(fields: fields))
            }
            Self.expectClose(gradients.fields[i].tensor.scalars, numeric, "\(what) \(name)")
        }
    }

    @Test func mlpAttentionAndBlock() throws {
        var rng = NumpyRandom(seed: 2)
        let m = 5
        let weights = try Self.block(&rng)
        let x = Self.random(m * 4, &rng, scale: 1.5)
        let w = Self.random(m * 4, &rng)
        let X = { (v: [Double]) in try Tensor(shape: [m, 4], scalars: v) }

        let mlp = Backward.mlp(x: x, m: m, W_1: weights.W_1, b_1: weights.b_1, W_2: weights.W_2, dout: w)
        Self.expectClose(mlp.dx, try Self.numeric(x) { Self.dot(w, try Kernels.mlp(X($0), W_1: weights.W_1, b_1: weights.b_1, W_2: weights.W_2, b_2: weights.b_2).scalars) }, "mlp x")
        let attention = Backward.attention(x: x, m: m, W_Q: weights.W_Q, W_K: weights.W_K, W_V: weights.W_V, W_O: weights.W_O, maskValue: -1e9, dout: w)
        Self.expectClose(attention.dx, try Self.numeric(x) { Self.dot(w, try Kernels.attention(X($0), W_Q: weights.W_Q, W_K: weights.W_K, W_V: weights.W_V, W_O: weights.W_O).scalars) }, "attention x")

        let block = try Backward.block(x: x, m: m, weights: weights, constants: .notebook, dout: w)
        Self.expectClose(block.dx, try Self.numeric(x) { Self.dot(w, try Kernels.block(X($0), weights: weights).scalars) }, "block x")
        try Self.checkFields(weights, block.gradients, "block") { Self.dot(w, try Kernels.block(X(x), weights: $0).scalars) }
    }

    @Test func wholeModelLoss() throws {
        var rng = NumpyRandom(seed: 3)
        let blocks = try (0..<Self.h.nBlock).map { _ in try Self.block(&rng) }
        let W_E = try Tensor(shape: [7, 4], scalars: Self.random(28, &rng, scale: 0.7))
        let model = try TransformerWeights(hyperparameters: Self.h, W_E: W_E, blocks: blocks)
        let tokens = [3, 1, 4, 1, 5, 6, 2, 0]
        let (loss, gradients) = try model.lossAndGradients(for: tokens)
        #expect(abs(loss - (try model.loss(for: tokens))) <= 1e-12 * abs(loss))
        Self.expectClose(gradients.W_E.scalars, try Self.numeric(W_E.scalars) {
            try TransformerWeights(hyperparameters: Self.h, W_E: Tensor(shape: [7, 4], scalars: $0), blocks: blocks).loss(for: tokens)
        }, "model W_E")
        for b in 0..<Self.h.nBlock {
            try Self.checkFields(blocks[b], gradients.blocks[b], "model blocks.\(b)") { replaced in
                var all = blocks
                all[b] = replaced
                return try TransformerWeights(hyperparameters: Self.h, W_E: W_E, blocks: all).loss(for: tokens)
            }
        }
    }
}

/// `AdamW.update` checks its inputs at the public boundary: gradients of
/// another shape, or moments kept from another model, throw instead of trapping.
struct AdamWBoundaryTests {
    static func model(_ h: Hyperparameters, seed: UInt64) throws -> TransformerWeights<Double> {
        var rng = NumpyRandom(seed: seed)
        let tensors = try h.tensorShapes().map { _, shape in
            try Tensor(shape: shape, scalars: GradientCheckTests.random(shape.reduce(1, *), &rng))
        }
        return try TransformerWeights(hyperparameters: h, parameterTensors: tensors)
    }

    @Test func mismatchedGradientsAndMomentsThrow() throws {
        let small = Hyperparameters(vocabSize: 5, dModel: 4, nHead: 1, dHead: 2, dMLP: 3, nBlock: 1)
        var large = small
        large.nBlock = 2
        let a = try Self.model(small, seed: 1), b = try Self.model(large, seed: 2)
        var optimizer = AdamW()
        #expect(throws: KernelError.self) { try optimizer.update(a, gradients: b, learningRate: 0.1) }
        #expect(optimizer.step == 0 && optimizer.firstMoments.isEmpty, "a refused update changes nothing")
        let updated = try optimizer.update(a, gradients: a, learningRate: 0.1)
        #expect(updated != a && optimizer.step == 1)
        // The moments are now a's: using the optimizer for b is refused.
        #expect(throws: KernelError.self) { try optimizer.update(b, gradients: b, learningRate: 0.1) }
        #expect(optimizer.step == 1)
    }
}
