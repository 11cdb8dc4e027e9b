import TXWTestSupport
import Foundation
import Testing
import TXWFormat

/// The tools render the libraries' errors in one place (TXWToolSupport's
/// Diagnostics): that is where the advice to pass --force and the flag a
/// kernel argument came from are added; the libraries name no flag.
struct DiagnosticsTests {
    static let shape = ["--vocab-size", "6", "--d-model", "4", "--n-head", "2", "--d-head", "2", "--d-mlp", "8", "--n-block", "1"]

    @Test func theToolAddsForceTheLibraryDoesNot() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let out = dir.file("m.txw")
        #expect(try tool("txw-pack", ["--random"] + Self.shape + ["-o", out]).status == 0)
        let again = try tool("txw-pack", ["--random"] + Self.shape + ["-o", out])
        #expect(again.status == 1)
        #expect(again.stderr == "txw-pack: \(out) exists (pass --force to replace it)\n")
        let library = TXWFormatError.destinationExists(path: out).description
        #expect(library.hasPrefix("\(out) exists") && !library.contains("--force"), "\(library)")
    }

    @Test func aKernelArgumentIsReportedAsItsFlag() throws {
        let r = try tool("txw-pack", ["--random", "--vocab-size", "4", "--d-model", "3", "--n-head", "1", "--d-head", "1",
                                      "--d-mlp", "1", "--n-block", "1", "-o", "x.txw"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--d-model: d_model = 3: must be even"), "\(r.stderr)")
        let big = try tool("txw-pack", ["--random", "--vocab-size", "4", "--d-model", "4", "--n-head", "1", "--d-head", "1",
                                        "--d-mlp", "1", "--n-block", "16777217", "-o", "x.txw"])
        #expect(big.status == 64)
        #expect(big.stderr.contains("--n-block: n_block = 16777217"), "\(big.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "x.txw"))
    }
}
