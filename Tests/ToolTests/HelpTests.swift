import Testing

/// Every tool's --help names every flag.
struct HelpTests {
    static let flags: [(String, [String])] = [
        ("txw-pack", ["--output", "--random", "--from", "--vocab-size", "--d-model", "--n-head", "--d-head", "--d-mlp", "--n-block",
                      "--seed", "--dtype", "--level", "--no-shuffle", "--stored", "--block-size", "--vocab", "--char-vocab",
                      "--name", "--meta", "--force", "--json"]),
        ("txw-inspect", ["--verify", "--stats", "--dump", "--json"]),
        ("txw-run", ["--sample", "--loss", "--logits", "--prompt", "--tokens", "--text", "--text-file", "-n", "-k", "-t",
                     "--seed", "--precision", "--json"]),
        ("txw-train", ["--output", "--init", "--random", "--vocab-size", "--d-model", "--vocab", "--data", "--steps",
                       "--batch", "--context", "--lr", "--seed", "--eval-every", "--val-fraction", "--checkpoint-every",
                       "--resume", "--json"]),
    ]

    @Test(arguments: 0..<4)
    func helpListsEveryFlag(index: Int) throws {
        let (name, flags) = Self.flags[index]
        let r = try tool(name, ["--help"])
        #expect(r.status == 0)
        for flag in flags { #expect(r.stdout.contains(flag + " ") || r.stdout.contains(flag + ","), "\(name) --help lacks \(flag)") }
        #expect(r.stdout.contains("Exit status"))
    }
}
