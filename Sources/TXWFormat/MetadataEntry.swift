/// One metadata key and its value.
public struct MetadataEntry: Sendable, Equatable {
    /// The key: 1 … 255 bytes of UTF-8, unique in its file.
    public var key: String
    /// The typed value.
    public var value: MetadataValue

    /// An entry of `key` and `value` (checked when written, by `TXWWriter.setMetadata`).
    public init(key: String, value: MetadataValue) {
        self.key = key
        self.value = value
    }
}
