import TXWFormat

/// One array from an external file (`.npz` or `.safetensors`): little-endian
/// bytes in C (row-major) order, whatever order and byte order the file used.
///
/// Only this package makes them — the importers, and `ModelArrays` from a
/// `.txw` file or a random initialisation — each from parts it has checked,
/// so a value always holds `shape`'s elements as `dtype`; users read them.
public struct ImportedArray: Sendable, Equatable {
    /// For an npz member, its name without the `.npy` suffix; for a
    /// safetensors tensor, the tensor's name.
    public package(set) var name: String
    /// `.f16`, `.f32`, `.f64`, or `.bf16` (bf16 only from safetensors).
    public package(set) var dtype: DType
    /// The dimensions, outermost first; `[]` for a scalar. Every dimension
    /// is in 1 … 2^40, the rank at most 8 (Spec/txw-format.md §1.6).
    public package(set) var shape: [Int]
    /// `elementCount * dtype.size` bytes, little-endian, C order.
    public package(set) var bytes: [UInt8]

    /// An array from its parts, unchecked: `bytes.count` must be
    /// `elementCount * dtype.size`, and `shape` within the rules above.
    package init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// The number of elements: the product of `shape` (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
}
