/// The format's checksum for callers' own data (e.g. a training set).
public enum Checksum {
    /// XXH3-64 with seed 0, the checksum of Spec/txw-format.md.
    public static func xxh3(_ bytes: [UInt8]) -> UInt64 { XXHash.xxh3(bytes) }
}
