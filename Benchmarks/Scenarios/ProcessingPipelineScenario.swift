import Foundation
import StreamKitEngine
import StreamKitProcessing

/// `processing.pipeline`: a realistic pipeline over consumed entries — a space read of an in-memory store
/// lifted into items, decoded (`mapValues`), filtered, and batched by 100 — against the bare read.
struct ProcessingPipelineScenario: Scenario {
    let name = "processing.pipeline"
    let summary = "consumeSpace → items → mapValues → filterValues → batch(100), vs the bare space read"
    let inQuickSuite = true

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        let records = options.records ?? (options.quick ? 200_000 : 1_000_000)
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: records)
        var workload = Workload(scenario: name, payloads: payloads, batch: options.batch, durability: .none)
        workload.segments = options.segments ?? 10
        var configuration = EngineBench.configuration(.none)
        configuration.tailBytes = 1 << 30
        let store = Store.inMemory(configuration: configuration)
        try await EngineBench.fill(store, EngineBench.batches(workload))

        var bare = 0
        let bareStart = MonotonicClock.nanoseconds()
        for try await entry in store.consumeSpace(space: "orders") { bare &+= entry.payload.count > 0 ? 1 : 0 }
        let bareSeconds = MonotonicClock.seconds(from: bareStart, to: MonotonicClock.nanoseconds())

        let pipeline = store.consumeSpace(space: "orders")
            .items()
            .mapValues(stage: "decode") { (entry: Entry) -> Int in
                // "Decode": find the order id's digits in the JSON, as a consumer would parse a field.
                var value = 0
                for byte in entry.payload.prefix(48) where byte >= 48 && byte <= 57 {
                    value = value &* 10 &+ Int(byte - 48)
                }
                return value
            }
            .filterValues { $0 >= 0 }
            .batch(size: 100, latency: .milliseconds(50))
        var count = 0
        let start = MonotonicClock.nanoseconds()
        for await item in pipeline {
            if case .success(let batch) = item.outcome { count += batch.count }
            if count & 0xFFFF == 0 { progress.update("\(name) streamkit", done: count, total: records) }
        }
        let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
        await store.close()
        guard count == records, bare == records else {
            throw ReadBackMismatch(read: count, bytes: bare, written: records)
        }
        let overhead = (seconds - bareSeconds) / Double(records) * 1e9
        return [
            workload.measurement(
                system: .streamkit, seconds: seconds, peakResidentBytes: ResidentMemory.peak(),
                extras: [
                    "bare_read_records_per_second": String(format: "%.0f", Double(records) / bareSeconds),
                    "pipeline_overhead_ns": String(format: "%.1f", overhead),
                ])
        ]
    }
}
