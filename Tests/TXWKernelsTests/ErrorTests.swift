import Testing
import TXWKernels

/// Bad input from the public API is a thrown `KernelError` with a message, never a trap.
struct ErrorTests {
    func model() throws -> TransformerWeights<Double> { try ModelFixture.named("basic").weights() }

    @Test func samplerArguments() throws {
        let weights = try model()
        #expect(throws: KernelError.invalidArgument(name: "k", value: "0", requirement: "must be ≥ 1")) {
            try TopKSampler(k: 0)
        }
        #expect(throws: KernelError.self) { try TopKSampler(k: 3, temperature: -0.5) }
        #expect(throws: KernelError.self) { try TopKSampler(k: 3, temperature: .nan) }
        let sampler = try TopKSampler(k: 3)
        #expect(throws: KernelError.invalidArgument(name: "n", value: "-1", requirement: "must be ≥ 0")) {
            try sampler.sample(weights, prompt: [1], count: -1)
        }
        #expect(throws: KernelError.sequenceTooShort(what: "prompt", minimum: 1, found: 0)) {
            try sampler.sample(weights, prompt: [], count: 1)
        }
        #expect(throws: KernelError.tokenOutOfRange(position: 1, token: 11, vocabSize: 11)) {
            try sampler.sample(weights, prompt: [0, 11], count: 1)
        }
        #expect(throws: KernelError.tokenOutOfRange(position: 0, token: -1, vocabSize: 11)) {
            try weights.logits(for: [-1])
        }
    }

    @Test func largeKIsClampedNotAnError() throws {
        let weights = try model()
        let clamped = try TopKSampler(k: 1000).sample(weights, prompt: [2], count: 4)
        let exact = try TopKSampler(k: 11).sample(weights, prompt: [2], count: 4)
        #expect(clamped == exact)
    }

    @Test func lossNeedsTwoTokens() throws {
        #expect(throws: KernelError.sequenceTooShort(what: "loss", minimum: 2, found: 1)) {
            try model().loss(for: [3])
        }
    }

    @Test func hyperparameters() throws {
        let odd = Hyperparameters(vocabSize: 4, dModel: 5, nHead: 1, dHead: 2, dMLP: 3, nBlock: 1)
        let error = try #require(throws: KernelError.self) { try odd.validate() }
        #expect(error.description.contains("d_model = 5"))
        #expect(throws: KernelError.self) {
            try Hyperparameters(vocabSize: 0, dModel: 4, nHead: 1, dHead: 2, dMLP: 3, nBlock: 1).validate()
        }
        #expect(throws: KernelError.self) {
            try Hyperparameters(vocabSize: 4, dModel: 4, nHead: 1, dHead: Int.max, dMLP: 3, nBlock: 1).validate()
        }
        #expect(throws: KernelError.self) { try Kernels.positionalEmbedding(m: 3, dModel: 7, as: Double.self) }
        #expect(throws: KernelError.self) { try Kernels.positionalEmbedding(m: -1, dModel: 8, as: Double.self) }
        var bad = KernelConstants.notebook
        bad.positionalBase = .nan
        #expect(throws: KernelError.self) { try bad.validate() }
    }

    @Test func hugeBlockCountsValidateInConstantTime() throws {
        // n_block = 2^24 must not enumerate 2^27 tensors to be checked.
        let h = Hyperparameters(vocabSize: 10, dModel: 4, nHead: 1, dHead: 2, dMLP: 3, nBlock: 1 << 24)
        try h.validate()
        #expect(h.parameterCount == 10 * 4 + (1 << 24) * (4 * 3 + 3 + 3 * 4 + 4 + 3 * 4 * 2 + 2 * 4))
        var huge = h
        huge.dModel = 1 << 24
        huge.vocabSize = 1 << 24
        huge.dMLP = 1 << 24
        #expect(throws: KernelError.self) { try huge.validate() }  // 2^48 per tensor · 2^24 blocks overflows
    }

    @Test func mismatchedShapesNameTheTensor() throws {
        let good = try model()
        var blocks = good.blocks
        blocks[1].W_O = try Tensor(zeros: [15, 16])
        let error = try #require(throws: KernelError.self) {
            try TransformerWeights(hyperparameters: good.hyperparameters, W_E: good.W_E, blocks: blocks)
        }
        #expect(error == .shapeMismatch(what: "blocks.1.W_O", expected: [16, 16], found: [15, 16]))
        #expect(error.description == "blocks.1.W_O: expected shape (16, 16), found (15, 16)")
        #expect(throws: KernelError.shapeMismatch(what: "W_E", expected: [11, 16], found: [10, 16])) {
            try TransformerWeights(hyperparameters: good.hyperparameters, W_E: Tensor(zeros: [10, 16]), blocks: good.blocks)
        }
        #expect(throws: KernelError.self) {
            try TransformerWeights(hyperparameters: good.hyperparameters, W_E: good.W_E, blocks: Array(good.blocks.prefix(1)))
        }
        let x = try Tensor<Double>(zeros: [3, 16])
        let b = good.blocks[0]
        #expect(throws: KernelError.self) { try Kernels.attention(x, W_Q: b.W_Q, W_K: b.W_Q, W_V: b.W_V, W_O: b.W_1) }
        #expect(throws: KernelError.self) { try Kernels.mlp(x, W_1: b.W_1, b_1: b.b_2, W_2: b.W_2, b_2: b.b_2) }
        #expect(throws: KernelError.self) { try Kernels.block(Tensor<Double>(zeros: [3, 8]), weights: b) }
        #expect(throws: KernelError.self) { try Kernels.unembed(Tensor<Double>(zeros: [3, 8]), W_E: good.W_E) }
        #expect(throws: KernelError.self) { try Kernels.applyCausalMask(Tensor<Double>(zeros: [2, 3, 4])) }
        #expect(throws: KernelError.self) { try Kernels.embed(tokens: [11], W_E: good.W_E) }
        let empty = try Tensor<Double>(zeros: [16, 0, 2])
        #expect(throws: KernelError.self) {
            try Kernels.attention(x, W_Q: empty, W_K: empty, W_V: empty, W_O: Tensor(zeros: [0, 16]))
        }
        #expect(throws: KernelError.self) {
            try Kernels.mlp(x, W_1: Tensor(zeros: [16, 0]), b_1: Tensor(zeros: [0]), W_2: Tensor(zeros: [0, 16]), b_2: b.b_2)
        }
    }

    @Test func tensorShapes() throws {
        #expect(throws: KernelError.elementCountMismatch(what: "t", shape: [2, 3], expected: 6, found: 5)) {
            try Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5], what: "t")
        }
        #expect(throws: KernelError.self) { try Tensor<Float>(zeros: [-1, 3]) }
        #expect(throws: KernelError.self) { try Tensor<Float>(zeros: [Int.max, 3]) }
        #expect(throws: KernelError.self) { try Kernels.softmax(Tensor<Double>(zeros: [3, 0])) }
        // Empty leading axes are valid and give empty results.
        #expect(try Kernels.softmax(Tensor<Double>(zeros: [0, 4])).count == 0)
        #expect(try Kernels.rmsnorm(Tensor<Double>(zeros: [0, 4])).count == 0)
    }
}
