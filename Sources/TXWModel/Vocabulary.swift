/// A model's tokens: V distinct non-empty strings, token id = index.
///
/// Text is tokenized greedily: at each position the longest token that
/// matches the text's next characters (compared as Unicode scalars, so
/// combining marks are never split from or merged into a token silently).
public struct Vocabulary: Sendable, Equatable {
    /// The tokens, indexed by id.
    public let tokens: [String]
    /// A trie over the tokens' Unicode scalars, flattened: the child of node
    /// `n` along scalar `c` is `children[n << 21 | c]` (a scalar fits in 21
    /// bits); node 0 is the root. `tokenAt[n]` is the id of the token that
    /// ends at node `n`, or -1. One entry per scalar of the tokens.
    private let children: [UInt64: Int32]
    private let tokenAt: [Int32]

    /// Checks that the tokens are non-empty and distinct.
    public init(_ tokens: [String]) throws {
        var children: [UInt64: Int32] = [:]
        var tokenAt: [Int32] = [-1]
        for (i, token) in tokens.enumerated() {
            var node = 0
            for scalar in token.unicodeScalars {
                let key = UInt64(node) << 21 | UInt64(scalar.value)
                if let child = children[key] {
                    node = Int(child)
                } else {
                    guard tokenAt.count < Int(Int32.max) else {
                        throw ModelError.vocabulary("token \(i): the tokens hold more than \(Int32.max - 1) scalars")
                    }
                    children[key] = Int32(tokenAt.count)
                    node = tokenAt.count
                    tokenAt.append(-1)
                }
            }
            guard node != 0 else { throw ModelError.vocabulary("token \(i) is empty") }
            if tokenAt[node] >= 0 {
                throw ModelError.vocabulary("token \(i) \(Self.quote(token)) repeats token \(tokenAt[node])")
            }
            tokenAt[node] = Int32(i)
        }
        self.tokens = tokens
        self.children = children
        self.tokenAt = tokenAt
    }

    /// Two vocabularies are equal when they hold the same tokens in the same order.
    public static func == (lhs: Vocabulary, rhs: Vocabulary) -> Bool { lhs.tokens == rhs.tokens }

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
    ///
    /// Cost: from each position the trie is walked only as far as some token
    /// continues to match the text, one hash lookup per scalar, so encoding n
    /// scalars is O(n · m) where m is the longest walk (at most the longest
    /// token, at most n): linear for any vocabulary whose tokens do not
    /// overlap the text far beyond the matches taken, and never the
    /// O(n · L²) of trying every length up to the longest token L.
    public func encode(_ text: String) throws -> [Int] {
        var steps = 0
        return try encode(text, steps: &steps)
    }

    /// `encode(_:)`, adding to `steps` the trie steps taken (for tests that count work).
    func encode(_ text: String, steps: inout Int) throws -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var out: [Int] = []
        var i = 0
        while i < scalars.count {
            var node = 0
            var match = -1
            var matchLength = 0
            var j = i
            while j < scalars.count, let child = children[UInt64(node) << 21 | UInt64(scalars[j].value)] {
                steps += 1
                node = Int(child)
                j += 1
                if tokenAt[node] >= 0 {
                    match = Int(tokenAt[node])
                    matchLength = j - i
                }
            }
            guard match >= 0 else {
                throw ModelError.vocabulary(
                    "no token matches \(Self.quote(String(scalars[i]))) at character \(i) of the text")
            }
            out.append(match)
            i += matchLength
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
