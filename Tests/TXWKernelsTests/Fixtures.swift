import Foundation
import TXWKernels
import TXWTestSupport

/// Loads the JSON fixtures that tools/reference/make_fixtures.py writes into
/// Tests/Fixtures/kernels (float64 values from the numpy reference).
enum Fixtures {
    static let directory = fixturesDirectory("kernels")

    struct File<Case: Decodable>: Decodable {
        let kernel: String
        let cases: [Case]
    }

    static func cases<Case: Decodable>(_ name: String, as: Case.Type = Case.self) throws -> [Case] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name + ".json"))
        return try JSONDecoder().decode(File<Case>.self, from: data).cases
    }
}

struct TensorFixture: Decodable {
    let shape: [Int]
    let data: [Double]

    func tensor<T: KernelScalar>(_: T.Type = T.self) throws -> Tensor<T> {
        try Tensor(shape: shape, scalars: data.map { T($0) })
    }
}

struct BlockFixture: Decodable {
    let W_1, b_1, W_2, b_2, W_Q, W_K, W_V, W_O: TensorFixture

    func weights<T: KernelScalar>(_: T.Type = T.self) throws -> BlockWeights<T> {
        BlockWeights(
            W_1: try W_1.tensor(), b_1: try b_1.tensor(), W_2: try W_2.tensor(), b_2: try b_2.tensor(),
            W_Q: try W_Q.tensor(), W_K: try W_K.tensor(), W_V: try W_V.tensor(), W_O: try W_O.tensor())
    }
}

/// Parses the `0x…` strings the generator writes for 64-bit integers.
func hex(_ s: String) -> UInt64? {
    guard s.hasPrefix("0x") else { return nil }
    return UInt64(s.dropFirst(2), radix: 16)
}
