/// The metadata keys of the model profile (Spec/txw-format.md §2.1).
public enum ModelKeys {
    public static let prefix = "model."
    public static let vocabSize = "model.vocab_size"
    public static let dModel = "model.d_model"
    public static let nHead = "model.n_head"
    public static let dHead = "model.d_head"
    public static let dMLP = "model.d_mlp"
    public static let nBlock = "model.n_block"
    public static let rmsnormEpsilon = "model.rmsnorm_epsilon"
    public static let positionalBase = "model.positional_base"
    public static let maskValue = "model.mask_value"
    public static let vocab = "model.vocab"

    static let all: Set<String> = [vocabSize, dModel, nHead, dHead, dMLP, nBlock, rmsnormEpsilon, positionalBase, maskValue, vocab]

    /// True for keys the profile reserves.
    public static func isReserved(_ key: String) -> Bool { key.utf8.starts(with: prefix.utf8) }
}
