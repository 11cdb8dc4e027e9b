import Testing
@testable import TXWKernels

/// Past the kept table, positions are computed per call: a long decode
/// computes O(1) rows per token, with no cliff (issue 12, class 5), and the
/// values are the table's, bit for bit.
struct PositionTableTests {
    /// Rows computed while adding positions one at a time, from `first` for `count` tokens.
    static func rowsComputed(first: Int, count: Int, dModel: Int, base: Double) -> Int {
        var rows = 0
        var x = [Double](repeating: 0, count: dModel)
        for p in first..<(first + count) {
            x.withUnsafeMutableBufferPointer {
                Kernels.addPositions(rows: 1, firstPosition: p, dModel: dModel, base: base, into: $0.baseAddress!, rowsComputed: &rows)
            }
        }
        return rows
    }

    @Test func decodingPastTheKeptTableIsLinear() {
        let kept = PositionTable.keptRows
        // A base no other test uses, so the shared table starts empty for it.
        #expect(Self.rowsComputed(first: kept, count: 300, dModel: 4, base: 12_345.5) == 300)
        #expect(Self.rowsComputed(first: kept, count: 600, dModel: 4, base: 12_345.5) == 600)
        // From position 0 the kept table grows geometrically (64, 128, …, keptRows rows), then one row per token.
        let fromStart = Self.rowsComputed(first: 0, count: kept + 300, dModel: 2, base: 23_456.5)
        #expect(fromStart <= 2 * kept + 300)
    }

    @Test func rowsPastTheTableMatchTheTable() {
        let kept = PositionTable.keptRows
        let dModel = 6
        let full = PositionTable.compute(from: 0, count: kept + 40, dModel: dModel, base: 10_000)
        var x = [Float](repeating: 0.25, count: 50 * dModel)
        x.withUnsafeMutableBufferPointer {
            Kernels.addPositions(rows: 50, firstPosition: kept - 10, dModel: dModel, base: 10_000, into: $0.baseAddress!)
        }
        for i in 0..<(50 * dModel) {
            #expect(x[i] == Float(Double(Float(0.25)) + full[(kept - 10) * dModel + i]))
        }
    }
}
