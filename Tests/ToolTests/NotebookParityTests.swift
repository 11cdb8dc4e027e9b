import Foundation
import Testing
import TXWTestSupport

/// A model saved from the notebook's arrays (np.savez, np.savez_compressed,
/// safetensors), packed with `txw-pack --from`, run with `txw-run`: the same
/// logits (1e-9 relative in f64), loss and sampled tokens as the numpy reference.
struct NotebookParityTests {
    struct Expected: Decodable {
        struct Logits: Decodable { let shape: [Int]; let data: [Double] }
        struct Sample: Decodable { let prompt: [Int]; let n, k: Int; let t: Double; let seed: String; let tokens: [Int] }
        struct Greedy: Decodable { let prompt: [Int]; let n, k: Int; let tokens: [Int] }
        let tokens: [Int]
        let logits: Logits
        let loss: Double
        let samples: [Sample]
        let greedy: Greedy
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: fixtures.appendingPathComponent("expected.json")))
    }

    static func ids(_ tokens: [Int]) -> String { tokens.map(String.init).joined(separator: " ") }

    @Test(arguments: ["notebook.npz", "notebook_compressed.npz", "notebook.safetensors"])
    func packedModelMatchesTheReference(source: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let model = dir.file("m.txw")
        let pack = try tool("txw-pack", ["--from", fixtures.appendingPathComponent(source).path, "-o", model, "--json"])
        try #require(pack.status == 0, "\(pack.stderr)")
        let packed = try jsonObject(pack.stdout)
        #expect(packed["vocab_size"] as? Int == 12 && packed["n_block"] as? Int == 2 && packed["d_head"] as? Int == 8)
        let e = try Self.expected()

        let logits = try tool("txw-run", [model, "--logits", "--tokens", Self.ids(e.tokens), "--precision", "f64", "--json"])
        try #require(logits.status == 0, "\(logits.stderr)")
        let rows = try #require(try jsonObject(logits.stdout)["logits"] as? [[Double]])
        #expect(rows.count == e.logits.shape[0] && rows.allSatisfy { $0.count == e.logits.shape[1] })
        let flat = rows.flatMap { $0 }
        #expect(zip(flat, e.logits.data).allSatisfy { closeF64($0, $1) }, "f64 logits within 1e-9 relative")

        let f32 = try tool("txw-run", [model, "--logits", "--tokens", Self.ids(e.tokens), "--json"])
        let rows32 = try #require(try jsonObject(f32.stdout)["logits"] as? [[Double]])
        #expect(zip(rows32.flatMap { $0 }, e.logits.data).allSatisfy { abs($0 - $1) <= 1e-4 * max(abs($1), 1) }, "f32 logits within 1e-4")

        let loss = try tool("txw-run", [model, "--loss", "--tokens", Self.ids(e.tokens), "--precision", "f64", "--json"])
        let l = try jsonObject(loss.stdout)
        let value = try #require(l["loss"] as? Double)
        #expect(closeF64(value, e.loss))
        #expect(closeF64(try #require(l["perplexity"] as? Double), Foundation.exp(e.loss)))
        #expect(l["tokens"] as? Int == e.tokens.count)

        for s in e.samples {
            let seed = try #require(UInt64(s.seed.dropFirst(2), radix: 16))
            let run = try tool("txw-run", [model, "--sample", "--tokens", Self.ids(s.prompt), "-n", "\(s.n)", "-k", "\(s.k)",
                                           "-t", "\(s.t)", "--seed", "\(seed)", "--precision", "f64", "--json"])
            try #require(run.status == 0, "\(run.stderr)")
            let out = try jsonObject(run.stdout)
            #expect(out["tokens"] as? [Int] == s.tokens, "seed \(seed)")
            #expect(out["prompt_tokens"] as? [Int] == s.prompt)
            #expect(out["text"] == nil, "no vocabulary, no text")
        }
        let g = e.greedy
        let greedy = try tool("txw-run", [model, "--tokens", Self.ids(g.prompt), "-n", "\(g.n)", "-k", "\(g.k)", "-t", "0", "--precision", "f64", "--json"])
        #expect(try jsonObject(greedy.stdout)["tokens"] as? [Int] == g.tokens)
        // Streamed (non-JSON) output prints the same ids.
        let streamed = try tool("txw-run", [model, "--tokens", Self.ids(g.prompt), "-n", "\(g.n)", "-k", "\(g.k)", "-t", "0", "--precision", "f64"])
        #expect(streamed.stdout == Self.ids(g.tokens) + "\n")
    }
}
