import Testing
import TXWKernels

/// The whole forward pass, the unembedding and the loss against the numpy reference.
struct TransformerTests {
    func logits<T: KernelScalar>(_: T.Type) throws {
        let models = try ModelFixture.all()
        #expect(models.contains { $0.tokens.count == 1 })
        #expect(models.contains { $0.hyperparameters.vocab_size == 2 })
        #expect(models.contains { $0.hyperparameters.n_head == 1 })
        // Past one chunk of the forward pass (SequenceForward.chunkRows), with
        // the notebook's mask and with one whose masked weights are not 0.
        #expect(models.contains { $0.tokens.count > 4 * 16 && $0.mask_value == nil })
        #expect(models.contains { $0.tokens.count > 2 * 16 && $0.mask_value != nil })
        for model in models {
            let weights = try model.weights(T.self)
            expectClose(try weights.logits(for: model.tokens), model.logits, "logits \(model.name)")
            // Inferring the hyperparameters from the shapes gives the same model.
            let inferred = try TransformerWeights(W_E: weights.W_E, blocks: weights.blocks, constants: model.shape.constants)
            #expect(inferred.hyperparameters == model.shape, "inferred shape \(model.name)")
        }
    }

    func loss<T: KernelScalar>(_: T.Type) throws {
        for model in try ModelFixture.all() {
            guard let expected = model.loss else { continue }
            let found = try model.weights(T.self).loss(for: model.tokens)
            #expect(found.isFinite, "loss \(model.name) is finite")
            // The loss is float64 in both precisions; its tolerance is that of the weights' precision.
            expectClose([T(found)], [expected], "loss \(model.name)")
            if case let .finite(notebook) = model.notebook_loss {
                expectClose([T(found)], [notebook], "loss \(model.name) vs the notebook's")
            }
        }
    }

    @Test func logitsF64() throws { try logits(Double.self) }
    @Test func logitsF32() throws { try logits(Float.self) }
    @Test func lossF64() throws { try loss(Double.self) }
    @Test func lossF32() throws { try loss(Float.self) }

    @Test func lossStaysFiniteWhereNotebookOverflows() throws {
        let model = try ModelFixture.named("large_logits")
        guard case .infinite = model.notebook_loss else {
            Issue.record("fixture large_logits should overflow the notebook's loss")
            return
        }
        let loss = try model.weights(Double.self).loss(for: model.tokens)
        #expect(loss.isFinite && loss > 100)
    }

    @Test func unembedIsTiedToEmbedding() throws {
        let model = try ModelFixture.named("basic")
        let W_E: Tensor<Double> = try model.W_E.tensor()
        let x = try Tensor(shape: [2, W_E.shape[1]], scalars: Array(W_E.scalars[0..<(2 * W_E.shape[1])]))
        let logits = try Kernels.unembed(x, W_E: W_E)
        let d = W_E.shape[1]
        // logits[i][v] is the dot product of rows i and v of W_E.
        for i in 0..<2 {
            for v in 0..<W_E.shape[0] {
                var dot = 0.0
                for j in 0..<d { dot += W_E.scalars[i * d + j] * W_E.scalars[v * d + j] }
                #expect(abs(logits.scalars[i * W_E.shape[0] + v] - dot) <= 1e-12 * max(abs(dot), 1))
            }
        }
    }
}
