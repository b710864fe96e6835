import Foundation
import Logging
import MetricsTestKit
import StreamKitTestSupport
import StreamKitWire
import Testing

@testable import StreamKitClient

/// The WebSocket transport under chaos (issue #5): while a producer writes small batches with known sequences to
/// one segment, a reader consumes it with resumed reads and a subscriber follows its status, a seeded schedule
/// severs every connection (through ``ChaosProxy``), or crashes the server or shuts it down gracefully, and starts it
/// again on the same port, over the same registry, at random points (``Chaos/strike(_:until:graceful:random:)``).
/// At the end the reader has seen every sequence from 1 to the segment's last exactly once, in order (every
/// acknowledged batch included) and no read gave up, the subscriber's last status names that last sequence, and
/// nothing is left running: no transport task, no open stream, no proxied connection, and the server and registry
/// shut down promptly.
///
/// Bounded to `STREAMKIT_CHAOS_SECONDS` (default 20) of chaos plus settling; `STREAMKIT_CHAOS_SEED` replays a
/// schedule (the seed is printed); `STREAMKIT_CHAOS_GRACEFUL_RESTARTS=0` leaves out graceful shutdowns. A failing
/// run prints the client's and server's logs up to the first problem. See `docs/client.md`, "Chaos test".
@Suite(.serialized)
struct ChaosTests {
    static let space = "chaos"
    static let segment = "g"

    @Test(.timeLimit(.minutes(ChaosSettings.timeLimitMinutes)))
    func everyAcknowledgedEntryIsReadOnceAndInOrderThroughDropsAndRestarts() async throws {
        let settings = ChaosSettings.current
        print("chaos: seed \(settings.seed) (replay with STREAMKIT_CHAOS_SEED=\(settings.seed)), \(settings.seconds) s")
        let began = ContinuousClock.now
        let rig = try await ChaosRig.start()

        let subscriber = Box(SubscriberLog())
        let subscription = try await rig.client.subscribe(store: rig.store, space: Self.space, segment: Self.segment) {
            status in
            subscriber.update { $0.record(status) }
        }

        let deadline = ContinuousClock.now + .seconds(settings.seconds)
        let target = Box<UInt64?>(nil)
        let acknowledged = Box<UInt64>(0)
        let chaosRunning = Box(true)
        let chaos = Task {
            defer { chaosRunning.update { $0 = false } }
            return await Chaos.strike(
                rig, until: deadline, graceful: settings.gracefulRestarts, random: settings.generator(1))
        }
        let producer = Task {
            await ChaosProducer.run(
                rig, until: deadline, while: chaosRunning, acknowledged: acknowledged, random: settings.generator(2))
        }
        let reader = Task {
            await ChaosReader.run(rig, acknowledged: acknowledged, target: target, random: settings.generator(3))
        }

        let chaosReport = await chaos.value
        let producerReport = await finishing(producer, within: .seconds(settings.seconds + 30), "the producer")
        // Quiet now, the server is up: the segment's last sequence is what everyone must reach.
        let last = try #require(await ChaosProducer.lastSequence(rig), "the segment's last sequence")
        target.update { $0 = last }
        let readerReport = await finishing(reader, within: .seconds(60), "the reader")
        await eventually("the subscriber sees \(last)") {
            subscription.status().lastStatus?.lastSequence == last
        }
        let chaosTime = ContinuousClock.now - began
        for snapshot in rig.log.snapshots {
            print("chaos: the logs up to \(snapshot.reason):\n" + snapshot.lines.joined(separator: "\n"))
        }

        // What was produced, read and delivered.
        #expect(producerReport.issues.isEmpty, "producer: \(producerReport.issues)")
        #expect(readerReport.issues.isEmpty, "reader: \(readerReport.issues)")
        #expect(last >= producerReport.acknowledged, "every acknowledged batch is in the segment")
        #expect(last > 0)
        #expect(readerReport.last == last, "the reader reached the end")
        #expect(readerReport.entries == Int(last), "1…\(last) exactly once: no gap, no duplicate")
        #expect(readerReport.failures == 0, "resumed reads never gave up: \(readerReport.lastFailure ?? "")")
        let log = subscriber.get
        #expect(log.regressions == 0, "statuses never go back")
        #expect(subscription.status().lastStatus?.lastSequence == last)
        #expect(subscription.status().state == .active, "\(subscription.status().lastError ?? "")")
        #expect(subscription.status().failureCount == 0)
        if settings.seconds >= 10 {  // The run did what it is for.
            #expect(chaosReport.strikes > 0)
            #expect(rig.metrics.counterTotal(label: "streamkit_client_reconnects_total") > 0)
            #expect(rig.metrics.counterTotal(label: "streamkit_client_resumed_reads_total") > 0)
        }

        // Nothing leaked while running: one connection session, only the subscription's stream open.
        let manager = try #require(rig.manager)
        await eventually("one session and no reconnect loop") {
            await manager.runningTaskCount == 1
        }
        await eventually("only the subscription's stream open") {
            await manager.currentConnection?.openStreamCount == 1
        }
        await eventually("one proxied connection") { rig.proxy.openConnections == 1 }

        // Nothing leaked after close.
        await rig.client.close()
        #expect(await manager.runningTaskCount == 0)
        #expect(rig.client.backgroundTaskCount == 0)
        #expect(subscription.status().state == .cancelled)
        await eventually("the proxy carries no connection") { rig.proxy.openConnections == 0 }
        // Both end: the server's connections had ended (its shutdown waits for them), and no server stream still pins
        // the store (the registry's shutdown waits for pins). A generous watchdog tells a hang from a loaded machine;
        // the durations are printed below.
        let stopping = ContinuousClock.now
        await finishing(Task { await rig.server.stop() }, within: .seconds(60), "the server's shutdown")
        let serverStop = ContinuousClock.now - stopping
        await finishing(Task { await rig.registry.shutdown() }, within: .seconds(60), "the registry's shutdown")
        let shutdown = ContinuousClock.now - stopping - serverStop
        await rig.proxy.close()

        print(
            """
            chaos: seed \(settings.seed): \(chaosTime) until verified; segment 1…\(last) \
            (acknowledged \(producerReport.acknowledged) in \(producerReport.batches) batches, \
            \(producerReport.streamed) streamed; \(producerReport.failed) failed, \(producerReport.conflicts) conflicts); \
            \(chaosReport.severs) severs (\(chaosReport.severed) connections), \(chaosReport.restarts) restarts \
            (\(chaosReport.gracefulRestarts) graceful), \
            \(chaosReport.doubleDrops) double drops; reader \(readerReport.entries) entries in \(readerReport.opens) \
            opens, \(readerReport.failures) failed reads\(readerReport.lastFailure.map { " (last: \($0))" } ?? ""); \
            subscriber \(log.deliveries) statuses (\(subscription.status().lastError ?? "no error")); reconnects \
            \(rig.metrics.counterTotal(label: "streamkit_client_reconnects_total")), resumed reads \
            \(rig.metrics.counterTotal(label: "streamkit_client_resumed_reads_total")); proxy forwarded \
            \(rig.proxy.forwardedConnections), refused \(rig.proxy.refusedConnections); server stop \(serverStop), \
            registry shutdown \(shutdown)
            """)
    }
}

// MARK: - The rig

/// An in-memory registry, a loopback server over it, a ``ChaosProxy`` in front of the server, and a WebSocket client
/// that dials the proxy: real time, fast retries and reconnects, a small stream window and small read batches (so
/// reads span strikes).
struct ChaosRig: Sendable {
    let registry: StoreRegistry
    let server: LoopbackServer
    let proxy: ChaosProxy
    let client: StreamKitClient
    let metrics: TestMetrics
    /// The client's and the server's recent logs (debug and above).
    let log: ChaosLog
    let store = UUID()

    /// The client's connection manager.
    var manager: ConnectionManager? { (client.transport as? WebSocketTransport)?.manager }

    static func start() async throws -> ChaosRig {
        var storeConfiguration = StoreConfiguration()
        storeConfiguration.logger.logLevel = .critical
        var registryConfiguration = RegistryConfiguration(store: storeConfiguration)
        registryConfiguration.inMemory = true
        let registry = StoreRegistry(root: "", configuration: registryConfiguration)
        let log = ChaosLog()
        let serverLogger = log.logger("server", level: .debug)
        let server = try await LoopbackServer.start(
            registry: registry,
            configuration: .init(authentication: .none, port: 0, entriesPerBatch: 16, logger: serverLogger))
        let proxy = try await ChaosProxy.start(upstreamPort: server.port)
        var options = WebSocketOptions(url: proxy.url)
        options.reconnectInitialBackoff = .milliseconds(5)
        options.reconnectMaxBackoff = .milliseconds(50)
        // The proxy refuses or severs, it never stalls: dials fail fast anyway, and a short timeout only failed
        // slow but healthy upgrades on a loaded machine (no record was acknowledged in a whole 20 s run).
        options.connectTimeout = .seconds(30)
        options.limits = MuxLimits(streamQueueDepth: 4)
        let metrics = TestMetrics()
        var configuration = ClientConfiguration(
            retryPolicy: RetryPolicy(
                maxAttempts: 50, initialBackoff: .milliseconds(5), maxBackoff: .milliseconds(100), multiplier: 2),
            handlerTimeout: .seconds(5))
        configuration.logger = log.logger("client", level: .debug)
        configuration.metricsFactory = metrics
        let client = StreamKitClient(transport: .webSocket(options), configuration: configuration)
        return ChaosRig(registry: registry, server: server, proxy: proxy, client: client, metrics: metrics, log: log)
    }
}

/// The payload of sequence `n`: lets the reader check that an entry is the one produced at its sequence.
func chaosPayload(_ sequence: UInt64) -> [UInt8] { Array("c\(sequence)".utf8) }

// MARK: - Chaos

struct ChaosReport: Sendable {
    var severs = 0
    var severed = 0
    var restarts = 0
    var gracefulRestarts = 0
    var doubleDrops = 0
    var strikes: Int { severs + restarts + doubleDrops }
}

enum Chaos {
    /// How long the chaos may go on past its window while no read has been resumed yet.
    static let overtime = Duration.seconds(120)

    /// Every 100–700 ms until `deadline`, one of:
    /// - sever every connection (50 %);
    /// - restart the server (30 %): it stops and starts again on the same port after 0–250 ms. Without `graceful`
    ///   every restart is a crash: the proxy severs every connection and refuses new ones until the server is up
    ///   again. With `graceful` (the default) half the restarts shut the server down with the client still
    ///   connected instead: each connection's go-away, then its open streams reset with `storeUnavailable`;
    /// - sever twice within 0–30 ms, hitting the reconnect (20 %).
    ///
    /// Past `deadline` it goes on (for up to ``overtime``) until a strike has interrupted a read, which the client
    /// then resumed: on a loaded machine the window can pass with every strike between reads, and the run then
    /// proved nothing about resumed reads. Returns with the server up.
    static func strike(
        _ rig: ChaosRig, until deadline: ContinuousClock.Instant, graceful: Bool, random: SplitMix64
    ) async -> ChaosReport {
        var random = random
        var report = ChaosReport()
        while true {
            let pause = Duration.milliseconds(Int.random(in: 100...700, using: &random))
            let end = ContinuousClock.now + pause
            let resumed = rig.metrics.counterTotal(label: "streamkit_client_resumed_reads_total") > 0
            guard end < deadline || (!resumed && end < deadline + overtime) else { break }
            try? await Task.sleep(for: pause)
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<50:
                report.severs += 1
                report.severed += rig.proxy.severAll()
            case 50..<80:
                report.restarts += 1
                let crash = !graceful || Bool.random(using: &random)
                if crash {
                    rig.proxy.isRefusing = true
                    report.severed += rig.proxy.severAll()
                } else {
                    report.gracefulRestarts += 1
                }
                await rig.server.stop()
                try? await Task.sleep(for: .milliseconds(Int.random(in: 0...250, using: &random)))
                await resume(rig.server)
                rig.proxy.isRefusing = false
            default:
                report.doubleDrops += 1
                report.severed += rig.proxy.severAll()
                try? await Task.sleep(for: .milliseconds(Int.random(in: 0...30, using: &random)))
                report.severed += rig.proxy.severAll()
            }
        }
        return report
    }

    /// Starts the server again on its port (retrying a bind that fails while the old socket lingers, for up to 60 s:
    /// a deadline that only matters when the port never comes free).
    private static func resume(_ server: LoopbackServer) async {
        let giveUp = ContinuousClock.now + .seconds(60)
        while true {
            do {
                try await server.resume()
                return
            } catch {
                guard ContinuousClock.now < giveUp else {
                    Issue.record("the server did not start again: \(error)")
                    return
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}

// MARK: - ChaosProducer

struct ProducerReport: Sendable {
    /// The last sequence of the latest acknowledged batch.
    var acknowledged: UInt64 = 0
    var batches = 0
    var streamed = 0
    /// Produces that failed retryably (the connection dropped under them).
    var failed = 0
    /// Produces refused with `sequenceConflict`: a failed one had committed after all.
    var conflicts = 0
    var issues: [String] = []

    mutating func issue(_ log: ChaosLog, _ text: String) {
        issues.append(text)
        log.snapshot("producer: \(text)")
    }
}

enum ChaosProducer {
    /// Produces batches of 1–20 records until `deadline` and while `chaosRunning` (the chaos may run over its window),
    /// and at least one batch: three quarters as arrays, a quarter through the streaming
    /// produce from a source that takes 0–2 ms per record (so the server waits for records mid-produce). A batch that
    /// fails retryably, or with `sequenceConflict` (an earlier failed batch committed after all), is followed by
    /// asking the segment's actual last sequence and going on after it: nothing is produced twice. Every batch
    /// acknowledged must be acknowledged whole; `acknowledged` follows the last acknowledged sequence.
    static func run(
        _ rig: ChaosRig, until deadline: ContinuousClock.Instant, while chaosRunning: Box<Bool>,
        acknowledged progress: Box<UInt64>, random: SplitMix64
    ) async -> ProducerReport {
        var random = random
        var report = ProducerReport()
        var next: UInt64 = 1
        // Past the deadline (the chaos has stopped then) it goes on until one batch is acknowledged: on a loaded
        // machine the whole chaos window could pass without one, and the run then proved nothing.
        while ContinuousClock.now < deadline || chaosRunning.get || report.batches == 0, !Task.isCancelled {
            let count = UInt64.random(in: 1...20, using: &random)
            let batch = (next..<(next + count)).map { Record(sequence: $0, payload: chaosPayload($0)) }
            let streamed = Int.random(in: 0..<4, using: &random) == 0
            do {
                var acknowledged: UInt64?
                if streamed {
                    let source = PacedRecords(
                        records: batch, pause: .microseconds(Int.random(in: 0...2_000, using: &random)))
                    let statuses = rig.client.produce(
                        store: rig.store, space: ChaosTests.space, segment: ChaosTests.segment, records: source)
                    for try await status in statuses {
                        acknowledged = status.lastSequence
                        report.acknowledged = status.lastSequence
                    }
                    report.streamed += 1
                } else {
                    let statuses = try await rig.client.produce(
                        store: rig.store, space: ChaosTests.space, segment: ChaosTests.segment, records: batch)
                    acknowledged = statuses.last?.lastSequence
                }
                guard acknowledged == next + count - 1 else {
                    report.issue(
                        rig.log,
                        "batch \(next)…\(next + count - 1) acknowledged up to \(String(describing: acknowledged))")
                    break
                }
                report.acknowledged = next + count - 1
                progress.update { $0 = next + count - 1 }
                report.batches += 1
                next += count
            } catch let error as StreamKitError where error.code == .sequenceConflict || error.isRetryable {
                if error.code == .sequenceConflict { report.conflicts += 1 } else { report.failed += 1 }
                guard let last = await lastSequence(rig) else {
                    report.issue(rig.log, "the segment's last sequence could not be read after \(error)")
                    break
                }
                guard last >= report.acknowledged else {
                    report.issue(rig.log, "the segment ends at \(last), before the acknowledged \(report.acknowledged)")
                    break
                }
                next = last + 1
            } catch {
                if !Task.isCancelled { report.issue(rig.log, "batch \(next)…\(next + count - 1) failed: \(error)") }
                break
            }
        }
        return report
    }

    /// The segment's last sequence (0 when empty), asked until a connection answers (60 s at most: a deadline that
    /// only matters when the server never comes back).
    static func lastSequence(_ rig: ChaosRig) async -> UInt64? {
        let giveUp = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < giveUp, !Task.isCancelled {
            do {
                return try await rig.client.peek(
                    store: rig.store, space: ChaosTests.space, segment: ChaosTests.segment)?
                    .sequence ?? 0
            } catch let error as StreamKitError where error.isRetryable {
                try? await Task.sleep(for: .milliseconds(5))
            } catch {
                return nil
            }
        }
        return nil
    }
}

// MARK: - ChaosReader

struct ReaderReport: Sendable {
    var last: UInt64 = 0
    var entries = 0
    var opens = 0
    /// Reads that ended with a retryable error (their resumption gave up); the reader opens again after `last`.
    var failures = 0
    var lastFailure: String?
    var issues: [String] = []

    mutating func issue(_ log: ChaosLog, _ text: String) {
        issues.append(text)
        log.snapshot("reader: \(text)")
    }
}

enum ChaosReader {
    /// How far behind the last acknowledged sequence the reader may fall by pausing.
    static let maxLag: UInt64 = 3_000

    /// Reads the segment from the start with `consumeSegment` (resumed reads on), each read bounded by the last
    /// acknowledged sequence (the final last sequence once `target` is set), and checks every entry is the next
    /// sequence with its payload. A read must deliver everything up to its bound: acknowledged entries are
    /// committed, so a read that ends short of its bound lost entries. The next read opens after the last entry
    /// seen, until `target` is set and reached. While the producer runs the reader pauses now and then, so it lags
    /// (up to ``maxLag`` entries, to keep the final catch-up short) and its reads span strikes.
    static func run(
        _ rig: ChaosRig, acknowledged: Box<UInt64>, target: Box<UInt64?>, random: SplitMix64
    ) async
        -> ReaderReport
    {
        var random = random
        var report = ReaderReport()
        while !Task.isCancelled {
            let final = target.get
            if let final, report.last >= final { return report }
            let bound = final ?? acknowledged.get
            guard bound > report.last else {
                try? await Task.sleep(for: .milliseconds(2))
                continue
            }
            report.opens += 1
            do {
                let entries = rig.client.consumeSegment(
                    store: rig.store, space: ChaosTests.space, segment: ChaosTests.segment,
                    minSequence: report.last + 1, maxSequence: bound)
                for try await entry in entries {
                    guard entry.sequence == report.last + 1 else {
                        report.issue(rig.log, "after \(report.last) came \(entry.sequence)")
                        return report
                    }
                    guard Array(entry.payload) == chaosPayload(entry.sequence) else {
                        report.issue(rig.log, "entry \(entry.sequence) has another payload")
                        return report
                    }
                    report.last = entry.sequence
                    report.entries += 1
                    if final == nil, entry.sequence + Self.maxLag > acknowledged.get,
                        Int.random(in: 0..<16, using: &random) == 0
                    {
                        try? await Task.sleep(for: .milliseconds(Int.random(in: 1...20, using: &random)))
                    }
                }
                if report.last < bound, !Task.isCancelled {
                    report.issue(rig.log, "a read up to the acknowledged \(bound) ended at \(report.last)")
                    return report
                }
            } catch let error as StreamKitError where error.isRetryable {
                report.failures += 1
                report.lastFailure = "\(error)"
            } catch {
                if !Task.isCancelled { report.issue(rig.log, "the read failed: \(error)") }
                return report
            }
        }
        report.issue(rig.log, "cancelled at \(report.last) of \(target.get.map(String.init) ?? "?")")
        return report
    }
}

/// Records handed out one by one, `pause` apart: a slow producer's source.
struct PacedRecords: AsyncSequence, Sendable {
    let records: [Record]
    let pause: Duration

    func makeAsyncIterator() -> Iterator { Iterator(records: records, pause: pause) }

    struct Iterator: AsyncIteratorProtocol {
        let records: [Record]
        let pause: Duration
        var index = 0

        mutating func next() async -> Record? {
            guard index < records.count else { return nil }
            try? await Task.sleep(for: pause)
            defer { index += 1 }
            return records[index]
        }
    }
}

// MARK: - Subscriber

struct SubscriberLog: Sendable {
    var last: UInt64 = 0
    var deliveries = 0
    /// Statuses whose last sequence was below an earlier one's.
    var regressions = 0

    mutating func record(_ status: SegmentStatus) {
        if status.lastSequence < last { regressions += 1 }
        last = max(last, status.lastSequence)
        deliveries += 1
    }
}

// MARK: - Waiting

/// Waits for `task`; cancels it (recording an issue) when it takes longer than `limit`.
func finishing<T: Sendable>(
    _ task: Task<T, Never>, within limit: Duration, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
) async -> T {
    let watchdog = Task {
        guard (try? await Task.sleep(for: limit)) != nil else { return }
        Issue.record("\(what) did not finish within \(limit)", sourceLocation: sourceLocation)
        task.cancel()
    }
    let value = await task.value
    watchdog.cancel()
    return value
}
