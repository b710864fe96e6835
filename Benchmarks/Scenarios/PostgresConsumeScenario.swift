import Foundation
import StreamKitEngine

/// `postgres.consume.segment` (one segment) and `postgres.consume.space` (the 16 segments of `postgres.produce`):
/// the workload is written untimed through one node, then read back through a store opened afresh on another
/// node, so that every entry comes from the database (`PostgresStorage.readBlock`), none from the writer's
/// in-memory tail. Peer `postgres-raw`: the same records as rows, read in primary-key order.
///
/// Rows as `postgres.produce` writes them: the space is filled by `--producers` concurrent producers of `--batch`
/// (their transactions share rows); the one segment by one producer in transactions of `--producers` × `--batch`
/// records (the row a full group of them would write).
struct PostgresConsumeScenario: Scenario {
    let name: String
    let summary: String
    let oneSegment: Bool
    let inQuickSuite = false
    let needsPostgres = true

    static let segment = PostgresConsumeScenario(
        name: "postgres.consume.segment",
        summary: "read one segment back from PostgreSQL through a freshly opened store; peer postgres-raw",
        oneSegment: true)
    static let space = PostgresConsumeScenario(
        name: "postgres.consume.space",
        summary: "read a space of 16 segments back in commit order through a freshly opened store; peer postgres-raw",
        oneSegment: false)

    func run(_ options: BenchOptions, progress: any ProgressReporting) async throws -> [Measurement] {
        let records = options.records ?? 1_000_000
        let producers = options.producers ?? 16
        var generator = PayloadGenerator(payloadBytes: options.payloadBytes)
        let payloads = generator.makeBuffer(count: records)
        var workload = Workload(scenario: name, payloads: payloads, batch: options.batch, durability: .none)
        workload.segments = oneSegment ? 1 : (options.segments ?? producers)
        workload.producers = producers
        var fill = workload
        if oneSegment { fill.batch = options.batch * producers }
        let fillBatches = EngineBench.batches(fill)
        let fillProducers = oneSegment ? 1 : producers

        return try await PostgresBench.withDatabase(options) { database, postmaster, url in
            let id = UUID()
            do {
                let writer = try await PostgresBench.open(id, nodes: 1, url: url)
                do {
                    _ = try await PostgresBench.produce(
                        fillBatches, stores: writer.stores, producers: fillProducers, label: "\(name) fill",
                        total: records, progress: progress)
                } catch {
                    await writer.close()
                    throw error
                }
                await writer.close()
                let ours = try await read(
                    workload, store: id, database: database, postmaster: postmaster, url: url, progress: progress)
                await database.deleteStreamKitStore(id)
                guard options.peers else { return [ours] }
                let raw = PostgresRawPeer(database: database, postmaster: postmaster)
                do {
                    _ = try await raw.produce(workload, writers: producers, progress: progress)
                    let row = try await raw.consume(workload, segment: oneSegment ? 0 : nil, progress: progress)
                    await raw.drop()
                    return [ours, row]
                } catch {
                    await raw.drop()
                    throw error
                }
            } catch {
                await database.deleteStreamKitStore(id)
                throw error
            }
        }
    }

    /// Opens the store on a new node (timed apart: `open_ms`) and reads it all back (timed).
    private func read(
        _ workload: Workload, store id: UUID, database: BenchPostgresClient, postmaster: Int32?, url: String,
        progress: any ProgressReporting
    ) async throws -> Measurement {
        let records = workload.records
        await database.settle()
        let opening = MonotonicClock.nanoseconds()
        let reader = try await PostgresBench.open(id, nodes: 1, url: url)
        let openSeconds = MonotonicClock.seconds(from: opening, to: MonotonicClock.nanoseconds())
        let store = reader.stores[0]
        var count = 0
        var bytes = 0
        let timed: (Double, [String: String])
        do {
            TimedPhase.prepare()
            let before = await PostgresPhaseSample.begin(database, postmaster: postmaster)
            let start = MonotonicClock.nanoseconds()
            if oneSegment {
                for try await entry in store.consumeSegment(
                    space: PostgresBench.space, segment: EngineBench.segmentName(0))
                {
                    count += 1
                    bytes &+= entry.payload.count
                    if count & 0xFFFF == 0 { progress.update("\(name) streamkit", done: count, total: records) }
                }
            } else {
                for try await entry in store.consumeSpace(space: PostgresBench.space) {
                    count += 1
                    bytes &+= entry.payload.count
                    if count & 0xFFFF == 0 { progress.update("\(name) streamkit", done: count, total: records) }
                }
            }
            let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
            let after = await PostgresPhaseSample.end(database, postmaster: postmaster)
            timed = (seconds, before.extras(until: after, seconds: seconds))
        } catch {
            await reader.close()
            throw error
        }
        let peak = ResidentMemory.peak()
        await reader.close()
        guard count == records, bytes == records * workload.payloadBytes else {
            throw ReadBackMismatch(read: count, bytes: bytes, written: records)
        }
        var extras = timed.1
        extras["segments"] = "\(workload.segments)"
        extras["open_ms"] = NumberFormat.fixed(openSeconds * 1000, digits: 1)
        extras["data_mb"] = await PostgresBench.dataMegabytes(database, store: id)
        extras.merge(await PostgresBench.rowExtras(database, store: id, records: records)) { $1 }
        return workload.measurement(system: .streamkit, seconds: timed.0, peakResidentBytes: peak, extras: extras)
    }
}
