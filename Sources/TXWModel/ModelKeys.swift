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

    static let all: Set<String> = [vocabSize, dModel, nHead, dHead, dMLP, nBlock, rmsnormEpsilon, positionalBase, maskValue, vocab]

    /// True for keys the profile reserves.
    public static func isReserved(_ key: String) -> Bool { key.utf8.starts(with: prefix.utf8) }
}
