import Foundation
import Testing
import TXWFormat
import TXWKernels
import TXWTestSupport
@testable import TXWModel

/// The malformed-file conformance set (Tests/Fixtures/malformed, written by
/// tools/conformance/make_malformed.py): the Swift reader rejects every file
/// with the category the set states, and its message names what it lists.
/// tools/python/tests/test_conformance.py holds the Python reader to the same.
struct ConformanceTests {
    struct Expectation: Decodable {
        let category: String
        let mentions: [String]
        let level: String
        let why: String
    }

    static let directory = fixturesDirectory("malformed")

    /// The first error reading `path` at `level` raises, or nil when it is accepted.
    static func rejection(_ path: String, level: String) -> (category: String, message: String)? {
        do {
            let reader = try TXWReader(path: path)
            if let problem = reader.verify().first { return (problem.category, problem.description) }
            if level == "model" { _ = try ModelFile.load(reader, as: Double.self) }
            return nil
        } catch let error as TXWFormatError {
            return (error.category, error.description)
        } catch let error as ModelError {
            return (error.category, error.description)
        } catch {
            return ("unexpected \(type(of: error))", "\(error)")
        }
    }

    @Test func everyMalformedFileIsRejectedAsStated() throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent("expected.json"))
        let expected = try JSONDecoder().decode([String: Expectation].self, from: data)
        #expect(expected.count >= 30)
        for (name, e) in expected.sorted(by: { $0.key < $1.key }) {
            let path = Self.directory.appendingPathComponent(name).path
            guard let (category, message) = Self.rejection(path, level: e.level) else {
                Issue.record("\(name) was accepted (\(e.why))")
                continue
            }
            #expect(category == e.category, "\(name): \(message) — expected \(e.category) (\(e.why))")
            for needle in e.mentions {
                #expect(message.contains(needle), "\(name): '\(message)' does not mention \(needle)")
            }
        }
    }
}
