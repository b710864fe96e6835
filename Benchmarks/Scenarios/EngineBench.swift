import Foundation
import Logging
import StreamKitEngine

/// Shared set-up of the `engine.*` scenarios: store settings and records built before timing.
enum EngineBench {
    /// A batch of records for one segment, with that segment's contiguous sequences.
    struct Batch: Sendable {
        var segment: String
        var records: [Record]
    }

    static func configuration(_ durability: BenchDurability) -> StoreConfiguration {
        var configuration = StoreConfiguration()
        configuration.log.durability = durability == .fsync ? .fsync : .none
        configuration.log.logger.logLevel = .warning
        configuration.logger.logLevel = .warning
        // Experiment knob: STREAMKIT_BENCH_NO_LZ4=1 stores blocks raw (to see what compression costs).
        if ProcessInfo.processInfo.environment["STREAMKIT_BENCH_NO_LZ4"] == "1" {
            configuration.log.compression = false
        }
        return configuration
    }

    static func open(_ directory: String, _ durability: BenchDurability) async throws -> Store {
        // Experiment knob: STREAMKIT_BENCH_MEMORY=1 runs the engine over the in-memory log (engine cost alone).
        if ProcessInfo.processInfo.environment["STREAMKIT_BENCH_MEMORY"] == "1" {
            return Store.inMemory(configuration: configuration(durability))
        }
        return try await Store.open(id: UUID(), directory: directory, configuration: configuration(durability))
    }

    static func segmentName(_ index: Int) -> String { "order-\(index)" }

    /// Cuts the workload into batches, batch `b` going to segment `workload.segment(ofBatch: b)`.
    static func batches(_ workload: Workload) -> [Batch] {
        let segments = max(1, workload.segments)
        var next = [UInt64](repeating: 1, count: segments)
        var out: [Batch] = []
        out.reserveCapacity(workload.records / max(1, workload.batch) + 1)
        var index = 0
        var batchIndex = 0
        while index < workload.records {
            let end = min(index + max(1, workload.batch), workload.records)
            let segment = workload.segment(ofBatch: batchIndex)
            var records: [Record] = []
            records.reserveCapacity(end - index)
            for i in index..<end {
                records.append(Record(sequence: next[segment], payload: Array(workload.payloads.record(i))))
                next[segment] += 1
            }
            out.append(Batch(segment: segmentName(segment), records: records))
            index = end
            batchIndex += 1
        }
        return out
    }

    /// Produces every batch, one after another, untimed (set-up for read scenarios).
    static func fill(_ store: Store, _ batches: [Batch], space: String = "orders") async throws {
        for batch in batches { try await store.produce(space: space, segment: batch.segment, records: batch.records) }
    }
}
