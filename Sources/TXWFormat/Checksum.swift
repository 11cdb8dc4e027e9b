/// The format's checksum for this package's own data (e.g. txw-train's record of its training set).
package enum Checksum {
    /// XXH3-64 with seed 0, the checksum of Spec/txw-format.md.
    package static func xxh3(_ bytes: [UInt8]) -> UInt64 { XXHash.xxh3(bytes) }
}
