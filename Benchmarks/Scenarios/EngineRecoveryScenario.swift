import Foundation
import StreamKitEngine
import StreamKitLogFiles

/// `engine.recovery`: build a store of at least 1 GiB on disk (256 MiB in the quick suite), close it, and
/// time reopening it (log scan through the block-index sidecars, index rebuild). Records/s is entries
/// recovered per second of reopen.
struct EngineRecoveryScenario: Scenario {
    let name = "engine.recovery"
    let summary = "reopen a store of >= 1 GiB on disk (quick: 256 MiB): time to recover and rebuild the index"
    let inQuickSuite = true

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        // Counted on the log alone: the WAL files (up to two of 64 MiB, one a recycled spare) go at close.
        let targetBytes = options.quick ? 256 << 20 : 1 << 30
        let pool = 1_000_000
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: min(pool, options.records ?? pool))
        let work = WorkDirectory(path: options.workDirectory)
        let directory = try work.subdirectory("streamkit")
        let id = UUID()
        var store = try await Store.open(id: id, directory: directory, configuration: EngineBench.configuration(.none))
        let segments = options.segments ?? 100
        var next = [UInt64](repeating: 1, count: segments)
        var written = 0
        var batchIndex = 0
        while true {
            if batchIndex & 1023 == 0 {
                let bytes = DiskUsage.bytes(under: StoreLayout(root: directory).logDirectory)
                progress.update("\(name) building", done: bytes >> 20, total: targetBytes >> 20)
                if bytes >= targetBytes { break }
            }
            let segment = batchIndex % segments
            let records = (0..<options.batch).map { i in
                Record(
                    sequence: next[segment] + UInt64(i), payload: Array(payloads.record((written + i) % payloads.count))
                )
            }
            try await store.produce(space: "orders", segment: EngineBench.segmentName(segment), records: records)
            next[segment] += UInt64(options.batch)
            written += options.batch
            batchIndex += 1
        }
        await store.close()
        let bytes = DiskUsage.bytes(under: directory)

        TimedPhase.prepare()
        let start = MonotonicClock.nanoseconds()
        store = try await Store.open(id: id, directory: directory, configuration: EngineBench.configuration(.none))
        let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
        let statistics = await store.statistics()
        let peak = ResidentMemory.peak()
        await store.close()
        let workload = Workload(scenario: name, payloads: payloads, batch: options.batch, durability: .none)
        return [
            workload.measurement(
                system: .streamkit, records: written, seconds: seconds, bytesOnDisk: bytes, peakResidentBytes: peak,
                extras: [
                    "reopen_ms": String(format: "%.1f", seconds * 1000),
                    "store_mib": "\(bytes >> 20)",
                    "blocks": "\(statistics.blocks)",
                    "segments": "\(statistics.segments)",
                ])
        ]
    }
}
