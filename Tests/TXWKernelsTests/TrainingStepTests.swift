import Testing
@testable import TXWKernels

/// The training step's batched pass (`trainingGradients`: windows stacked,
/// activations recorded, attention per window and head) against the
/// reference backward pass (`lossAndGradients`, one window at a time, itself
/// checked against finite differences in GradientCheckTests).
struct TrainingStepTests {
    /// Sizes off every vector width: rows of 21 (attention rows past one
    /// 16-lane block), d_model 12, 3 heads of 5, d_mlp 20, V 19.
    static let h = Hyperparameters(vocabSize: 19, dModel: 12, nHead: 3, dHead: 5, dMLP: 20, nBlock: 2)
    static let windows = [
        [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6],
        [18, 0, 0, 7, 12, 11, 10, 2, 2, 2, 5, 16, 17, 1, 4, 13, 14, 15, 6, 9, 8],
        [1, 1, 2, 3, 5, 8, 13, 2, 15, 17, 13, 11, 5, 16, 2, 18, 1, 0, 1, 1, 2],
    ]

    static func model(seed: UInt64) throws -> TransformerWeights<Double> {
        var rng = NumpyRandom(seed: seed)
        let tensors = try h.tensorShapes().map { _, shape in
            try Tensor(shape: shape, scalars: GradientCheckTests.random(shape.reduce(1, *), &rng, scale: 0.6))
        }
        return try TransformerWeights(hyperparameters: h, parameterTensors: tensors)
    }

    /// ‖a − b‖ / max(‖a‖, ‖b‖).
    static func relative(_ a: [Double], _ b: [Double]) -> Double {
        let diff = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        let norm = max(a.map { $0 * $0 }.reduce(0, +).squareRoot(), b.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-300)
        return diff / norm
    }

    /// The sum over windows of the reference's loss and gradients, in float64.
    static func reference(_ model: TransformerWeights<Double>) throws -> (loss: Double, gradients: [[Double]]) {
        var loss = 0.0
        var sum: [[Double]] = []
        for window in windows {
            let (l, g) = try model.lossAndGradients(for: window)
            loss += l
            let tensors = g.parameterTensors.map { $0.tensor.scalars }
            sum = sum.isEmpty ? tensors : zip(sum, tensors).map { zip($0, $1).map { $0 + $1 } }
        }
        return (loss, sum)
    }

    @Test func float64MatchesTheReferencePerWindow() throws {
        let model = try Self.model(seed: 11)
        let expected = try Self.reference(model)
        for threads in [1, 2] {
            let (loss, gradients) = KernelConfiguration(threads: threads).applied { model.trainingGradients(windows: Self.windows) }
            #expect(abs(loss - expected.loss) <= 1e-12 * abs(expected.loss))
            #expect(gradients.count == expected.gradients.count)
            for (i, (name, _)) in model.parameterTensors.enumerated() {
                let error = Self.relative(gradients[i], expected.gradients[i])
                #expect(error <= 1e-12, "\(name): relative error \(error)")
                #expect(expected.gradients[i].contains { $0 != 0 }, "\(name): the gradient should not vanish")
            }
        }
    }

    /// Windows of 3 tokens: fewer rows than d_model and the weights'
    /// columns, so the weights' transposes are the largest scratch.
    @Test func shortWindowsMatchTheReference() throws {
        let model = try Self.model(seed: 13)
        let windows = [[3, 1, 4], [1, 5, 9]]
        var expected: [[Double]] = []
        var loss = 0.0
        for window in windows {
            let (l, g) = try model.lossAndGradients(for: window)
            loss += l
            let tensors = g.parameterTensors.map { $0.tensor.scalars }
            expected = expected.isEmpty ? tensors : zip(expected, tensors).map { zip($0, $1).map { $0 + $1 } }
        }
        let got = KernelConfiguration(threads: 2).applied { model.trainingGradients(windows: windows) }
        #expect(abs(got.lossSum - loss) <= 1e-12 * abs(loss))
        for (i, (name, _)) in model.parameterTensors.enumerated() {
            let error = Self.relative(got.gradients[i], expected[i])
            #expect(error <= 1e-12, "\(name): relative error \(error)")
        }
    }

    @Test func float32IsCloseAndDoesNotDependOnTheThreadCount() throws {
        let model = try Self.model(seed: 12)
        let expected = try Self.reference(model)
        let single: TransformerWeights<Float> = model.converted()
        let runs = [1, 2, 3].map { threads in
            KernelConfiguration(threads: threads).applied { single.trainingGradients(windows: Self.windows) }
        }
        #expect(runs[0].lossSum == runs[1].lossSum && runs[0].lossSum == runs[2].lossSum)
        #expect(runs[0].gradients == runs[1].gradients && runs[0].gradients == runs[2].gradients)
        #expect(abs(runs[0].lossSum - expected.loss) <= 1e-5 * abs(expected.loss))
        for (i, (name, _)) in model.parameterTensors.enumerated() {
            let error = Self.relative(runs[0].gradients[i].map(Double.init), expected.gradients[i])
            #expect(error <= 1e-4, "\(name): relative error \(error)")
        }
    }

    @Test func chunksDependOnTheShapeOnly() {
        // The standard toy's benchmark step is one chunk; a long context splits into balanced chunks of ≥ 1 window.
        let toy = Hyperparameters(vocabSize: 256, dModel: 128, nHead: 4, dHead: 32, dMLP: 512, nBlock: 4)
        #expect(TrainingStep.windowsPerChunk(toy, batch: 16, m: 65) == 16)
        let long = TrainingStep.windowsPerChunk(toy, batch: 16, m: 257)
        #expect(long > 1 && long < 16 && 16 % long == 0, "\(long)")
        #expect(TrainingStep.scratchCount(toy, windows: long, m: 257) <= TrainingStep.chunkScalars)
        #expect(TrainingStep.scratchCount(toy, windows: long * 2, m: 257) > TrainingStep.chunkScalars)
        // A window over the limit on its own is computed alone.
        #expect(TrainingStep.windowsPerChunk(toy, batch: 16, m: 1025) == 1)
        #expect(TrainingStep.windowsPerChunk(toy, batch: 3, m: 1 << 16) == 1)
    }
}
