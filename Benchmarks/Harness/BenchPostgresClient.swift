import Foundation
import Logging
import PostgresNIO
import StreamKitPostgres

/// The benchmark's own pooled PostgreSQL client, apart from the `PostgresLog`s under test: the `postgres-raw`
/// peer's connections, settling before timed phases, server statistics and clean-up.
final class BenchPostgresClient: Sendable {
    let client: PostgresClient
    let logger: Logger
    private let running: Task<Void, Never>

    /// Connects lazily (the first query opens a connection); `maxConnections` bounds the pool.
    init(url: String, maxConnections: Int = 24) throws {
        let location = try PostgresLocation(url: url)
        let tls: PostgresClient.Configuration.TLS
        switch location.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: tls)
        configuration.options.maximumConnections = maxConnections
        configuration.options.minimumConnections = 0
        configuration.options.additionalStartupParameters = [("application_name", "streamkit-bench")]
        // Error: PostgresNIO warns when the pool is used before its run() task has started (harmless: the lease waits).
        var logger = Logger(label: "streamkit.bench.postgres")
        logger.logLevel = .error
        self.logger = logger
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        running = Task { await client.run() }
    }

    /// Closes every connection.
    func close() async {
        running.cancel()
        await running.value
    }

    /// Runs `query` and drops its rows.
    func execute(_ query: PostgresQuery) async throws {
        for try await _ in try await client.query(query, logger: logger) {}
    }

    /// The first column of the first row as an integer (nil without a row).
    func integer(_ query: PostgresQuery) async throws -> Int64? {
        for try await (value) in try await client.query(query, logger: logger).decode(Int64.self) { return value }
        return nil
    }

    /// What every timed phase over PostgreSQL does first: a `CHECKPOINT` (writes the shared buffers the previous
    /// system dirtied, so that its checkpoint does not land in the next measurement; skipped without the right
    /// to run it), then ``TimedPhase/prepare()``.
    func settle() async {
        do {
            try await execute("CHECKPOINT")
        } catch {
            StandardError.emitLine(
                "note: CHECKPOINT before a timed phase failed (not a superuser?): \(String(reflecting: error))")
        }
        TimedPhase.prepare()
    }

    /// The server's process id when it runs on this machine (its postmaster is the parent of our backend), for
    /// ``PostgresPhaseSample``'s CPU figures; nil when it cannot be seen in `/proc`.
    func localPostmaster() async -> Int32? {
        guard let backend = try? await integer("SELECT pg_backend_pid()::int8") else { return nil }
        return ProcessCPU.parent(of: Int32(backend))
    }

    /// Rows of StreamKit's batch table for `store` (one per group commit).
    func streamKitRows(of store: UUID) async throws -> Int {
        Int(try await integer("SELECT count(*)::int8 FROM streamkit_batches WHERE store = \(store)") ?? 0)
    }

    /// Deletes a benchmark store's rows from StreamKit's tables (every `streamkit_*` table with a `store` column,
    /// found in the catalog, then `streamkit_stores`), so that a run over a database given with `--postgres` leaves
    /// no data behind and later scenarios start from the same tables. Failures are reported, not thrown.
    func deleteStreamKitStore(_ store: UUID) async {
        do {
            try await client.withConnection { connection in
                var tables: [String] = []
                let query: PostgresQuery = """
                    SELECT table_name::text FROM information_schema.columns
                    WHERE table_schema = current_schema() AND column_name = 'store' AND table_name LIKE 'streamkit\\_%'
                        AND table_name NOT IN ('streamkit_stores', \(PostgresRawPeer.table))
                    """
                for try await (name) in try await connection.query(query, logger: logger).decode(String.self) {
                    tables.append(name)
                }
                try await connection.query("BEGIN", logger: logger)
                for table in tables + ["streamkit_stores"] {
                    let quoted = "\"" + table.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                    var delete = PostgresQuery(unsafeSQL: "DELETE FROM \(quoted) WHERE store = $1")
                    delete.binds.append(store)
                    try await connection.query(delete, logger: logger)
                }
                try await connection.query("COMMIT", logger: logger)
            }
        } catch {
            StandardError.emitLine("warning: could not delete benchmark store \(store): \(String(reflecting: error))")
        }
    }
}
