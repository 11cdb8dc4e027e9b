import Testing
@testable import TXWModel

/// Greedy tokenization runs an automaton once over the text, so its work
/// grows linearly with the text whatever the tokens (issue 12, class 4), and
/// it gives the ids the definition gives.
struct TokenizerComplexityTests {
    /// The definition: at each position, the longest token matching the next scalars.
    static func reference(_ tokens: [String], _ text: String) -> [Int]? {
        let vocabulary = tokens.map { Array($0.unicodeScalars) }
        let scalars = Array(text.unicodeScalars)
        var out: [Int] = []
        var i = 0
        while i < scalars.count {
            var best: (id: Int, length: Int)?
            for (id, token) in vocabulary.enumerated()
            where token.count <= scalars.count - i && Array(scalars[i..<(i + token.count)]) == token && token.count > (best?.length ?? 0) {
                best = (id, token.count)
            }
            guard let best else { return nil }
            out.append(best.id)
            i += best.length
        }
        return out
    }

    @Test func workIsLinearWithAVeryLongToken() throws {
        let long = "a" + String(repeating: "b", count: 1 << 16)
        let v = try Vocabulary(["a", "b", "ab", long, "ba"])
        var steps = (0, 0)
        let short = try v.encode(String(repeating: "ab", count: 2000), steps: &steps.0)
        let double = try v.encode(String(repeating: "ab", count: 4000), steps: &steps.1)
        #expect(short == Array(repeating: 2, count: 2000))
        #expect(double == Array(repeating: 2, count: 4000))
        // At most two automaton steps per scalar: N and 2N scalars, not N² or N³.
        #expect(steps.0 <= 2 * 4000 && steps.1 <= 2 * 8000)
        #expect(try v.encode(long + "a") == [3, 0])
    }

    @Test func workIsLinearWhenALongTokenKeepsMatching() throws {
        // The text is a prefix of the long token at every position: walking
        // forward from each position would cost n²/2 steps.
        let v = try Vocabulary(["a", String(repeating: "a", count: 1 << 16)])
        for n in [3000, 6000] {
            var steps = 0
            #expect(try v.encode(String(repeating: "a", count: n), steps: &steps) == Array(repeating: 0, count: n))
            #expect(steps <= 2 * n)
        }
        var steps = 0
        #expect(try v.encode(String(repeating: "a", count: (1 << 16) + 5), steps: &steps) == [1, 0, 0, 0, 0, 0])
        #expect(steps <= 2 * ((1 << 16) + 5))
    }

    @Test func sameIdsAsTheDefinition() throws {
        // Scalars, not characters: "e" + U+0301 and the precomposed "é" are different tokens.
        let alphabet: [Unicode.Scalar] = ["a", "b", "e", "\u{301}", "\u{E9}", "\u{1F600}"]
        var state: UInt64 = 12
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        func word(_ maxLength: Int) -> String {
            var s = String.UnicodeScalarView()
            for _ in 0...next(maxLength) { s.append(alphabet[next(alphabet.count)]) }
            return String(s)
        }
        for _ in 0..<200 {
            var tokens: [String] = []
            var seen = Set<[Unicode.Scalar]>()
            for _ in 0..<(1 + next(12)) {
                let t = word(5)
                if seen.insert(Array(t.unicodeScalars)).inserted { tokens.append(t) }
            }
            let v = try Vocabulary(tokens)
            for _ in 0..<5 {
                let text = word(30)
                if let expected = Self.reference(tokens, text) {
                    #expect(try v.encode(text) == expected, "\(tokens) \(text.unicodeScalars.map(\.value))")
                } else {
                    #expect(throws: ModelError.self) { try v.encode(text) }
                }
            }
        }
    }

    @Test func refusalsAreUnchanged() throws {
        let error = try #require(throws: ModelError.self) { try Vocabulary(["ab", "a", "ab"]) }
        #expect(error.description.contains("token 2 \"ab\" repeats token 0"))
        let empty = try #require(throws: ModelError.self) { try Vocabulary(["a", ""]) }
        #expect(empty.description.contains("token 1 is empty"))
        #expect(try Vocabulary(["e\u{301}", "\u{E9}"]).encode("\u{E9}e\u{301}") == [1, 0])
        #expect(try Vocabulary(["a", "b"]) == Vocabulary(["a", "b"]))
        #expect(try Vocabulary(["a", "b"]) != Vocabulary(["b", "a"]))
    }
}
