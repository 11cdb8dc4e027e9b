import Testing
import TXWKernels

/// attention, MLP and block against the numpy reference.
struct LayerTests {
    struct AttentionCase: Decodable {
        let name: String
        let x, W_Q, W_K, W_V, W_O, out: TensorFixture
    }
    struct MLPCase: Decodable {
        let name: String
        let x, W_1, b_1, W_2, b_2, out: TensorFixture
    }
    struct BlockCase: Decodable {
        let name: String
        let x: TensorFixture
        let block: BlockFixture
        let out: TensorFixture
    }

    func attention<T: KernelScalar>(_: T.Type) throws {
        let cases = try Fixtures.cases("attention", as: AttentionCase.self)
        #expect(cases.contains { $0.x.shape[0] == 1 })                            // m = 1
        #expect(cases.contains { $0.W_Q.shape[2] == 1 })                          // one head
        #expect(cases.contains { $0.W_Q.shape[1] * $0.W_Q.shape[2] != $0.W_Q.shape[0] })  // d_head ≠ d_model/n_head
        for c in cases {
            let out = try Kernels.attention(
                c.x.tensor(T.self), W_Q: c.W_Q.tensor(), W_K: c.W_K.tensor(), W_V: c.W_V.tensor(), W_O: c.W_O.tensor())
            expectClose(out, c.out, "attention \(c.name)")
        }
    }

    func mlp<T: KernelScalar>(_: T.Type) throws {
        for c in try Fixtures.cases("mlp", as: MLPCase.self) {
            let out = try Kernels.mlp(
                c.x.tensor(T.self), W_1: c.W_1.tensor(), b_1: c.b_1.tensor(), W_2: c.W_2.tensor(), b_2: c.b_2.tensor())
            expectClose(out, c.out, "mlp \(c.name)")
        }
    }

    func block<T: KernelScalar>(_: T.Type) throws {
        for c in try Fixtures.cases("block", as: BlockCase.self) {
            let out = try Kernels.block(c.x.tensor(T.self), weights: c.block.weights())
            expectClose(out, c.out, "block \(c.name)")
        }
    }

    @Test func attentionF64() throws { try attention(Double.self) }
    @Test func attentionF32() throws { try attention(Float.self) }
    @Test func mlpF64() throws { try mlp(Double.self) }
    @Test func mlpF32() throws { try mlp(Float.self) }
    @Test func blockF64() throws { try block(Double.self) }
    @Test func blockF32() throws { try block(Float.self) }
}
