import Logging
import NIOCore
import PostgresNIO
import StreamKitEngine

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The leases and worker presence of one store in PostgreSQL, shared by every node that opens the store (schema
/// version 2, see ``PostgresSchema``; rules in `docs/semantics.md`, "Leases and fencing", "Worker presence").
///
/// - **Expiry by the database's clock** (`clock_timestamp()`), never a node's: a lease is live while
///   `expires_at > clock_timestamp()`, a worker while `last_seen + 3 × interval ≥ clock_timestamp()`. Times go
///   back to the caller on its monotonic clock as `now + (database time − database now)`, with `now` read before
///   the call, so a lease's `expiresAt` is never later than the database's expiry.
/// - **One counter row per store** (`streamkit_coordination`: fencing token, worker generation, inventory
///   version), locked by every statement that changes who holds a key or which workers are registered, and always
///   *before* the lease or worker rows it touches (so these transactions never deadlock). Renewals, releases,
///   refreshes and heartbeats touch only their own row. The store's head row, which appends lock, is not used.
/// - **Fencing tokens** come from the counter: `GREATEST(token + 1, floor, database wall clock in ns)`, so
///   they rise across nodes and restarts and are at least wall-clock nanoseconds.
/// - Two nodes acquiring the same free key serialize on the counter row; the second sees the first's row.
///   A unique violation, deadlock or serialization failure (none expected) runs the call again, bounded.
struct PostgresCoordination: SharedCoordination {
    /// The store.
    let store: UUID
    /// The database.
    let log: PostgresLog

    /// Times a call runs again after a retryable conflict (a unique violation, deadlock or serialization
    /// failure), or after the lease it meant to refresh changed under it.
    static let maxAttempts = 8

    // MARK: - Leases

    func acquireLease(
        key: String, holder: String, ttl: UInt64, fencingFloor: UInt64, now: UInt64
    ) async throws
        -> Lease?
    {
        let (keyBytes, holderBytes) = (ByteBuffer(string: key), ByteBuffer(string: holder))
        let micros = Self.micros(ttl)
        let floor = Int64(clamping: fencingFloor)
        return try await run("acquiring lease '\(key)'") { connection, logger in
            for _ in 0..<Self.maxAttempts {
                // Who holds the key now, by the database's clock.
                var current: (holder: String, token: Int64, live: Bool)?
                for try await (rowHolder, token, live) in try await connection.query(
                    """
                    SELECT holder, token, expires_at > clock_timestamp() FROM streamkit_leases
                    WHERE store = \(store) AND key = \(keyBytes)
                    """, logger: logger
                ).decode((ByteBuffer, Int64, Bool).self) {
                    current = (String(buffer: rowHolder), token, live)
                }
                if let current, current.live {
                    guard current.holder == holder else { return nil }
                    // The holder's own live lease: refresh it (same token), unless it changed meanwhile.
                    if let lease = try await refresh(
                        key: key, holder: holder, token: current.token, micros: micros, ttl: ttl, now: now,
                        on: connection, logger: logger)
                    {
                        return lease
                    }
                    continue
                }
                if let lease = try await newAcquisition(
                    key: key, keyBytes: keyBytes, holderBytes: holderBytes, micros: micros, ttl: ttl, floor: floor,
                    now: now, on: connection, logger: logger)
                {
                    return lease
                }
                // Another node acquired the key meanwhile: look again.
            }
            throw StreamKitError(
                code: .storeUnavailable,
                message: "lease '\(key)' changed hands \(Self.maxAttempts) times during one acquisition; try again",
                storeID: store)
        }
    }

    /// Moves the expiry of a live lease held by `holder` with `token`; nil when it is no longer so.
    private func refresh(
        key: String, holder: String, token: Int64, micros: Int64, ttl: UInt64, now: UInt64,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Lease? {
        for try await remaining in try await connection.query(
            """
            UPDATE streamkit_leases
            SET expires_at = clock_timestamp() + \(micros)::float8 * interval '1 microsecond', ttl_ns = \(Int64(ttl))
            WHERE store = \(store) AND key = \(ByteBuffer(string: key)) AND holder = \(ByteBuffer(string: holder))
                AND token = \(token) AND expires_at > clock_timestamp()
            RETURNING \(unescaped: Self.nanoseconds("expires_at - clock_timestamp()"))
            """, logger: logger
        ).decode(Int64.self) {
            return Self.lease(key: key, holder: holder, token: token, remaining: remaining, ttl: ttl, now: now)
        }
        return nil
    }

    /// A new acquisition of a free or expired key, in one transaction that first takes a token from the store's
    /// counter row (locking it, so that new acquisitions of the store serialize). Nil when the key turned out
    /// live (another node acquired it first).
    private func newAcquisition(
        key: String, keyBytes: ByteBuffer, holderBytes: ByteBuffer, micros: Int64, ttl: UInt64, floor: Int64,
        now: UInt64, on connection: PostgresConnection, logger: Logger
    ) async throws -> Lease? {
        try await transaction(on: connection, logger: logger) {
            var token: Int64?
            do {
                for try await value in try await connection.query(
                    """
                    INSERT INTO streamkit_coordination AS c (store, lease_token)
                    VALUES (\(store), GREATEST(\(floor), \(unescaped: Self.wallClockNanoseconds)))
                    ON CONFLICT (store) DO UPDATE SET lease_token = GREATEST(c.lease_token + 1, EXCLUDED.lease_token)
                    RETURNING lease_token
                    """, logger: logger
                ).decode(Int64.self) {
                    token = value
                }
            } catch  where PostgresFailure.sqlState(of: error) == "22003" {
                throw Self.fencingTokensExhausted  // bigint out of range
            }
            guard let token else { throw Self.missingRow(store) }
            var existing: Bool?
            for try await live in try await connection.query(
                """
                SELECT expires_at > clock_timestamp() FROM streamkit_leases
                WHERE store = \(store) AND key = \(keyBytes) FOR UPDATE
                """, logger: logger
            ).decode(Bool.self) {
                existing = live
            }
            let statement: PostgresQuery
            switch existing {
            case true?:
                return nil
            case false?:
                statement = """
                    UPDATE streamkit_leases
                    SET holder = \(holderBytes), token = \(token), ttl_ns = \(Int64(ttl)),
                        expires_at = clock_timestamp() + \(micros)::float8 * interval '1 microsecond'
                    WHERE store = \(store) AND key = \(keyBytes)
                    RETURNING \(unescaped: Self.nanoseconds("expires_at - clock_timestamp()"))
                    """
            case nil:
                try await makeRoomForKey(on: connection, logger: logger)
                statement = """
                    INSERT INTO streamkit_leases (store, key, holder, token, ttl_ns, expires_at)
                    VALUES (\(store), \(keyBytes), \(holderBytes), \(token), \(Int64(ttl)),
                        clock_timestamp() + \(micros)::float8 * interval '1 microsecond')
                    RETURNING \(unescaped: Self.nanoseconds("expires_at - clock_timestamp()"))
                    """
            }
            for try await remaining in try await connection.query(statement, logger: logger).decode(Int64.self) {
                return Self.lease(
                    key: key, holder: String(buffer: holderBytes), token: token, remaining: remaining, ttl: ttl,
                    now: now)
            }
            throw Self.missingRow(store)
        }
    }

    /// Checks the key limit before a new key is inserted (the counter row is locked): when the store has
    /// ``SharedCoordination/leaseKeyLimit`` keys, expired leases are removed first.
    private func makeRoomForKey(on connection: PostgresConnection, logger: Logger) async throws {
        let limit = Self.leaseKeyLimit
        guard try await count("streamkit_leases", limit: limit, on: connection, logger: logger) >= limit else { return }
        try await connection.query(
            "DELETE FROM streamkit_leases WHERE store = \(store) AND expires_at <= clock_timestamp()", logger: logger)
        guard try await count("streamkit_leases", limit: limit, on: connection, logger: logger) < limit else {
            throw Self.leaseTableFull
        }
    }

    func renewLease(key: String, holder: String, fencingToken: UInt64, ttl: UInt64, now: UInt64) async throws -> Lease {
        let token = Int64(clamping: fencingToken)
        return try await run("renewing lease '\(key)'") { connection, logger in
            if fencingToken <= UInt64(Int64.max),
                let lease = try await refresh(
                    key: key, holder: holder, token: token, micros: Self.micros(ttl), ttl: ttl, now: now,
                    on: connection, logger: logger)
            {
                return lease
            }
            throw try await notHeld(
                key: key, holder: holder, fencingToken: fencingToken, on: connection, logger: logger)
        }
    }

    func releaseLease(key: String, holder: String, fencingToken: UInt64) async throws {
        let token = Int64(clamping: fencingToken)
        try await run("releasing lease '\(key)'") { connection, logger in
            if fencingToken <= UInt64(Int64.max) {
                for try await _ in try await connection.query(
                    """
                    DELETE FROM streamkit_leases
                    WHERE store = \(store) AND key = \(ByteBuffer(string: key))
                        AND holder = \(ByteBuffer(string: holder)) AND token = \(token)
                        AND expires_at > clock_timestamp()
                    RETURNING 1
                    """, logger: logger
                ) {
                    return
                }
            }
            throw try await notHeld(
                key: key, holder: holder, fencingToken: fencingToken, on: connection, logger: logger)
        }
    }

    /// Why the caller does not hold the lease on `key`: released (no row), taken (another holder or token), or
    /// expired (how long ago).
    private func notHeld(
        key: String, holder: String, fencingToken: UInt64, on connection: PostgresConnection, logger: Logger
    ) async throws -> StreamKitError {
        for try await (rowHolder, token, ago) in try await connection.query(
            """
            SELECT holder, token, \(unescaped: Self.nanoseconds("clock_timestamp() - expires_at"))
            FROM streamkit_leases WHERE store = \(store) AND key = \(ByteBuffer(string: key))
            """, logger: logger
        ).decode((ByteBuffer, Int64, Int64).self) {
            guard String(buffer: rowHolder) == holder, UInt64(clamping: token) == fencingToken else {
                return Self.leaseTaken(key: key, offered: fencingToken, current: UInt64(clamping: token))
            }
            return Self.leaseExpired(key: key, ago: UInt64(clamping: ago))
        }
        return Self.leaseReleased(key: key)
    }

    func lease(key: String, now: UInt64) async throws -> Lease? {
        try await run("reading lease '\(key)'") { connection, logger in
            for try await (holder, token, ttl, remaining) in try await connection.query(
                """
                WITH t AS (SELECT clock_timestamp() AS now)
                SELECT l.holder, l.token, l.ttl_ns, \(unescaped: Self.nanoseconds("l.expires_at - t.now"))
                FROM streamkit_leases l, t
                WHERE l.store = \(store) AND l.key = \(ByteBuffer(string: key)) AND l.expires_at > t.now
                """, logger: logger
            ).decode((ByteBuffer, Int64, Int64, Int64).self) {
                return Self.lease(
                    key: key, holder: String(buffer: holder), token: token, remaining: remaining,
                    ttl: UInt64(clamping: ttl), now: now)
            }
            return nil
        }
    }

    // MARK: - Worker presence

    func registerWorker(
        workerID: String, metadata: [String: String], heartbeatInterval: UInt64, now: UInt64
    )
        async throws -> WorkerRegistration
    {
        let id = ByteBuffer(string: workerID)
        let encoded = try Self.encode(metadata)
        let interval = Int64(clamping: heartbeatInterval)
        return try await run("registering worker '\(workerID)'") { connection, logger in
            try await transaction(on: connection, logger: logger) {
                var generation: Int64?
                for try await value in try await connection.query(
                    """
                    INSERT INTO streamkit_coordination AS c (store, worker_generation) VALUES (\(store), 1)
                    ON CONFLICT (store) DO UPDATE SET worker_generation = c.worker_generation + 1
                    RETURNING worker_generation
                    """, logger: logger
                ).decode(Int64.self) {
                    generation = value
                }
                guard let generation else { throw Self.missingRow(store) }
                let evicted = try await evictExpiredWorkers(on: connection, logger: logger)
                var replaced: Int64?
                for try await value in try await connection.query(
                    "SELECT generation FROM streamkit_workers WHERE store = \(store) AND worker_id = \(id) FOR UPDATE",
                    logger: logger
                ).decode(Int64.self) {
                    replaced = value
                }
                if replaced == nil {
                    let limit = Self.workerLimit
                    guard try await count("streamkit_workers", limit: limit, on: connection, logger: logger) < limit
                    else { throw Self.workerRegistryFull }
                }
                try await connection.query(
                    """
                    INSERT INTO streamkit_workers
                        (store, worker_id, generation, metadata, heartbeat_ns, registered_at, last_seen)
                    VALUES (
                        \(store), \(id), \(generation), \(encoded), \(interval), clock_timestamp(), clock_timestamp())
                    ON CONFLICT (store, worker_id) DO UPDATE SET generation = EXCLUDED.generation,
                        metadata = EXCLUDED.metadata, heartbeat_ns = EXCLUDED.heartbeat_ns,
                        registered_at = EXCLUDED.registered_at, last_seen = EXCLUDED.last_seen
                    """, logger: logger)
                // As in memory: one version for the evictions, one for the registration.
                let changes: Int64 = evicted > 0 ? 2 : 1
                try await connection.query(
                    """
                    UPDATE streamkit_coordination SET worker_version = worker_version + \(changes)
                    WHERE store = \(store)
                    """, logger: logger)
                let inventory = try await readInventory(now: now, on: connection, logger: logger).inventory
                let worker =
                    inventory.workers.first { $0.workerID == workerID }
                    ?? WorkerInfo(
                        workerID: workerID, metadata: metadata, heartbeatInterval: heartbeatInterval, registeredAt: now,
                        lastSeenAt: now)
                return WorkerRegistration(
                    generation: UInt64(generation), worker: worker, replacedGeneration: replaced.map { UInt64($0) },
                    inventory: inventory)
            }
        }
    }

    func workerHeartbeat(workerID: String, generation: UInt64) async throws {
        let id = ByteBuffer(string: workerID)
        try await run("recording a heartbeat of worker '\(workerID)'") { connection, logger in
            if generation <= UInt64(Int64.max) {
                for try await _ in try await connection.query(
                    """
                    UPDATE streamkit_workers w SET last_seen = GREATEST(w.last_seen, clock_timestamp())
                    WHERE w.store = \(store) AND w.worker_id = \(id) AND w.generation = \(Int64(generation))
                        AND \(unescaped: Self.liveUntil) >= clock_timestamp()
                    RETURNING 1
                    """, logger: logger
                ) {
                    return
                }
            }
            for try await (current, live) in try await connection.query(
                """
                SELECT w.generation, \(unescaped: Self.liveUntil) >= clock_timestamp() FROM streamkit_workers w
                WHERE w.store = \(store) AND w.worker_id = \(id)
                """, logger: logger
            ).decode((Int64, Bool).self) {
                let current = UInt64(clamping: current)
                if generation < current {
                    throw Self.workerReplaced(workerID, generation: generation, current: current)
                }
                if generation > current { throw Self.workerNotRegistered(workerID) }
                if !live { throw Self.workerExpired(workerID) }
                // Live again under the same generation: impossible (only a registration makes a row live, with a
                // new generation); answer as for an expired one.
                throw Self.workerExpired(workerID)
            }
            throw Self.workerNotRegistered(workerID)
        }
    }

    func unregisterWorker(workerID: String, generation: UInt64) async throws -> Bool {
        guard generation <= UInt64(Int64.max) else { return false }
        let id = ByteBuffer(string: workerID)
        return try await run("unregistering worker '\(workerID)'") { connection, logger in
            try await transaction(on: connection, logger: logger) {
                // The counter row first (the lock order of every membership change), then the worker's row.
                var locked = false
                for try await _ in try await connection.query(
                    "SELECT 1 FROM streamkit_coordination WHERE store = \(store) FOR UPDATE", logger: logger
                ) {
                    locked = true
                }
                guard locked else { return false }
                var removed = false
                for try await _ in try await connection.query(
                    """
                    DELETE FROM streamkit_workers
                    WHERE store = \(store) AND worker_id = \(id) AND generation = \(Int64(generation))
                    RETURNING 1
                    """, logger: logger
                ) {
                    removed = true
                }
                guard removed else { return false }
                try await connection.query(
                    "UPDATE streamkit_coordination SET worker_version = worker_version + 1 WHERE store = \(store)",
                    logger: logger)
                return true
            }
        }
    }

    func workerInventory(now: UInt64) async throws -> WorkerInventory {
        try await run("reading the worker inventory") { connection, logger in
            let first = try await readInventory(now: now, on: connection, logger: logger)
            guard first.expired else { return first.inventory }
            // Evict (the version moves), then read again.
            try await transaction(on: connection, logger: logger) {
                for try await _ in try await connection.query(
                    "SELECT 1 FROM streamkit_coordination WHERE store = \(store) FOR UPDATE", logger: logger
                ) {}
                let evicted = try await evictExpiredWorkers(on: connection, logger: logger)
                if evicted > 0 {
                    try await connection.query(
                        "UPDATE streamkit_coordination SET worker_version = worker_version + 1 WHERE store = \(store)",
                        logger: logger)
                }
            }
            return try await readInventory(now: now, on: connection, logger: logger).inventory
        }
    }

    /// Removes the workers past their deadline (the counter row must be locked); returns how many.
    private func evictExpiredWorkers(on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var evicted = 0
        for try await _ in try await connection.query(
            """
            DELETE FROM streamkit_workers w
            WHERE w.store = \(store) AND \(unescaped: Self.liveUntil) < clock_timestamp()
            RETURNING 1
            """, logger: logger
        ) {
            evicted += 1
        }
        return evicted
    }

    /// The live workers and the version, in one statement (one snapshot), and whether expired workers wait for
    /// eviction.
    private func readInventory(
        now: UInt64, on connection: PostgresConnection, logger: Logger
    ) async throws
        -> (inventory: WorkerInventory, expired: Bool)
    {
        var version: Int64 = 0
        var workers: [WorkerInfo] = []
        var expired = false
        let query: PostgresQuery = """
            WITH t AS (SELECT clock_timestamp() AS now),
                v AS (SELECT worker_version FROM streamkit_coordination WHERE store = \(store))
            SELECT v.worker_version, w.worker_id, w.metadata, w.heartbeat_ns,
                \(unescaped: Self.nanoseconds("t.now - w.registered_at")),
                \(unescaped: Self.nanoseconds("t.now - w.last_seen")),
                \(unescaped: Self.liveUntil) >= t.now
            FROM t LEFT JOIN v ON true LEFT JOIN streamkit_workers w ON w.store = \(store)
            """
        for try await (rowVersion, id, metadata, interval, registeredAgo, seenAgo, live) in try await connection.query(
            query, logger: logger
        ).decode((Int64?, ByteBuffer?, ByteBuffer?, Int64?, Int64?, Int64?, Bool?).self) {
            version = rowVersion ?? 0
            guard let id, let metadata, let interval, let registeredAgo, let seenAgo, let live else { continue }
            guard live else {
                expired = true
                continue
            }
            workers.append(
                WorkerInfo(
                    workerID: String(buffer: id), metadata: try Self.decode(metadata, store: store),
                    heartbeatInterval: UInt64(clamping: interval), registeredAt: Self.before(now, registeredAgo),
                    lastSeenAt: Self.before(now, seenAgo)))
        }
        return (WorkerInventory(workers: workers, version: UInt64(clamping: version)), expired)
    }

    // MARK: - Plumbing

    /// Runs `body` on a pooled connection, again after a retryable conflict (bounded); database errors become
    /// `StreamKitError`s (`storeUnavailable` when the database cannot be reached).
    private func run<Result: Sendable>(
        _ what: String, _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> Result
    ) async throws -> Result {
        let logger = log.logger
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await log.withConnection { connection in try await body(connection, logger) }
            } catch {
                if PostgresFailure.isRetryableConflict(error), attempt < Self.maxAttempts { continue }
                throw StreamKitError.postgres(error, storeID: store, doing: what)
            }
        }
    }

    /// Runs `body` in a database transaction: committed when it returns, rolled back when it throws.
    private func transaction<Result>(
        on connection: PostgresConnection, logger: Logger, _ body: () async throws -> Result
    ) async throws -> Result {
        try await connection.query("BEGIN", logger: logger)
        do {
            let result = try await body()
            try await connection.query("COMMIT", logger: logger)
            return result
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// Rows of the store in `table`, counted up to `limit`.
    private func count(
        _ table: String, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws
        -> Int
    {
        for try await count in try await connection.query(
            """
            SELECT count(*) FROM (SELECT 1 FROM \(unescaped: table) WHERE store = \(store) LIMIT \(Int64(limit))) AS x
            """, logger: logger
        ).decode(Int64.self) {
            return Int(count)
        }
        return 0
    }

    /// SQL: the last instant a worker row `w` is live (`last_seen + 3 × interval`).
    static let liveUntil =
        "(w.last_seen + (w.heartbeat_ns * \(CoordinationLimits.missedHeartbeatsBeforeEviction) / 1000)::float8"
        + " * interval '1 microsecond')"

    /// SQL: the database's wall clock in nanoseconds (microsecond resolution).
    static let wallClockNanoseconds = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint * 1000"

    /// SQL: an interval expression in nanoseconds (microsecond resolution).
    static func nanoseconds(_ interval: String) -> String {
        "(extract(epoch FROM (\(interval))) * 1000000)::bigint * 1000"
    }

    /// A time to live in whole microseconds (the database's resolution).
    static func micros(_ nanoseconds: UInt64) -> Int64 { Int64(clamping: nanoseconds / 1000) }

    /// A lease whose expiry is `remaining` nanoseconds after `now` (the caller's clock, read before the call).
    static func lease(key: String, holder: String, token: Int64, remaining: Int64, ttl: UInt64, now: UInt64) -> Lease {
        Lease(
            key: key, holder: holder, fencingToken: UInt64(clamping: token),
            expiresAt: now.addingReportingOverflow(UInt64(clamping: remaining)).overflow
                ? .max : now + UInt64(clamping: remaining),
            ttl: ttl)
    }

    /// `now - ago` on the caller's clock, not below 0.
    static func before(_ now: UInt64, _ ago: Int64) -> UInt64 {
        ago <= 0 ? now : now - min(now, UInt64(ago))
    }

    static func encode(_ metadata: [String: String]) throws -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return ByteBuffer(bytes: try encoder.encode(metadata))
    }

    static func decode(_ metadata: ByteBuffer, store: UUID) throws -> [String: String] {
        do {
            return try JSONDecoder().decode([String: String].self, from: Data(metadata.readableBytesView))
        } catch {
            throw StreamKitError(
                code: .corrupt,
                message: "store \(store): a worker's metadata in PostgreSQL is not a JSON object of strings",
                storeID: store)
        }
    }

    static func missingRow(_ store: UUID) -> StreamKitError {
        StreamKitError(
            code: .storage, message: "store \(store): a coordination row is missing in PostgreSQL", storeID: store)
    }
}
