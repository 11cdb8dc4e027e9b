/// Overflow-checked byte counts for memory estimates: nil stands for "more
/// than any memory" (an overflow, or a nil term). The same arithmetic as
/// `TXWFormat.MemoryBudget.bytes`/`sum`, which the kernels cannot use: they
/// know nothing of files, and the budget belongs to the layers that read them.
package enum CheckedBytes {
    /// The product of `factors` (each ≥ 0), nil on overflow.
    package static func product(_ factors: Int...) -> Int? {
        product(of: factors)
    }

    /// The product of `factors` (each ≥ 0: a tensor's shape), nil on overflow.
    package static func product(of factors: [Int]) -> Int? {
        var result = 1
        for f in factors {
            guard f >= 0 else { return nil }
            let (p, overflow) = result.multipliedReportingOverflow(by: f)
            if overflow { return nil }
            result = p
        }
        return result
    }

    /// The sum of `terms`, nil when a term is nil or the sum overflows.
    package static func sum(_ terms: [Int?]) -> Int? {
        var total = 0
        for term in terms {
            guard let term, term >= 0 else { return nil }
            let (next, overflow) = total.addingReportingOverflow(term)
            if overflow { return nil }
            total = next
        }
        return total
    }
}
