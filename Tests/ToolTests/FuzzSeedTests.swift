import Foundation
import Testing
import TXWTestSupport

/// Every fuzz target runs its seed corpus through `exercise` (the corpus
/// runner, `txw-fuzz TARGET FILE...`, the same code libFuzzer drives): the
/// targets stay compiled and their invariants hold on the seeds. A broken
/// invariant is a `fatalError`, so the runner would not exit 0.
struct FuzzSeedTests {
    func files(_ directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            .filter { !$0.hasPrefix(".") && !$0.hasSuffix(".json") && !$0.hasSuffix(".md") }
            .map { directory.appendingPathComponent($0).path }
    }

    @Test(arguments: ["container", "resume", "tokenizer"])
    func seedCorpusRuns(target: String) throws {
        var seeds: [String]
        switch target {
        case "container":
            seeds = try files(fixturesDirectory("malformed")) + files(fixturesDirectory("import"))
                + [repositoryRoot.appendingPathComponent("samples/golden.txw").path]
        default:
            seeds = try files(fixturesDirectory("fuzz").appendingPathComponent(target))
        }
        #expect(seeds.count >= 8)
        let result = try tool("txw-fuzz", [target] + seeds, timeout: 300)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "ran \(seeds.count) inputs (\(target))\n", "\(result.stdout)")
    }

    /// An unknown target is refused, not silently run as another.
    @Test func unknownTargetIsRefused() throws {
        let result = try tool("txw-fuzz", [], environment: ["TXW_FUZZ_TARGET": "nonsense"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("container, resume, tokenizer"))
    }
}
