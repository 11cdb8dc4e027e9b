import TXWFormat

/// The shape rules txw imposes on an imported array (Spec/txw-format.md §1.6):
/// rank ≤ 8, every dimension in 1 … 2^40, at most 2^40 elements.
enum ShapeCheck {
    /// Checks `shape` (of the array `what`, declared at `offset`) and returns
    /// its byte length as `dtype`.
    static func byteCount(_ shape: [Int], dtype: DType, _ what: @autoclosure () -> String, offset: Int) throws -> Int {
        guard shape.count <= FormatLimits.maxRank else {
            throw ImportError.invalidShape(what: what(), offset: offset, shape: shape,
                                           detail: "has rank \(shape.count), beyond the limit \(FormatLimits.maxRank)")
        }
        var elements = 1
        for (axis, dim) in shape.enumerated() {
            guard dim >= 1 else {
                throw ImportError.invalidShape(what: what(), offset: offset, shape: shape,
                                               detail: "has dimension \(dim) on axis \(axis); txw needs every dimension ≥ 1")
            }
            guard UInt64(dim) <= FormatLimits.maxDimension else {
                throw ImportError.invalidShape(what: what(), offset: offset, shape: shape,
                                               detail: "has dimension \(dim) on axis \(axis), beyond the limit 2^40")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow, UInt64(product) <= FormatLimits.maxElements else {
                throw ImportError.invalidShape(what: what(), offset: offset, shape: shape,
                                               detail: "has more than 2^40 elements")
            }
            elements = product
        }
        return try Checked<ImportError>.multiply(elements, dtype.size, "\(what()) byte length", offset: offset)
    }
}
