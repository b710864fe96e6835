import StreamKitEngine

/// `engine.produce.fsync16`: 16 concurrent producers, each on its own segment, with `fsync` durability:
/// their transactions share WAL syncs (group commit).
struct EngineGroupCommitScenario: Scenario {
    let name = "engine.produce.fsync16"
    let summary =
        "16 concurrent producers, fsync group commit; peers sqlite (one writer), limit (one sync per 16 batches)"
    let inQuickSuite = true

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        let records = options.records ?? (options.quick ? 300_000 : 1_000_000)
        let producers = options.producers ?? 16
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: records)
        let work = WorkDirectory(path: options.workDirectory)
        let durability = options.durability ?? .fsync
        var workload = Workload(scenario: name, payloads: payloads, batch: options.batch, durability: durability)
        workload.segments = producers
        workload.producers = producers
        let batches = EngineBench.batches(workload)
        let directory = try work.subdirectory("streamkit")
        let store = try await EngineBench.open(directory, durability)
        TimedPhase.prepare()
        let start = MonotonicClock.nanoseconds()
        let batchSize = workload.batch
        let samples = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for p in 0..<producers {
                group.addTask {
                    var latency: [UInt64] = []
                    var i = p
                    while i < batches.count {
                        let t0 = MonotonicClock.nanoseconds()
                        try await store.produce(
                            space: "orders", segment: batches[i].segment, records: batches[i].records)
                        latency.append(MonotonicClock.nanoseconds() - t0)
                        if p == 0 && i & 1023 == 0 {
                            progress.update("\(name) streamkit", done: i * batchSize, total: records)
                        }
                        i += producers
                    }
                    return latency
                }
            }
            return try await group.reduce(into: [UInt64]()) { $0 += $1 }
        }
        var latencies = LatencyRecorder()
        for sample in samples { latencies.record(nanoseconds: sample) }
        let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
        let peak = ResidentMemory.peak()
        await store.close()
        let ours = [
            workload.measurement(
                system: .streamkit, seconds: seconds, latency: latencies.summary,
                bytesOnDisk: DiskUsage.bytes(under: directory),
                peakResidentBytes: peak, extras: ["producers": "\(producers)"])
        ]
        guard options.peers else { return ours }
        return ours + [
            try SQLitePeer(directory: try work.subdirectory("sqlite")).produce(workload, progress: progress),
            try LimitPeer(directory: try work.subdirectory("limit")).append(
                workload, recordsPerSync: producers * workload.batch, progress: progress),
        ]
    }
}
