import Foundation
import Testing
import TXWTestSupport

/// txw-inspect: the summary, --json, --verify, --stats, --dump.
struct InspectTests {
    static let golden = repositoryRoot.appendingPathComponent("samples/golden.txw").path

    @Test func summaryShowsEverything() throws {
        let r = try tool("txw-inspect", [Self.golden])
        #expect(r.status == 0 && r.stderr.isEmpty)
        for needle in ["txw format 1.0", "vocab_size 6, d_model 4, n_head 2, d_head 2, d_mlp 8, n_block 2", "parameters:  304",
                       "6 tokens: \"h\" \"e\" \"l\" \"o\" \" \" \"!\"", "golden.int = -42", "blocks.1.W_O", "total (17 tensors)", "1,312"] {
            #expect(r.stdout.contains(needle), "missing \(needle)")
        }
        let json = try jsonObject(try tool("txw-inspect", [Self.golden, "--json"]).stdout)
        #expect(json["format_version"] as? String == "1.0")
        let totals = try #require(json["totals"] as? [String: Any])
        #expect(totals["raw_bytes"] as? Int == 1312 && totals["tensors"] as? Int == 17)
        let tensors = try #require(json["tensors"] as? [[String: Any]])
        #expect(tensors.first?["name"] as? String == "W_E" && tensors.first?["shape"] as? [Int] == [6, 4])
    }

    @Test func statsAndDump() throws {
        let json = try jsonObject(try tool("txw-inspect", [Self.golden, "--stats", "--json"]).stdout)
        let tensors = try #require(json["tensors"] as? [[String: Any]])
        let w1 = try #require(tensors.first { $0["name"] as? String == "blocks.0.W_1" }?["stats"] as? [String: Any])
        // blocks.0.W_1 is tensor 1 of the golden formula: ((7i + 3) mod 23 − 11) / 8, i < 32.
        let values: [Double] = (0..<32).map { (i: Int) -> Double in Double((i * 7 + 3) % 23 - 11) / 8 }
        let low: Double? = values.min(), high: Double? = values.max()
        #expect(w1["min"] as? Double == low)
        #expect(w1["max"] as? Double == high)
        let mean: Double = values.reduce(0, +) / 32
        let foundMean: Double = w1["mean"] as? Double ?? 0
        #expect(abs(foundMean - mean) < 1e-12)
        #expect((w1["histogram"] as? [Int])?.reduce(0, +) == 32 && w1["nan"] as? Int == 0)
        let text = try tool("txw-inspect", [Self.golden, "--stats"]).stdout
        #expect(text.contains("histogram") && text.contains("█"))
        let dump = try jsonObject(try tool("txw-inspect", [Self.golden, "--dump", "blocks.0.W_1", "--json"]).stdout)
        #expect(dump["values"] as? [Double] == values && dump["shape"] as? [Int] == [4, 8] && dump["dtype"] as? String == "f64")
        let rows = try tool("txw-inspect", [Self.golden, "--dump", "blocks.0.W_1"]).stdout.split(separator: "\n")
        #expect(rows.count == 4 && rows[0].split(separator: " ").count == 8)
        let missing = try tool("txw-inspect", [Self.golden, "--dump", "nope"])
        #expect(missing.status == 1 && missing.stderr.contains("no tensor named 'nope'"))
    }

    @Test func verifyReportsEachDamagedBlock() throws {
        let ok = try tool("txw-inspect", [Self.golden, "--verify"])
        #expect(ok.status == 0 && ok.stdout.hasPrefix("OK"))
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.golden)))
        let info = try jsonObject(try tool("txw-inspect", [Self.golden, "--json"]).stdout)
        _ = info
        // Damage the last byte of the file (the last block of blocks.1.W_O) and a byte of W_E's first block.
        bytes[bytes.count - 1] ^= 0x40
        let dataOffset = 64 + ((Int(bytes[16]) | Int(bytes[17]) << 8) + 63) / 64 * 64
        bytes[dataOffset + 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file("bad.txw")))
        let bad = try tool("txw-inspect", [dir.file("bad.txw"), "--verify"])
        #expect(bad.status == 1)
        let lines = bad.stdout.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].contains("tensor 'W_E' block 0") && lines[1].contains("tensor 'blocks.1.W_O' block 0"), "\(bad.stdout)")
        let json = try jsonObject(try tool("txw-inspect", [dir.file("bad.txw"), "--verify", "--json"]).stdout)
        #expect(json["ok"] as? Bool == false && (json["problems"] as? [[String: Any]])?.count == 2)
    }
}
