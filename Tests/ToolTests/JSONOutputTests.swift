import Foundation
import Testing
import TXWFormat
import TXWTestSupport
import TXWToolSupport

/// The `--json` number and key rules of Spec/cli.md, checked on the exact text:
/// non-finite values as strings, floats in their own precision, sorted keys.
struct JSONOutputTests {
    static func container(in dir: TemporaryDirectory) throws -> String {
        var writer = try TXWWriter()
        try writer.addTensor(name: "f32", dtype: .f32, shape: [2, 3],
                             bytes: ElementCoding.encode([Float.nan, .infinity, -.infinity, 0.1, 1, -0.5], as: .f32))
        try writer.addTensor(name: "f64", dtype: .f64, shape: [3],
                             bytes: ElementCoding.encode([Double](arrayLiteral: 0.1, 1e300, 2.5e-8), as: .f64))
        try writer.addTensor(name: "nan", dtype: .f64, shape: [2], bytes: ElementCoding.encode([Double.nan, .nan], as: .f64))
        let path = dir.file("values.txw")
        try writer.write(to: path)
        return path
    }

    @Test func dumpWritesExactNumbers() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = try Self.container(in: dir)
        // A float32 0.1 stays 0.1 (not 0.10000000149011612); NaN and ±∞ are strings; keys sorted.
        let f32 = try tool("txw-inspect", [path, "--dump", "f32", "--json"])
        #expect(f32.stdout == #"{"dtype":"f32","name":"f32","shape":[2,3],"values":["NaN","Infinity","-Infinity",0.1,1,-0.5]}"# + "\n")
        let f64 = try tool("txw-inspect", [path, "--dump", "f64", "--json"])
        #expect(f64.stdout == #"{"dtype":"f64","name":"f64","shape":[3],"values":[0.1,1e+300,2.5e-08]}"# + "\n")
        // The text dump: a row per line, each value's shortest text in its precision.
        let text = try tool("txw-inspect", [path, "--dump", "f32"])
        #expect(text.stdout == "\"NaN\" \"Infinity\" \"-Infinity\"\n0.1 1.0 -0.5\n")
    }

    @Test func statisticsOfNoFiniteValueAreNaNStrings() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let r = try tool("txw-inspect", [try Self.container(in: dir), "--stats", "--json"])
        #expect(r.stdout.contains(#""stats":{"histogram":[],"inf":0,"max":"NaN","mean":"NaN","min":"NaN","nan":2,"std":"NaN"}"#), "\(r.stdout)")
        #expect(r.stdout.contains(#""metadata":{}"#) && r.stdout.contains(#""model":null"#) && r.stdout.contains(#""not_a_model":"#))
        #expect(!r.stdout.contains(#""vocabulary""#), "no vocabulary key for a container that is not a model")
    }

    @Test func runResultsAreSortedAndNullable() throws {
        let golden = repositoryRoot.appendingPathComponent("samples/golden.txw").path
        let loss = try tool("txw-run", [golden, "--loss", "--tokens", "1 2 3", "--json"])
        #expect(loss.stdout.hasPrefix(#"{"context":null,"loss":"#) && loss.stdout.contains(#","stride":null,"tokens":3,"windows":1}"#), "\(loss.stdout)")
        let sample = try tool("txw-run", [golden, "--tokens", "1", "-n", "2", "-t", "0", "--json"])
        #expect(sample.stdout.hasPrefix(#"{"prompt_tokens":[1],"text":""#), "\(sample.stdout)")
        // f32 logits keep float32 digits: no value has more than 9 significant digits.
        let logits = try tool("txw-run", [golden, "--logits", "--tokens", "1 2", "--json"])
        let numbers = logits.stdout.split(whereSeparator: { "[],{}:\"\n".contains($0) }).dropFirst()
        #expect(numbers.count == 12 && numbers.allSatisfy { $0.filter(\.isNumber).count <= 9 }, "\(logits.stdout)")
    }

    @Test func trainingWithoutValidationWritesNull() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try "abcabcabcabcabcabcabcabc\nabcabc\n".write(toFile: dir.file("d.txt"), atomically: true, encoding: .utf8)
        let r = try tool("txw-train", ["-o", dir.file("m.txw"), "--random", "--d-model", "8", "--n-head", "2", "--d-head", "4",
                                       "--d-mlp", "8", "--n-block", "1", "--data", dir.file("d.txt"), "--steps", "2",
                                       "--eval-every", "1", "--batch", "1", "--context", "4", "--val-fraction", "0", "--json"])
        let lines = r.stdout.split(separator: "\n")
        #expect(r.status == 0 && lines.count == 2, "\(r.stderr)")
        #expect(lines.allSatisfy { $0.hasPrefix(#"{"step":"#) && $0.hasSuffix(#","val_loss":null}"#) }, "\(r.stdout)")
    }

    /// The fast path for tensor values writes what JSONEncoder writes.
    @Test func numbersMatchTheEncoder() throws {
        var state: UInt64 = 7
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state
        }
        // Every bit pattern kind: NaNs, infinities, subnormals, integral values, both signs.
        let floats = (0..<20_000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: next() >> 17)) }
            + [0, -0.0, 1, 0.1, 1e15, 16_777_216, 1e-7, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .nan, -.infinity]
        let doubles = (0..<20_000).map { _ in Double(bitPattern: next()) } + floats.map(Double.init)
            + [9_007_199_254_740_992, 9_007_199_254_740_994, 1e16, 123_456_789.0, .leastNonzeroMagnitude]
        #expect(JSONOutput.numbers(floats) == (try JSONOutput.text(floats)))
        #expect(JSONOutput.numbers(doubles) == (try JSONOutput.text(doubles)))
        #expect(JSONOutput.numbers([Float]()) == "[]")
        #expect(try JSONOutput.text([String: Int](), appending: "b", rawValue: "[1]") == #"{"b":[1]}"#)
        #expect(try JSONOutput.text(["a": 0], appending: "b", rawValue: "[1]") == #"{"a":0,"b":[1]}"#)
    }
}
