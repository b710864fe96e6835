import Foundation
import StreamKitClient
import StreamKitTestSupport
import Synchronization

/// Phase (c), garbage at the port. While a legitimate publisher (``SegmentPublisher``) and a tail
/// (``LegitTail``) keep working on one store, four threads send hostile input over fresh connections
/// (``GarbageSender``), idle and slowloris connections linger (``Lingerers``), and one client reads from
/// unknown stores (``UnknownStores``). Checked: the server stays alive, the publisher and the tail go on without
/// an error or a long stall and the tail ends with every acknowledged record, lingering connections are closed by
/// the server, refusable upgrades are refused, reads create no store, and the server's descriptors come back
/// down once the garbage stops. Resident memory before and after is reported.
struct PortGarbage {
    static let phase = "garbage"
    static let space = "legit"
    static let segment = "g"
    /// How long idle and slowloris connections are watched: the server must have closed them by then.
    static let lingerWindow: Duration = .seconds(20)
    /// The longest the publisher or the tail may go without progress.
    static let longestStallAllowed: Duration = .seconds(20)
    /// Garbage sender threads (mostly waiting for answers, so more than the cores).
    static let senders = 4
    /// Descriptors the server may hold above its count before the garbage, once the garbage has stopped.
    static let descriptorSlack = 16

    let binary: String
    let work: String
    let seed: UInt64
    let deadline: ContinuousClock.Instant
    let report: Report

    func run() async throws {
        var random = SplitMix64(seed: seed ^ 0x6A4B_0003)
        let data = work + "/garbage"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let server = try await ServerUnderTest.start(binary, data: data)
        defer { server.child.signal(SIGKILL) }  // Only if the phase ends early: it stops the server itself.
        let store = random.uuid()
        let phase = Self.phase

        // Legitimate traffic first, until the tail has read something (an outcome, bounded).
        let legitStop = StopSignal()
        let tailStop = StopSignal()
        let ledger = SegmentLedger(segment: Self.segment)
        let publisherClient = HarnessClient.make(server.url)
        let tailClient = HarnessClient.make(server.url)
        let publisher = SegmentPublisher(
            client: publisherClient, store: store, space: Self.space, ledger: ledger, seed: seed, maxBatch: 10)
        let publisherSeed = SplitMix64(seed: random.next())
        let publishing = Task {
            await publisher.run(from: 1, random: publisherSeed, stop: legitStop, pause: .milliseconds(5))
        }
        try await waitFor("the first acknowledgement", within: .seconds(60)) {
            ledger.acknowledged > 0 || !server.child.isRunning
        }
        let tail = LegitTail()
        let seed = self.seed
        let tailing = Task {
            await tail.run(
                tailClient, store: store, space: Self.space, segment: Self.segment, seed: seed, stop: tailStop)
        }
        try await waitFor("the tail's first entry", within: .seconds(60)) {
            tail.last > 0 || tail.failure != nil || !server.child.isRunning
        }
        let residentBefore = server.residentKiB ?? 0
        let descriptorsBefore = server.openDescriptors ?? 0
        let directoriesBefore = Self.directories(data)
        let acknowledgedBefore = ledger.acknowledgedRecords
        ledger.resetStall()
        tail.resetStall()

        // The garbage.
        let tally = GarbageTally()
        let garbageStop = StopSignal()
        let lingerStop = StopSignal()
        let running = Atomic(0)
        let garbageStarted = ContinuousClock.now
        running.add(1, ordering: .relaxed)
        Lingerers.start(
            port: server.port, idle: 40, slow: 40, window: Self.lingerWindow, stop: lingerStop, tally: tally
        ) {
            running.subtract(1, ordering: .relaxed)
        }
        for _ in 0..<Self.senders {
            running.add(1, ordering: .relaxed)
            GarbageSender.start(port: server.port, seed: random.next(), stop: garbageStop, tally: tally) {
                running.subtract(1, ordering: .relaxed)
            }
        }
        let unknownSeed = random.next()
        let url = server.url
        let unknown = Task { await UnknownStores.run(url: url, seed: unknownSeed, stop: garbageStop, tally: tally) }

        // Until the share of time is used, but long enough to see lingering connections closed; earlier if the
        // server dies.
        let end = max(deadline - .seconds(6), garbageStarted + Self.lingerWindow + .seconds(1))
        var residentPeak = residentBefore
        var residentTrace: [String] = []  // Every 30 s: how memory goes while the garbage lasts.
        var nextTrace = garbageStarted + .seconds(30)
        while ContinuousClock.now < end && server.child.isRunning {
            try? await Task.sleep(for: .milliseconds(100))
            let resident = server.residentKiB ?? 0
            residentPeak = max(residentPeak, resident)
            if ContinuousClock.now >= nextTrace {
                residentTrace.append(String(format: "%.0f", Double(resident) / 1024))
                nextTrace += .seconds(30)
            }
        }
        let died = !server.child.isRunning
        garbageStop.set()
        if died { lingerStop.set() }
        let garbageTime = ContinuousClock.now - garbageStarted
        let publisherStall = ledger.longestStall
        let tailStall = tail.longestStall
        let acknowledgedDuringGarbage = ledger.acknowledgedRecords - acknowledgedBefore
        _ = await withDeadline(.seconds(30)) { await unknown.value }
        let senders = await waitOutcome(within: .seconds(30)) { running.load(ordering: .relaxed) == 0 }

        // The tail catches up with every acknowledged record; then the legitimate clients stop.
        legitStop.set()
        let publisherFailure = await withDeadline(.seconds(30)) { await publishing.value } ?? "did not stop within 30 s"
        let target = ledger.acknowledged
        let caughtUp = await waitOutcome(within: .seconds(60)) {
            tail.last >= target || tail.failure != nil || !server.child.isRunning
        }
        tailStop.set()
        _ = await withDeadline(.seconds(30)) { await tailing.value }
        _ = await HarnessClient.close(publisherClient)
        _ = await HarnessClient.close(tailClient)

        // The server releases what the garbage held.
        _ = await waitOutcome(within: .seconds(20)) {
            (server.openDescriptors ?? 0) <= descriptorsBefore + Self.descriptorSlack
        }
        let residentAfter = server.residentKiB ?? 0
        let descriptorsAfter = server.openDescriptors ?? 0
        let directoriesCreated = Self.directories(data) - directoriesBefore
        let stopped = await server.stop()

        report.figure(phase, "seconds of garbage", "\(garbageTime.components.seconds)")
        report.figure(phase, "inputs sent", "\(tally.totalInputs)")
        for (name, count) in tally.inputs.sorted(by: { $0.key < $1.key }) {
            report.figure(phase, "  \(name)", "\(count)")
        }
        report.figure(phase, "idle and slowloris connections", "\(tally.lingerersOpened)")
        report.figure(phase, "streams on unknown stores", "\(tally.unknownStoreCalls)")
        for (code, count) in tally.unknownStoreErrors.sorted(by: { $0.key < $1.key }) {
            report.figure(phase, "  of them failed with \(code)", "\(count)")
        }
        report.figure(phase, "connections refused (connect failed)", "\(tally.connectFailures)")
        report.figure(phase, "valid upgrades refused", "\(tally.upgradeFailures)")
        report.zero(phase, "server deaths", died ? 1 : 0)
        if died {
            report.example(
                phase, "server deaths",
                "\(server.child.isRunning ? "" : stopped.end.description) \(stopped.stderrTail(600))")
        }
        report.check(phase, "graceful stop after the garbage", "\(stopped.end)", passed: stopped.end == .exited(0))
        report.figure(
            phase, "server RSS before / peak / after (MiB)",
            String(
                format: "%.1f / %.1f / %.1f", Double(residentBefore) / 1024, Double(residentPeak) / 1024,
                Double(residentAfter) / 1024))
        if !residentTrace.isEmpty {
            report.figure(phase, "server RSS every 30 s of garbage (MiB)", residentTrace.joined(separator: ", "))
        }
        report.check(
            phase, "server descriptors before / after (≤ before + \(Self.descriptorSlack))",
            "\(descriptorsBefore) / \(descriptorsAfter)",
            passed: descriptorsAfter <= descriptorsBefore + Self.descriptorSlack)
        report.zero(phase, "store directories created by reads", directoriesCreated)
        let closedValue =
            "\(tally.lingerersClosed) of \(tally.lingerersOpened)"
            + (tally.slowestLingererClose.map { ", the last after \($0.components.seconds) s" } ?? "")
        report.check(
            phase,
            "idle and slowloris connections closed by the server within \(Self.lingerWindow.components.seconds) s",
            closedValue,
            passed: tally.lingerersClosed == tally.lingerersOpened)
        let leftOpen = tally.leftOpenCounts
        report.zero(
            phase,
            "refused connections still open \(GarbageSender.lingerAfterAnswer / 1000) s after the HTTP error answer",
            leftOpen.values.reduce(0, +))
        for (name, count) in leftOpen.sorted(by: { $0.key < $1.key }) {
            report.example(
                phase,
                "refused connections still open \(GarbageSender.lingerAfterAnswer / 1000) s after the HTTP error answer",
                "\(name): \(count) times")
        }
        let accepted = tally.refusableAcceptedCounts
        report.zero(phase, "refusable upgrades accepted (101)", accepted.values.reduce(0, +))
        for (name, count) in accepted.sorted(by: { $0.key < $1.key }) {
            report.example(phase, "refusable upgrades accepted (101)", "\(name): \(count) times")
        }
        report.figure(phase, "records acknowledged during the garbage", "\(acknowledgedDuringGarbage)")
        report.check(
            phase, "legitimate publisher progressed during the garbage", "\(acknowledgedDuringGarbage) records",
            passed: acknowledgedDuringGarbage > 0)
        report.check(
            phase, "longest publisher / tail stall (< \(Self.longestStallAllowed.components.seconds) s)",
            String(format: "%.1f / %.1f s", Self.seconds(publisherStall), Self.seconds(tailStall)),
            passed: publisherStall < Self.longestStallAllowed && tailStall < Self.longestStallAllowed)
        report.check(
            phase, "legitimate publisher failures", publisherFailure ?? "none", passed: publisherFailure == nil)
        report.check(phase, "tail failures", tail.failure ?? "none", passed: tail.failure == nil)
        report.zero(phase, "tail entries out of order or altered", tail.problems.count)
        for problem in tail.problems { report.example(phase, "tail entries out of order or altered", problem) }
        report.check(
            phase, "tail read every acknowledged record", "\(tail.last) of \(target)",
            passed: caughtUp && tail.last >= target)
        report.check(phase, "garbage senders stopped", senders ? "yes" : "no", passed: senders)
    }

    /// Store directories under `data`.
    static func directories(_ data: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: data)) ?? []).filter { !$0.hasPrefix(".") }.count
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Waits until `condition` holds (checked every 10 ms); false when `timeout` passes first.
    private func waitOutcome(within timeout: Duration, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// Like ``waitOutcome(within:_:)``, but a timeout is a `HarnessError` (the phase cannot start).
    private func waitFor(_ what: String, within timeout: Duration, _ condition: () -> Bool) async throws {
        guard await waitOutcome(within: timeout, condition) else {
            throw HarnessError("garbage phase: no \(what) within \(timeout)")
        }
    }
}
