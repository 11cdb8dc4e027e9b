import RealModule
import Testing
@testable import TXWKernels

/// AdamW against the numpy reference (`adamw_step` in
/// tools/reference/reference.py, fixture kernels/adamw.json: three steps from
/// zero moments over a model of 19–30 values per tensor) at every instruction
/// set level: float64 weights and moments within 1e-12 relative; float32
/// weights within the reference's roundings to float32 (half an ulp per step), their
/// moments (float64, from float32-representable gradients) within 1e-12.
/// And bit for bit against the equations evaluated here one element at a
/// time, as the C kernel promises (it computes four at a time), with the
/// gradients scaled as they are read (the training step's mean over a batch).
struct AdamWTests {
    struct Case: Decodable {
        struct Shape: Decodable {
            let vocab_size, d_model, n_head, d_head, d_mlp, n_block: Int
        }
        struct Step: Decodable {
            let lr: Double
            let grads, params, first, second: [TensorFixture]
        }
        let name: String
        let hyperparameters: Shape
        let params: [TensorFixture]
        let steps: [Step]

        var shape: Hyperparameters {
            let s = hyperparameters
            return Hyperparameters(vocabSize: s.vocab_size, dModel: s.d_model, nHead: s.n_head, dHead: s.d_head,
                                   dMLP: s.d_mlp, nBlock: s.n_block)
        }

        func model<T: KernelScalar>(_: T.Type) throws -> TransformerWeights<T> {
            try TransformerWeights(hyperparameters: shape, parameterTensors: params.map { try $0.tensor(T.self) })
        }
    }

    static func cases() throws -> [Case] { try Fixtures.cases("adamw") }

    /// max |a − b| / max(|b|, floor) over the elements.
    static func relative(_ a: [Double], _ b: [Double], floor: Double = 1e-300) -> Double {
        zip(a, b).map { abs($0 - $1) / max(abs($1), floor) }.max() ?? 0
    }

    @Test(arguments: [0, 1, 2])
    func float64MatchesTheReference(level: Int) throws {
        let configuration = KernelConfiguration(instructionSetLevel: level)
        for c in try Self.cases() {
            var weights = try c.model(Double.self)
            var optimizer = AdamW()
            for (t, step) in c.steps.enumerated() {
                let before = weights
                weights = try configuration.applied {
                    try optimizer.update(before, gradientScalars: step.grads.map(\.data), learningRate: step.lr)
                }
                for (i, (name, tensor)) in weights.parameterTensors.enumerated() {
                    let error = Self.relative(tensor.scalars, step.params[i].data)
                    #expect(error <= 1e-12, "\(c.name) step \(t + 1) level \(level) \(name): relative error \(error)")
                    let first = Self.relative(optimizer.firstMoments[i], step.first[i].data, floor: 1e-30)
                    let second = Self.relative(optimizer.secondMoments[i], step.second[i].data, floor: 1e-30)
                    #expect(first <= 1e-12 && second <= 1e-12, "\(c.name) step \(t + 1) \(name) moments: \(first), \(second)")
                }
            }
            #expect(optimizer.step == c.steps.count)
        }
    }

    @Test(arguments: [0, 1, 2])
    func float32IsOneRoundingFromTheReference(level: Int) throws {
        let configuration = KernelConfiguration(instructionSetLevel: level)
        for c in try Self.cases() {
            var weights = try c.model(Float.self)
            var optimizer = AdamW()
            // Per element, the roundings so far: a step's new θ depends on
            // the old one only through θ − lr·λ·θ, so an earlier rounding
            // passes on (times 1 − lr·λ < 1) and each step adds its own,
            // half an ulp: 2⁻²⁴·|θ|.
            var bounds = c.params.map { [Double](repeating: 0, count: $0.data.count) }
            for (t, step) in c.steps.enumerated() {
                let before = weights
                let grads = step.grads.map { $0.data.map(Float.init) }
                #expect(grads.map { $0.map(Double.init) } == step.grads.map(\.data), "the fixture's gradients are float32 values")
                weights = try configuration.applied { try optimizer.update(before, gradientScalars: grads, learningRate: step.lr) }
                for (i, (name, tensor)) in weights.parameterTensors.enumerated() {
                    let reference = step.params[i].data
                    var worst = 0.0
                    for (j, value) in tensor.scalars.enumerated() {
                        bounds[i][j] += 0x1p-24 * abs(reference[j]) * (1 + 1e-9)
                        worst = max(worst, abs(Double(value) - reference[j]) / bounds[i][j])
                    }
                    #expect(worst <= 1, "\(c.name) step \(t + 1) level \(level) \(name): error \(worst) of the rounding bound")
                    let first = Self.relative(optimizer.firstMoments[i], step.first[i].data, floor: 1e-30)
                    #expect(first <= 1e-12, "\(c.name) step \(t + 1) \(name) first moment: \(first)")
                }
            }
        }
    }

    /// AdamW's equations one element at a time, in their documented order.
    static func elementwise<T: KernelScalar>(
        _ theta: inout [T], _ g: [T], _ m: inout [Double], _ v: inout [Double], step: Int, lr: Double, decay: Double,
        scale: Double
    ) where T: BinaryFloatingPoint {
        let (b1, b2, eps) = (0.9, 0.95, 1e-8)
        let c1 = 1 - Double.pow(b1, step), c2 = 1 - Double.pow(b2, step)
        for j in theta.indices {
            let gj = Double(T(Double(g[j]) * scale))
            m[j] = b1 * m[j] + (1 - b1) * gj
            v[j] = b2 * v[j] + (1 - b2) * gj * gj
            let th = Double(theta[j])
            theta[j] = T(th - lr * ((m[j] / c1) / ((v[j] / c2).squareRoot() + eps) + decay * th))
        }
    }

    func bitsMatchTheEquations<T: KernelScalar & BinaryFloatingPoint>(_: T.Type, level: Int, scale: Double) throws {
        let configuration = KernelConfiguration(instructionSetLevel: level)
        for c in try Self.cases() {
            var weights = try c.model(T.self)
            var expected = weights.parameterTensors.map { $0.tensor.scalars }
            let decays = weights.parameterTensors.map { $0.tensor.rank >= 2 ? 0.01 : 0 }
            var m = expected.map { [Double](repeating: 0, count: $0.count) }, v = m
            var optimizer = AdamW()
            for (t, step) in c.steps.enumerated() {
                let grads = step.grads.map { $0.data.map { T($0) } }
                let before = weights
                weights = try configuration.applied {
                    try optimizer.update(before, gradientScalars: grads, learningRate: step.lr, gradientScale: scale)
                }
                for i in expected.indices {
                    Self.elementwise(&expected[i], grads[i], &m[i], &v[i], step: t + 1, lr: step.lr, decay: decays[i], scale: scale)
                }
                func differing<S: Equatable>(_ a: [[S]], _ b: [[S]]) -> Int {
                    zip(a, b).map { x, y in zip(x, y).filter { $0 != $1 }.count + abs(x.count - y.count) }.reduce(0, +)
                }
                let got = weights.parameterTensors.map { $0.tensor.scalars }
                let (w, m1, m2) = (differing(got, expected), differing(optimizer.firstMoments, m), differing(optimizer.secondMoments, v))
                #expect(w == 0 && m1 == 0 && m2 == 0,
                        "\(T.self) level \(level) scale \(scale) step \(t + 1): values with other bits: weights \(w), first moments \(m1), second \(m2)")
            }
        }
    }

    @Test(arguments: [0, 1, 2])
    func everyLevelGivesTheElementwiseBits(level: Int) throws {
        // 1: the gradients as given; 1/16 and 1/3: a batch's mean taken as AdamW reads them.
        for scale in [1, 1.0 / 16, 1.0 / 3] {
            try bitsMatchTheEquations(Float.self, level: level, scale: scale)
            try bitsMatchTheEquations(Double.self, level: level, scale: scale)
        }
    }
}
