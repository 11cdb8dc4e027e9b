/// Overflow-checked arithmetic on lengths and offsets read from a file: an
/// overflow throws `ImportError.limit` naming the value, never traps.
enum Checked {
    static func add(_ a: Int, _ b: Int, _ what: @autoclosure () -> String, offset: Int) throws -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else {
            throw ImportError.limit(what: what(), offset: offset, value: "\(a) + \(b)", limit: "\(Int.max)")
        }
        return sum
    }

    static func multiply(_ a: Int, _ b: Int, _ what: @autoclosure () -> String, offset: Int) throws -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else {
            throw ImportError.limit(what: what(), offset: offset, value: "\(a) × \(b)", limit: "\(Int.max)")
        }
        return product
    }

    /// A `UInt64` from the file as an `Int`, or `limit` when it does not fit.
    static func int(_ value: UInt64, _ what: @autoclosure () -> String, offset: Int) throws -> Int {
        guard let v = Int(exactly: value) else {
            throw ImportError.limit(what: what(), offset: offset, value: "\(value)", limit: "\(Int.max)")
        }
        return v
    }
}
