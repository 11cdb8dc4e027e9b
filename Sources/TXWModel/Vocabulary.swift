/// A model's tokens: V distinct non-empty strings, token id = index.
///
/// Text is tokenized greedily: at each position the longest token that
/// matches the text's next characters (compared as Unicode scalars, so
/// combining marks are never split from or merged into a token silently).
public struct Vocabulary: Sendable, Equatable {
    /// The tokens, indexed by id.
    public let tokens: [String]
    private let ids: [[Unicode.Scalar]: Int]
    private let longest: Int

    /// Checks that the tokens are non-empty and distinct.
    public init(_ tokens: [String]) throws {
        var ids: [[Unicode.Scalar]: Int] = [:]
        var longest = 0
        for (i, token) in tokens.enumerated() {
            let scalars = Array(token.unicodeScalars)
            guard !scalars.isEmpty else { throw ModelError.vocabulary("token \(i) is empty") }
            if let first = ids[scalars] {
                throw ModelError.vocabulary("token \(i) \(Self.quote(token)) repeats token \(first)")
            }
            ids[scalars] = i
            longest = max(longest, scalars.count)
        }
        self.tokens = tokens
        self.ids = ids
        self.longest = longest
    }

    /// The number of tokens: the model's V.
    public var count: Int { tokens.count }

    /// The character-level convention: the sorted distinct characters
    /// (Unicode scalars, ascending by code point) of `text`.
    public static func characters(of text: String) throws -> Vocabulary {
        let scalars = Set(text.unicodeScalars).sorted { $0.value < $1.value }
        return try Vocabulary(scalars.map { String($0) })
    }

    /// Greedy longest-match token ids of `text`; an error names the first
    /// position (in Unicode scalars) no token matches.
    public func encode(_ text: String) throws -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var out: [Int] = []
        var i = 0
        while i < scalars.count {
            var matched = false
            for length in stride(from: min(longest, scalars.count - i), through: 1, by: -1) {
                if let id = ids[Array(scalars[i..<(i + length)])] {
                    out.append(id)
                    i += length
                    matched = true
                    break
                }
            }
            guard matched else {
                throw ModelError.vocabulary(
                    "no token matches \(Self.quote(String(scalars[i]))) at character \(i) of the text")
            }
        }
        return out
    }

    /// The text of token ids; an id outside the vocabulary is an error.
    public func decode(_ ids: [Int]) throws -> String {
        var text = ""
        for (position, id) in ids.enumerated() {
            guard id >= 0, id < tokens.count else {
                throw ModelError.vocabulary("token id \(id) at position \(position) is outside 0..<\(tokens.count)")
            }
            text += tokens[id]
        }
        return text
    }

    static func quote(_ s: String) -> String {
        "\"" + s.unicodeScalars.map { $0.properties.generalCategory == .control ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined() + "\""
    }
}
