/// Summary statistics of a tensor's values, over the finite ones.
package struct TensorStatistics: Sendable {
    package var count = 0
    package var nanCount = 0
    package var infCount = 0
    package var min = Double.nan
    package var max = Double.nan
    package var mean = Double.nan
    package var std = Double.nan
    /// Counts of the finite values in `bins` equal-width bins over [min, max].
    package var histogram: [Int] = []

    package init(_ values: [Double], bins: Int = 16) {
        count = values.count
        var finite: [Double] = []
        finite.reserveCapacity(values.count)
        for v in values {
            if v.isNaN { nanCount += 1 } else if v.isInfinite { infCount += 1 } else { finite.append(v) }
        }
        guard let lo = finite.min(), let hi = finite.max() else { return }
        min = lo
        max = hi
        // Two passes (mean, then squared deviations) for accuracy.
        let n = Double(finite.count)
        mean = finite.reduce(0, +) / n
        std = (finite.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
        histogram = [Int](repeating: 0, count: bins)
        let width = hi - lo
        for v in finite {
            let index = width > 0 ? Swift.min(Int((v - lo) / width * Double(bins)), bins - 1) : bins / 2
            histogram[index] += 1
        }
    }

    /// The histogram as block characters, tallest bin full height.
    package var sparkline: String {
        let bars: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        guard let top = histogram.max(), top > 0 else { return "" }
        return String(histogram.map { $0 == 0 ? " " : bars[Swift.min(($0 * bars.count - 1) / top, bars.count - 1)] })
    }
}
