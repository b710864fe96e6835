import Foundation
import StreamKitEngine

/// `engine.consume.segment` (one segment) and `engine.consume.space` (a space of 100 interleaved segments):
/// write the workload untimed, then time reading all of it back through the store's streaming readers.
/// `engine.consume.cold` reads one segment with the store's files (and each peer's) dropped from the page cache
/// first, so every block comes from the disk.
struct EngineConsumeScenario: Scenario {
    let name: String
    let summary: String
    let segments: Int
    var cold = false
    var inQuickSuite = true

    static let segment = EngineConsumeScenario(
        name: "engine.consume.segment",
        summary: "read one segment of --records back in sequence order; peers sqlite, limit",
        segments: 1)
    static let space = EngineConsumeScenario(
        name: "engine.consume.space",
        summary: "read a space of 100 interleaved segments in commit order; peers sqlite, limit",
        segments: 100)
    static let coldSegment = EngineConsumeScenario(
        name: "engine.consume.cold",
        summary:
            "read one segment of --records back with the files dropped from the page cache first; peers sqlite, limit",
        segments: 1, cold: true, inQuickSuite: false)

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        let records = options.records ?? (options.quick ? 500_000 : 1_000_000)
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: records)
        let work = WorkDirectory(path: options.workDirectory)
        var workload = Workload(scenario: name, payloads: payloads, batch: options.batch, durability: .none)
        workload.segments = options.segments ?? segments
        let directory = try work.subdirectory("streamkit")
        var store = try await EngineBench.open(directory, .none)
        try await EngineBench.fill(store, EngineBench.batches(workload))
        if cold {
            // Nothing in memory either: the store opened afresh (its tail is empty), then its files evicted.
            await store.close()
            store = try await EngineBench.open(directory, .none)
            PageCache.evict(under: directory)
        }

        TimedPhase.prepare()
        var count = 0
        var bytes = 0
        let start = MonotonicClock.nanoseconds()
        if workload.segments == 1 {
            for try await entry in store.consumeSegment(space: "orders", segment: EngineBench.segmentName(0)) {
                count += 1
                bytes &+= entry.payload.count
                if count & 0xFFFF == 0 { progress.update("\(name) streamkit", done: count, total: records) }
            }
        } else {
            for try await entry in store.consumeSpace(space: "orders") {
                count += 1
                bytes &+= entry.payload.count
                if count & 0xFFFF == 0 { progress.update("\(name) streamkit", done: count, total: records) }
            }
        }
        let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
        let allocations = TimedPhase.allocations()
        let peak = ResidentMemory.peak()
        await store.close()
        guard count == records, bytes == records * workload.payloadBytes else {
            throw ReadBackMismatch(read: count, bytes: bytes, written: records)
        }
        let ours = workload.measurement(
            system: .streamkit, seconds: seconds, bytesOnDisk: DiskUsage.bytes(under: directory),
            peakResidentBytes: peak,
            extras: [
                "segments": "\(workload.segments)",
                "allocations_per_entry": String(format: "%.3f", Double(allocations) / Double(max(count, 1))),
            ])
        guard options.peers else { return [ours] }
        let sqliteDirectory = try work.subdirectory("sqlite")
        let sqlite = SQLitePeer(directory: sqliteDirectory)
        _ = try sqlite.produce(workload, progress: progress)
        let limitDirectory = try work.subdirectory("limit")
        let limit = LimitPeer(directory: limitDirectory)
        _ = try limit.append(workload, progress: progress)
        if cold { PageCache.evict(under: sqliteDirectory) }
        let sqliteRow = try sqlite.consume(workload, segment: workload.segments == 1 ? 0 : nil, progress: progress)
        if cold { PageCache.evict(under: limitDirectory) }
        return [ours, sqliteRow, try limit.read(workload, progress: progress)]
    }
}
