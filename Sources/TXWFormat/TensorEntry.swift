/// A tensor in the index: its name, element type, shape, encoding and blocks.
/// A `TensorEntry` read from a file has passed every check of §1.3–1.4 that
/// does not need the data itself; only this package's reader and writer
/// make them.
public struct TensorEntry: Sendable, Equatable {
    /// The tensor's name: 1 … 255 bytes of UTF-8, unique in its file.
    public package(set) var name: String
    /// The element type of the decoded bytes.
    public package(set) var dtype: DType
    /// The dimensions, outermost first; `[]` for a scalar.
    public package(set) var shape: [Int]
    /// How each block is compressed.
    public package(set) var codec: Codec
    /// The transform applied to each block before compression.
    public package(set) var filter: Filter
    /// Decoded bytes per block (the last block may be shorter), in bytes.
    public package(set) var blockSize: Int
    /// The blocks in order; together they decode to `rawSize` bytes.
    public package(set) var blocks: [BlockEntry]
    /// File offset of the entry in the manifest, for messages.
    package var indexOffset: Int

    /// The product of the dimensions (1 for rank 0).
    public var elementCount: Int { shape.reduce(1, *) }
    /// Decoded bytes: `elementCount * dtype.size`.
    public var rawSize: Int { elementCount * dtype.size }
    /// Bytes the blocks occupy in the file, padding excluded.
    public var storedSize: Int { blocks.reduce(0) { $0 + $1.storedLength } }
}
