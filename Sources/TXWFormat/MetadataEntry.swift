/// One metadata key and its value.
public struct MetadataEntry: Sendable, Equatable {
    public var key: String
    public var value: MetadataValue

    public init(key: String, value: MetadataValue) {
        self.key = key
        self.value = value
    }
}
