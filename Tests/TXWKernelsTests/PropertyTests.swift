import Testing
import TXWKernels

/// Properties that hold for any input, on pseudo-random data.
struct PropertyTests {
    func randomTensor(_ shape: [Int], scale: Double, rng: inout NumpyRandom) throws -> Tensor<Double> {
        let count = try Tensor<Double>.elementCount(of: shape, what: "random")
        return try Tensor(shape: shape, scalars: (0..<count).map { _ in (rng.random() - 0.5) * 2 * scale })
    }

    @Test(arguments: [0.0, 1e-6, 0.3, 1.0, 7.0, 1e5])
    func softmaxRowsSumToOne(temperature: Double) throws {
        var rng = NumpyRandom(seed: 11)
        for (shape, scale) in [([5], 3.0), ([4, 9], 50.0), ([2, 3, 17], 1e4), ([3, 1], 1.0)] {
            let x = try randomTensor(shape, scale: scale, rng: &rng)
            for precision in [false, true] {
                let rows: [Double]
                let cols = shape[shape.count - 1]
                if precision {
                    let y = try Kernels.softmax(x.converted(to: Float.self), temperature: temperature)
                    rows = stride(from: 0, to: y.count, by: cols).map { r in y.scalars[r..<r + cols].reduce(0) { $0 + Double($1) } }
                    #expect(y.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
                } else {
                    let y = try Kernels.softmax(x, temperature: temperature)
                    rows = stride(from: 0, to: y.count, by: cols).map { r in y.scalars[r..<r + cols].reduce(0, +) }
                    #expect(y.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
                }
                for sum in rows {
                    #expect(abs(sum - 1) <= (precision ? 1e-5 : 1e-12), "t=\(temperature) shape=\(shape) sum=\(sum)")
                }
            }
        }
    }

    func causality<T: KernelScalar>(_: T.Type) throws {
        let model = try ModelFixture.named("basic")
        let weights = try model.weights(T.self)
        let V = weights.hyperparameters.vocabSize
        let tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5]
        let base = try weights.logits(for: tokens)
        for j in 0..<tokens.count {
            var changed = tokens
            changed[j] = (tokens[j] + 1 + j) % V
            let other = try weights.logits(for: changed)
            let before = Array(other.scalars[0..<(j * V)])
            #expect(before == Array(base.scalars[0..<(j * V)]), "changing token \(j) changed an earlier position")
            #expect(Array(other.scalars[(j * V)..<((j + 1) * V)]) != Array(base.scalars[(j * V)..<((j + 1) * V)]),
                    "changing token \(j) should change position \(j)")
        }
    }

    @Test func changingTokenJNeverChangesEarlierLogitsF64() throws { try causality(Double.self) }
    @Test func changingTokenJNeverChangesEarlierLogitsF32() throws { try causality(Float.self) }

    @Test func rmsnormRowsHaveUnitRootMeanSquare() throws {
        var rng = NumpyRandom(seed: 5)
        let x = try randomTensor([6, 10], scale: 20, rng: &rng)
        let y = try Kernels.rmsnorm(x)
        for r in 0..<6 {
            let meanSquare = y.scalars[(r * 10)..<(r * 10 + 10)].reduce(0) { $0 + $1 * $1 } / 10
            #expect(abs(meanSquare - 1) <= 1e-9)
        }
    }
}
