import StreamKitClient
import StreamKitEngine

/// `wire.produce`, `wire.consume` and `wire.publish`: the engine behind the WebSocket server, driven by the
/// client's WebSocket transport over loopback, server and client in one process on the same cores.
///
/// - `wire.produce`: one streaming produce of every record to one segment; the transport sends whatever
///   accumulated while it waited for credit as one `records` message, and the server commits each message as
///   it comes.
/// - `wire.consume`: one segment read of the records (filled untimed through the engine first).
/// - `wire.publish`: round-trip latency of one-record publishes, one after another.
///
/// No peer runs here: neither SQLite nor the write-only limit has a network path to compare with; compare
/// with the `engine.*` rows of the same run for the cost of the wire.
struct WireScenario: Scenario {
    enum Kind: Sendable {
        case produce, consume, publish
    }

    let name: String
    let summary: String
    let kind: Kind
    let inQuickSuite = true

    static let produce = WireScenario(
        name: "wire.produce", summary: "streaming produce over the WebSocket transport, loopback, one segment",
        kind: .produce)
    static let consume = WireScenario(
        name: "wire.consume", summary: "segment read over the WebSocket transport, loopback", kind: .consume)
    static let publish = WireScenario(
        name: "wire.publish", summary: "round-trip latency of one-record publishes over the WebSocket transport",
        kind: .publish)

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        switch kind {
        case .produce, .consume:
            return [try await throughput(options, progress: progress)]
        case .publish:
            return [try await publish(options, progress: progress)]
        }
    }

    private func throughput(_ options: BenchOptions, progress: any ProgressReporting) async throws -> Measurement {
        let records = options.records ?? (options.quick ? 300_000 : 1_000_000)
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: records)
        let durability = options.durability ?? .none
        let workload = Workload(scenario: name, payloads: payloads, batch: options.batch, durability: durability)
        let work = WorkDirectory(path: options.workDirectory)
        let bench = try await WireBench.start(directory: try work.subdirectory("streamkit"), durability: durability)
        do {
            let segment = EngineBench.segmentName(0)
            // What a produce sends, built before timing; a consume's writes go in and are freed before timing
            // (freeing a million records inside the timed phase was 8% of a `wire.consume` profile).
            let toSend = kind == .produce ? EngineBench.batches(workload) : []
            if kind == .consume {
                for batch in EngineBench.batches(workload) {
                    try await bench.client.produce(
                        store: bench.store, space: "orders", segment: segment, records: batch.records)
                }
            }
            TimedPhase.prepare()
            let start = MonotonicClock.nanoseconds()
            var done = 0
            switch kind {
            case .produce:
                let statuses = bench.client.produce(
                    store: bench.store, space: "orders", segment: segment, records: BatchRecords(batches: toSend))
                for try await status in statuses {
                    done = Int(status.lastSequence)
                    progress.update("\(name) streamkit", done: done, total: records)
                }
            case .consume:
                for try await entry in bench.client.consumeSegment(
                    store: bench.store, space: "orders", segment: segment)
                {
                    done += 1
                    if entry.sequence & 0xFFFF == 0 { progress.update("\(name) streamkit", done: done, total: records) }
                }
            case .publish:
                break
            }
            let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
            TimedPhase.finish()
            let peak = ResidentMemory.peak()
            withExtendedLifetime(toSend) {}
            await bench.stop()
            guard done == records else {
                throw BenchError.failed("\(name): \(done) of \(records) records went through")
            }
            return workload.measurement(system: .streamkit, seconds: seconds, latency: nil, peakResidentBytes: peak)
        } catch {
            await bench.stop()
            throw error
        }
    }

    private func publish(_ options: BenchOptions, progress: any ProgressReporting) async throws -> Measurement {
        let records = options.records ?? (options.quick ? 5_000 : 20_000)
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: records)
        let durability = options.durability ?? .none
        let workload = Workload(scenario: name, payloads: payloads, batch: 1, durability: durability)
        let prepared = (0..<records).map { Array(payloads.record($0)) }
        let work = WorkDirectory(path: options.workDirectory)
        let bench = try await WireBench.start(directory: try work.subdirectory("streamkit"), durability: durability)
        do {
            // Warm-up: dial the connection and open the store before timing.
            _ = try await bench.client.publish(store: bench.store, space: "orders", segment: "warm-up", payload: [0])
            TimedPhase.prepare()
            var latency = LatencyRecorder()
            let start = MonotonicClock.nanoseconds()
            for (i, payload) in prepared.enumerated() {
                let t0 = MonotonicClock.nanoseconds()
                _ = try await bench.client.publish(
                    store: bench.store, space: "orders", segment: "order-1", payload: payload)
                latency.record(nanoseconds: MonotonicClock.nanoseconds() - t0)
                if i & 255 == 0 { progress.update("\(name) streamkit", done: i, total: records) }
            }
            let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
            TimedPhase.finish()
            let peak = ResidentMemory.peak()
            await bench.stop()
            return workload.measurement(
                system: .streamkit, seconds: seconds, latency: latency.summary, peakResidentBytes: peak)
        } catch {
            await bench.stop()
            throw error
        }
    }
}
