import Foundation
import StreamKitClient
import StreamKitTestSupport

/// Phase (a), crash consistency. Over a store of its own, repeatedly: 1–4 publishers (one WebSocket client
/// each, one segment each, explicit contiguous sequences, ``ExpectedPayload``s) produce to `streamkit serve`
/// until it is killed with SIGKILL at a random moment; `streamkit verify` runs on the stopped store; the server
/// starts again on the same data (with a random durability) and every segment is read back and checked against
/// its ledger (``SegmentCheck``): every acknowledged record present exactly once, sequences 1…head without a
/// gap, every record with the payload sent for its sequence. `verify` failing on a store that then reads back
/// complete is a false alarm. After ``cyclesPerStore`` cycles the store is stopped gracefully, verified and
/// dumped (the dump is checked like a read), and a new store begins, so a long run does not grow one store
/// without bound.
struct CrashConsistency {
    static let phase = "crash"
    static let space = "faults"
    static let segments = 4
    static let cyclesPerStore = 20

    let binary: String
    let work: String
    let seed: UInt64
    let deadline: ContinuousClock.Instant
    let report: Report

    private struct Figures {
        var cycles = 0
        var stores = 0
        var acknowledged = 0
        var unacknowledgedPresent = 0
        var lost = 0
        var duplicated = 0
        var gaps = 0
        var wrongPayload = 0
        var phantom = 0
        var readFailures = 0
        var verifyRuns = 0
        var verifyFalseAlarms = 0
        var verifyTrueAlarms = 0
        var verifyMissed = 0
        var verifyCrashesOrHangs = 0
        var serverDiedEarly = 0
        var restartFailures = 0
        var publisherErrors = 0
        var publisherHangs = 0
        var closeHangs = 0
        var stopFailures = 0
        var cleanVerifyFailures = 0
        var dumpMismatches = 0
    }

    /// Runs cycles until the deadline (the cycle in progress finishes).
    func run() async throws {
        var random = SplitMix64(seed: seed ^ 0xC4A5_0001)
        var figures = Figures()
        let reserve: Duration = .seconds(8)  // A store's graceful end: stop, verify, dump.
        while ContinuousClock.now + reserve < deadline {
            figures.stores += 1
            try await runStore(number: figures.stores, random: &random, figures: &figures, reserve: reserve)
        }
        publish(figures)
    }

    private func runStore(number: Int, random: inout SplitMix64, figures: inout Figures, reserve: Duration) async throws
    {
        let data = work + "/crash/store-\(number)"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let store = random.uuid()
        let ledgers = (0..<Self.segments).map { SegmentLedger(segment: "p\($0)") }
        defer { figures.acknowledged += ledgers.reduce(0) { $0 + $1.acknowledgedRecords } }
        var server = try await ServerUnderTest.start(binary, data: data, durability: durability(&random))
        defer { server.child.signal(SIGKILL) }  // Only if the store ends early: it stops the server itself.
        var heads = [UInt64](repeating: 0, count: Self.segments)
        var cycle = 0
        while cycle < Self.cyclesPerStore && ContinuousClock.now + reserve < deadline {
            cycle += 1
            figures.cycles += 1
            let label = "store \(number) (\(store)) cycle \(cycle)"
            await publishAndCrash(
                server, store: store, ledgers: ledgers, heads: heads, random: &random, figures: &figures, label: label)

            figures.verifyRuns += 1
            let verify = try await Child.run(binary, ["verify", data], timeout: .seconds(120))
            do {
                server = try await ServerUnderTest.start(binary, data: data, durability: durability(&random))
            } catch {
                figures.restartFailures += 1
                report.example(Self.phase, "restarts after a crash that failed", "\(label): \(error)")
                return  // This store is left as it is (the work directory is kept when a check fails).
            }
            let checks = await checkAll(server, store: store, ledgers: ledgers, figures: &figures, label: label)
            heads = checks.map(\.head)
            let sound = checks.allSatisfy(\.passed)
            switch verify.end {
            case .exited(0):
                if !sound { figures.verifyMissed += 1 }
            case .exited:
                if sound {
                    figures.verifyFalseAlarms += 1
                    report.example(
                        Self.phase, "verify false alarms after a crash",
                        "\(label): \(Report.oneLine(verify.stdoutText + verify.stderrText))")
                } else {
                    figures.verifyTrueAlarms += 1
                }
            case .signalled, .timedOut:
                figures.verifyCrashesOrHangs += 1
                report.example(Self.phase, "verify crashes or hangs", "\(label): \(verify.end) \(verify.stderrTail())")
            }
        }
        // A graceful end: the store closes, verifies clean and dumps what was read.
        let stopped = await server.stop()
        if stopped.end != .exited(0) {
            figures.stopFailures += 1
            report.example(
                Self.phase, "graceful stops that failed", "store \(number): \(stopped.end) \(stopped.stderrTail())")
        }
        let verify = try await Child.run(binary, ["verify", data], timeout: .seconds(120))
        if verify.end != .exited(0) {
            figures.cleanVerifyFailures += 1
            report.example(
                Self.phase, "verify failures on a cleanly closed store",
                "store \(number): \(verify.end) \(Report.oneLine(verify.stdoutText + verify.stderrText))")
        }
        let dump = try await Child.run(binary, ["dump", data, "--store", store.uuidString], timeout: .seconds(300))
        let problems = dumpProblems(dump, ledgers: ledgers)
        if !problems.isEmpty {
            figures.dumpMismatches += 1
            report.example(
                Self.phase, "dumps of a cleanly closed store that differ from the reads",
                "store \(number): \(problems.joined(separator: "; "))")
        }
    }

    /// Starts 1–4 publishers, kills the server at a random moment, and waits for the publishers to notice.
    private func publishAndCrash(
        _ server: ServerUnderTest, store: UUID, ledgers: [SegmentLedger], heads: [UInt64], random: inout SplitMix64,
        figures: inout Figures, label: String
    ) async {
        let count = Int.random(in: 1...Self.segments, using: &random)
        let chosen = Array((0..<Self.segments).shuffled(using: &random).prefix(count))
        let stop = StopSignal()
        var clients: [StreamKitClient] = []
        var tasks: [Task<(String?, ContinuousClock.Instant), Never>] = []
        for index in chosen {
            let client = HarnessClient.make(server.url, retry: .none)
            clients.append(client)
            let publisher = SegmentPublisher(
                client: client, store: store, space: Self.space, ledger: ledgers[index], seed: seed,
                maxBatch: [1, 10, 50].randomElement(using: &random) ?? 10)
            let next = heads[index] + 1
            let generator = SplitMix64(seed: random.next())
            tasks.append(Task { (await publisher.run(from: next, random: generator, stop: stop), ContinuousClock.now) })
        }
        let before = ledgers.reduce(0) { $0 + $1.acknowledgedRecords }
        if Int.random(in: 0..<4, using: &random) == 0 {
            // Right after the first acknowledgement of the cycle (an outcome, bounded in case nothing comes).
            let giveUp = ContinuousClock.now + .seconds(30)
            while ledgers.reduce(0, { $0 + $1.acknowledgedRecords }) == before && ContinuousClock.now < giveUp {
                try? await Task.sleep(for: .milliseconds(1))
            }
        } else {
            try? await Task.sleep(for: .milliseconds(Int.random(in: 20...2_000, using: &random)))
        }
        let killedAt = ContinuousClock.now
        if !server.child.isRunning {
            figures.serverDiedEarly += 1
            let outcome = await server.child.wait(timeout: .seconds(5))
            report.example(
                Self.phase, "server deaths before the kill", "\(label): \(outcome.end) \(outcome.stderrTail())")
        }
        _ = await server.crash()
        stop.set()
        for task in tasks {
            guard let (failure, at) = await withDeadline(.seconds(30), { await task.value }) else {
                figures.publisherHangs += 1
                task.cancel()
                report.example(Self.phase, "publishers that did not end after the kill", label)
                continue
            }
            if let failure, at < killedAt {
                figures.publisherErrors += 1
                report.example(Self.phase, "publisher failures before the kill", "\(label): \(failure)")
            }
        }
        for client in clients where !(await HarnessClient.close(client)) {
            figures.closeHangs += 1
            report.example(Self.phase, "client closes that did not return", label)
        }
    }

    /// Reads every segment back through `server` and adds the results to the figures.
    private func checkAll(
        _ server: ServerUnderTest, store: UUID, ledgers: [SegmentLedger], figures: inout Figures, label: String
    ) async -> [SegmentCheck] {
        let client = HarnessClient.make(server.url)
        var checks: [SegmentCheck] = []
        for ledger in ledgers {
            let check = await SegmentCheck.read(client, store: store, space: Self.space, ledger: ledger, seed: seed)
            checks.append(check)
            figures.lost += check.lost
            figures.duplicated += check.duplicated
            figures.gaps += check.gaps
            figures.wrongPayload += check.wrongPayload
            figures.phantom += check.phantom
            if check.readError == nil { figures.unacknowledgedPresent += ledger.noteFound(head: check.head) }
            if let error = check.readError {
                figures.readFailures += 1
                report.example(Self.phase, "reads that failed after a restart", "\(label) \(ledger.segment): \(error)")
            }
            if !check.problems.isEmpty {
                report.example(
                    Self.phase, "acknowledged records lost, duplicated, out of place or altered",
                    "\(label) \(ledger.segment): \(check.problems.joined(separator: "; "))")
            }
        }
        if !(await HarnessClient.close(client)) { figures.closeHangs += 1 }
        return checks
    }

    /// What is wrong with a dump of the closed store, compared with the ledgers (empty when nothing).
    private func dumpProblems(_ dump: Child.Outcome, ledgers: [SegmentLedger]) -> [String] {
        guard dump.end == .exited(0) else { return ["dump ended with \(dump.end): \(dump.stderrTail())"] }
        let (entries, malformed) = DumpedEntry.parse(dump.stdout)
        var problems: [String] = malformed > 0 ? ["\(malformed) lines are no entry"] : []
        var checks = Dictionary(uniqueKeysWithValues: ledgers.map { ($0.segment, SegmentCheck(segment: $0.segment)) })
        let bySegment = Dictionary(uniqueKeysWithValues: ledgers.map { ($0.segment, $0) })
        for entry in entries {
            guard entry.space == Self.space, let ledger = bySegment[entry.segment] else {
                problems.append("an entry of \(entry.space)/\(entry.segment) was never sent")
                continue
            }
            checks[entry.segment]?.add(
                sequence: entry.sequence, payload: entry.payload, seed: seed, acknowledged: ledger.acknowledged,
                sent: ledger.sent)
        }
        for ledger in ledgers {
            guard var check = checks[ledger.segment] else { continue }
            check.finish(acknowledged: ledger.acknowledged)
            if !check.passed { problems.append("\(ledger.segment): \(check.problems.joined(separator: ", "))") }
        }
        return problems
    }

    private func publish(_ figures: Figures) {
        let phase = Self.phase
        report.figure(phase, "kill -9 cycles", "\(figures.cycles)")
        report.figure(phase, "stores (\(Self.cyclesPerStore) cycles each at most)", "\(figures.stores)")
        report.figure(phase, "records acknowledged", "\(figures.acknowledged)")
        report.figure(
            phase, "records beyond the last acknowledgement found intact after a crash",
            "\(figures.unacknowledgedPresent)")
        report.zero(phase, "acknowledged records lost", figures.lost)
        report.zero(phase, "records duplicated", figures.duplicated)
        report.zero(phase, "gaps (missing unacknowledged sequences below the head)", figures.gaps)
        report.zero(phase, "records with a payload that was not sent for them", figures.wrongPayload)
        report.zero(phase, "records never sent", figures.phantom)
        report.zero(phase, "reads that failed after a restart", figures.readFailures)
        report.zero(phase, "server deaths before the kill", figures.serverDiedEarly)
        report.zero(phase, "restarts after a crash that failed", figures.restartFailures)
        report.zero(phase, "publisher failures before the kill", figures.publisherErrors)
        report.zero(phase, "publishers that did not end after the kill", figures.publisherHangs)
        report.zero(phase, "client closes that did not return", figures.closeHangs)
        report.figure(phase, "verify runs after a crash", "\(figures.verifyRuns)")
        report.zero(phase, "verify false alarms after a crash", figures.verifyFalseAlarms)
        report.figure(phase, "verify alarms on a store that lost data", "\(figures.verifyTrueAlarms)")
        report.figure(phase, "verify silent on a store that lost data", "\(figures.verifyMissed)")
        report.zero(phase, "verify crashes or hangs", figures.verifyCrashesOrHangs)
        report.zero(phase, "graceful stops that failed", figures.stopFailures)
        report.zero(phase, "verify failures on a cleanly closed store", figures.cleanVerifyFailures)
        report.zero(phase, "dumps of a cleanly closed store that differ from the reads", figures.dumpMismatches)
    }

    /// A random durability: fsync half of the time, else interval:5 or none (every one keeps acknowledged data
    /// through a process crash).
    private func durability(_ random: inout SplitMix64) -> String {
        ["fsync", "fsync", "interval:5", "none"].randomElement(using: &random) ?? "fsync"
    }
}
