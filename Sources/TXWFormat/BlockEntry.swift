/// One block of a tensor in the index: where its stored bytes are, how long
/// they are stored and decoded, and the XXH3-64 of the stored bytes.
public struct BlockEntry: Sendable, Equatable {
    public var offset: Int
    public var storedLength: Int
    public var rawLength: Int
    public var checksum: UInt64

    public init(offset: Int, storedLength: Int, rawLength: Int, checksum: UInt64) {
        self.offset = offset
        self.storedLength = storedLength
        self.rawLength = rawLength
        self.checksum = checksum
    }
}
