import Testing
import TXWKernels

/// embed, positions, rmsnorm, softmax, causal mask and GELU against the numpy reference.
struct ElementwiseKernelTests {
    struct EmbedCase: Decodable { let name: String; let W_E: TensorFixture; let tokens: [Int]; let out: TensorFixture }
    struct PositionCase: Decodable { let name: String; let m: Int; let d_model: Int; let out: TensorFixture }
    struct UnaryCase: Decodable { let name: String; let x: TensorFixture; let out: TensorFixture }
    struct SoftmaxCase: Decodable { let name: String; let x: TensorFixture; let t: Double; let out: TensorFixture }

    func embed<T: KernelScalar>(_: T.Type) throws {
        for c in try Fixtures.cases("embed", as: EmbedCase.self) {
            expectClose(try Kernels.embed(tokens: c.tokens, W_E: c.W_E.tensor(T.self)), c.out, "embed \(c.name)")
        }
    }

    func positions<T: KernelScalar>(_: T.Type) throws {
        for c in try Fixtures.cases("pos_embed", as: PositionCase.self) {
            expectClose(try Kernels.positionalEmbedding(m: c.m, dModel: c.d_model, as: T.self), c.out, "pos_embed \(c.name)")
        }
    }

    func rmsnorm<T: KernelScalar>(_: T.Type) throws {
        for c in try Fixtures.cases("rmsnorm", as: UnaryCase.self) {
            expectClose(try Kernels.rmsnorm(c.x.tensor(T.self)), c.out, "rmsnorm \(c.name)")
        }
    }

    func softmax<T: KernelScalar>(_: T.Type) throws {
        let cases = try Fixtures.cases("softmax", as: SoftmaxCase.self)
        #expect(cases.contains { $0.t == 0 } && cases.contains { $0.t < 1e-3 } && cases.contains { $0.t > 1e3 })
        for c in cases {
            expectClose(try Kernels.softmax(c.x.tensor(T.self), temperature: c.t), c.out, "softmax \(c.name)")
        }
    }

    func causalMask<T: KernelScalar>(_: T.Type) throws {
        for c in try Fixtures.cases("causal_mask", as: UnaryCase.self) {
            expectClose(try Kernels.applyCausalMask(c.x.tensor(T.self)), c.out, "causal mask \(c.name)")
        }
    }

    func gelu<T: KernelScalar>(_: T.Type) throws {
        for c in try Fixtures.cases("gelu", as: UnaryCase.self) {
            expectClose(Kernels.gelu(try c.x.tensor(T.self)), c.out, "gelu \(c.name)")
        }
    }

    @Test func embedF64() throws { try embed(Double.self) }
    @Test func embedF32() throws { try embed(Float.self) }
    @Test func positionsF64() throws { try positions(Double.self) }
    @Test func positionsF32() throws { try positions(Float.self) }
    @Test func rmsnormF64() throws { try rmsnorm(Double.self) }
    @Test func rmsnormF32() throws { try rmsnorm(Float.self) }
    @Test func softmaxF64() throws { try softmax(Double.self) }
    @Test func softmaxF32() throws { try softmax(Float.self) }
    @Test func causalMaskF64() throws { try causalMask(Double.self) }
    @Test func causalMaskF32() throws { try causalMask(Float.self) }
    @Test func geluF64() throws { try gelu(Double.self) }
    @Test func geluF32() throws { try gelu(Float.self) }

    @Test func notebookPrintedPositions() throws {
        // The notebook prints pos_embed(5, 8); two of its rows, to its 9 digits.
        let pe = try Kernels.positionalEmbedding(m: 5, dModel: 8, as: Double.self)
        let row1 = [8.41470985e-01, 5.40302306e-01, 9.98334166e-02, 9.95004165e-01,
                    9.99983333e-03, 9.99950000e-01, 9.99999833e-04, 9.99999500e-01]
        let row4 = [-7.56802495e-01, -6.53643621e-01, 3.89418342e-01, 9.21060994e-01,
                    3.99893342e-02, 9.99200107e-01, 3.99998933e-03, 9.99992000e-01]
        for (j, v) in row1.enumerated() { #expect(abs(pe.scalars[8 + j] - v) <= 5e-9 * max(abs(v), 1e-3)) }
        for (j, v) in row4.enumerated() { #expect(abs(pe.scalars[32 + j] - v) <= 5e-9 * max(abs(v), 1e-3)) }
    }
}

/// The deviation of Spec/kernels.md: where x / t overflows, softmax is the t = 0 limit, not NaN.
struct SoftmaxOverflowTests {
    @Test func overflowingQuotientGivesUniformOverMaxima() throws {
        let x = try Tensor<Double>(shape: [2, 3], scalars: [1, 2, 2, -3, 5, 4])
        let y = try Kernels.softmax(x, temperature: 1e-308)
        #expect(y.scalars == [0, 0.5, 0.5, 0, 1, 0])
        let f = try Kernels.softmax(x.converted(to: Float.self), temperature: 1e-40)
        #expect(f.scalars == [0, 0.5, 0.5, 0, 1, 0])
    }
}
