/// A dense row-major tensor: a shape and its scalars, the last axis contiguous.
///
/// The initialiser checks that the shape is valid (no negative dimension, no
/// overflowing product) and that it matches the number of scalars, so every
/// `Tensor` that exists is consistent and the kernels can index it unchecked.
public struct Tensor<Scalar: KernelScalar>: Sendable, Equatable {
    /// The dimensions, outermost first; `[]` for a scalar.
    public let shape: [Int]
    /// The values in row-major (C) order: the product of `shape` of them.
    public private(set) var scalars: [Scalar]

    /// Creates a tensor; `what` names it in the error if the shape and the
    /// number of scalars disagree.
    public init(shape: [Int], scalars: [Scalar], what: String = "tensor") throws {
        let count = try Tensor.elementCount(of: shape, what: what)
        guard count == scalars.count else {
            throw KernelError.elementCountMismatch(what: what, shape: shape, expected: count, found: scalars.count)
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int], what: String = "tensor") throws {
        let count = try Tensor.elementCount(of: shape, what: what)
        self.shape = shape
        self.scalars = [Scalar](repeating: 0, count: count)
    }

    /// Trusted initialiser for shapes the kernels computed themselves.
    @usableFromInline
    init(uncheckedShape shape: [Int], scalars: [Scalar]) {
        self.shape = shape
        self.scalars = scalars
    }

    /// The number of dimensions.
    public var rank: Int { shape.count }
    /// The number of values: the product of `shape`.
    public var count: Int { scalars.count }

    /// The same scalars converted to another precision.
    public func converted<Other: KernelScalar>(to: Other.Type = Other.self) -> Tensor<Other> {
        Tensor<Other>(uncheckedShape: shape, scalars: scalars.map { Other($0) })
    }

    /// The product of `shape`, with every dimension checked to be ≥ 0 and the
    /// product checked for overflow.
    package static func elementCount(of shape: [Int], what: String) throws -> Int {
        var count = 1
        for (axis, dim) in shape.enumerated() {
            guard dim >= 0 else {
                throw KernelError.invalidDimension(what: what, detail: "dimension \(axis) is \(dim), must be ≥ 0")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else {
                throw KernelError.invalidDimension(
                    what: what, detail: "shape \(KernelError.shape(shape)) has more elements than Int can count")
            }
            count = product
        }
        return count
    }

    /// Mutable access to the scalars without changing their count.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// Read access to the scalars.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try scalars.withUnsafeBufferPointer { try body($0) }
    }
}
