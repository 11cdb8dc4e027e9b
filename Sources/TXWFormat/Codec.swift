/// How a block's bytes are stored (Spec/txw-format.md §1.4).
public enum Codec: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// The filtered bytes as they are; memory-mappable when unfiltered.
    case stored = 0
    /// One Zstandard frame.
    case zstd = 1

    public var description: String { self == .stored ? "stored" : "zstd" }
}
