import Foundation
import Testing
import TXWTestSupport

/// `txw-run --report OUT.html`: what it writes and what it refuses.
struct ReportToolTests {
    static let reversal = repositoryRoot.appendingPathComponent("samples/reversal.txw").path

    @Test func writesThePageAndRefusesWhatItShould() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let page = dir.file("page.html")
        let made = try tool("txw-run", [Self.reversal, "--report", page, "--text", "ab>ba", "--json"])
        #expect(made.status == 0 && made.stderr.isEmpty, "\(made.stderr)")
        let summary = try jsonObject(made.stdout)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(summary["bytes"] as? Int == html.utf8.count && summary["tokens"] as? Int == 5 && summary["k"] as? Int == 5, "\(summary)")
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("default-src 'none'"))

        // The name must say HTML.
        let txt = try tool("txw-run", [Self.reversal, "--report", dir.file("page.txt"), "--text", "ab"])
        #expect(txt.status == 64 && txt.stderr.contains("must end in .html or .htm"), "\(txt.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("page.txt")))
        // An existing page is kept without --force, replaced with it.
        let again = try tool("txw-run", [Self.reversal, "--report", page, "--text", "ab"])
        #expect(again.status == 1 && again.stderr.contains("pass --force"), "\(again.stderr)")
        let kept = try String(contentsOfFile: page, encoding: .utf8)
        #expect(kept == html)
        let forced = try tool("txw-run", [Self.reversal, "--report", page, "--text", "ab", "--force"])
        let replaced = try String(contentsOfFile: page, encoding: .utf8)
        #expect(forced.status == 0 && replaced != html, "\(forced.stderr)")
        // One mode at a time; '-' and --json exclude each other.
        let two = try tool("txw-run", [Self.reversal, "--report", dir.file("x.html"), "--loss", "--text", "ab"])
        #expect(two.status == 64 && two.stderr.contains("--report OUT.html is a mode of its own"), "\(two.stderr)")
        let both = try tool("txw-run", [Self.reversal, "--report", dir.file("x.html"), "--cache", dir.file("x.npz"), "--text", "ab"])
        #expect(both.status == 64, "\(both.stderr)")
        let stdoutJSON = try tool("txw-run", [Self.reversal, "--report", "-", "--text", "ab", "--json"])
        #expect(stdoutJSON.status == 64 && stdoutJSON.stderr.contains("--json cannot"), "\(stdoutJSON.stderr)")
        let noInput = try tool("txw-run", [Self.reversal, "--report", dir.file("x.html"), "--prompt", "ab"])
        #expect(noInput.status == 64 && noInput.stderr.contains("--report needs --tokens, --text"), "\(noInput.stderr)")
    }

    @Test func pageToStandardOutputOneTokenAndAblation() throws {
        let out = try tool("txw-run", [Self.reversal, "--report", "-", "--text", "acdfb>bfdca", "--ablate", "blocks.1.attn.head.1"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.hasPrefix("<!DOCTYPE html>") && out.stdout.contains("ablated (zero)") && out.stdout.contains("blocks.1.attn.head.1"))
        // With head 1.1 already ablated, ablating it again changes nothing: its grid cell is 0.
        let grid = try PageText.ablationGrid(out.stdout)
        #expect(grid.count == 8 && grid[5] == 0, "\(grid)")

        // One token: no loss, so no ablation grid; the JSON says loss null.
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let one = try tool("txw-run", [Self.reversal, "--report", dir.file("one.html"), "--tokens", "1", "--json"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(one.stdout.contains("\"loss\":null"), "\(one.stdout)")
        let html = try String(contentsOfFile: dir.file("one.html"), encoding: .utf8)
        let grid1 = try PageText.ablationGrid(html)
        #expect(html.contains("No loss") && grid1.isEmpty)
    }

    @Test func overTheMemoryBudgetIsRefusedBeforeComputing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try "abcdefghijklmnopqrstuvwxyz ".write(toFile: dir.file("corpus.txt"), atomically: true, encoding: .utf8)
        let pack = try tool("txw-pack", ["--random", "--char-vocab", dir.file("corpus.txt"), "--d-model", "32", "--n-head", "4",
                                         "--d-head", "8", "--d-mlp", "64", "--n-block", "4", "--seed", "1", "-o", dir.file("m.txw")])
        try #require(pack.status == 0, "\(pack.stderr)")
        let text = String(repeating: "abcdefghijklmnopqrstuvwxyz ", count: 10)
        let refused = try tool("txw-run", [dir.file("m.txw"), "--report", dir.file("r.html"), "--text", text, "--max-memory", "8M"])
        #expect(refused.status == 1 && refused.stderr.contains("the report of 270 tokens (4 × 4 attention patterns of 270 × 270)")
                && refused.stderr.contains("over the memory budget of 8,388,608 bytes"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("r.html")))
        let fits = try tool("txw-run", [dir.file("m.txw"), "--report", dir.file("r.html"), "--text", text, "--max-memory", "64M"])
        #expect(fits.status == 0, "\(fits.stderr)")
    }

    /// A NaN in a token's embedding row outside the lens's top k: the lens
    /// and the report refuse it (naming the point and position) instead of
    /// crashing or printing NaN probabilities; the cache is written with a warning.
    @Test func nonFiniteLogitsAreRefusedByTheLensAndTheReport() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let source = dir.file("nan.safetensors"), model = dir.file("nan.txw")
        try NonFiniteWeightTests.writeSafetensors(NonFiniteWeightTests.model { $0["W_E"]![4 * 4] = .nan }, to: source)
        let pack = try tool("txw-pack", ["--from", source, "-o", model, "--allow-nonfinite"])
        try #require(pack.status == 0, "\(pack.stderr)")
        for flags in [["--lens", "-k", "2"], ["--lens", "-k", "2", "--json"], ["--report", dir.file("nan.html")]] {
            let r = try tool("txw-run", [model, "--tokens", "0 1"] + flags)
            #expect(r.status == 1 && r.stdout.isEmpty, "\(flags): \(r.stdout) \(r.stderr)")
            #expect(r.stderr.contains("the logit lens at blocks.0.hook_resid_pre, position 0, has logits that are not finite"), "\(flags): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("nan.html")))
        let cache = try tool("txw-run", [model, "--tokens", "0 1", "--cache", dir.file("c.npz")])
        #expect(cache.status == 0, "\(cache.stderr)")
        #expect(cache.stderr.contains("warning: the activation cache holds ") && cache.stderr.contains("the first in logits at flat index 4"),
                "\(cache.stderr)")
    }

    /// --ablate-mode without --ablate is how --report's grid ablates; the
    /// page says when its loss is with --ablate targets.
    @Test func meanGridAndGivenTargetsAreNamed() throws {
        let mean = try tool("txw-run", [Self.reversal, "--report", "-", "--text", "acdfb>bfdca", "--ablate-mode", "mean"])
        #expect(mean.status == 0 && mean.stdout.contains("--ablate-mode mean") && mean.stdout.contains("without ablation"), "\(mean.stderr)")
        let given = try tool("txw-run", [Self.reversal, "--report", "-", "--text", "acdfb>bfdca", "--ablate", "blocks.0.attn.head.1"])
        #expect(given.status == 0 && given.stdout.contains("with blocks.0.attn.head.1 ablated (--ablate)") && !given.stdout.contains("without ablation"))
        let loss = try tool("txw-run", [Self.reversal, "--loss", "--text", "acdfb>bfdca", "--ablate-mode", "mean"])
        #expect(loss.status == 64 && loss.stderr.contains("--ablate-mode needs --ablate"), "\(loss.stderr)")
    }
}
