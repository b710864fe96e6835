import Foundation
import StreamKitClient
import StreamKitTestSupport

/// Phase (b), damage. Builds four healthy source stores (``SourceStore``), then damages copies of them
/// (``DamageCases``) and runs `verify`, `inspect --json` and `dump` on each copy — and on a sample, `serve` with
/// a read of every segment — with a timeout, judging each against what the damage must do (``DamageVerdict``):
/// no signal, no hang, damage reported with file and offset, never success with data missing.
struct StoreDamage {
    static let phase = "damage"
    static let toolTimeout: Duration = .seconds(60)

    let binary: String
    let work: String
    let seed: UInt64
    let deadline: ContinuousClock.Instant
    let everyByte: Bool
    let jobs: Int
    let report: Report

    private struct Figures {
        var sources = 0
        var sourceFailures = 0
        var cases = 0
        var everyByteDone = 0
        var touching = 0
        var tailLike = 0
        var cleanCuts = 0
        var lostData = 0
        var detectable = 0
        var verifyDetected = 0
        var verifyMissed = 0
        var lostNotTail = 0
        var dumpRefusedLoss = 0
        var crashes = 0
        var hangs = 0
        var silentLosses = 0
        var unlocated = 0
        var alarms = 0
        var alarmsOnStderr = 0
        var falseAlarms = 0
        var tailCutSilently = 0
        var serveTried = 0
        var serveRefused = 0
        var serveLogged = 0
        var harnessErrors = 0
    }

    func run() async throws {
        var random = SplitMix64(seed: seed ^ 0xDA4A_0002)
        var figures = Figures()
        let root = work + "/damage"
        var sources: [SourceStore] = []
        for shape in SourceStore.shapes(&random) {
            do {
                sources.append(
                    try await SourceStore.build(shape, binary: binary, directory: root + "/sources", random: &random))
            } catch {
                figures.sourceFailures += 1
                report.example(Self.phase, "healthy source stores the tools misjudge", "\(error)")
            }
        }
        figures.sources = sources.count
        guard !sources.isEmpty else {
            publish(figures, everyByteTotal: 0)
            return
        }
        var cases = DamageCases(sources: sources, everyByte: everyByte, random: SplitMix64(seed: random.next()))
        let everyByteTotal = cases.everyByteTotal
        let stores = sources
        await withTaskGroup(of: (DamageCase, DamageCase.Expectation, DamageVerdict?).self) { group in
            var running = 0
            while ContinuousClock.now < deadline {
                let damage = cases.next()
                let exhaustive = cases.isExhaustive(damage)
                // serve is slower than the three tools together: a third of the random cases, a sixteenth of the rest.
                let serve = exhaustive ? damage.number % 16 == 0 : damage.number % 3 == 0
                if running == jobs, let done = await group.next() {
                    tally(done, into: &figures, exhaustive: cases.isExhaustive(done.0), sources: stores)
                    running -= 1
                }
                group.addTask {
                    let (expectation, verdict) = await runCase(
                        damage, source: stores[damage.store], serve: serve, root: root)
                    return (damage, expectation, verdict)
                }
                running += 1
            }
            for await done in group {
                tally(done, into: &figures, exhaustive: cases.isExhaustive(done.0), sources: stores)
            }
        }
        publish(figures, everyByteTotal: everyByteTotal)
    }

    /// Copies the source store, damages the copy, runs the tools; returns what the damage requires (nothing
    /// when it changed no byte) and the verdict, nil when the harness could not set the case up.
    private func runCase(
        _ damage: DamageCase, source: SourceStore, serve: Bool, root: String
    ) async -> (DamageCase.Expectation, DamageVerdict?) {
        let data = root + "/cases/\(damage.number)"
        let file = source.layout.files[damage.file]
        var expectation = damage.expectation(source.layout, entries: source.entries)
        do {
            try FileManager.default.createDirectory(atPath: root + "/cases", withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: data)
            try FileManager.default.copyItem(atPath: source.data, toPath: data)
            if !(try damage.apply(to: data + "/" + source.directoryName + "/" + file.path)) {
                expectation = DamageCase.harmless(entries: source.entries)
            }
        } catch {
            report.example(Self.phase, "harness errors", "case \(damage.number): \(error)")
            return (expectation, nil)
        }
        var verdict = DamageVerdict()
        do {
            let verify = try await Child.run(binary, ["verify", data], timeout: Self.toolTimeout)
            if let output = verdict.judge("verify", verify, expectation) {
                verdict.verifyDetected = DamageVerdict.locates(String(decoding: output, as: UTF8.self))
                if expectation.touchesData && !expectation.tailLike { verdict.verifyMissed = true }
            } else if verify.end.status != nil {
                verdict.verifyDetected = true
            }
            let inspect = try await Child.run(binary, ["inspect", data, "--json"], timeout: Self.toolTimeout)
            if let output = verdict.judge("inspect", inspect, expectation) { verdict.checkInspect(output, expectation) }
            let dump = try await Child.run(
                binary, ["dump", data, "--store", source.id.uuidString], timeout: Self.toolTimeout)
            if let output = verdict.judge("dump", dump, expectation) {
                verdict.checkDump(output, expectation, entries: source.entries)
            } else {
                verdict.dumpFailed = true
            }
        } catch {
            report.example(Self.phase, "harness errors", "case \(damage.number): \(error)")
            return (expectation, nil)
        }
        if serve { await serveCheck(data: data, source: source, expectation: expectation, verdict: &verdict) }
        if !verdict.failed { try? FileManager.default.removeItem(atPath: data) }  // Failing copies stay for replay.
        return (expectation, verdict)
    }

    /// Starts `serve` on the copy and reads every segment through it: a failed read is the damage reported; a
    /// read that ends normally must deliver what the copy still holds.
    private func serveCheck(
        data: String, source: SourceStore, expectation: DamageCase.Expectation, verdict: inout DamageVerdict
    ) async {
        verdict.serveTried = true
        let server: ServerUnderTest
        do {
            server = try await ServerUnderTest.start(binary, data: data, timeout: .seconds(30))
        } catch let failure as ServerUnderTest.StartFailure {
            _ = verdict.judge("serve (start)", failure.outcome, expectation)
            return
        } catch {
            verdict.crashed.append("serve (start): \(error)")
            return
        }
        let client = HarnessClient.make(server.url)
        let bySegment = Dictionary(grouping: source.entries, by: \.segment)
        let id = source.id
        let required = expectation.requiredCount
        let read = await withDeadline(.seconds(60)) { () -> (loss: String?, refusal: String?) in
            for (segment, expected) in bySegment.sorted(by: { $0.key < $1.key }) {
                var got: [(sequence: UInt64, payload: [UInt8])] = []
                do {
                    for try await entry in client.consumeSegment(store: id, space: "damage", segment: segment) {
                        got.append((entry.sequence, Array(entry.payload)))
                    }
                } catch {
                    return (nil, "\(error)")
                }
                let prefix =
                    got.count <= expected.count
                    && zip(got, expected).allSatisfy { $0.sequence == $1.sequence && $0.payload == $1.payload }
                let needed = expected.filter { $0.position <= UInt64(required) }.count
                if !prefix || got.count < needed {
                    return (
                        "serve read of \(segment) ended normally with \(got.count) of \(expected.count) entries (\(needed) required, \(prefix ? "a prefix" : "not a prefix"))",
                        nil
                    )
                }
            }
            return (nil, nil)
        }
        _ = await HarnessClient.close(client)
        let stopped = await server.stop()
        switch stopped.end {
        case .signalled(let number): verdict.crashed.append("serve: signal \(number): \(stopped.stderrTail())")
        case .timedOut: verdict.hung.append("serve (stop)")
        case .exited: break
        }
        verdict.serveLogged = DamageVerdict.locates(stopped.stderrText)
        guard let read else {
            verdict.hung.append("serve (read)")
            return
        }
        if let loss = read.loss { verdict.silentLoss.append(loss) }
        if let refusal = read.refusal {
            verdict.serveRefused = true
            verdict.alarms += 1
            if !DamageVerdict.locates(refusal) && !verdict.serveLogged {
                verdict.unlocated.append(
                    "serve read failed without file and offset: \(Report.oneLine(refusal, limit: 300))")
            }
            if !expectation.touchesData { verdict.falseAlarms.append("serve") }
        }
    }

    private func tally(
        _ done: (DamageCase, DamageCase.Expectation, DamageVerdict?), into figures: inout Figures, exhaustive: Bool,
        sources: [SourceStore]
    ) {
        let (damage, expectation, verdict) = done
        guard let verdict else {
            figures.harnessErrors += 1
            return
        }
        figures.cases += 1
        if exhaustive { figures.everyByteDone += 1 }
        if expectation.touchesData { figures.touching += 1 }
        if expectation.tailLike { figures.tailLike += 1 }
        if expectation.cleanCut { figures.cleanCuts += 1 }
        if expectation.lost > 0 { figures.lostData += 1 }
        let what =
            "case \(damage.number): \(sources[damage.store].name) \(sources[damage.store].layout.files[damage.file].path) \(damage.kind)"
            + " (\(expectation.lost) positions lost, \(expectation.tailLike ? "tail-shaped" : "not tail-shaped"))"
        if expectation.touchesData && !expectation.cleanCut {
            figures.detectable += 1
            if verdict.verifyDetected {
                figures.verifyDetected += 1
            } else if !verdict.verifyMissed {
                report.example(Self.phase, "data damage verify did not report (tail-shaped)", what)
            }
        }
        if expectation.lost > 0 && !expectation.tailLike {
            figures.lostNotTail += 1
            if verdict.dumpFailed { figures.dumpRefusedLoss += 1 }
        }
        figures.crashes += verdict.crashed.count
        figures.hangs += verdict.hung.count
        figures.silentLosses += verdict.silentLoss.count
        figures.unlocated += verdict.unlocated.count
        figures.alarms += verdict.alarms
        figures.alarmsOnStderr += verdict.alarmsLocatedOnStderr
        figures.falseAlarms += verdict.falseAlarms.count
        if verdict.verifyMissed { figures.verifyMissed += 1 }
        if verdict.tailCutSilently { figures.tailCutSilently += 1 }
        if verdict.serveTried { figures.serveTried += 1 }
        if verdict.serveRefused { figures.serveRefused += 1 }
        if verdict.serveLogged { figures.serveLogged += 1 }

        for text in verdict.crashed { report.example(Self.phase, "tool crashes (signal)", "\(what): \(text)") }
        for text in verdict.hung { report.example(Self.phase, "tool hangs (timeout)", "\(what): \(text)") }
        for text in verdict.silentLoss {
            report.example(Self.phase, "silent losses (success with data missing)", "\(what): \(text)")
        }
        for text in verdict.unlocated {
            report.example(Self.phase, "failures without file and offset", "\(what): \(text)")
        }
        if verdict.verifyMissed { report.example(Self.phase, "damage verify exits 0 on", what) }
    }

    private func publish(_ figures: Figures, everyByteTotal: Int) {
        let phase = Self.phase
        report.figure(phase, "source stores built", "\(figures.sources)")
        report.zero(phase, "healthy source stores the tools misjudge", figures.sourceFailures)
        report.figure(phase, "damaged copies (files damaged)", "\(figures.cases)")
        if everyByteTotal > 0 {
            report.check(
                phase, "every-byte cases of the tiny stores done", "\(figures.everyByteDone) of \(everyByteTotal)",
                passed: figures.everyByteDone == everyByteTotal)
        }
        report.figure(phase, "copies with data damage (header, block or frame)", "\(figures.touching)")
        report.figure(phase, "copies losing positions no other file holds", "\(figures.lostData)")
        report.figure(phase, "copies with tail-shaped damage (torn tail)", "\(figures.tailLike)")
        report.figure(phase, "clean cuts (a valid shorter store; undetectable)", "\(figures.cleanCuts)")
        let rate =
            figures.detectable > 0
            ? String(format: "%.1f %%", 100 * Double(figures.verifyDetected) / Double(figures.detectable)) : "n/a"
        report.figure(
            phase, "detection rate of verify (reported / detectable)",
            "\(rate) (\(figures.verifyDetected)/\(figures.detectable))")
        report.figure(
            phase, "copies losing data that is no torn tail: dump failed on",
            "\(figures.dumpRefusedLoss) of \(figures.lostNotTail)")
        report.zero(phase, "tool crashes (signal)", figures.crashes)
        report.zero(phase, "tool hangs (timeout)", figures.hangs)
        report.zero(phase, "silent losses (success with data missing)", figures.silentLosses)
        report.zero(phase, "damage verify exits 0 on", figures.verifyMissed)
        report.zero(phase, "failures without file and offset", figures.unlocated)
        report.figure(phase, "failures (non-zero exits, refused reads)", "\(figures.alarms)")
        report.figure(phase, "failures naming file and offset on stderr", "\(figures.alarmsOnStderr)")
        report.figure(phase, "failures on harmless damage (sidecar, spare, stale bytes)", "\(figures.falseAlarms)")
        report.figure(phase, "torn tails cut by dump with status 0", "\(figures.tailCutSilently)")
        report.figure(phase, "copies served (serve + a read of every segment)", "\(figures.serveTried)")
        report.figure(phase, "served copies whose read failed", "\(figures.serveRefused)")
        report.figure(phase, "served copies where serve logged file and offset", "\(figures.serveLogged)")
        report.zero(phase, "harness errors", figures.harnessErrors)
    }
}
