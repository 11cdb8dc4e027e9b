/// Text that came from a file (a tensor name, a metadata key or value, a
/// vocabulary token, a path) made safe to print as one line: the one
/// escaping function of this package, used by the libraries' error
/// descriptions and by everything the tools print as text.
///
/// A file may hold any UTF-8 in its names and strings (Spec/txw-format.md
/// §1.3), including ESC, a newline or a bidi override; printed raw, these
/// retitle or clear a terminal, forge a line, or reorder what is shown.
/// `escaped(_:_:)` replaces every scalar that does not print
/// (`isPrintable(_:)`) with a visible escape and leaves printable Unicode
/// as it is:
///
/// - `\n`, `\t`, `\r` for newline, tab and carriage return;
/// - `\u{HEX}` (lowercase hexadecimal, as Swift writes it) for every other
///   control (C0, DEL, C1: ESC is `\u{1b}`), format character (bidi
///   controls U+202A–U+202E and U+2066–U+2069, zero-width characters,
///   U+FEFF…), line and paragraph separator (U+2028, U+2029) and
///   unassigned code point;
/// - a backslash is doubled (`\\`), so the escaped text reads back
///   unambiguously (unless `.keepBackslashes`).
package enum DisplayText {
    /// What `escaped(_:_:)` leaves as it is.
    package struct Options: OptionSet, Sendable {
        package let rawValue: Int
        package init(rawValue: Int) { self.rawValue = rawValue }

        /// Newline and tab print as themselves: generated text on a terminal.
        package static let keepNewlinesAndTabs = Options(rawValue: 1)
        /// A backslash stays single: for text already escaped at its source
        /// (the tools' last check of an error line), or a library's own words
        /// that quote a name and hold backslashes of their own (`\uD800`).
        package static let keepBackslashes = Options(rawValue: 2)
    }

    /// True when `scalar` prints as a visible character or a space: not a
    /// control (C0, DEL, C1), not a format character, not a line or
    /// paragraph separator, not unassigned. (Surrogates cannot occur in a
    /// Swift string.) Private-use characters and other spaces are printable.
    package static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value >= 0x20 && scalar.value < 0x7F { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .unassigned, .lineSeparator, .paragraphSeparator, .surrogate: return false
        default: return true
        }
    }

    /// `text` with every non-printing scalar escaped and backslashes
    /// doubled (see the type's description); `options` keep newlines and
    /// tabs, or backslashes, as they are. The result holds no control
    /// character except, with `.keepNewlinesAndTabs`, `\n` and `\t`.
    package static func escaped(_ text: String, _ options: Options = []) -> String {
        let keepBackslashes = options.contains(.keepBackslashes)
        let keepNewlines = options.contains(.keepNewlinesAndTabs)
        // Most names are printable ASCII without a backslash: nothing to do.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && ($0 != 0x5C || keepBackslashes) }) { return text }
        var out = String.UnicodeScalarView()
        func append(_ s: String) { out.append(contentsOf: s.unicodeScalars) }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": append(keepBackslashes ? "\\" : "\\\\")
            case "\n" where keepNewlines, "\t" where keepNewlines: out.append(scalar)
            case "\n": append("\\n")
            case "\t": append("\\t")
            case "\r": append("\\r")
            case _ where isPrintable(scalar): out.append(scalar)
            default: append("\\u{\(String(scalar.value, radix: 16))}")
            }
        }
        return String(out)
    }

    /// `"text"`: `escaped(text)` in double quotes, with `"` escaped as `\"`
    /// (a vocabulary token, a metadata string).
    package static func quoted(_ text: String) -> String {
        "\"" + escaped(text).replacing("\"", with: "\\\"") + "\""
    }
}
