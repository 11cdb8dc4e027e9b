import Testing
import TXWFormat

/// The one escaping function for text from a file (`DisplayText`).
struct DisplayTextTests {
    /// The test's own reading of the escapes (not the code under test): `\\`,
    /// `\n`, `\t`, `\r`, `\u{HEX}`; nil for anything else after a backslash.
    static func unescape(_ text: String) -> String? {
        var out = String.UnicodeScalarView()
        var scalars = Array(text.unicodeScalars)[...]
        while let c = scalars.popFirst() {
            guard c == "\\" else { out.append(c); continue }
            switch scalars.popFirst() {
            case "\\": out.append("\\")
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "u":
                guard scalars.popFirst() == "{", let end = scalars.firstIndex(of: "}") else { return nil }
                let hex = String(String.UnicodeScalarView(scalars[..<end]))
                guard let value = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(value) else { return nil }
                out.append(scalar)
                scalars = scalars[(end + 1)...]
            default: return nil
            }
        }
        return String(out)
    }

    /// No scalar of `text` is a control, format, separator or unassigned
    /// scalar (the test's own list of categories), except those `allowed`.
    static func printable(_ text: String, allowing allowed: Set<Unicode.Scalar> = []) -> Bool {
        text.unicodeScalars.allSatisfy { s in
            if allowed.contains(s) { return true }
            switch s.properties.generalCategory {
            case .control, .format, .unassigned, .lineSeparator, .paragraphSeparator: return false
            default: return true
            }
        }
    }

    @Test func escapes() {
        let cases: [(String, String)] = [
            ("plain name.W_E", "plain name.W_E"),
            ("a\nb\tc\rd", "a\\nb\\tc\\rd"),
            ("back\\slash", "back\\\\slash"),
            ("\u{1b}]0;title\u{7}", "\\u{1b}]0;title\\u{7}"),
            ("\u{1b}[2J\u{1b}[H", "\\u{1b}[2J\\u{1b}[H"),
            ("\u{0}\u{7f}\u{85}\u{9b}", "\\u{0}\\u{7f}\\u{85}\\u{9b}"),
            ("abc\u{202e}fed\u{202c}", "abc\\u{202e}fed\\u{202c}"),
            ("\u{202a}\u{202b}\u{202d}\u{2066}\u{2067}\u{2068}\u{2069}", "\\u{202a}\\u{202b}\\u{202d}\\u{2066}\\u{2067}\\u{2068}\\u{2069}"),
            ("zero\u{200b}width\u{feff}", "zero\\u{200b}width\\u{feff}"),
            ("line\u{2028}para\u{2029}", "line\\u{2028}para\\u{2029}"),
            ("unassigned\u{378}", "unassigned\\u{378}"),
            // Printable Unicode stays as it is: accents, combining marks, CJK, emoji, private use, other spaces.
            ("héllo e\u{301} 日本語 🙂 \u{e000} \u{a0}x", "héllo e\u{301} 日本語 🙂 \u{e000} \u{a0}x"),
        ]
        for (input, expected) in cases {
            #expect(DisplayText.escaped(input) == expected, "\(input.debugDescription)")
            #expect(Self.unescape(DisplayText.escaped(input)) == input, "reads back: \(input.debugDescription)")
        }
    }

    @Test func options() {
        let text = "a\nb\tc\r\u{1b}[31m\\d\u{202e}"
        #expect(DisplayText.escaped(text, .keepNewlinesAndTabs) == "a\nb\tc\\r\\u{1b}[31m\\\\d\\u{202e}")
        #expect(DisplayText.escaped(text, .keepBackslashes) == "a\\nb\\tc\\r\\u{1b}[31m\\d\\u{202e}")
        #expect(DisplayText.escaped(text, [.keepNewlinesAndTabs, .keepBackslashes]) == "a\nb\tc\\r\\u{1b}[31m\\d\\u{202e}")
        #expect(DisplayText.quoted("say \"hi\"\n") == "\"say \\\"hi\\\"\\n\"")
    }

    /// Any string of scalars drawn from a hostile mix escapes to printable
    /// text that reads back to the original.
    @Test func everyStringEscapesToPrintableText() {
        let pool: [Unicode.Scalar] = [
            "a", "Z", " ", "\\", "\"", "{", "}", "u", "\n", "\t", "\r", "\u{0}", "\u{1b}", "\u{7f}", "\u{80}", "\u{9b}", "\u{9f}",
            "é", "\u{301}", "日", "🙂", "\u{200b}", "\u{200d}", "\u{202e}", "\u{2066}", "\u{2028}", "\u{2029}", "\u{feff}",
            "\u{fffe}", "\u{e0001}", "\u{378}", "\u{10ffff}", "\u{e000}",
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2000 {
            var s = String.UnicodeScalarView()
            state = state &* 6364136223846793005 &+ 1442695040888963407
            for _ in 0..<Int(state >> 60) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                s.append(pool[Int(state >> 33) % pool.count])
            }
            let text = String(s)
            let escaped = DisplayText.escaped(text)
            #expect(Self.printable(escaped), "\(text.debugDescription) → \(escaped.debugDescription)")
            #expect(Self.unescape(escaped) == text, "\(text.debugDescription)")
            #expect(Self.printable(DisplayText.escaped(text, .keepNewlinesAndTabs), allowing: ["\n", "\t"]))
            #expect(Self.printable(DisplayText.escaped(text, .keepBackslashes)))
        }
    }

    /// Names, keys and paths in the container errors' descriptions are
    /// escaped: whatever a file holds, the description is one printable line.
    @Test func errorDescriptionsAreOnePrintableLine() {
        let h = "t\n\u{1b}]0;x\u{7}\u{202e}\u{9b}2J\r"
        let errors: [TXWFormatError] = [
            .truncated(what: h, offset: 1, needed: 2, fileSize: 3), .limit(what: h, offset: 1, value: h, limit: h),
            .malformedManifest(what: h, offset: 1, detail: h), .invalidUTF8(what: h, offset: 1),
            .duplicateName(what: h, name: h, offset: 1), .unknownValue(what: h, value: 1, offset: 1),
            .layout(what: h, offset: 1, expected: h, found: h),
            .blockChecksum(tensor: h, block: 0, offset: 1, expected: 1, found: 2),
            .noSuchTensor(name: h), .invalidArgument(what: h, detail: h),
            .io(path: h, operation: h, errno: .noSuchFileOrDirectory),
            .notRegularFile(path: h, operation: h, isDirectory: false), .destinationExists(path: h),
        ]
        for error in errors {
            #expect(Self.printable(error.description), "\(error.description.debugDescription)")
            #expect(error.description.contains("\\u{1b}]0;x\\u{7}\\u{202e}\\u{9b}2J\\r"), "\(error.description)")
        }
        #expect(TXWFormatError.noSuchTensor(name: "a\\b").description == "no tensor named 'a\\\\b'")
    }
}
