import Foundation
import Testing
import TXWKernels
import TXWTestSupport
@testable import txw_run

/// Pages for the tests: known tokens, known weights.
enum ReportFixture {
    /// Tokens a vocabulary may hold, with the label the page must show for
    /// each and the exact form hover shows (written out here, by hand).
    static let hostile: [(text: String, label: String, exact: String)] = [
        ("a", "a", "\"a\" #0"),
        ("</script><script>alert(1)</script>", "</script><script>alert(1)</script>", "\"</script><script>alert(1)</script>\" #1"),
        ("<img src=x onerror=alert(1)>", "<img␣src=x␣onerror=alert(1)>", "\"<img src=x onerror=alert(1)>\" #2"),
        ("\u{1b}[2J", "\\u{1b}[2J", "\"\\u{1b}[2J\" #3"),
        ("a\u{202e}b", "a\\u{202e}b", "\"a\\u{202e}b\" #4"),
        ("\n", "\\n", "\"\\n\" #5"),
        (" ", "␣", "\" \" #6"),
        ("\u{2028}", "\\u{2028}", "\"\\u{2028}\" #7"),
        ("<!--", "<!--", "\"<!--\" #8"),
        ("&amp;\"'", "&amp;\"'", "\"&amp;\\\"'\" #9"),
        ("\\", "\\\\", "\"\\\\\" #10"),
        ("https://evil.example/x.js", "https://evil.example/x.js", "\"https://evil.example/x.js\" #11"),
        ("é🙂", "é🙂", "\"é🙂\" #12"),
        ("\u{0}", "\\u{0}", "\"\\u{0}\" #13"),
        ("b", "b", "\"b\" #14"),
        ("<style>*{background:url(http://x)}</style>", "<style>*{background:url(http://x)}</style>", "\"<style>*{background:url(http://x)}</style>\" #15"),
    ]

    /// Causal weights: in block b, head h, row q gives key k ≤ q a weight
    /// proportional to k + 1 + (b · nHead + h); keys after q get 0. Row 0 is 1.
    static func weight(block b: Int, head h: Int, query q: Int, key k: Int, nHead: Int) -> Double {
        guard k <= q else { return 0 }
        let offset = Double(b * nHead + h)
        let total = Double((q + 1) * (q + 2) / 2) + Double(q + 1) * offset
        return (Double(k) + 1 + offset) / total
    }

    static func weights(nBlock: Int, nHead: Int, m: Int) -> [Float] {
        var out = [Float]()
        out.reserveCapacity(nBlock * nHead * m * m)
        for b in 0..<nBlock { for h in 0..<nHead { for q in 0..<m { for k in 0..<m {
            out.append(Float(weight(block: b, head: h, query: q, key: k, nHead: nHead)))
        } } } }
        return out
    }

    static func page(texts: [String], nBlock: Int, nHead: Int, title: String = "fixture.txw",
                     lens: Bool = true, ablation: Bool = true) -> ReportPage {
        let m = texts.count
        let tokens = texts.enumerated().map { ReportPage.Token(id: $0.offset, text: $0.element) }
        var lensValue: ReportPage.Lens?
        if lens {
            let points = ["embed"] + (0..<nBlock).map { "block \($0)" }
            // At point p and position i: the next token (i + 1) first, with probability 1/(p + 2).
            var top: [[[ReportPage.LensEntry]]] = []
            for p in points.indices {
                var row: [[ReportPage.LensEntry]] = []
                for i in 0..<m {
                    var entries: [ReportPage.LensEntry] = []
                    for r in 0..<3 {
                        let probability: Double = r == 0 ? 1 / Double(p + 2) : 0.01 / Double(r)
                        entries.append(ReportPage.LensEntry(token: tokens[(i + 1 + r) % m], probability: probability))
                    }
                    row.append(entries)
                }
                top.append(row)
            }
            lensValue = ReportPage.Lens(points: points, top: top)
        }
        return ReportPage(
            title: title,
            hyperparameters: [.init(name: "n_block", value: "\(nBlock)"), .init(name: "n_head", value: "\(nHead)"),
                              .init(name: "d_model", value: "64")],
            precision: "f32", tokens: tokens, nBlock: nBlock, nHead: nHead,
            attention: weights(nBlock: nBlock, nHead: nHead, m: m), lens: lensValue,
            ablation: ablation && m >= 2
                ? ReportPage.Ablation(mode: .zero, loss: 1.5, headLoss: (0..<(nBlock * nHead)).map { 1.5 + Double($0 - 2) * 0.125 })
                : nil)
    }
}

/// What the page's HTML holds, parsed the simple way (the page is ours: no
/// comments, no CDATA).
enum PageText {
    /// Every start or end tag's name, lowercased.
    static func tagNames(_ html: String) -> [String] {
        html.matches(of: /<\s*\/?\s*([A-Za-z][A-Za-z0-9-]*)/).map { String($0.output.1).lowercased() }
    }

    /// Every start tag's attribute text.
    static func startTags(_ html: String) -> [(name: String, attributes: String)] {
        html.matches(of: /<([A-Za-z][A-Za-z0-9-]*)([^>]*)>/).map { (String($0.output.1).lowercased(), String($0.output.2)) }
    }

    /// The elements `<tag …>content</tag>`: attributes and content.
    static func elements(_ html: String, _ tag: String) -> [(attributes: String, content: String)] {
        let regex = try! Regex("<\(tag)([^>]*)>(.*?)</\(tag)>").dotMatchesNewlines()
        return html.matches(of: regex).map { match in
            (String(match.output[1].substring ?? ""), String(match.output[2].substring ?? ""))
        }
    }

    /// The loss changes of the head-ablation grid, block by block, head by head.
    static func ablationGrid(_ html: String) throws -> [Double] {
        try elements(html, "td").filter { $0.attributes.contains("data-head=") }.map {
            try #require(Double(decoded($0.content)), "a grid cell: \($0.content)")
        }
    }

    /// HTML text with its five entities decoded (the only ones the page writes).
    static func decoded(_ text: String) -> String {
        text.replacing("&lt;", with: "<").replacing("&gt;", with: ">").replacing("&quot;", with: "\"")
            .replacing("&#39;", with: "'").replacing("&#10;", with: "\n").replacing("&amp;", with: "&")
    }

    static func script(_ html: String, id: String) -> String? {
        elements(html, "script").first { $0.attributes.contains("id=\"\(id)\"") }?.content
    }

    /// The page without the text of its script elements (which is not markup).
    static func withoutScriptText(_ html: String) -> String {
        html.replacing(/(<script[^>]*>).*?(<\/script>)/.dotMatchesNewlines(), with: { $0.output.1 + $0.output.2 })
    }

    /// The embedded weights' codes: base64 of little-endian UInt16.
    static func codes(_ html: String) throws -> [UInt16] {
        let text = try #require(script(html, id: "txw-weights"))
        let bytes = try #require(Data(base64Encoded: text))
        #expect(bytes.count % 2 == 0)
        return stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 }
    }
}

@Suite struct ReportPageTests {
    static let allowedTags: Set<String> = [
        "!doctype", "html", "head", "meta", "title", "script", "style", "body", "h1", "h2", "p", "span", "b", "div",
        "pre", "table", "thead", "tbody", "tr", "th", "td", "small", "code",
    ]

    /// Hostile tokens and title stay text: no tag, attribute, script or
    /// fetch comes from them, and each shows as its visible label.
    @Test func hostileTokensCannotInjectMarkup() throws {
        let texts = ReportFixture.hostile.map(\.text)
        let title = "<b>x</b>\u{1b}]0;t\u{7}\u{202e}\"'"
        let html = ReportFixture.page(texts: texts, nBlock: 2, nHead: 3, title: title).html()

        // Only the page's own tags, and exactly its four scripts.
        let markup = PageText.withoutScriptText(html)
        let names = PageText.tagNames(markup.replacing("<!DOCTYPE", with: "<!doctype"))
        #expect(Set(names).subtracting(Self.allowedTags).isEmpty, "unexpected tags: \(Set(names).subtracting(Self.allowedTags))")
        let scripts = PageText.elements(html, "script")
        #expect(scripts.map(\.attributes) == ["", " type=\"application/json\" id=\"txw-data\"",
                                              " type=\"application/octet-stream\" id=\"txw-weights\"", ""])
        #expect(html.ranges(of: "<script").count == 4 && html.ranges(of: "</script").count == 4)
        #expect(html.ranges(of: "<style").count == 1)
        // Every attribute is one of the page's own, quoted; none loads or runs anything.
        let attributeNames: Set<String> = ["lang", "charset", "http-equiv", "content", "name", "id", "class", "title", "style",
                                           "type", "hidden", "data-pos", "data-block", "data-head"]
        for tag in PageText.startTags(markup) where tag.name != "!doctype" {
            let attributes = tag.attributes.matches(of: /\s([a-z-]+)(="[^"]*")?/)
            #expect(Set(attributes.map { String($0.output.1) }).isSubset(of: attributeNames), "\(tag)")
            #expect(tag.attributes.replacing(/\s([a-z-]+)(="[^"]*")?/, with: "").isEmpty, "\(tag)")
            for attribute in attributes where attribute.output.1 == "style" {
                #expect(!attribute.output.0.contains("url(") && !attribute.output.0.contains("//"), "\(tag)")
            }
        }
        let style = try #require(PageText.elements(html, "style").first).content
        #expect(!style.contains("url(") && !style.contains("@import") && !style.contains("<"))
        // Nothing that does not print, in the whole page, but newlines.
        #expect(html.unicodeScalars.allSatisfy { $0 == "\n" || DisplayTextProbe.isPrintable($0) })

        // The policy: no fetch at all; scripts by hash; styles inline.
        let meta = try #require(html.firstMatch(of: /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/)).output.1
        let hashes = [scripts[0].content, scripts[3].content].map { "'sha256-" + Data(SHA256.hash(Array($0.utf8))).base64EncodedString() + "'" }
        #expect(meta == "default-src 'none'; script-src \(hashes[0]) \(hashes[1]); style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")
        #expect(html.range(of: "Content-Security-Policy")! .lowerBound < html.range(of: "<script")!.lowerBound)

        // The executable scripts are constant (no data in them) and cannot end early.
        for script in [scripts[0].content, scripts[3].content] {
            #expect(!script.lowercased().contains("</script") && !script.contains("<!--"))
        }
        let other = ReportFixture.page(texts: ["x"], nBlock: 1, nHead: 1).html()
        let otherScripts = PageText.elements(other, "script")
        #expect(otherScripts[0].content == scripts[0].content && otherScripts[3].content == scripts[3].content)
        // No URL of the page's own: not in its markup, style or scripts (only a token's text may hold one).
        // (The policy's hashes are base64, which may hold "//".)
        let otherMarkup = PageText.withoutScriptText(other).replacing(/'sha256-[A-Za-z0-9+\/=]+'/, with: "")
        for text in [otherMarkup, otherScripts[0].content, otherScripts[3].content] {
            #expect(!text.contains("http:") && !text.contains("https:") && !text.contains("//") && !text.contains("url("))
        }

        // Title and tokens: visible labels.
        let h1 = try #require(PageText.elements(html, "h1").first).content
        #expect(h1 == "txw report: <span id=\"txw-title\">&lt;b&gt;x&lt;/b&gt;\\u{1b}]0;t\\u{7}\\u{202e}&quot;&#39;</span>")
        let strip = try #require(html.firstMatch(of: /<p id="txw-tokens" class="tokens">(.*?)<\/p>/)).output.1
        let spans = strip.matches(of: /<span class="tok" data-pos="(\d+)" title="([^"]*)">([^<]*)<\/span>/)
        #expect(spans.map { PageText.decoded(String($0.output.3)) } == ReportFixture.hostile.map(\.label))
        #expect(spans.map { PageText.decoded(String($0.output.2)) } == ReportFixture.hostile.enumerated().map { "position \($0.offset): \($0.element.exact)" })

        // The data the scripts read: no character that could end the element; the same strings back.
        let json = try #require(PageText.script(html, id: "txw-data"))
        #expect(!json.contains("<") && !json.contains(">") && !json.contains("&") && !json.contains("\u{2028}") && !json.contains("\u{2029}"))
        let data = try JSONDecoder().decode(ReportPage.PageData.self, from: Data(json.utf8))
        #expect(data.labels == ReportFixture.hostile.map(\.label))
        #expect(data.exact == ReportFixture.hostile.map(\.exact))
        #expect(data.m == texts.count && data.nBlock == 2 && data.nHead == 3 && data.scale == 10_000 && data.nonFinite == 0xFFFF)
        #expect(data.triangular)
    }

    /// The embedded weights decode to the input rounded to 4 decimals (what
    /// hover shows); a non-finite weight has its own code. Causal weights
    /// are stored as lower triangles; a weight above the diagonal that is
    /// not 0 makes the page store every weight.
    @Test(arguments: [false, true]) func weightsRoundTrip(aboveDiagonal: Bool) throws {
        let (nBlock, nHead, m) = (3, 2, 7)
        var page = ReportFixture.page(texts: (0..<m).map { "t\($0)" }, nBlock: nBlock, nHead: nHead)
        // Block 0, head 0: row 1 key 0 NaN, row 2 key 1 +inf, row 3 key 2 just above 1.
        page.attention[1 * m + 0] = .nan
        page.attention[2 * m + 1] = .infinity
        page.attention[3 * m + 2] = 1.0000001
        if aboveDiagonal { page.attention[(5 * m + 4) * m + 6] = 0.25 }  // block 2 head 1, query 4, key 6
        let html = page.html()
        let codes = try PageText.codes(html)
        let data = try JSONDecoder().decode(ReportPage.PageData.self, from: Data(try #require(PageText.script(html, id: "txw-data")).utf8))
        #expect(data.triangular == !aboveDiagonal)
        #expect(codes.count == nBlock * nHead * (aboveDiagonal ? m * m : m * (m + 1) / 2))
        var next = 0
        for (i, w) in page.attention.enumerated() {
            let (q, k) = ((i / m) % m, i % m)
            if !aboveDiagonal && k > q { continue }
            let code = codes[next]
            next += 1
            if !w.isFinite {
                #expect(code == 0xFFFF, "weight \(i)")
            } else {
                #expect(code <= 10_000)
                #expect(String(format: "%.4f", Double(code) / 10_000) == String(format: "%.4f", min(Double(w), 1)), "weight \(i): \(w) → \(code)")
            }
        }
        #expect(next == codes.count)
        #expect(html.contains(aboveDiagonal ? "some of their weights are not 0 here" : "grey: masked, a key after its query"))
        // Known codes: 1 → 10000, 0 → 0, 14/145 = 0.096551… → 966; 0.00005 and 0.00015 as Float are
        // just below and just above their ties (4.99999987e-5, 1.50000007e-4) → 0 and 2.
        #expect(codes[0] == 10_000)
        page.attention[0] = Float(14.0 / 145.0)
        page.attention[m] = 0.00005
        page.attention[m + 1] = 0.00015
        let changed = try PageText.codes(page.html())
        // Triangular: row 0 is code 0, row 1 codes 1 and 2.
        #expect(aboveDiagonal || (changed[0] == 966 && changed[1] == 0 && changed[2] == 2))
        #expect(!aboveDiagonal || (changed[0] == 966 && changed[m] == 0 && changed[m + 1] == 2))
    }

    /// The ablation grid and the lens table show the caller's numbers.
    @Test func lensAndAblationNumbers() throws {
        let (nBlock, nHead) = (2, 3)
        let texts = ["x", "y", "<z>", "x"]
        let page = ReportFixture.page(texts: texts, nBlock: nBlock, nHead: nHead)
        let html = page.html()
        #expect(html.contains("<b id=\"txw-loss\">1.5000</b>"))
        #expect(html.contains("set to zero (<code>--ablate-mode zero</code>)"))
        var mean = page
        mean.ablation?.mode = .mean
        #expect(mean.html().contains("set to its mean over the positions (<code>--ablate-mode mean</code>)"))
        let cells = html.matches(of: /<td data-block="(\d)" data-head="(\d)" style="background:([^"]*)" title="loss ([^"]*)">([^<]*)<\/td>/)
        #expect(cells.count == nBlock * nHead)
        for cell in cells {
            let index = Int(cell.output.1)! * nHead + Int(cell.output.2)!
            let delta = Double(index - 2) * 0.125
            #expect(String(cell.output.5) == String(format: "%+.4f", delta).replacing("+-", with: "-"))
            #expect(String(cell.output.4) == String(format: "%.4f", 1.5 + delta))
            // Red when the loss rises, blue when it falls, clear at zero.
            if delta > 0 { #expect(cell.output.3.hasPrefix("rgba(214,39,40,")) }
            if delta < 0 { #expect(cell.output.3.hasPrefix("rgba(31,119,180,")) }
        }
        let lens = try #require(PageText.elements(html, "table").first { $0.attributes.contains("txw-lens") }).content
        #expect(lens.contains("<th>embed</th><th>block 0</th><th>block 1</th>"))
        let rows = lens.matches(of: /<tr><td class="num">(\d+)<\/td>(.*?)<\/tr>/)
        #expect(rows.count == texts.count)
        // Position 0, point "block 1": top token y (the next input token: bold), probability 1/4.
        let row0 = rows[0].output.2
        let row0Cells = row0.matches(of: /<td([^>]*)>([^<]*)(?:<small>([^<]*)<\/small>)?<\/td>/)
        #expect(row0Cells.count == 4)
        #expect(row0Cells[3].output.1.hasPrefix(" class=\"p3 hit\" title="))
        #expect(row0Cells[3].output.2 == "y " && row0Cells[3].output.3 == "0.250")
        #expect(PageText.decoded(String(row0Cells[3].output.1)).contains("1. \"y\" #1 0.250\n2. \"<z>\" #2 0.010\n3. \"x\" #3 0.005"))
        // The last position has no next token: no cell is bold.
        #expect(!rows[3].output.2.contains(" hit\""))
    }

    /// One token, one head: the page still renders; the lens and the loss say what is missing.
    @Test func singleToken() throws {
        let page = ReportFixture.page(texts: ["only"], nBlock: 1, nHead: 1, lens: false)
        let html = page.html()
        #expect(try PageText.codes(html) == [10_000])
        #expect(html.contains("No loss: the input needs at least two tokens."))
        #expect(html.contains("<h2>Logit lens</h2>\n<p class=\"note\">Not computed.</p>"))
        let data = try JSONDecoder().decode(ReportPage.PageData.self, from: Data(try #require(PageText.script(html, id: "txw-data")).utf8))
        #expect(data.m == 1 && data.labels == ["only"])
    }

    /// A model of no blocks: no heatmaps, no heads to ablate, the lens of the embedding alone.
    @Test func noBlocks() throws {
        let page = ReportFixture.page(texts: ["a", "b"], nBlock: 0, nHead: 2)
        #expect(page.attention.isEmpty && page.lens?.points == ["embed"])
        let html = page.html()
        #expect(try PageText.codes(html).isEmpty)
        #expect(html.contains("This model has no blocks: no attention."))
        #expect(html.contains("<b id=\"txw-loss\">1.5000</b>; the model has no heads to ablate."))
        #expect(!html.contains("txw-ablation"))
    }

    @Test func hyperparameterSummary() {
        let h = Hyperparameters(vocabSize: 27, dModel: 32, nHead: 4, dHead: 8, dMLP: 128, nBlock: 2)
        #expect(ReportPage.Field.summary(of: h).map { "\($0.name)=\($0.value)" }
                == ["n_block=2", "n_head=4", "d_model=32", "d_head=8", "d_mlp=128", "vocab_size=27"])
    }

    /// The embedded data's size is known before the page is made, and it
    /// overflows to nil, not to a wrong number.
    @Test func sizes() throws {
        for (m, nBlock, nHead) in [(1, 1, 1), (2, 1, 1), (3, 2, 5), (7, 3, 2)] {
            let html = ReportFixture.page(texts: (0..<m).map { "t\($0)" }, nBlock: nBlock, nHead: nHead).html()
            let weights = try #require(PageText.script(html, id: "txw-weights"))
            // base64: 4 characters per 3 bytes, 2 bytes per weight of each lower triangle.
            let bytes = m * (m + 1) * nBlock * nHead
            #expect(weights.utf8.count == (bytes + 2) / 3 * 4)
            // The bound: every weight.
            #expect(ReportPage.embeddedWeightBytes(m: m, nBlock: nBlock, nHead: nHead) == (2 * m * m * nBlock * nHead + 2) / 3 * 4)
        }
        #expect(ReportPage.embeddedWeightBytes(m: 256, nBlock: 4, nHead: 4) == 2_796_204)
        #expect(ReportPage.embeddedWeightBytes(m: 1 << 31, nBlock: 4, nHead: 4) == nil)
        #expect(ReportPage.embeddedWeightBytes(m: 1 << 20, nBlock: 1 << 30, nHead: 1) == nil)
        // The page for 256 tokens on 4 × 4 heads: the weights (1,403,564 bytes) and a 256-row lens table.
        let html = ReportFixture.page(texts: (0..<256).map { "t\($0)" }, nBlock: 4, nHead: 4).html()
        #expect(html.utf8.count > 1_403_564 && html.utf8.count < 1_800_000, "\(html.utf8.count) bytes")
    }

    /// SHA-256 against FIPS 180-4's examples (one block, two blocks, empty).
    @Test func sha256() {
        func hex(_ s: String) -> String { SHA256.hash(Array(s.utf8)).map { String(format: "%02x", $0) }.joined() }
        #expect(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(hex(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}

/// The printability rule of Spec/cli.md ("Text from files"), restated here
/// so that the test does not take it from the code under test.
enum DisplayTextProbe {
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value >= 0x20 && scalar.value < 0x7F { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .unassigned, .lineSeparator, .paragraphSeparator, .surrogate: return false
        default: return true
        }
    }
}
