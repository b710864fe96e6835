import StreamKitEngine

/// `engine.produce` (one segment) and `engine.produce.segments` (10,000 segments round-robin): one producer
/// commits transactions of `--batch` through the store actor and waits for each acknowledgement.
struct EngineProduceScenario: Scenario {
    let name: String
    let summary: String
    let defaultSegments: Int
    let inQuickSuite = true

    static let single = EngineProduceScenario(
        name: "engine.produce", summary: "one producer, one segment, transactions of --batch; peers sqlite, limit",
        defaultSegments: 1)
    static let manySegments = EngineProduceScenario(
        name: "engine.produce.segments", summary: "one producer, 10,000 segments round-robin; peers sqlite, limit",
        defaultSegments: 10_000)

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        let records = options.records ?? (options.quick ? 300_000 : 1_000_000)
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: records)
        let work = WorkDirectory(path: options.workDirectory)
        var rows: [Measurement] = []
        for durability in options.durability.map({ [$0] }) ?? [.none] {
            var workload = Workload(scenario: name, payloads: payloads, batch: options.batch, durability: durability)
            workload.segments = options.segments ?? defaultSegments
            let batches = EngineBench.batches(workload)
            let directory = try work.subdirectory("streamkit-\(durability.rawValue)")
            let store = try await EngineBench.open(directory, durability)
            TimedPhase.prepare()
            var latency = LatencyRecorder()
            let start = MonotonicClock.nanoseconds()
            for (i, batch) in batches.enumerated() {
                let t0 = MonotonicClock.nanoseconds()
                try await store.produce(space: "orders", segment: batch.segment, records: batch.records)
                latency.record(nanoseconds: MonotonicClock.nanoseconds() - t0)
                if i & 1023 == 0 { progress.update("\(name) streamkit", done: i * workload.batch, total: records) }
            }
            let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
            let peak = ResidentMemory.peak()
            await store.close()
            rows.append(
                workload.measurement(
                    system: .streamkit, seconds: seconds, latency: latency.summary,
                    bytesOnDisk: DiskUsage.bytes(under: directory), peakResidentBytes: peak,
                    extras: ["segments": "\(workload.segments)"]))
            guard options.peers else { continue }
            rows.append(
                try SQLitePeer(directory: try work.subdirectory("sqlite-\(durability.rawValue)")).produce(
                    workload, progress: progress))
            rows.append(
                try LimitPeer(directory: try work.subdirectory("limit-\(durability.rawValue)")).append(
                    workload, progress: progress))
        }
        return rows
    }
}
