import TXWFormat
import TXWKernels
@testable import TXWModel

/// A small model with values from a 64-bit LCG (deterministic, no RNG dependency).
func smallModel(_ h: Hyperparameters, seed: UInt64 = 1) throws -> TransformerWeights<Double> {
    var state = seed
    func values(_ shape: [Int]) throws -> Tensor<Double> {
        let count = shape.reduce(1, *)
        let v = (0..<count).map { _ -> Double in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(Int64(bitPattern: state >> 11) % 1_000_000) / 2_000_000
        }
        return try Tensor(shape: shape, scalars: v)
    }
    var blocks: [BlockWeights<Double>] = []
    for _ in 0..<h.nBlock {
        var fields: [String: Tensor<Double>] = [:]
        for (name, shape) in h.blockShapes() { fields[name] = try values(shape) }
        blocks.append(try BlockWeights(fields: fields))
    }
    return try TransformerWeights(hyperparameters: h, W_E: values([h.vocabSize, h.dModel]), blocks: blocks)
}
