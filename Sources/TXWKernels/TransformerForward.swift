extension TransformerWeights {
    /// The notebook's `transformer`: m tokens → (m, V) logits.
    ///
    /// `W_E[tokens] + positions`, the blocks in order, then `·W_Eᵀ`.
    /// Throws for an empty sequence or a token outside the vocabulary.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func logits(for tokens: [Int]) throws -> Tensor<Scalar> {
        try Kernels.checkTokens(tokens, vocabSize: hyperparameters.vocabSize)
        let (m, V) = (tokens.count, hyperparameters.vocabSize)
        var out = [Scalar](repeating: 0, count: m * V)
        out.withUnsafeMutableBufferPointer { ob in
            forwardRaw(tokens: tokens, logits: ob.baseAddress!)
        }
        return Tensor(uncheckedShape: [m, V], scalars: out)
    }

    /// Unchecked forward pass for m ≥ 1 valid tokens into `logits` (m, V)
    /// (`SequenceForward`).
    func forwardRaw(tokens: [Int], logits: UnsafeMutablePointer<Scalar>) {
        SequenceForward.run(self, tokens: tokens, logits: logits)
    }
}
