import CStreamKitSupport
import Foundation
import StreamKitEngine

/// `engine.memory`: index memory with 1M segments (200k in the quick suite), one record each: heap bytes
/// (glibc `mallinfo2`) per segment of the live store, and of the index rebuilt by a reopen; directory
/// bytes per block.
struct EngineMemoryScenario: Scenario {
    let name = "engine.memory"
    let summary = "index bytes per segment and per block with 1M segments (quick: 200k), live and after reopen"
    let inQuickSuite = true

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        let segments = options.segments ?? (options.quick ? 200_000 : 1_000_000)
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: 1000)
        let work = WorkDirectory(path: options.workDirectory)
        let directory = try work.subdirectory("streamkit")
        let id = UUID()
        var configuration = EngineBench.configuration(.none)
        configuration.tailBytes = 0  // keep only unsealed entries in memory: measure the index, not the tail
        configuration.blockCacheBytes = 0
        let records = (0..<segments).map { Record(sequence: 1, payload: Array(payloads.record($0 % payloads.count))) }

        let before = Int(sk_heap_in_use())
        let store = try await Store.open(id: id, directory: directory, configuration: configuration)
        let start = MonotonicClock.nanoseconds()
        for (i, record) in records.enumerated() {
            try await store.produce(space: "orders", segment: "order-\(i)", records: [record])
            if i & 4095 == 0 { progress.update("\(name) streamkit", done: i, total: segments) }
        }
        let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
        let live = Int(sk_heap_in_use()) - before
        await store.close()
        let reopened = try await Self.reopenedHeapBytes(id: id, directory: directory, configuration: configuration)
        let workload = Workload(scenario: name, payloads: payloads, batch: 1, durability: .none)
        return [
            workload.measurement(
                system: .streamkit, records: segments, seconds: seconds, bytesOnDisk: DiskUsage.bytes(under: directory),
                peakResidentBytes: ResidentMemory.peak(),
                extras: [
                    "segments": "\(segments)",
                    "live_bytes_per_segment": "\(live / max(segments, 1))",
                    "reopened_bytes_per_segment": "\(reopened.bytes / max(segments, 1))",
                    "blocks": "\(reopened.statistics.blocks)",
                    "directory_bytes_per_block":
                        "\(reopened.statistics.directoryBytes / max(reopened.statistics.blocks, 1))",
                ])
        ]
    }

    /// Heap bytes a reopened store holds (measured once the first store is gone).
    private static func reopenedHeapBytes(
        id: UUID, directory: String, configuration: StoreConfiguration
    ) async throws -> (bytes: Int, statistics: StoreStatistics) {
        let before = Int(sk_heap_in_use())
        let store = try await Store.open(id: id, directory: directory, configuration: configuration)
        let statistics = await store.statistics()
        let bytes = Int(sk_heap_in_use()) - before
        await store.close()
        return (bytes, statistics)
    }
}
