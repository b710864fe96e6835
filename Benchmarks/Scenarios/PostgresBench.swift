import Foundation
import Logging
import PostgresNIO
import StreamKitEngine
import StreamKitPostgres

/// Shared set-up of the `postgres.*` scenarios: the database, nodes (one `PostgresLog` each, as separate
/// processes would have), stores, concurrent producers, and where-time-goes extras.
enum PostgresBench {
    static let space = "orders"

    /// The same store opened on several nodes of one process (each its own `PostgresLog`: pool, listener, writer).
    struct Nodes: Sendable {
        let logs: [PostgresLog]
        let stores: [Store]

        /// Closes every store, then every log.
        func close() async {
            for store in stores { await store.close() }
            for log in logs { await log.close() }
        }
    }

    static func configuration() -> StoreConfiguration {
        var configuration = StoreConfiguration()
        configuration.logger.logLevel = .warning
        configuration.log.logger.logLevel = .warning
        return configuration
    }

    /// Opens store `id` on `count` new nodes.
    static func open(_ id: UUID, nodes count: Int, url: String) async throws -> Nodes {
        // Error: PostgresNIO warns when a pool is used before its run() task has started (harmless: the lease waits).
        var logger = Logger(label: "streamkit.bench.postgres.node")
        logger.logLevel = .error
        var logs: [PostgresLog] = []
        var stores: [Store] = []
        do {
            for _ in 0..<max(1, count) {
                let log = try await PostgresLog.connect(PostgresLocation(url: url), logger: logger)
                logs.append(log)
                guard let store = try await log.openStore(id: id, configuration: configuration(), creating: true) else {
                    throw BenchError.failed("store \(id) was not created")
                }
                stores.append(store)
            }
        } catch {
            await Nodes(logs: logs, stores: stores).close()
            throw error
        }
        return Nodes(logs: logs, stores: stores)
    }

    /// Runs `body` with the benchmark's own client of `options.postgresURL` and the local server's process id
    /// (nil when the server is elsewhere), closing the client afterwards.
    static func withDatabase<Value: Sendable>(
        _ options: BenchOptions, _ body: (BenchPostgresClient, Int32?, String) async throws -> Value
    ) async throws -> Value {
        guard let url = options.postgresURL else {
            throw BenchError.failed("no PostgreSQL database (--postgres URL, or the private cluster) for this scenario")
        }
        let database = try BenchPostgresClient(url: url)
        do {
            let value = try await body(database, await database.localPostmaster(), url)
            await database.close()
            return value
        } catch {
            await database.close()
            throw error
        }
    }

    /// `producers` concurrent producers, producer `p` committing batches `p`, `p + producers`, … (with segments =
    /// producers, all of segment `p`, in order) through `stores[p % stores.count]`; each waits for every
    /// acknowledgement. Returns the latency of every produce call in nanoseconds.
    static func produce(
        _ batches: [EngineBench.Batch], stores: [Store], producers: Int, label: String, total: Int,
        progress: any ProgressReporting
    ) async throws -> [UInt64] {
        try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for p in 0..<max(1, producers) {
                let store = stores[p % stores.count]
                group.addTask {
                    var latency: [UInt64] = []
                    var i = p
                    while i < batches.count {
                        let t0 = MonotonicClock.nanoseconds()
                        try await store.produce(space: space, segment: batches[i].segment, records: batches[i].records)
                        latency.append(MonotonicClock.nanoseconds() &- t0)
                        if p == 0 && i & 255 == 0 {
                            progress.update(label, done: i * batches[i].records.count, total: total)
                        }
                        i += producers
                    }
                    return latency
                }
            }
            return try await group.reduce(into: [UInt64]()) { $0 += $1 }
        }
    }

    /// `rows` and `entries_per_row` of a StreamKit store (one row per group commit).
    static func rowExtras(_ database: BenchPostgresClient, store: UUID, records: Int) async -> [String: String] {
        guard let rows = try? await database.streamKitRows(of: store), rows > 0 else { return [:] }
        return ["rows": "\(rows)", "entries_per_row": NumberFormat.fixed(Double(records) / Double(rows), digits: 1)]
    }

    /// The bytes of StreamKit's batch rows of `store` in MB (`pg_column_size` of each whole row, as the raw peer's
    /// `data_mb`), without indexes and page overhead.
    static func dataMegabytes(_ database: BenchPostgresClient, store: UUID) async -> String {
        let bytes = try? await database.integer(
            "SELECT (sum(pg_column_size(b.*)))::int8 FROM streamkit_batches b WHERE store = \(store)")
        return bytes.map { NumberFormat.fixed(Double($0) / 1_000_000, digits: 1) } ?? "-"
    }
}
