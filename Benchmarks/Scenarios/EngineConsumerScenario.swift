import Foundation
import StreamKitEngine

/// `engine.consume.consumer`: a durable named consumer reads a space of 100 interleaved segments with automatic
/// acknowledgement — what an embedded worker does: read from the consumer's position, advance it per entry,
/// acknowledge every 1,024 entries without waiting (`durable: false`), and durably at the end. Beside it, in the same
/// run and on the same store, `engine.consume.consumer.space` reads the same space without a consumer; rounds
/// alternate and the medians are reported, with `vs_space` = consumer throughput / plain read throughput.
struct EngineConsumerScenario: Scenario {
    let name = "engine.consume.consumer"
    let summary = "a durable consumer reads a space of 100 segments with automatic acknowledgement; vs the plain read"
    let inQuickSuite = true

    static let rounds = 5
    static let acknowledgeEvery = 1024

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        let records = options.records ?? (options.quick ? 500_000 : 1_000_000)
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: records)
        let work = WorkDirectory(path: options.workDirectory)
        var workload = Workload(scenario: name, payloads: payloads, batch: options.batch, durability: .none)
        workload.segments = options.segments ?? 100
        let directory = try work.subdirectory("streamkit")
        let store = try await EngineBench.open(directory, .none)
        try await EngineBench.fill(store, EngineBench.batches(workload))

        var plain: [Double] = []
        var consumer: [Double] = []
        var allocations = 0.0
        for round in 0..<Self.rounds {
            progress.update("\(name) round \(round + 1)", done: round, total: Self.rounds)
            TimedPhase.prepare()
            var start = MonotonicClock.nanoseconds()
            var count = 0
            for try await entry in store.consumeSpace(space: "orders") { count &+= entry.payload.count > 0 ? 1 : 0 }
            plain.append(MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds()))
            guard count == records else { throw ReadBackMismatch(read: count, bytes: 0, written: records) }

            let created = try await store.createConsumer(name: "bench-\(round)", target: .spaces(["orders"]))
            TimedPhase.prepare()
            start = MonotonicClock.nanoseconds()
            count = try await Self.read(store, as: created)
            consumer.append(MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds()))
            allocations = Double(TimedPhase.allocations()) / Double(max(count, 1))
            guard count == records else { throw ReadBackMismatch(read: count, bytes: 0, written: records) }
            let recorded = try await store.consumer(named: created.name)?.position.offset(of: "orders")
            guard recorded?.position == UInt64(records) else {
                throw ReadBackMismatch(read: Int(recorded?.position ?? 0), bytes: 0, written: records)
            }
        }
        let peak = ResidentMemory.peak()
        await store.close()
        let plainSeconds = Self.median(plain)
        let consumerSeconds = Self.median(consumer)
        var spaceWorkload = workload
        spaceWorkload.scenario = name + ".space"
        return [
            workload.measurement(
                system: .streamkit, seconds: consumerSeconds, bytesOnDisk: DiskUsage.bytes(under: directory),
                peakResidentBytes: peak,
                extras: [
                    "segments": "\(workload.segments)",
                    "vs_space": String(format: "%.2f", plainSeconds / consumerSeconds),
                    "rounds_records_per_s": consumer.map { String(format: "%.0f", Double(records) / $0) }.joined(
                        separator: "/"),
                    "allocations_per_entry": String(format: "%.3f", allocations),
                ]),
            spaceWorkload.measurement(
                system: .streamkit, seconds: plainSeconds,
                extras: [
                    "segments": "\(workload.segments)",
                    "rounds_records_per_s": plain.map { String(format: "%.0f", Double(records) / $0) }.joined(
                        separator: "/"),
                ]),
        ]
    }

    /// Reads the space as `consumer`, acknowledging as a worker with automatic acknowledgement would.
    private static func read(_ store: Store, as consumer: Consumer) async throws -> Int {
        var position = consumer.position
        var count = 0
        var since = 0
        for try await entry in store.consume(spaces: ["orders": position.offset(of: "orders")]) {
            position.advance(through: entry)
            count &+= 1
            since &+= 1
            if since == acknowledgeEvery {
                since = 0
                try await store.acknowledge(consumer: consumer.name, through: position, durable: false)
            }
        }
        try await store.acknowledge(consumer: consumer.name, through: position, durable: true)
        return count
    }

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
