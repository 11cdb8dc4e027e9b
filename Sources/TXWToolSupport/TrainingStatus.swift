/// txw-train's status line, `step S/N  train L  val L  T tok/s  ETA Ns`.
package enum TrainingStatus {
    /// The line after `step` of `steps` (`firstStep` where this run started,
    /// `elapsed` seconds since), each step reading `tokensPerStep` tokens.
    /// Rate and ETA are computed in Double and printed with `%.0f`, so no
    /// value (a huge --steps, an elapsed time near 0 or near infinity) can
    /// overflow.
    package static func line(step: Int, steps: Int, train: Double, validation: Double?, elapsed: Double,
                             firstStep: Int, tokensPerStep: Double) -> String {
        let done = Double(step) - Double(firstStep)
        let rate = done / max(elapsed, 1e-9)
        let eta = rate > 0 ? (Double(steps) - Double(step)) / rate : 0
        return "step \(step)/\(steps)  train \(format(train))  val \(validation.map(format) ?? "-")  "
            + "\(Formatting.printf("%.0f", rate * tokensPerStep)) tok/s  ETA \(Formatting.printf("%.0f", eta))s"
    }

    static func format(_ v: Double) -> String { Formatting.printf("%.4f", v) }
}
