import Foundation
import Testing
import TXWTestSupport

/// txw-pack: random init, options, vocabularies, re-packing, --force.
struct PackTests {
    static let shape = ["--d-model", "8", "--n-head", "2", "--d-head", "4", "--d-mlp", "16", "--n-block", "2"]

    func inspectJSON(_ path: String) throws -> [String: Any] {
        let r = try tool("txw-inspect", [path, "--json"])
        try #require(r.status == 0, "\(r.stderr)")
        return try jsonObject(r.stdout)
    }

    @Test func randomInitIsDeterministic() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        for (name, seed) in [("a", "7"), ("b", "7"), ("c", "8")] {
            let r = try tool("txw-pack", ["--random", "--vocab-size", "10"] + Self.shape + ["--seed", seed, "-o", dir.file(name + ".txw")])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.hasPrefix("wrote \(dir.file(name + ".txw")): 17 tensors"), "\(r.stdout)")
        }
        let a = try Data(contentsOf: URL(fileURLWithPath: dir.file("a.txw")))
        #expect(a == (try Data(contentsOf: URL(fileURLWithPath: dir.file("b.txw")))), "same seed, same bytes")
        #expect(a != (try Data(contentsOf: URL(fileURLWithPath: dir.file("c.txw")))), "another seed, another model")
        let info = try inspectJSON(dir.file("a.txw"))
        let tensors = try #require(info["tensors"] as? [[String: Any]])
        #expect(tensors.allSatisfy { $0["dtype"] as? String == "f32" && $0["codec"] as? String == "zstd" && $0["filter"] as? String == "shuffle" })
        // Biases start at zero; weights do not.
        let bias = try tool("txw-inspect", [dir.file("a.txw"), "--dump", "blocks.0.b_1", "--json"])
        #expect((try jsonObject(bias.stdout)["values"] as? [Double])?.allSatisfy { $0 == 0 } == true)
        let stats = try inspectJSON(dir.file("a.txw"))
        #expect((stats["model"] as? [String: Any])?["parameters"] as? Int == 10 * 8 + 2 * (8 * 16 + 16 + 16 * 8 + 8 + 3 * 8 * 4 * 2 + 8 * 8))
    }

    @Test func charVocabularyAndTextSampling() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try "hello world\n".write(toFile: dir.file("corpus.txt"), atomically: true, encoding: .utf8)
        let r = try tool("txw-pack", ["--random", "--char-vocab", dir.file("corpus.txt")] + Self.shape + ["-o", dir.file("m.txw"), "--name", "tiny", "--meta", "note=a=b"])
        try #require(r.status == 0, "\(r.stderr)")
        let info = try inspectJSON(dir.file("m.txw"))
        let vocabulary = try #require(info["vocabulary"] as? [String: Any])
        #expect(vocabulary["size"] as? Int == 9)
        #expect(vocabulary["preview"] as? [String] == ["\n", " ", "d", "e", "h", "l", "o", "r", "w"])
        let metadata = try #require(info["metadata"] as? [String: Any])
        #expect(metadata["name"] as? String == "tiny" && metadata["note"] as? String == "a=b")
        #expect((metadata["provenance"] as? String)?.hasPrefix("txw-pack --random") == true)
        let run = try tool("txw-run", [dir.file("m.txw"), "--prompt", "hello", "-n", "12", "--json"])
        let out = try jsonObject(run.stdout)
        #expect(out["prompt_tokens"] as? [Int] == [4, 3, 5, 5, 6])
        let text = try #require(out["text"] as? String)
        #expect(text.unicodeScalars.count == 12 && text.allSatisfy { "\n dehlorw".contains($0) })
        let streamed = try tool("txw-run", [dir.file("m.txw"), "--prompt", "hello", "-n", "12"])
        #expect(streamed.stdout == text + "\n", "streamed text equals the JSON text")
        let loss = try tool("txw-run", [dir.file("m.txw"), "--loss", "--text", "hello world", "--json"])
        let byText = try jsonObject(loss.stdout)
        #expect(byText["tokens"] as? Int == 11)
        // The same text from a file, and as token ids, gives the same loss.
        try "hello world".write(toFile: dir.file("text.txt"), atomically: true, encoding: .utf8)
        let byFile = try jsonObject(try tool("txw-run", [dir.file("m.txw"), "--loss", "--text-file", dir.file("text.txt"), "--json"]).stdout)
        let byIds = try jsonObject(try tool("txw-run", [dir.file("m.txw"), "--loss", "--tokens", "4 3 5 5 6 1 8 6 7 5 2", "--json"]).stdout)
        #expect(byFile["loss"] as? Double == byText["loss"] as? Double && byIds["loss"] as? Double == byText["loss"] as? Double)
        let human = try tool("txw-run", [dir.file("m.txw"), "--loss", "--text", "hello world"]).stdout
        #expect(human.hasPrefix("loss ") && human.contains("perplexity") && human.contains("tokens 11"))
        let logits = try jsonObject(try tool("txw-run", [dir.file("m.txw"), "--logits", "--text", "he", "--json"]).stdout)
        #expect((logits["logits"] as? [[Double]])?.map(\.count) == [9, 9])
    }

    @Test func storageOptionsAndRepack() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let source = dir.file("m.txw")
        #expect(try tool("txw-pack", ["--random", "--vocab-size", "6"] + Self.shape + ["-o", source, "--dtype", "f64"]).status == 0)
        let variants: [([String], (([String: Any]) -> Bool))] = [
            (["--dtype", "f16"], { $0["dtype"] as? String == "f16" }),
            (["--dtype", "bf16"], { $0["dtype"] as? String == "bf16" }),
            (["--stored"], { $0["codec"] as? String == "stored" && $0["filter"] as? String == "none" && $0["dtype"] as? String == "f64" }),
            (["--no-shuffle", "--level", "19"], { $0["codec"] as? String == "zstd" && $0["filter"] as? String == "none" }),
            (["--block-size", "64"], { ($0["blocks"] as? Int ?? 0) == (($0["raw_bytes"] as? Int ?? 0) + 63) / 64 }),
        ]
        for (flags, check) in variants {
            let out = dir.file("v.txw")
            let r = try tool("txw-pack", ["--from", source, "-o", out, "--force"] + flags)
            #expect(r.status == 0, "\(flags): \(r.stderr)")
            let tensors = try #require(try inspectJSON(out)["tensors"] as? [[String: Any]])
            #expect(tensors.count == 17 && tensors.allSatisfy(check), "\(flags)")
        }
        // Re-packing without a dtype change keeps every value bit for bit.
        #expect(try tool("txw-pack", ["--from", source, "-o", dir.file("same.txw"), "--level", "1"]).status == 0)
        for name in ["W_E", "blocks.1.W_O"] {
            let a = try tool("txw-inspect", [source, "--dump", name, "--json"]).stdout
            let b = try tool("txw-inspect", [dir.file("same.txw"), "--dump", name, "--json"]).stdout
            #expect(a == b)
        }
    }

    @Test func vocabularyFileAndForce() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try #"["a", "b", "ab", "\n"]"#.write(toFile: dir.file("v.json"), atomically: true, encoding: .utf8)
        let out = dir.file("m.txw")
        #expect(try tool("txw-pack", ["--random", "--vocab", dir.file("v.json")] + Self.shape + ["-o", out]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: out))
        let again = try tool("txw-pack", ["--random", "--vocab", dir.file("v.json")] + Self.shape + ["-o", out, "--seed", "1"])
        #expect(again.status == 1 && again.stderr.contains("exists") && again.stderr.split(separator: "\n").count == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == before, "not replaced without --force")
        #expect(try tool("txw-pack", ["--random", "--vocab", dir.file("v.json")] + Self.shape + ["-o", out, "--seed", "1", "--force"]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) != before)
        let mismatch = try tool("txw-pack", ["--random", "--vocab", dir.file("v.json"), "--vocab-size", "5"] + Self.shape + ["-o", dir.file("x.txw")])
        #expect(mismatch.status == 64 && mismatch.stderr.contains("disagrees"))
        let run = try tool("txw-run", [out, "--prompt", "abab", "-n", "3", "--json"])
        #expect(try jsonObject(run.stdout)["prompt_tokens"] as? [Int] == [2, 2], "greedy longest match")
        #expect(dir.contents() == ["m.txw", "v.json"], "nothing else written")
    }
}
