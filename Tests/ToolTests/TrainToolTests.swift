import Foundation
import Testing
import TXWTestSupport

/// txw-train end to end: a random model trained on a text, checkpoints with
/// their metadata, determinism, and --resume.
struct TrainToolTests {
    static let shape = ["--d-model", "16", "--n-head", "2", "--d-head", "8", "--d-mlp", "32", "--n-block", "1"]
    static let run = ["--batch", "4", "--context", "16", "--eval-every", "10", "--lr", "1e-2"]

    @Test func trainsCheckpointsAndResumes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let text = (0..<200).map { i in "\(i % 37)+\(i % 11)=\(i % 37 + i % 11)" }.joined(separator: "\n") + "\n"
        try text.write(toFile: dir.file("data.txt"), atomically: true, encoding: .utf8)
        let first = try tool("txw-train", ["-o", dir.file("a.txw"), "--random"] + Self.shape +
                             ["--data", dir.file("data.txt"), "--steps", "40", "--checkpoint-every", "20", "--json"] + Self.run)
        try #require(first.status == 0, "\(first.stderr)")
        let log = first.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(log.count == 4 && log.allSatisfy { $0?["val_loss"] is Double })
        let losses = log.compactMap { $0?["val_loss"] as? Double }
        #expect(losses.last! < losses.first!, "validation loss falls: \(losses)")
        // Same seed, same everything: the same file.
        #expect(try tool("txw-train", ["-o", dir.file("b.txw"), "--random"] + Self.shape +
                         ["--data", dir.file("data.txt"), "--steps", "40", "--checkpoint-every", "20"] + Self.run).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("a.txw"))) == Data(contentsOf: URL(fileURLWithPath: dir.file("b.txw"))))
        let info = try jsonObject(try tool("txw-inspect", [dir.file("a.txw"), "--json"]).stdout)
        let metadata = try #require(info["metadata"] as? [String: Any])
        #expect(metadata["training.steps"] as? Int == 40 && metadata["training.seed"] as? Int == 42)
        #expect((metadata["training.data_xxh3"] as? String)?.count == 16 && metadata["training.val_loss"] is Double)
        #expect(((info["vocabulary"] as? [String: Any])?["size"] as? Int) == 13, "the text's distinct characters")
        // Resume to 60 steps.
        let resumed = try tool("txw-train", ["-o", dir.file("a.txw"), "--resume", "--data", dir.file("data.txt"), "--steps", "60"] + Self.run)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let after = try jsonObject(try tool("txw-inspect", [dir.file("a.txw"), "--json"]).stdout)
        #expect((after["metadata"] as? [String: Any])?["training.steps"] as? Int == 60)
        // Resuming on other data is refused.
        try (text + "1+1=2\n").write(toFile: dir.file("other.txt"), atomically: true, encoding: .utf8)
        let wrong = try tool("txw-train", ["-o", dir.file("a.txw"), "--resume", "--data", dir.file("other.txt"), "--steps", "80"] + Self.run)
        #expect(wrong.status == 1 && wrong.stderr.contains("checksum"))
        // --init from a packed model keeps its vocabulary and user metadata.
        #expect(try tool("txw-pack", ["--random", "--char-vocab", dir.file("data.txt")] + Self.shape + ["-o", dir.file("p.txw"), "--name", "packed"]).status == 0)
        let fromInit = try tool("txw-train", ["-o", dir.file("c.txw"), "--init", dir.file("p.txw"), "--data", dir.file("data.txt"), "--steps", "10"] + Self.run)
        #expect(fromInit.status == 0, "\(fromInit.stderr)")
        let c = try jsonObject(try tool("txw-inspect", [dir.file("c.txw"), "--json"]).stdout)
        #expect((c["metadata"] as? [String: Any])?["name"] as? String == "packed")
        #expect(Set(dir.contents()) == ["a.txw", "a.txw.adam", "b.txw", "b.txw.adam", "c.txw", "c.txw.adam", "data.txt", "other.txt", "p.txw"])
    }
}
