import Foundation
import Testing
import TXWTestSupport

/// `txw-bench gemm`: one product with the GEMM's plan, printed with the plan
/// and the caches it came from; a bad --plan is a usage error; a TXW_GEMM that
/// does not parse is ignored with one warning, one that does is used.
struct GemmBenchToolTests {
    func json(_ stdout: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
    }

    @Test func printsThePlanAndHonoursOverrides() throws {
        let small = ["gemm", "--m", "9", "--n", "20", "--k", "7", "--repetitions", "1", "--warmup", "0", "--threads", "1"]
        let r = try tool("txw-bench", small + ["--plan", "mr=3,kc=5"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try json(r.stdout)
        let plan = try #require(object["plan"] as? String)
        #expect(plan.hasPrefix("mr=3,nr=") && plan.contains(",kc=5,"), "\(plan)")
        #expect((object["gflops"] as? Double).map { $0 > 0 } == true)
        // TXW_GEMM's settings are the process's plan.
        var environment = ProcessInfo.processInfo.environment
        environment["TXW_GEMM"] = "nr=3,mc=24"
        let used = try tool("txw-bench", small, environment: environment)
        #expect(used.status == 0 && !used.stderr.contains("warning"), "\(used.stderr)")
        let usedPlan = try #require(try json(used.stdout)["plan"] as? String)
        #expect(usedPlan.contains("nr=3,") && usedPlan.contains(",mc=24,"), "\(usedPlan)")
        // A TXW_GEMM that does not parse: one warning, the CPU's plan.
        environment["TXW_GEMM"] = "mr=99"
        let ignored = try tool("txw-bench", small, environment: environment)
        #expect(ignored.status == 0)
        let warnings = ignored.stderr.split(separator: "\n").filter { $0.contains("TXW_GEMM ignored (mr must be 1 to 16)") }
        #expect(warnings.count == 1, "\(ignored.stderr)")
        environment["TXW_GEMM"] = nil
        let plain = try tool("txw-bench", small, environment: environment)
        #expect(try json(ignored.stdout)["plan"] as? String == json(plain.stdout)["plan"] as? String)
    }

    @Test func sweepListsCandidatesFastestFirst() throws {
        let r = try tool("txw-bench", ["gemm", "--m", "8", "--n", "16", "--k", "8", "--repetitions", "1", "--warmup", "0", "--sweep"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try json(r.stdout)
        let plans = try #require(object["sweep_plans"] as? [String])
        let speeds = try #require(object["sweep_gflops"] as? [Double])
        #expect(plans.count == speeds.count && plans.count > 4)
        #expect(speeds == speeds.sorted(by: >))
    }

    @Test func badPlanIsAUsageError() throws {
        try NumberArgumentTests.expectRefused("txw-bench", ["gemm", "--plan", "mr=99"], ["--plan", "mr must be 1 to 16", "mr=99"])
        try NumberArgumentTests.expectRefused("txw-bench", ["gemm", "--plan", "kc=1,kc=2"], ["a key given twice"])
        try NumberArgumentTests.expectRefused("txw-bench", ["gemm", "--m", "0"], ["--m must be 1 … 8192, got 0"])
    }
}
