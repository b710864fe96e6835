import StreamKitEngine

/// `engine.publish`: latency of single-record publishes (next sequence assigned by the store), one after
/// another, with `fsync` durability unless told otherwise.
struct EnginePublishScenario: Scenario {
    let name = "engine.publish"
    let summary = "latency of one-record publishes, fsync (p50/p99/p999); peers sqlite and limit with batches of 1"
    let inQuickSuite = true

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        let records = options.records ?? (options.quick ? 3_000 : 20_000)
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: records)
        let work = WorkDirectory(path: options.workDirectory)
        let durability = options.durability ?? .fsync
        let workload = Workload(scenario: name, payloads: payloads, batch: 1, durability: durability)
        let prepared = (0..<records).map { Array(payloads.record($0)) }
        let directory = try work.subdirectory("streamkit")
        let store = try await EngineBench.open(directory, durability)
        TimedPhase.prepare()
        var latency = LatencyRecorder()
        let start = MonotonicClock.nanoseconds()
        for (i, payload) in prepared.enumerated() {
            let t0 = MonotonicClock.nanoseconds()
            try await store.publish(space: "orders", segment: "order-1", payload: payload)
            latency.record(nanoseconds: MonotonicClock.nanoseconds() - t0)
            if i & 255 == 0 { progress.update("\(name) streamkit", done: i, total: records) }
        }
        let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
        let peak = ResidentMemory.peak()
        await store.close()
        let ours = workload.measurement(
            system: .streamkit, seconds: seconds, latency: latency.summary,
            bytesOnDisk: DiskUsage.bytes(under: directory),
            peakResidentBytes: peak)
        guard options.peers else { return [ours] }
        return [
            ours,
            try SQLitePeer(directory: try work.subdirectory("sqlite")).produce(workload, progress: progress),
            try LimitPeer(directory: try work.subdirectory("limit")).append(workload, progress: progress),
        ]
    }
}
