/// One block of a tensor in the index: where its stored bytes are, how long
/// they are stored and decoded, and the XXH3-64 of the stored bytes.
///
/// Only a reader or writer of this package makes them, from a checked index.
public struct BlockEntry: Sendable, Equatable {
    /// Byte offset of the stored block from the start of the file.
    public package(set) var offset: Int
    /// Bytes the block occupies in the file (compressed length for zstd).
    public package(set) var storedLength: Int
    /// Bytes the block decodes to: `blockSize`, less for the tensor's last block.
    public package(set) var rawLength: Int
    /// XXH3-64 (seed 0) of the stored bytes.
    public package(set) var checksum: UInt64

    /// An entry from its parts, unchecked.
    package init(offset: Int, storedLength: Int, rawLength: Int, checksum: UInt64) {
        self.offset = offset
        self.storedLength = storedLength
        self.rawLength = rawLength
        self.checksum = checksum
    }
}
