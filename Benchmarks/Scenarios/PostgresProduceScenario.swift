import Foundation
import StreamKitEngine

/// `postgres.produce` (one node) and `postgres.produce.nodes3` (three nodes in this process, producers spread
/// over them): 16 concurrent producers (`--producers`) on 16 segments of one store in PostgreSQL, transactions of
/// `--batch`, each producer waiting for every acknowledgement; peer `postgres-raw` with as many writers.
struct PostgresProduceScenario: Scenario {
    let name: String
    let summary: String
    let nodes: Int
    let inQuickSuite = false
    let needsPostgres = true

    static let oneNode = PostgresProduceScenario(
        name: "postgres.produce",
        summary: "16 producers on 16 segments of one store in PostgreSQL, one node; peer postgres-raw", nodes: 1)
    static let threeNodes = PostgresProduceScenario(
        name: "postgres.produce.nodes3",
        summary: "the same over three nodes (PostgresLogs) in this process; peer postgres-raw", nodes: 3)

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        let records = options.records ?? 1_000_000
        let producers = options.producers ?? 16
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: records)
        // synchronous_commit on: every commit waits for its WAL flush, as `fsync` does for the file log.
        var workload = Workload(scenario: name, payloads: payloads, batch: options.batch, durability: .fsync)
        workload.segments = options.segments ?? producers
        workload.producers = producers
        let batches = EngineBench.batches(workload)
        return try await PostgresBench.withDatabase(options) { database, postmaster, url in
            let id = UUID()
            let nodes = try await PostgresBench.open(id, nodes: self.nodes, url: url)
            let timed: (Double, [UInt64], [String: String])
            do {
                await database.settle()
                let before = await PostgresPhaseSample.begin(database, postmaster: postmaster)
                let start = MonotonicClock.nanoseconds()
                let samples = try await PostgresBench.produce(
                    batches, stores: nodes.stores, producers: producers, label: "\(name) streamkit", total: records,
                    progress: progress)
                let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
                let after = await PostgresPhaseSample.end(database, postmaster: postmaster)
                timed = (seconds, samples, before.extras(until: after, seconds: seconds))
            } catch {
                await nodes.close()
                await database.deleteStreamKitStore(id)
                throw error
            }
            let peak = ResidentMemory.peak()
            await nodes.close()
            var extras = timed.2
            extras["producers"] = "\(producers)"
            extras["nodes"] = "\(self.nodes)"
            extras["data_mb"] = await PostgresBench.dataMegabytes(database, store: id)
            extras.merge(await PostgresBench.rowExtras(database, store: id, records: records)) { $1 }
            await database.deleteStreamKitStore(id)
            var latency = LatencyRecorder()
            for sample in timed.1 { latency.record(nanoseconds: sample) }
            let ours = workload.measurement(
                system: .streamkit, seconds: timed.0, latency: latency.summary, peakResidentBytes: peak, extras: extras)
            guard options.peers else { return [ours] }
            let raw = PostgresRawPeer(database: database, postmaster: postmaster)
            do {
                let row = try await raw.produce(workload, writers: producers, progress: progress)
                await raw.drop()
                return [ours, row]
            } catch {
                await raw.drop()
                throw error
            }
        }
    }
}
