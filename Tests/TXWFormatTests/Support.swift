/// Deterministic test values: `count` doubles in roughly [-8, 8] from a 64-bit LCG.
func testValues(_ count: Int, seed: UInt64) -> [Double] {
    var state = seed &* 6364136223846793005 &+ 1442695040888963407
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(Int64(bitPattern: state >> 11) % 1_000_000) / 125_000
    }
}
