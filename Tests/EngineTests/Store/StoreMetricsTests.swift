import Foundation
import MetricsTestKit
import StreamKitLogFiles
import Testing

@testable import StreamKitEngine

/// The throughput and I/O metrics a store emits (docs/operations.md, Metrics): counted where the work is done, in
/// series no label of which names a store or a segment.
@Suite(.timeLimit(.minutes(1)))
struct StoreMetricsTests {
    private static func payload(_ n: Int) -> [UInt8] { Array(repeating: UInt8(truncatingIfNeeded: n), count: 100) }

    /// Quiet store settings whose metrics go to a fresh `TestMetrics`.
    private static func metered() -> (TestMetrics, StoreConfiguration) {
        let metrics = TestMetrics()
        var configuration = StoreFixture.quiet()
        configuration.metricsFactory = metrics
        return (metrics, configuration)
    }

    @Test("produce, publish and reads count entries, payload bytes, transactions and commit latency")
    func produceAndConsumeAreCounted() async throws {
        let (metrics, configuration) = Self.metered()
        let store = Store.inMemory(configuration: configuration)
        let batch = (1...40).map { Record(sequence: UInt64($0), payload: Self.payload($0)) }

        try await store.produce(space: "s", segment: "a", records: batch)
        try await store.publish(space: "s", segment: "b", payload: [1, 2, 3])
        let segment = try await store.consumeSegment(space: "s", segment: "a").collect()
        let space = try await store.consumeSpace(space: "s").collect()
        await store.close()

        let transactions = try metrics.expectCounter("streamkit_transactions_total").totalValue
        #expect(transactions >= 2)  // The 40 records may be cut into several transactions.
        #expect(try metrics.expectCounter("streamkit_produced_entries_total").totalValue == 41)
        #expect(try metrics.expectCounter("streamkit_produced_bytes_total").totalValue == 40 * 100 + 3)
        #expect(try metrics.expectTimer("streamkit_commit_duration_seconds").values.count == Int(transactions))
        #expect(segment.count == 40 && space.count == 41)
        #expect(try metrics.expectCounter("streamkit_consumed_entries_total").totalValue == 81)
        #expect(try metrics.expectCounter("streamkit_consumed_bytes_total").totalValue == 2 * 40 * 100 + 3)
    }

    @Test("a file store counts write-ahead and log bytes, times each fdatasync, and counts block cache hits and misses")
    func fileStoreCountsIOAndCache() async throws {
        let (metrics, metered) = Self.metered()
        var configuration = metered
        configuration.log.durability = .fsync
        configuration.log.blockBytes = 1024
        let directory = NSTemporaryDirectory() + "streamkit-metrics-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await Store.open(id: UUID(), directory: directory, configuration: configuration)
        for n in 1...3 { try await store.publish(space: "s", segment: "a", payload: Self.payload(n)) }
        let walSyncs = try metrics.expectTimer("streamkit_fsync_duration_seconds", [("file", "wal")]).values.count
        try await store.produce(
            space: "s", segment: "a", records: (4...60).map { Record(sequence: UInt64($0), payload: Self.payload($0)) })
        await store.close()  // Seals the last block: everything is in log files now.
        let reopened = try await Store.open(id: UUID(), directory: directory, configuration: configuration)
        let first = try await reopened.consumeSegment(space: "s", segment: "a").collect()
        let again = try await reopened.consumeSegment(space: "s", segment: "a").collect()
        await reopened.close()

        #expect(walSyncs >= 3)  // Every publish was acknowledged after its own sync.
        #expect(try metrics.expectCounter("streamkit_wal_written_bytes_total").totalValue > 60 * 100)
        #expect(try metrics.expectCounter("streamkit_log_written_bytes_total").totalValue > 0)
        #expect(try metrics.expectTimer("streamkit_fsync_duration_seconds", [("file", "log")]).values.count >= 1)
        #expect(first.count == 60 && again.count == 60)
        #expect(try metrics.expectCounter("streamkit_block_cache_misses_total").totalValue > 0)
        #expect(try metrics.expectCounter("streamkit_block_cache_hits_total").totalValue > 0)
    }

    @Test("a subscriber that falls behind counts each replaced status")
    func coalescedStatusesAreCounted() async throws {
        let (metrics, configuration) = Self.metered()
        let store = Store.inMemory(configuration: configuration)
        let subscription = try await store.subscribe(space: "s", segment: "*")

        for n in 1...10 { try await store.publish(space: "s", segment: "g", payload: [UInt8(n)]) }
        var iterator = subscription.makeAsyncIterator()
        let status = await iterator.next()
        subscription.cancel()
        await store.close()

        #expect(status?.lastSequence == 10)
        #expect(try metrics.expectCounter("streamkit_subscription_coalesced_statuses_total").totalValue == 9)
    }

    @Test("the registry's open stores gauge follows opens and closes")
    func openStoresGaugeFollowsTheRegistry() async throws {
        let metrics = TestMetrics()
        var configuration = RegistryConfiguration(store: StoreFixture.quiet())
        configuration.store.metricsFactory = metrics
        let root = NSTemporaryDirectory() + "streamkit-metrics-registry-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let registry = StoreRegistry(root: root, configuration: configuration)
        let (first, second) = (UUID(), UUID())

        for id in [first, second] {
            _ = try await registry.withStore(id) { try await $0.publish(space: "s", segment: "g", payload: [1]) }
        }
        let bothOpen = try metrics.expectGauge("streamkit_open_stores").lastValue
        await registry.shutdown()
        let afterShutdown = try metrics.expectGauge("streamkit_open_stores").lastValue

        #expect(bothOpen == 2)
        #expect(afterShutdown == 0)
    }
}
