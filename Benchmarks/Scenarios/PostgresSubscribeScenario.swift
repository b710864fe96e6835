import Foundation
import StreamKitEngine

/// `postgres.subscribe.latency`: node A commits one record at a time to a store in PostgreSQL; a subscription to
/// the segment on node B (another `PostgresLog`, as another process would be) sees each commit. Latency: from
/// the start of A's produce until B's subscription hands out the status with that sequence (the next produce
/// starts after that). Peer `postgres-raw`: one-row inserts with `pg_notify`, a listener that selects the row.
struct PostgresSubscribeScenario: Scenario {
    let name = "postgres.subscribe.latency"
    let summary = "node A commits one record at a time, node B's subscription sees it (p50/p99); peer postgres-raw"
    let inQuickSuite = false
    let needsPostgres = true

    /// Commits before measuring (connections, prepared statements, the segment's first row).
    static let warmUp = 50

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        let records = options.records ?? 2_000
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: records)
        let workload = Workload(scenario: name, payloads: payloads, batch: 1, durability: .fsync)
        let total = records + Self.warmUp
        let prepared = (0..<total).map { Array(payloads.record($0 % records)) }
        let segment = EngineBench.segmentName(0)

        return try await PostgresBench.withDatabase(options) { database, postmaster, url in
            let id = UUID()
            let nodes = try await PostgresBench.open(id, nodes: 2, url: url)
            let (writer, follower) = (nodes.stores[0], nodes.stores[1])
            let measured: (Double, LatencyRecorder, LatencyRecorder)
            do {
                let subscription = try await follower.subscribe(space: PostgresBench.space, segment: segment)
                let sightings = AsyncStream<(UInt64, UInt64)>.makeStream()
                let watcher = Task {
                    for await status in subscription where !status.isHeartbeat && status.lastSequence > 0 {
                        sightings.continuation.yield((status.lastSequence, MonotonicClock.nanoseconds()))
                    }
                    sightings.continuation.finish()
                }
                defer {
                    subscription.cancel()
                    watcher.cancel()
                }
                var seen = sightings.stream.makeAsyncIterator()
                var latency = LatencyRecorder()
                var commits = LatencyRecorder()
                await database.settle()
                var start = MonotonicClock.nanoseconds()
                for i in 0..<total {
                    if i == Self.warmUp { start = MonotonicClock.nanoseconds() }
                    let sequence = UInt64(i + 1)
                    let t0 = MonotonicClock.nanoseconds()
                    try await writer.produce(
                        space: PostgresBench.space, segment: segment,
                        records: [Record(sequence: sequence, payload: prepared[i])])
                    let acknowledged = MonotonicClock.nanoseconds()
                    var seenAt: UInt64 = 0
                    while true {
                        guard let (last, at) = await seen.next() else {
                            throw BenchError.failed("the subscription on node B ended before sequence \(sequence)")
                        }
                        if last >= sequence {
                            seenAt = at
                            break
                        }
                    }
                    if i >= Self.warmUp {
                        latency.record(nanoseconds: seenAt &- t0)
                        commits.record(nanoseconds: acknowledged &- t0)
                    }
                    if i & 63 == 0 { progress.update("\(name) streamkit", done: i, total: total) }
                }
                measured = (MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds()), latency, commits)
            } catch {
                await nodes.close()
                await database.deleteStreamKitStore(id)
                throw error
            }
            let peak = ResidentMemory.peak()
            await nodes.close()
            await database.deleteStreamKitStore(id)
            var extras = ["nodes": "2"]
            if let commit = measured.2.summary {
                extras["commit_p50_us"] = NumberFormat.fixed(commit.p50, digits: 0)
                extras["commit_p99_us"] = NumberFormat.fixed(commit.p99, digits: 0)
            }
            let ours = workload.measurement(
                system: .streamkit, seconds: measured.0, latency: measured.1.summary, peakResidentBytes: peak,
                extras: extras)
            guard options.peers else { return [ours] }
            let raw = PostgresRawPeer(database: database, postmaster: postmaster)
            do {
                let row = try await raw.subscribeLatency(workload, warmUp: Self.warmUp, progress: progress)
                await raw.drop()
                return [ours, row]
            } catch {
                await raw.drop()
                throw error
            }
        }
    }
}
