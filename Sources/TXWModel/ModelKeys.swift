/// The metadata keys of the model profile (Spec/txw-format.md §2.1).
public enum ModelKeys {
    /// The prefix reserved for the profile's keys.
    public static let prefix = "model."
    /// V (int).
    public static let vocabSize = "model.vocab_size"
    /// d_model (int).
    public static let dModel = "model.d_model"
    /// n_head (int).
    public static let nHead = "model.n_head"
    /// d_head (int).
    public static let dHead = "model.d_head"
    /// d_mlp (int).
    public static let dMLP = "model.d_mlp"
    /// n_block (int).
    public static let nBlock = "model.n_block"
    /// rmsnorm's ε (float).
    public static let rmsnormEpsilon = "model.rmsnorm_epsilon"
    /// The positional embedding's base (float).
    public static let positionalBase = "model.positional_base"
    /// The causal mask's value (float).
    public static let maskValue = "model.mask_value"
    /// The vocabulary, one string per token id (strings; optional).
    public static let vocab = "model.vocab"
    /// The longest token sequence the model was trained to see (int,
    /// 1 … `maximumContextLength`; optional, format version 1.1 and later).
    /// Nothing in the math uses it; the tools take it as their default window.
    public static let contextLength = "model.context_length"

    /// The largest `model.context_length`: 2^24.
    public static let maximumContextLength = 1 << 24

    /// The profile's keys and the minor format version that added each
    /// (Spec/txw-format.md §2.1, §2.3): a file declaring minor version m may
    /// hold the keys added in m or before.
    static let since: [String: UInt16] = [
        vocabSize: 0, dModel: 0, nHead: 0, dHead: 0, dMLP: 0, nBlock: 0, rmsnormEpsilon: 0, positionalBase: 0,
        maskValue: 0, vocab: 0, contextLength: 1,
    ]

    /// True for keys the profile reserves.
    public static func isReserved(_ key: String) -> Bool { key.utf8.starts(with: prefix.utf8) }
}
