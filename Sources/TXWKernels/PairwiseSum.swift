/// numpy's summation order for a contiguous float64 vector (`np.sum`): a
/// plain loop below 8 elements, 8 interleaved partial sums up to 128, and a
/// recursive split (at half the length rounded down to a multiple of 8) above.
/// Used where the sampler must match numpy's probabilities bit for bit.
enum PairwiseSum {
    static func sum(_ a: UnsafeBufferPointer<Double>) -> Double {
        let n = a.count
        if n < 8 {
            var result = 0.0
            for v in a { result += v }
            return result
        }
        if n <= 128 {
            var r = (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7])
            var i = 8
            while i < n - n % 8 {
                r.0 += a[i]; r.1 += a[i + 1]; r.2 += a[i + 2]; r.3 += a[i + 3]
                r.4 += a[i + 4]; r.5 += a[i + 5]; r.6 += a[i + 6]; r.7 += a[i + 7]
                i += 8
            }
            var result = ((r.0 + r.1) + (r.2 + r.3)) + ((r.4 + r.5) + (r.6 + r.7))
            while i < n {
                result += a[i]
                i += 1
            }
            return result
        }
        var half = n / 2
        half -= half % 8
        return sum(UnsafeBufferPointer(rebasing: a[0..<half])) + sum(UnsafeBufferPointer(rebasing: a[half..<n]))
    }
}
