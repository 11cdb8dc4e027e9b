/// Summary statistics of a tensor's values, over the finite ones.
///
/// Total for every input: NaN and ±∞ elements are counted (`nanCount`,
/// `infCount`) and left out of the rest; sums and spans that would overflow
/// (values near ±1.8e308) are computed scaled, so `min`, `max`, `mean` and
/// `std` stay finite whenever there is a finite value, and every conversion
/// to a bin index is clamped before it becomes an `Int`.
package struct TensorStatistics: Sendable {
    package var count = 0
    package var nanCount = 0
    package var infCount = 0
    package var min = Double.nan
    package var max = Double.nan
    package var mean = Double.nan
    package var std = Double.nan
    /// Counts of the finite values in `bins` equal-width bins over [min, max]
    /// (all in the middle bin when min == max); empty without a finite value.
    package var histogram: [Int] = []

    package init(_ values: [Double], bins: Int = 16) {
        count = values.count
        // The finite values are visited in place (no copy: the values may be
        // most of the memory budget).
        let finite = values.lazy.filter(\.isFinite)
        var lo = Double.infinity, hi = -Double.infinity, finiteCount = 0
        for v in values {
            if v.isNaN { nanCount += 1 } else if v.isInfinite { infCount += 1 } else {
                finiteCount += 1
                if v < lo { lo = v }
                if v > hi { hi = v }
            }
        }
        guard finiteCount > 0 else { return }
        min = lo
        max = hi
        // Two passes (mean, then squared deviations) for accuracy.
        let n = Double(finiteCount)
        mean = finite.reduce(0, +) / n
        if !mean.isFinite {
            // The sum overflowed: Σ v/n stays within [lo, hi].
            mean = Swift.min(Swift.max(finite.reduce(0) { $0 + $1 / n }, lo), hi)
        }
        std = (finite.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
        if !std.isFinite {
            // A deviation or its square overflowed: scale by the largest
            // magnitude, so every scaled deviation is within [-2, 2].
            let scale = Swift.max(lo.magnitude, hi.magnitude)
            let scaledMean = mean / scale
            let variance = finite.reduce(0) { $0 + ($1 / scale - scaledMean) * ($1 / scale - scaledMean) } / n
            std = Swift.min(variance.squareRoot() * scale, .greatestFiniteMagnitude)
        }
        let bins = Swift.max(bins, 1)
        histogram = [Int](repeating: 0, count: bins)
        // hi - lo overflows for values of opposite sign near the limits; the
        // halves' difference never does.
        var width = hi - lo, offset = lo, halve = false
        if !width.isFinite { (width, offset, halve) = (hi / 2 - lo / 2, lo / 2, true) }
        for v in finite {
            var index = bins / 2
            if width > 0 {
                let position = ((halve ? v / 2 : v) - offset) / width * Double(bins)
                index = position.isFinite ? Int(Swift.min(Swift.max(position, 0), Double(bins - 1))) : bins - 1
            }
            histogram[index] += 1
        }
    }

    /// The histogram as block characters, tallest bin full height.
    package var sparkline: String {
        let bars: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        guard let top = histogram.max(), top > 0 else { return "" }
        // A count is at most an array's length, so count × 8 cannot overflow.
        return String(histogram.map { $0 == 0 ? " " : bars[Swift.min(($0 * bars.count - 1) / top, bars.count - 1)] })
    }
}
