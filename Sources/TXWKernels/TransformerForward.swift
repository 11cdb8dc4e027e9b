extension TransformerWeights {
    /// The notebook's `transformer`: m tokens → (m, V) logits.
    ///
    /// `W_E[tokens] + positions`, the blocks in order, then `·W_Eᵀ`, with
    /// `configuration`'s threads and instruction set (the result does not
    /// depend on the thread count). Throws for an empty sequence or a token
    /// outside the vocabulary.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func logits(for tokens: [Int], configuration: KernelConfiguration = .default) throws -> Tensor<Scalar> {
        try Kernels.checkTokens(tokens, vocabSize: hyperparameters.vocabSize)
        let (m, V) = (tokens.count, hyperparameters.vocabSize)
        var out = [Scalar](repeating: 0, count: m * V)
        configuration.applied {
            out.withUnsafeMutableBufferPointer { ob in
                forwardRaw(tokens: tokens, logits: ob.baseAddress!)
            }
        }
        return Tensor(uncheckedShape: [m, V], scalars: out)
    }

    /// The last position's logits (V) of a full pass over `tokens` (m ≥ 1
    /// valid tokens, checked): the same values as the last row of
    /// `logits(for:)`, without unembedding the other rows.
    func lastLogits(for tokens: [Int], configuration: KernelConfiguration = .default) throws -> [Scalar] {
        try Kernels.checkTokens(tokens, vocabSize: hyperparameters.vocabSize)
        var out = [Scalar](repeating: 0, count: hyperparameters.vocabSize)
        configuration.applied {
            out.withUnsafeMutableBufferPointer { ob in
                SequenceForward.run(self, tokens: tokens, logits: ob.baseAddress!, logitRows: 1)
            }
        }
        return out
    }

    /// Unchecked forward pass for m ≥ 1 valid tokens into `logits` (m, V)
    /// (`SequenceForward`), with the calling thread's configuration.
    func forwardRaw(tokens: [Int], logits: UnsafeMutablePointer<Scalar>) {
        SequenceForward.run(self, tokens: tokens, logits: logits)
    }
}
