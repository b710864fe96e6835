import Foundation
import Logging
import MetricsTestKit
import StreamKitClient
import StreamKitTestSupport
import Testing

/// Client metrics (swift-metrics). Each test gives its client a fresh `TestMetrics` through
/// `ClientConfiguration.metricsFactory`, so nothing is bootstrapped and tests running in parallel never share
/// counters.
@Suite(.timeLimit(.minutes(1)))
struct ClientMetricsTests {
    private static let duration = "streamkit_client_operation_duration_seconds"
    private static let errors = "streamkit_client_operation_errors_total"

    @Test(
        "every publish records its duration under operation publish and counts its record",
        arguments: TransportKind.allCases)
    func publishRecordsItsDuration(_ kind: TransportKind) async throws {
        let metrics = TestMetrics()
        let h = try await ClientHarness.make(kind) { $0.metricsFactory = metrics }

        for payload in UInt8(1)...3 {
            try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [payload])
        }

        let timer = try metrics.expectTimer(Self.duration, [("operation", "publish")])
        #expect(timer.values.count == 3)
        #expect(timer.values.allSatisfy { $0 > 0 })
        #expect(metrics.counterTotal(label: "streamkit_client_records_produced_total") == 3)
        #expect(metrics.counterTotal(label: Self.errors) == 0)
        await h.tearDown()
    }

    @Test("metricsDimensions are added to every metric of the client")
    func configuredDimensionsAreAdded() async throws {
        let metrics = TestMetrics()
        let h = try await ClientHarness.make(.inProcess) { configuration in
            configuration.metricsFactory = metrics
            configuration.metricsDimensions = [("client", "billing")]
        }

        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])

        let timer = try metrics.expectTimer(Self.duration, [("operation", "publish"), ("client", "billing")])
        #expect(timer.values.count == 1)
        let produced = try metrics.expectCounter("streamkit_client_records_produced_total", [("client", "billing")])
        #expect(produced.totalValue == 1)
        await h.tearDown()
    }

    @Test("a failed operation is counted under its operation and its error code", arguments: TransportKind.allCases)
    func errorsAreCountedWithTheirCode(_ kind: TransportKind) async throws {
        let metrics = TestMetrics()
        let h = try await ClientHarness.make(kind) { $0.metricsFactory = metrics }

        let conflict = await errorCode {
            _ = try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(5...6))
        }
        let invalid = await errorCode {
            _ = try await h.client.publish(store: h.storeID, space: "", segment: "g", payload: [])
        }

        #expect(conflict == .sequenceConflict)
        #expect(invalid == .invalidArgument)
        let produce = try metrics.expectCounter(Self.errors, [("operation", "produce"), ("code", "sequenceConflict")])
        #expect(produce.totalValue == 1)
        let publish = try metrics.expectCounter(Self.errors, [("operation", "publish"), ("code", "invalidArgument")])
        #expect(publish.totalValue == 1)
        #expect(metrics.counterTotal(label: Self.errors) == 2)
        #expect(try metrics.expectTimer(Self.duration, [("operation", "produce")]).values.count == 1)
        #expect(metrics.counterTotal(label: "streamkit_client_records_produced_total") == 0)
        await h.tearDown()
    }

    @Test("each retry of opening an operation is counted under its operation")
    func retriesAreCounted() async throws {
        let metrics = TestMetrics()
        let opens = Box(0)
        var registryConfiguration = RegistryConfiguration()
        registryConfiguration.store.logger.logLevel = .critical
        registryConfiguration.inMemory = true
        registryConfiguration.opener = { id, _, storeConfiguration in
            let attempt = opens.update { value -> Int in
                value += 1
                return value
            }
            if attempt <= 2 { throw StreamKitError(code: .overloaded, message: "warming up") }
            return Store.inMemory(id: id, configuration: storeConfiguration)
        }
        let registry = StoreRegistry(root: "/nonexistent", configuration: registryConfiguration)
        var configuration = ClientConfiguration(clock: RecordingClock().engineClock)
        configuration.logger.logLevel = .critical
        configuration.metricsFactory = metrics
        let client = StreamKitClient(transport: .inProcess(registry), configuration: configuration)

        try await client.publish(store: UUID(), space: "s", segment: "g", payload: [1])

        #expect(opens.get == 3)
        #expect(try metrics.expectCounter("streamkit_client_retries_total", [("operation", "publish")]).totalValue == 2)
        #expect(metrics.counterTotal(label: Self.errors) == 0)
        await client.close()
        await registry.shutdown()
    }

    @Test("a reconnect is counted once the client is connected to the restarted server, the first connection is not")
    func reconnectsAreCounted() async throws {
        let metrics = TestMetrics()
        let h = try await observedWebSocketHarness(metrics: metrics)
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])
        #expect(metrics.counterTotal(label: "streamkit_client_reconnects_total") == 0)

        try await h.restartServerAndReconnect()

        #expect(metrics.counterTotal(label: "streamkit_client_reconnects_total") == 1)
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [2])
        #expect(metrics.counterTotal(label: "streamkit_client_reconnects_total") == 1)
        await h.tearDown()
    }

    @Test("a read resumed after a lost connection is counted, and each of its entries is consumed once")
    func resumedReadsAreCounted() async throws {
        let metrics = TestMetrics()
        let h = try await observedWebSocketHarness(metrics: metrics)
        try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(1...1_000))
        var iterator = h.client.consumeSegment(store: h.storeID, space: "s", segment: "g").makeAsyncIterator()
        var seen = 0
        while seen < 10, try await iterator.next() != nil { seen += 1 }

        try await #require(h.server).restart()
        while try await iterator.next() != nil { seen += 1 }

        #expect(seen == 1_000)
        #expect(metrics.counterTotal(label: "streamkit_client_resumed_reads_total") >= 1)
        #expect(metrics.counterTotal(label: "streamkit_client_entries_consumed_total") == 1_000)
        await h.tearDown()
    }

    @Test(
        "a read's entries are counted in bulk and its duration recorded once it ends", arguments: TransportKind.allCases
    )
    func readsCountEntriesInBulk(_ kind: TransportKind) async throws {
        let metrics = TestMetrics()
        let h = try await ClientHarness.make(kind) { $0.metricsFactory = metrics }
        try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(1...10))

        let entries = try await collect(h.client.consumeSegment(store: h.storeID, space: "s", segment: "g"))

        #expect(entries.count == 10)
        let consumed = try metrics.expectCounter("streamkit_client_entries_consumed_total")
        #expect(consumed.values == [10])  // One increment for the whole read.
        #expect(try metrics.expectTimer(Self.duration, [("operation", "consumeSegment")]).values.count == 1)
        await h.tearDown()
    }

    @Test("a streamed produce counts the records its statuses acknowledge", arguments: TransportKind.allCases)
    func streamedProduceCountsRecords(_ kind: TransportKind) async throws {
        let metrics = TestMetrics()
        let h = try await ClientHarness.make(kind) { $0.metricsFactory = metrics }
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [0])  // 1 record
        let (upstream, feed) = AsyncStream<Record>.makeStream()
        for record in records(2...8) { feed.yield(record) }
        feed.finish()

        let statuses = try await collect(
            h.client.produce(store: h.storeID, space: "s", segment: "g", records: upstream))

        #expect(statuses.last?.lastSequence == 8)
        #expect(metrics.counterTotal(label: "streamkit_client_records_produced_total") == 8)
        #expect(try metrics.expectTimer(Self.duration, [("operation", "produce")]).values.count == 1)
        await h.tearDown()
    }

    @Test("a handler that times out is counted", arguments: TransportKind.allCases)
    func handlerTimeoutsAreCounted(_ kind: TransportKind) async throws {
        let metrics = TestMetrics()
        let h = try await ClientHarness.make(kind) { configuration in
            configuration.handlerTimeout = .seconds(1)
            configuration.metricsFactory = metrics
        }
        let gate = ManualClock()
        let subscription = try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { _ in
            try? await gate.sleep(UInt64.max / 2)
        }
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [])
        await eventually("handler stuck") { gate.sleeperCount == 1 && h.clock.sleeperCount == 1 }

        h.clock.advance(by: 1_000_000_000)

        await eventually("timeout counted") {
            metrics.counterTotal(label: "streamkit_client_handler_timeouts_total") == 1
        }
        #expect(subscription.status().handlerTimeouts == 1)
        #expect(metrics.counterTotal(label: "streamkit_client_handler_failures_total") == 0)
        await h.tearDown()
    }

    @Test("a handler that throws is counted", arguments: TransportKind.allCases)
    func handlerFailuresAreCounted(_ kind: TransportKind) async throws {
        struct Boom: Error {}
        let metrics = TestMetrics()
        let h = try await ClientHarness.make(kind) { $0.metricsFactory = metrics }
        _ = try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { _ in throw Boom() }

        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [])

        await eventually("failure counted") {
            metrics.counterTotal(label: "streamkit_client_handler_failures_total") == 1
        }
        await h.tearDown()
    }
}
