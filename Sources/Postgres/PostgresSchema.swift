import Logging
import PostgresNIO
import StreamKitEngine

/// The tables StreamKit keeps in PostgreSQL, created and migrated by the first node that connects (under an
/// advisory lock, so that nodes starting together do not race). See `docs/format.md`, "PostgreSQL tables".
///
/// - `streamkit_schema`: one row, the schema version.
/// - `streamkit_stores`: one row per store: its head (the last position assigned) and the last timestamp. The
///   append transaction locks this row in its last statement, so positions follow commit order.
/// - `streamkit_segments`: one row per segment: its last sequence and transaction number, the compare-and-append
///   check.
/// - `streamkit_batches`: one row per group-committed transaction: the entries' first position, count and first
///   timestamp, and the records LZ4-compressed in StreamKit's record encoding (`BatchCodec`), with the segment
///   runs they hold (for the index, without decompressing).
///
/// Version 2 (leases and worker presence shared by every node, ``PostgresCoordination``):
/// - `streamkit_coordination`: one row per store that used leases or presence: the last fencing token, the last
///   worker generation and the inventory version. Statements that change who holds a key or which workers are
///   registered lock it first. (Not on `streamkit_stores`, whose row every append locks.)
/// - `streamkit_leases`: one row per key: holder, fencing token, time to live and expiry (`expires_at`, by the
///   database's clock); expired rows stay until the key is acquired again or the store reaches its key limit.
/// - `streamkit_workers`: one row per worker id: generation, metadata (a JSON object), heartbeat interval, and
///   when it registered and was last seen (by the database's clock).
///
/// Version 3 (deletion and retention): `streamkit_deletions`, one row per segment with deleted entries: the bound
/// (`before`: entries with lower sequences are deleted) and the last position they lie at (`through`); and
/// `streamkit_stores.log_start`, the position of the first row left (retention deletes the rows before it). Every
/// node reads both at open and once per follow poll interval.
///
/// Version 4 (a store's own retention policy): `streamkit_stores.retention_policy` (whether the store has one)
/// and its bounds `retention_max_age_ns`, `retention_max_bytes`, `retention_max_entries` (NULL: not bounded).
/// Every node's retention pass reads them.
///
/// Version 5 (durable consumers, ``PostgresConsumers``): `streamkit_consumers`, one row per consumer: its name
/// (`bytea`) and its record (`body`, StreamKit's consumer encoding: target, position, fencing token, times).
///
/// Keys, holders and worker ids are `bytea` (their exact UTF-8 bytes, whatever the database's encoding).
enum PostgresSchema {
    /// The version this build writes and reads.
    static let version = 5

    /// `pg_advisory_xact_lock` key of migrations ("SKMG").
    static let migrationLock: Int64 = 0x534B_4D47

    /// The statements that bring the schema from version `index` to `index + 1`.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE streamkit_stores (
                store uuid PRIMARY KEY,
                head bigint NOT NULL DEFAULT 0 CHECK (head >= 0),
                last_timestamp bigint NOT NULL DEFAULT 0,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE streamkit_segments (
                store uuid NOT NULL REFERENCES streamkit_stores (store),
                space text NOT NULL,
                segment text NOT NULL,
                last_sequence bigint NOT NULL CHECK (last_sequence > 0),
                last_transaction bigint NOT NULL,
                PRIMARY KEY (store, space, segment)
            )
            """,
            """
            CREATE TABLE streamkit_batches (
                store uuid NOT NULL REFERENCES streamkit_stores (store),
                first_position bigint NOT NULL CHECK (first_position > 0),
                entry_count integer NOT NULL CHECK (entry_count > 0),
                first_timestamp bigint NOT NULL,
                writer uuid NOT NULL,
                codec smallint NOT NULL,
                raw_length integer NOT NULL,
                checksum bigint NOT NULL,
                runs bytea NOT NULL,
                body bytea NOT NULL,
                PRIMARY KEY (store, first_position)
            )
            """,
            // The body is LZ4 already: PostgreSQL's own compression would spend CPU for nothing.
            "ALTER TABLE streamkit_batches ALTER COLUMN body SET STORAGE EXTERNAL",
        ],
        [
            """
            CREATE TABLE streamkit_coordination (
                store uuid PRIMARY KEY REFERENCES streamkit_stores (store),
                lease_token bigint NOT NULL DEFAULT 0,
                worker_generation bigint NOT NULL DEFAULT 0,
                worker_version bigint NOT NULL DEFAULT 0
            )
            """,
            """
            CREATE TABLE streamkit_leases (
                store uuid NOT NULL REFERENCES streamkit_stores (store),
                key bytea NOT NULL,
                holder bytea NOT NULL,
                token bigint NOT NULL,
                ttl_ns bigint NOT NULL,
                expires_at timestamptz NOT NULL,
                PRIMARY KEY (store, key)
            )
            """,
            """
            CREATE TABLE streamkit_workers (
                store uuid NOT NULL REFERENCES streamkit_stores (store),
                worker_id bytea NOT NULL,
                generation bigint NOT NULL,
                metadata bytea NOT NULL,
                heartbeat_ns bigint NOT NULL,
                registered_at timestamptz NOT NULL,
                last_seen timestamptz NOT NULL,
                PRIMARY KEY (store, worker_id)
            )
            """,
        ],
        [
            """
            CREATE TABLE streamkit_deletions (
                store uuid NOT NULL REFERENCES streamkit_stores (store),
                space text NOT NULL,
                segment text NOT NULL,
                before bigint NOT NULL CHECK (before > 0),
                through bigint NOT NULL CHECK (through > 0),
                PRIMARY KEY (store, space, segment)
            )
            """,
            "ALTER TABLE streamkit_stores ADD COLUMN log_start bigint NOT NULL DEFAULT 1 CHECK (log_start > 0)",
        ],
        [
            """
            ALTER TABLE streamkit_stores
                ADD COLUMN retention_policy boolean NOT NULL DEFAULT false,
                ADD COLUMN retention_max_age_ns bigint CHECK (retention_max_age_ns > 0),
                ADD COLUMN retention_max_bytes bigint CHECK (retention_max_bytes > 0),
                ADD COLUMN retention_max_entries bigint CHECK (retention_max_entries > 0)
            """
        ],
        [
            """
            CREATE TABLE streamkit_consumers (
                store uuid NOT NULL REFERENCES streamkit_stores (store),
                name bytea NOT NULL,
                body bytea NOT NULL,
                PRIMARY KEY (store, name)
            )
            """
        ],
    ]

    /// Creates or migrates the schema. Throws when the database holds a newer schema than this build knows.
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws {
        // Up to date: nothing to lock or create (a user without CREATE can still use the tables).
        var found = 0
        var exists = false
        for try await (present) in try await connection.query(
            "SELECT to_regclass('streamkit_schema') IS NOT NULL", logger: logger
        ).decode(Bool.self) {
            exists = present
        }
        if exists {
            for try await (version) in try await connection.query(
                "SELECT COALESCE(max(version), 0) FROM streamkit_schema", logger: logger
            ).decode(Int.self) {
                found = version
            }
        }
        if found > version { throw StreamKitError.newerSchema(found: found, known: version) }
        if found == version { return }
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS streamkit_schema (version integer NOT NULL)", logger: logger)
            var current = 0
            for try await (version) in try await connection.query(
                "SELECT version FROM streamkit_schema", logger: logger
            ).decode(Int.self) {
                current = max(current, version)
            }
            if current > version {
                throw StreamKitError.newerSchema(found: current, known: version)
            }
            guard current < version else { return }
            for step in current..<version {
                for statement in migrations[step] {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
            }
            try await connection.query("DELETE FROM streamkit_schema", logger: logger)
            try await connection.query("INSERT INTO streamkit_schema (version) VALUES (\(version))", logger: logger)
            logger.info("PostgreSQL schema migrated", metadata: ["from": "\(current)", "to": "\(version)"])
        }
    }
}
