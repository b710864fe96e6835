import Foundation

/// What `verify`, `inspect`, `dump` and `serve` did with one damaged copy, judged against the case's
/// ``DamageCase/Expectation``: no death by signal, no hang, damage reported with its file and offset, and never
/// success while leaving out data the store still holds.
struct DamageVerdict: Sendable {
    /// Tools a signal ended.
    var crashed: [String] = []
    /// Tools that did not end in time.
    var hung: [String] = []
    /// Tools that reported success without data they had to deliver, described.
    var silentLoss: [String] = []
    /// Tools that failed without naming a file and an offset.
    var unlocated: [String] = []
    /// Tools that failed on damage no reader is affected by (a sidecar, a spare, stale bytes).
    var falseAlarms: [String] = []
    /// Tools that failed (non-zero exit, or a refused serve read).
    var alarms = 0
    /// Failures whose stderr names the file and the offset.
    var alarmsLocatedOnStderr = 0
    /// `verify` failed or reported a problem (a torn tail, say).
    var verifyDetected = false
    /// `verify` exited 0 on damage that is not tail-shaped.
    var verifyMissed = false
    /// `dump` did not exit 0.
    var dumpFailed = false
    /// `dump` exited 0 with the required entries, damage that lost data notwithstanding (tail-shaped only).
    var tailCutSilently = false
    /// `serve` was tried on this copy.
    var serveTried = false
    /// A read through `serve` failed (the damage was reported to the client).
    var serveRefused = false
    /// `serve` logged the damage (a warning or error naming a file).
    var serveLogged = false

    var failed: Bool { !crashed.isEmpty || !hung.isEmpty || !silentLoss.isEmpty || !unlocated.isEmpty || verifyMissed }

    /// Judges how a tool ended; returns its stdout when it exited 0 (else nil).
    mutating func judge(_ tool: String, _ outcome: Child.Outcome, _ expectation: DamageCase.Expectation) -> Data? {
        switch outcome.end {
        case .signalled(let number):
            crashed.append("\(tool): signal \(number): \(outcome.stderrTail())")
            return nil
        case .timedOut:
            hung.append(tool)
            return nil
        case .exited(0):
            return outcome.stdout
        case .exited(let status):
            alarms += 1
            let all = outcome.stdoutText + "\n" + outcome.stderrText
            if !Self.locates(all) { unlocated.append("\(tool) (exit \(status)): \(Report.oneLine(all, limit: 300))") }
            if Self.locates(outcome.stderrText) { alarmsLocatedOnStderr += 1 }
            if !expectation.touchesData { falseAlarms.append(tool) }
            return nil
        }
    }

    /// Whether `text` names a store file (`…/NNNN.log`, `.wal`, `.idx`, `spare`) and an offset in it.
    static func locates(_ text: String) -> Bool {
        let file = text.contains(".log") || text.contains(".wal") || text.contains(".idx") || text.contains("spare")
        guard file, let offset = try? Regex(#"(@ ?|offset:? |byte |bytes? at |at byte )[0-9]+"#) else { return false }
        return text.contains(offset)
    }

    /// Checks `dump`'s output against the healthy store: positions 1…n in order, each entry as it was, n at
    /// least the required count.
    mutating func checkDump(_ output: Data, _ expectation: DamageCase.Expectation, entries: [DumpedEntry]) {
        let (dumped, malformed) = DumpedEntry.parse(output)
        let prefix = dumped.count <= entries.count && zip(dumped, entries).allSatisfy { $0 == $1 }
        if malformed > 0 || !prefix || dumped.count < expectation.requiredCount {
            silentLoss.append(
                "dump exit 0 with \(dumped.count) of \(entries.count) entries (\(expectation.requiredCount) required, "
                    + "\(prefix ? "a prefix" : "not a prefix"), \(malformed) bad lines)")
        } else if dumped.count < entries.count {
            tailCutSilently = true
        }
    }

    /// Checks `inspect --json`: the entries it counts (sealed and not) at least the required count.
    mutating func checkInspect(_ output: Data, _ expectation: DamageCase.Expectation) {
        guard let stores = (try? JSONSerialization.jsonObject(with: output)) as? [[String: Any]] else {
            silentLoss.append("inspect exit 0 with output that is no JSON list of stores")
            return
        }
        let counted = stores.reduce(0) { $0 + (($1["entries"] as? Int) ?? 0) + (($1["wal_entries"] as? Int) ?? 0) }
        if counted < expectation.requiredCount {
            silentLoss.append("inspect exit 0 counting \(counted) entries (\(expectation.requiredCount) required)")
        }
    }
}
