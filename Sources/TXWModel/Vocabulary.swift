import TXWFormat

/// A model's tokens: V distinct non-empty strings, token id = index.
///
/// Text is tokenized greedily: at each position the longest token that
/// matches the text's next characters (compared as Unicode scalars, so
/// combining marks are never split from or merged into a token silently).
public struct Vocabulary: Sendable, Equatable {
    /// The tokens, indexed by id.
    public let tokens: [String]
    /// An Aho–Corasick automaton over the tokens' Unicode scalars in reverse
    /// order, flattened: the child of node `n` along scalar `c` is
    /// `children[n << 21 | c]` (a scalar fits in 21 bits); node 0 is the root.
    /// Per node: `tokenAt` (the id of the token ending there, or -1), `depth`,
    /// `fail` (the longest proper suffix that is also a node) and `longest`
    /// (the deepest node on the fail chain, itself included, where a token
    /// ends, or -1). One entry per distinct reversed-token prefix.
    private let children: [UInt64: Int32]
    private let tokenAt: [Int32]
    private let depth: [Int32]
    private let fail: [Int32]
    private let longest: [Int32]

    /// Checks that the tokens are non-empty and distinct.
    ///
    /// Cost: O(S) for S scalars in all the tokens (amortized; one hash lookup
    /// per step), and about 20 bytes of memory per distinct reversed prefix.
    public init(_ tokens: [String]) throws {
        var children: [UInt64: Int32] = [:]
        var tokenAt: [Int32] = [-1]
        var depth: [Int32] = [0]
        var parent: [Int32] = [-1]
        var via: [UInt32] = [0]
        for (i, token) in tokens.enumerated() {
            var node = 0
            for scalar in token.unicodeScalars.reversed() {
                let key = UInt64(node) << 21 | UInt64(scalar.value)
                if let child = children[key] {
                    node = Int(child)
                } else {
                    guard tokenAt.count < Int(Int32.max) else {
                        throw ModelError.vocabulary("token \(i): the tokens hold more than \(Int32.max - 1) scalars")
                    }
                    children[key] = Int32(tokenAt.count)
                    tokenAt.append(-1)
                    depth.append(depth[node] + 1)
                    parent.append(Int32(node))
                    via.append(scalar.value)
                    node = tokenAt.count - 1
                }
            }
            guard node != 0 else { throw ModelError.vocabulary("token \(i) is empty") }
            if tokenAt[node] >= 0 {
                throw ModelError.vocabulary("token \(i) \(Self.quote(token)) repeats token \(tokenAt[node])")
            }
            tokenAt[node] = Int32(i)
        }
        // Nodes in breadth-first order (a counting sort by depth), so a node's
        // fail link is known before its children's.
        let nodes = tokenAt.count
        let maxDepth = Int(depth.max() ?? 0)
        var start = [Int](repeating: 0, count: maxDepth + 2)
        for d in depth { start[Int(d) + 1] += 1 }
        for d in 0...maxDepth { start[d + 1] += start[d] }
        var order = [Int32](repeating: 0, count: nodes)
        for n in 0..<nodes {
            order[start[Int(depth[n])]] = Int32(n)
            start[Int(depth[n])] += 1
        }
        var fail = [Int32](repeating: 0, count: nodes)
        var longest = [Int32](repeating: -1, count: nodes)
        for n in order.map(Int.init) where n != 0 {
            let u = Int(parent[n])
            if u != 0 {
                var w = Int(fail[u])
                while true {
                    if let child = children[UInt64(w) << 21 | UInt64(via[n])] {
                        fail[n] = child
                        break
                    }
                    if w == 0 { break }
                    w = Int(fail[w])
                }
            }
            longest[n] = tokenAt[n] >= 0 ? Int32(n) : longest[Int(fail[n])]
        }
        self.tokens = tokens
        self.children = children
        self.tokenAt = tokenAt
        self.depth = depth
        self.fail = fail
        self.longest = longest
    }

    /// An upper bound of the bytes `init` allocates for `tokens`' automaton
    /// (nil on overflow): at most one node per scalar of the tokens, each
    /// node at most 128 bytes at the peak of building — its five `Int32`
    /// fields and the building's three, arrays that grow by doubling, and a
    /// hash-table entry (12 bytes at a load of at least 3/8, while the
    /// table is rehashed into one twice as large). O(S) for S scalars, with no allocation.
    public static func memoryBound(_ tokens: [String]) -> Int? {
        var scalars = 1
        for token in tokens {
            let (sum, overflow) = scalars.addingReportingOverflow(token.unicodeScalars.count)
            if overflow { return nil }
            scalars = sum
        }
        let (bytes, overflow) = scalars.multipliedReportingOverflow(by: 128)
        return overflow ? nil : bytes
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
    /// Cost: O(n) for n scalars of text, whatever the vocabulary (even with
    /// very long tokens): one pass of the automaton over the reversed text
    /// finds the longest token starting at every position (at most 2n steps:
    /// n transitions and at most n fail links, amortized), then the greedy
    /// walk jumps from match to match.
    public func encode(_ text: String) throws -> [Int] {
        var steps = 0
        return try encode(text, steps: &steps)
    }

    /// `encode(_:)`, adding to `steps` the automaton steps taken (for tests that count work).
    func encode(_ text: String, steps: inout Int) throws -> [Int] {
        let scalars = Array(text.unicodeScalars)
        // matchAt[i]: the automaton node of the longest token starting at i, or -1.
        var matchAt = [Int32](repeating: -1, count: scalars.count)
        var state = 0
        for i in stride(from: scalars.count - 1, through: 0, by: -1) {
            let c = UInt64(scalars[i].value)
            while true {
                steps += 1
                if let child = children[UInt64(state) << 21 | c] {
                    state = Int(child)
                    break
                }
                if state == 0 { break }
                state = Int(fail[state])
            }
            matchAt[i] = longest[state]
        }
        var out: [Int] = []
        var i = 0
        while i < scalars.count {
            let node = Int(matchAt[i])
            guard node >= 0 else {
                throw ModelError.vocabulary(
                    "no token matches \(Self.quote(String(scalars[i]))) at character \(i) of the text")
            }
            out.append(Int(tokenAt[node]))
            i += Int(depth[node])
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

    /// A token or text quoted for a message (`DisplayText.quoted`: escaped, one line).
    static func quote(_ s: String) -> String { DisplayText.quoted(s) }
}
