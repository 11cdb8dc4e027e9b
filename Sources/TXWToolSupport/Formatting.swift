import TXWFormat
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Human formatting helpers shared by the tools.
package enum Formatting {
    /// `1234567` → `1,234,567`.
    package static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// `(3, 4)`.
    package static func shape(_ dims: [Int]) -> String {
        dims.count == 1 ? "(\(dims[0]),)" : "(" + dims.map(String.init).joined(separator: ", ") + ")"
    }

    /// A token or metadata string for display: quoted, with every
    /// non-printing character escaped (`DisplayText.quoted`).
    package static func token(_ s: String) -> String { DisplayText.quoted(s) }

    /// A name, key or path from a file or a flag, for display as text: one
    /// printable line (`DisplayText.escaped`; backslashes doubled).
    package static func name(_ s: String) -> String { DisplayText.escaped(s) }

    /// Generated text (`txw-run --sample`) as it is written to stdout.
    ///
    /// The text is a result, so a pipe or a file gets the tokens' text
    /// unchanged. A terminal would act on its control characters (ESC
    /// sequences, a carriage return that rewrites the line), so there every
    /// non-printing character except newline and tab is escaped
    /// (`DisplayText`, backslashes kept: the text stays readable).
    package static func generatedText(_ s: String, isTerminal: Bool) -> String {
        isTerminal ? DisplayText.escaped(s, [.keepNewlinesAndTabs, .keepBackslashes]) : s
    }

    /// Left-aligned columns; `rightAligned` lists the numeric columns.
    package static func table(_ rows: [[String]], rightAligned: Set<Int> = []) -> [String] {
        guard let width = rows.map(\.count).max() else { return [] }
        var widths = [Int](repeating: 0, count: width)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return rightAligned.contains(i) ? pad + cell : cell + pad
            }.joined(separator: "  ").replacing(/\s+$/, with: "")
        }
    }

    /// A short rendering of a double for tables: 4 significant digits.
    package static func short(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v < 0 ? "-inf" : "inf" }
        return printf("%.4g", v)
    }

    /// A floating-point value in the text output of `--dump` and `--logits`:
    /// the shortest text that reads back to the same value in its own
    /// precision (`description`: `1.0`, `0.1`); non-finite values quoted like
    /// in `--json` (`"NaN"`, `"Infinity"`, `"-Infinity"`).
    package static func number<F: BinaryFloatingPoint & CustomStringConvertible>(_ v: F) -> String {
        if v.isFinite { return v.description }
        return v.isNaN ? "\"NaN\"" : (v < 0 ? "\"-Infinity\"" : "\"Infinity\"")
    }

    /// `format` with `arguments` as C's printf formats them (`%.4g`, `%.3f`, …),
    /// in the C locale: the decimal point is always `.`.
    package static func printf(_ format: String, _ arguments: CVarArg...) -> String {
        var capacity = 64
        while true {
            var buffer = [CChar](repeating: 0, count: capacity)
            // A va_list is used once, so a retry with a larger buffer makes a new one.
            let length = buffer.withUnsafeMutableBufferPointer { buffer in
                withVaList(arguments) { vsnprintf(buffer.baseAddress, buffer.count, format, $0) }
            }
            guard length >= 0 else { return "" }
            if Int(length) < capacity {
                return String(decoding: buffer[..<Int(length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            capacity = Int(length) + 1
        }
    }
}
