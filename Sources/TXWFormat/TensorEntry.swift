/// A tensor in the index: its name, element type, shape, encoding and blocks.
/// A `TensorEntry` read from a file has passed every check of §1.3–1.4 that
/// does not need the data itself.
public struct TensorEntry: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    public var codec: Codec
    public var filter: Filter
    public var blockSize: Int
    public var blocks: [BlockEntry]
    /// File offset of the entry in the manifest, for messages.
    public var indexOffset: Int

    /// The product of the dimensions (1 for rank 0).
    public var elementCount: Int { shape.reduce(1, *) }
    /// Decoded bytes.
    public var rawSize: Int { elementCount * dtype.size }
    /// Bytes in the file, padding excluded.
    public var storedSize: Int { blocks.reduce(0) { $0 + $1.storedLength } }
}
