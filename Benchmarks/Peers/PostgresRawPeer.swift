import Foundation
import PostgresNIO

/// The `postgres-raw` peer of the `postgres.*` scenarios: the same records as plain PostgreSQL rows, what an
/// application writes without StreamKit —
/// `streamkit_bench_raw(store uuid, segment text, sequence bigint, position bigint, timestamp bigint,
/// payload bytea, PRIMARY KEY (store, segment, sequence))`, one row per record, no compression (a 256-byte
/// bytea stays inline and uncompressed), server defaults (`synchronous_commit` on).
///
/// Produce: `writers` concurrent connections, each inserting its batches (batch `b` of the workload goes to
/// writer `b % writers` and segment `workload.segment(ofBatch: b)`), one batch per transaction with one prepared
/// statement (``PostgresRawInsert``). Positions are the records' indexes in the workload, assigned by the writer:
/// unlike StreamKit's, they do not follow commit order. Consume: one `SELECT … ORDER BY` the primary key (one
/// segment, or the whole store) streamed over one connection. Subscribe: one-row inserts that `pg_notify` in
/// their own transaction; a listener on another connection selects the new rows when notified.
///
/// The table is dropped and created again by ``create()`` and dropped by ``drop()``.
struct PostgresRawPeer: Sendable {
    static let table = "streamkit_bench_raw"
    static let channel = "streamkit_bench_raw"

    let database: BenchPostgresClient
    let postmaster: Int32?
    let store = UUID()

    /// One writer's transaction, prepared before timing.
    private struct Batch: Sendable {
        var insert: PostgresRawInsert
        var count: Int
    }

    func create() async throws {
        try await database.execute(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(Self.table)"))
        try await database.execute(
            PostgresQuery(
                unsafeSQL: """
                    CREATE TABLE \(Self.table) (
                        store uuid NOT NULL,
                        segment text NOT NULL,
                        sequence bigint NOT NULL,
                        position bigint NOT NULL,
                        timestamp bigint NOT NULL,
                        payload bytea NOT NULL,
                        PRIMARY KEY (store, segment, sequence))
                    """))
    }

    /// Drops the table; failures are reported, not thrown.
    func drop() async {
        do {
            try await database.execute(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(Self.table)"))
        } catch {
            StandardError.emitLine("warning: could not drop \(Self.table): \(String(reflecting: error))")
        }
    }

    /// Inserts every record of `workload` (see the type's notes); one latency sample per transaction. Creates the
    /// table first.
    func produce(_ workload: Workload, writers: Int, progress: any ProgressReporting) async throws -> Measurement {
        try await create()
        let batches = Self.batches(workload, store: store)
        let writers = max(1, writers)
        let label = "\(workload.scenario) postgres-raw"
        let total = workload.records
        // Every writer's connection is open (and its statement prepared) before timing.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<writers {
                group.addTask {
                    try await database.client.withConnection { connection in
                        for try await _ in try await connection.query("SELECT 1", logger: database.logger) {}
                    }
                }
            }
            try await group.waitForAll()
        }
        await database.settle()
        let before = await PostgresPhaseSample.begin(database, postmaster: postmaster)
        let start = MonotonicClock.nanoseconds()
        let samples = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for w in 0..<writers {
                group.addTask {
                    try await database.client.withConnection { connection in
                        var latency: [UInt64] = []
                        var i = w
                        while i < batches.count {
                            let t0 = MonotonicClock.nanoseconds()
                            for try await _ in try await connection.execute(batches[i].insert, logger: database.logger)
                            {}
                            latency.append(MonotonicClock.nanoseconds() &- t0)
                            if w == 0 && i & 255 == 0 {
                                progress.update(label, done: i * workload.batch, total: total)
                            }
                            i += writers
                        }
                        return latency
                    }
                }
            }
            return try await group.reduce(into: [UInt64]()) { $0 += $1 }
        }
        let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
        let after = await PostgresPhaseSample.end(database, postmaster: postmaster)
        let peak = ResidentMemory.peak()
        var latency = LatencyRecorder()
        for sample in samples { latency.record(nanoseconds: sample) }
        var extras = before.extras(until: after, seconds: seconds)
        extras["writers"] = "\(writers)"
        extras["table_mb"] = await tableMegabytes()
        extras["data_mb"] = await dataMegabytes()
        return workload.measurement(
            system: .postgresRaw, seconds: seconds, latency: latency.summary, peakResidentBytes: peak, extras: extras)
    }

    /// Reads back what ``produce`` wrote for the same workload in primary-key order: one segment
    /// (`WHERE segment = … ORDER BY sequence`) or the whole store (`ORDER BY segment, sequence`). Checks the row
    /// count and payload bytes.
    func consume(_ workload: Workload, segment: Int?, progress: any ProgressReporting) async throws -> Measurement {
        let expected = segment.map { workload.records(inSegment: $0) } ?? workload.records
        let label = "\(workload.scenario) postgres-raw read"
        let query: PostgresQuery
        if let segment {
            query = """
                SELECT sequence, timestamp, payload FROM streamkit_bench_raw
                WHERE store = \(store) AND segment = \(EngineBench.segmentName(segment)) ORDER BY sequence
                """
        } else {
            query = """
                SELECT sequence, timestamp, payload FROM streamkit_bench_raw
                WHERE store = \(store) ORDER BY segment, sequence
                """
        }
        await database.settle()
        let (rows, bytes, seconds, sampled) = try await read(
            query, label: label, expected: expected, progress: progress)
        var extras = sampled
        let peak = ResidentMemory.peak()
        guard rows == expected, bytes == expected * workload.payloadBytes else {
            throw PeerError.verification(
                system: .postgresRaw,
                detail: "read \(rows) rows / \(bytes) bytes, expected \(expected) / \(expected * workload.payloadBytes)"
            )
        }
        if segment == nil {
            // For comparison: the same rows in the table's physical order (no ORDER BY: a sequential scan).
            await database.settle()
            let heap: PostgresQuery =
                "SELECT sequence, timestamp, payload FROM streamkit_bench_raw WHERE store = \(store)"
            let (heapRows, _, heapSeconds, _) = try await read(
                heap, label: label + " (heap order)", expected: expected, progress: progress)
            if heapSeconds > 0 {
                extras["heap_order_records_per_second"] = NumberFormat.fixed(Double(heapRows) / heapSeconds, digits: 0)
            }
        }
        return workload.measurement(
            system: .postgresRaw, records: rows, seconds: seconds, peakResidentBytes: peak, extras: extras)
    }

    /// Streams `query`'s rows over one connection (timed): rows, payload bytes, seconds, phase extras.
    private func read(
        _ query: PostgresQuery, label: String, expected: Int, progress: any ProgressReporting
    )
        async throws -> (Int, Int, Double, [String: String])
    {
        try await database.client.withConnection { connection in
            let before = await PostgresPhaseSample.begin(database, postmaster: postmaster)
            var rows = 0
            var bytes = 0
            var timestamps: Int64 = 0
            let start = MonotonicClock.nanoseconds()
            for try await (_, timestamp, payload) in try await connection.query(query, logger: database.logger)
                .decode((Int64, Int64, ByteBuffer).self)
            {
                rows += 1
                bytes &+= payload.readableBytes
                timestamps &+= timestamp
                if rows & 0xFFFF == 0 { progress.update(label, done: rows, total: expected) }
            }
            let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
            let after = await PostgresPhaseSample.end(database, postmaster: postmaster)
            return (rows, bytes, seconds, before.extras(until: after, seconds: seconds))
        }
    }

    /// Latency from the start of a one-row insert (with `pg_notify` in its transaction) until a listener on another
    /// connection, woken by the notification, has selected the row; one record at a time. Creates the table.
    func subscribeLatency(
        _ workload: Workload, warmUp: Int, progress: any ProgressReporting
    ) async throws -> Measurement {
        try await create()
        let label = "\(workload.scenario) postgres-raw"
        let segment = EngineBench.segmentName(0)
        let seen = AsyncStream<(Int64, UInt64)>.makeStream()
        let listenerReady = AsyncStream<Void>.makeStream()
        let total = workload.records + warmUp
        let listener = Task {
            defer {
                seen.continuation.finish()
                listenerReady.continuation.finish()
            }
            try await database.client.withConnection { listenConnection in
                try await database.client.withConnection { readConnection in
                    var last: Int64 = 0
                    try await listenConnection.listen(on: Self.channel) { notifications in
                        listenerReady.continuation.yield()
                        for try await _ in notifications {
                            let query: PostgresQuery = """
                                SELECT sequence, payload FROM streamkit_bench_raw
                                WHERE store = \(store) AND segment = \(segment) AND sequence > \(last) ORDER BY sequence
                                """
                            for try await (sequence, _) in try await readConnection.query(
                                query, logger: database.logger
                            )
                            .decode((Int64, ByteBuffer).self) {
                                last = sequence
                            }
                            seen.continuation.yield((last, MonotonicClock.nanoseconds()))
                            if last >= Int64(total) { return }
                        }
                    }
                }
            }
        }
        defer { listener.cancel() }
        var ready = listenerReady.stream.makeAsyncIterator()
        _ = await ready.next()
        let stream = seen.stream
        let (seconds, latency, commits) = try await database.client.withConnection { connection in
            var sightings = stream.makeAsyncIterator()
            var latency = LatencyRecorder()
            var commits = LatencyRecorder()
            await database.settle()
            var start = MonotonicClock.nanoseconds()
            for i in 0..<total {
                if i == warmUp { start = MonotonicClock.nanoseconds() }
                let record = i % workload.records
                let sequence = Int64(i + 1)
                let query: PostgresQuery = """
                    WITH r AS (
                        INSERT INTO streamkit_bench_raw (store, segment, sequence, position, timestamp, payload)
                        VALUES (\(store), \(segment), \(sequence), \(sequence), \(workload.payloads.timestamps[record]),
                            \(ByteBuffer(bytes: workload.payloads.record(record))))
                        RETURNING sequence)
                    SELECT pg_notify(\(Self.channel), sequence::text) FROM r
                    """
                let t0 = MonotonicClock.nanoseconds()
                for try await _ in try await connection.query(query, logger: database.logger) {}
                let acknowledged = MonotonicClock.nanoseconds()
                var seenAt: UInt64 = 0
                while true {
                    guard let (last, at) = await sightings.next() else {
                        try await listener.value
                        throw BenchError.failed("the postgres-raw listener stopped before sequence \(sequence)")
                    }
                    if last >= sequence {
                        seenAt = at
                        break
                    }
                }
                if i >= warmUp {
                    latency.record(nanoseconds: seenAt &- t0)
                    commits.record(nanoseconds: acknowledged &- t0)
                }
                if i & 63 == 0 { progress.update(label, done: i, total: total) }
            }
            return (MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds()), latency, commits)
        }
        listener.cancel()
        _ = await listener.result
        let peak = ResidentMemory.peak()
        var extras: [String: String] = [:]
        if let commit = commits.summary {
            extras["commit_p50_us"] = NumberFormat.fixed(commit.p50, digits: 0)
            extras["commit_p99_us"] = NumberFormat.fixed(commit.p99, digits: 0)
        }
        return workload.measurement(
            system: .postgresRaw, seconds: seconds, latency: latency.summary, peakResidentBytes: peak, extras: extras)
    }

    /// The table's size with its index and TOAST, in MB.
    private func tableMegabytes() async -> String {
        let bytes = try? await database.integer(
            PostgresQuery(unsafeSQL: "SELECT pg_total_relation_size('\(Self.table)')::int8"))
        return bytes.map { NumberFormat.fixed(Double($0) / 1_000_000, digits: 1) } ?? "-"
    }

    /// The bytes of the store's rows in MB (`pg_column_size` of each whole row), without indexes and page overhead.
    private func dataMegabytes() async -> String {
        let bytes = try? await database.integer(
            "SELECT (sum(pg_column_size(r.*)))::int8 FROM streamkit_bench_raw r WHERE store = \(store)")
        return bytes.map { NumberFormat.fixed(Double($0) / 1_000_000, digits: 1) } ?? "-"
    }

    /// The workload cut into batches as the StreamKit side cuts it (``EngineBench/batches(_:)``): batch `b` of
    /// `workload.batch` records to segment `workload.segment(ofBatch: b)`, sequences from 1 in each segment.
    private static func batches(_ workload: Workload, store: UUID) -> [Batch] {
        let segments = max(1, workload.segments)
        var next = [Int64](repeating: 1, count: segments)
        var out: [Batch] = []
        var index = 0
        var batchIndex = 0
        while index < workload.records {
            let end = min(index + max(1, workload.batch), workload.records)
            let segment = workload.segment(ofBatch: batchIndex)
            let count = end - index
            let sequences = (0..<Int64(count)).map { next[segment] + $0 }
            next[segment] += Int64(count)
            out.append(
                Batch(
                    insert: PostgresRawInsert(
                        store: store, segment: EngineBench.segmentName(segment), sequences: sequences,
                        positions: (index..<end).map { Int64($0 + 1) },
                        timestamps: Array(workload.payloads.timestamps[index..<end]),
                        payloads: (index..<end).map { ByteBuffer(bytes: workload.payloads.record($0)) }),
                    count: count))
            index = end
            batchIndex += 1
        }
        return out
    }
}
