import Foundation
import Testing
import TXWTestSupport
@testable import txw_run

/// The report page in a real browser: Debian's chromium, headless, driven by
/// selenium through tools/report/check_page.py (which tools/test installs).
/// Where the browser or selenium is missing the test is skipped, and the
/// log says why.
@Suite(.serialized) struct ReportBrowserTests {
    static let checkPage = repositoryRoot.appendingPathComponent("tools/report/check_page.py").path
    static let pageTiming = repositoryRoot.appendingPathComponent("tools/report/page_timing.py").path
    static let screenshot = repositoryRoot.appendingPathComponent(".build/report-screenshot.png").path
    static let page16 = repositoryRoot.appendingPathComponent(".build/report-screenshot.html").path
    static let page256 = repositoryRoot.appendingPathComponent(".build/report-256.html").path

    /// TXW_PYTHON, or the test is skipped with the reason.
    static func python() throws -> String {
        guard let python = ProcessInfo.processInfo.environment["TXW_PYTHON"], !python.isEmpty else {
            let reason = "skipped: TXW_PYTHON is not set (tools/test sets it to the Python with selenium)"
            print("ReportBrowserTests: \(reason)")
            try Test.cancel(Comment(rawValue: reason))
        }
        return python
    }

    /// Runs check_page.py; a status of 77 is a skip, with the reason it printed.
    static func check(_ arguments: [String]) throws -> ProcessResult {
        let result = try runProcess(URL(fileURLWithPath: try python()), [checkPage] + arguments, timeout: 180)
        if result.status == 77 {
            let reason = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            print("ReportBrowserTests: \(reason)")
            try Test.cancel(Comment(rawValue: reason))
        }
        return result
    }

    static func writeJSON(_ value: [String], to path: String) throws {
        try JSONSerialization.data(withJSONObject: value).write(to: URL(fileURLWithPath: path))
    }

    /// 4 blocks × 4 heads, hostile tokens: the heatmaps are drawn, the labels
    /// are right, hover names the cell's tokens and weight, no script error.
    @Test func pageInChromium() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let page = ReportFixture.page(texts: ReportFixture.hostile.map(\.text), nBlock: 4, nHead: 4, title: "<hostile>\u{1b}[2J.txw")
        try page.html().write(toFile: dir.file("page.html"), atomically: true, encoding: .utf8)
        try Self.writeJSON(ReportFixture.hostile.map(\.label), to: dir.file("labels.json"))
        try Self.writeJSON(ReportFixture.hostile.map(\.exact), to: dir.file("exact.json"))
        // Block 2, head 1, query 9, key 4: (4 + 1 + 9) / Σ_{k ≤ 9} (k + 1 + 9).
        let weight = ReportFixture.weight(block: 2, head: 1, query: 9, key: 4, nHead: 4)
        #expect(abs(weight - 14.0 / 145.0) < 1e-12)
        let result = try Self.check([
            dir.file("page.html"), "--blocks", "4", "--heads", "4", "--labels", dir.file("labels.json"),
            "--exact", dir.file("exact.json"), "--cell", "2", "1", "9", "4", String(weight), "--screenshot", Self.screenshot,
        ])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let measured = try jsonObject(result.stdout)
        #expect(measured["heatmaps"] as? Int == 16 && measured["labels"] as? Int == 16)
        #expect((measured["tooltip"] as? String)?.contains("weight 0.0966") == true, "\(measured)")
        #expect(FileManager.default.fileExists(atPath: Self.screenshot))
        // The page itself beside its screenshot, for a person to open.
        try? FileManager.default.removeItem(atPath: Self.page16)
        try? FileManager.default.copyItem(atPath: dir.file("page.html"), toPath: Self.page16)
        print("ReportBrowserTests: screenshot in \(Self.screenshot), the page in \(Self.page16)")
    }

    /// The check fails when the page is wrong: labels other than the
    /// expected ones; a script changed after the page was made (its hash no
    /// longer matches, so the browser refuses to run it and nothing is drawn).
    @Test func checkFailsOnAWrongPage() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let html = ReportFixture.page(texts: ["a", "b", "c"], nBlock: 1, nHead: 2).html()
        try html.write(toFile: dir.file("page.html"), atomically: true, encoding: .utf8)
        try Self.writeJSON(["a", "b", "d"], to: dir.file("wrong.json"))
        let wrongLabels = try Self.check([dir.file("page.html"), "--blocks", "1", "--heads", "2", "--labels", dir.file("wrong.json")])
        #expect(wrongLabels.status == 1)
        #expect(wrongLabels.stderr.contains("token labels ['a', 'b', 'c'], expected ['a', 'b', 'd']"), "\(wrongLabels.stderr)")

        let tampered = html.replacing("performance.mark(\"txw-drawn\");", with: "performance.mark(\"txw-drawn\");fetch(\"https://example.com/\");")
        #expect(tampered != html)
        try tampered.write(toFile: dir.file("tampered.html"), atomically: true, encoding: .utf8)
        try Self.writeJSON(["a", "b", "c"], to: dir.file("labels.json"))
        let refused = try Self.check([dir.file("tampered.html"), "--blocks", "1", "--heads", "2", "--labels", dir.file("labels.json")])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("heatmaps for (block, head) [], expected [(0, 0), (0, 1)]"), "\(refused.stderr)")
        #expect(refused.stderr.contains("blocked by the page's Content-Security-Policy: script-src"), "\(refused.stderr)")
    }

    /// One token on 2 blocks × 12 heads: every heatmap is one cell, drawn;
    /// and a model of no blocks.
    @Test func oneTokenManyHeads() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let page = ReportFixture.page(texts: ["\u{202e}x"], nBlock: 2, nHead: 12)
        try page.html().write(toFile: dir.file("page.html"), atomically: true, encoding: .utf8)
        try Self.writeJSON(["\\u{202e}x"], to: dir.file("labels.json"))
        let result = try Self.check([dir.file("page.html"), "--blocks", "2", "--heads", "12", "--labels", dir.file("labels.json"),
                                     "--cell", "1", "11", "0", "0", "1"])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")

        // No blocks at all: nothing to draw, and no error.
        try ReportFixture.page(texts: ["a", "b"], nBlock: 0, nHead: 2).html()
            .write(toFile: dir.file("none.html"), atomically: true, encoding: .utf8)
        try Self.writeJSON(["a", "b"], to: dir.file("ab.json"))
        let none = try Self.check([dir.file("none.html"), "--blocks", "0", "--heads", "2", "--labels", dir.file("ab.json")])
        #expect(none.status == 0, "\(none.stdout)\n\(none.stderr)")
    }

    /// The page `txw-run --report` makes of the bundled trained model
    /// (2 blocks × 4 heads): 8 heatmaps labelled with the question and
    /// answer, and hover over head 1.1's cell (query 6 `b`, key 3 `f`), the
    /// mirrored letter the README describes.
    @Test func reportOfTheReversalModel() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let text = "acdfb>bfdca"
        let made = try tool("txw-run", [repositoryRoot.appendingPathComponent("samples/reversal.txw").path,
                                        "--report", dir.file("reversal.html"), "--text", text])
        try #require(made.status == 0, "\(made.stderr)")
        try Self.writeJSON(text.map(String.init), to: dir.file("labels.json"))
        let result = try Self.check([dir.file("reversal.html"), "--blocks", "2", "--heads", "4", "--labels", dir.file("labels.json"),
                                     "--cell", "1", "1", "6", "3",
                                     "--screenshot", repositoryRoot.appendingPathComponent(".build/report-reversal.png").path])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let measured = try jsonObject(result.stdout)
        let tooltip = measured["tooltip"] as? String ?? ""
        #expect(measured["heatmaps"] as? Int == 8 && tooltip.contains("query 6: \"b\"") && tooltip.contains("key   3: \"f\""), "\(measured)")
        // Head 1.1 puts most of its weight there: "weight 0.9…".
        #expect(tooltip.contains("weight 0.9"), "\(tooltip)")
    }

    /// 256 tokens on a 4-block × 4-head model, the page made by `txw-run
    /// --report`: the check passes, and the time from navigation start to
    /// every heatmap drawn is printed (no assertion on it).
    @Test func pageOf256Tokens() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz ")
        try String(alphabet).write(toFile: dir.file("corpus.txt"), atomically: true, encoding: .utf8)
        let pack = try tool("txw-pack", ["--random", "--char-vocab", dir.file("corpus.txt"), "--d-model", "32", "--n-head", "4",
                                         "--d-head", "8", "--d-mlp", "64", "--n-block", "4", "--seed", "1", "-o", dir.file("m.txw")])
        try #require(pack.status == 0, "\(pack.stderr)")
        let texts = (0..<256).map { String(alphabet[$0 % alphabet.count]) }
        let path = dir.file("page256.html")
        let made = try tool("txw-run", [dir.file("m.txw"), "--report", path, "--text", texts.joined()])
        try #require(made.status == 0, "\(made.stderr)")
        try Self.writeJSON(texts.map { $0.replacing(" ", with: "␣") }, to: dir.file("labels.json"))
        let result = try Self.check([path, "--blocks", "4", "--heads", "4", "--labels", dir.file("labels.json"), "--cell", "3", "2", "255", "0"])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let timing = try runProcess(URL(fileURLWithPath: try Self.python()), [Self.pageTiming, path, "--runs", "3"], timeout: 180)
        #expect(timing.status == 0, "\(timing.stdout)\n\(timing.stderr)")
        // Kept for a person (and page_timing.py) to open, beside the screenshot.
        try? FileManager.default.removeItem(atPath: Self.page256)
        try? FileManager.default.copyItem(atPath: path, toPath: Self.page256)
        print("ReportBrowserTests: 256 tokens, 4 × 4 heads: \(timing.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
}
