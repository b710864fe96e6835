public import Logging
import NIOCore
import PostgresNIO
public import StreamKitEngine
import StreamKitLogFiles
import Synchronization

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A PostgreSQL database holding StreamKit stores, shared by every process (node) that connects to it: each
/// node opens the same stores, appends to them with compare-and-append decided by the database, and follows the
/// others' commits. One `PostgresLog` per process and database: it owns the connection pool, the connection that
/// listens for other nodes' commit notifications.
///
/// ```swift
/// let log = try await PostgresLog.connect(PostgresLocation(url: "postgres://streamkit@db/streamkit"), logger: logger)
/// let registry = StoreRegistry(root: "", configuration: log.registryConfiguration())
/// // … serve, produce, consume …
/// await registry.shutdown()
/// await log.close()
/// ```
///
/// See `docs/semantics.md` ("Several nodes over PostgreSQL") for what holds across nodes and `docs/format.md`
/// for the tables.
public final class PostgresLog: Sendable {
    /// Connection settings.
    public struct Options: Sendable {
        /// The most pooled connections (appends and follower reads of every store; block reads have their own few).
        /// Default 16.
        public var maxConnections = 16
        /// Every statement's time limit (PostgreSQL `statement_timeout`): a statement over it fails with
        /// `storeUnavailable`. Default 30 seconds.
        public var statementTimeout: Duration = .seconds(30)
        /// How long a call may wait for a pooled connection (the database may be down) before it fails with
        /// `storeUnavailable`; the whole call may take this plus ``statementTimeout``. Default 10 seconds.
        public var connectionWait: Duration = .seconds(10)
        /// The default settings.
        public init() {}
    }

    /// The database.
    public let location: PostgresLocation
    /// This process's identity as a writer (rows it appends carry it; its own notifications are ignored).
    let writer = UUID()
    let client: PostgresClient
    let logger: Logger
    /// The longest a call through ``withConnection(_:)`` may take.
    let callTimeout: Duration
    private let running: Task<Void, Never>
    private let listening: Mutex<Task<Void, Never>?>
    private let announcing: Mutex<Task<Void, Never>?>
    private let announcement = WakeSignal()
    private let state = Mutex(State())

    private struct State {
        var followers: [UUID: [ObjectIdentifier: WakeSignal]] = [:]
        var announce: Set<UUID> = []
        var closed = false
    }

    /// The notification channel of commits: payload `<store uuid> <writer uuid>`.
    static let channel = "streamkit_commits"

    private init(location: PostgresLocation, options: Options, logger: Logger) {
        self.location = location
        self.logger = logger
        self.callTimeout = options.connectionWait + options.statementTimeout
        let client = PostgresClient(
            configuration: location.clientConfiguration(
                statementTimeout: options.statementTimeout, maxConnections: options.maxConnections),
            backgroundLogger: logger)
        self.client = client
        self.running = Task { await client.run() }
        self.listening = Mutex(nil)
        self.announcing = Mutex(nil)
    }

    /// Connects to the database and creates or migrates StreamKit's tables.
    /// - Throws: `StreamKitError` — `storeUnavailable` when the database cannot be reached, `storage` when its
    ///   schema is newer than this build knows.
    public static func connect(
        _ location: PostgresLocation, options: Options = .init(), logger: Logger = Logger(label: "streamkit.postgres")
    ) async throws -> PostgresLog {
        let log = PostgresLog(location: location, options: options, logger: logger)
        do {
            try await log.withConnection { connection in
                try await PostgresSchema.migrate(connection, logger: logger)
            }
        } catch {
            await log.close()
            throw StreamKitError.postgres(error, storeID: nil, doing: "connecting to \(location.redacted)")
        }
        log.listening.withLock { $0 = Task { await log.listen() } }
        log.announcing.withLock { $0 = Task { await log.announceLoop() } }
        logger.info("connected to PostgreSQL", metadata: ["database": "\(location.redacted)"])
        return log
    }

    /// Closes every connection. Close the stores first (`StoreRegistry.shutdown()`).
    public func close() async {
        state.withLock { $0.closed = true }
        let tasks = [listening.withLock { $0 }, announcing.withLock { $0 }].compactMap { $0 }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        running.cancel()
        await running.value
    }

    // MARK: - Stores

    /// Opens the store `id` over this database, creating it when `creating` (otherwise nil when it does not
    /// exist). Several processes may have the same store open: they share it.
    public func openStore(id: UUID, configuration: StoreConfiguration, creating: Bool = true) async throws -> Store? {
        do {
            guard
                let (storage, contents) = try await PostgresStorage.open(
                    id: id, log: self, configuration: configuration, creating: creating)
            else { return nil }
            return Store(id: id, storage: storage, contents: contents, configuration: configuration)
        } catch {
            throw StreamKitError.postgres(error, storeID: id, doing: "opening the store")
        }
    }

    /// Whether the store `id` exists in the database.
    public func storeExists(_ id: UUID) async throws -> Bool {
        do {
            return try await withConnection { connection in
                let rows = try await connection.query(
                    "SELECT 1 FROM streamkit_stores WHERE store = \(id)", logger: self.logger)
                for try await _ in rows { return true }
                return false
            }
        } catch {
            throw StreamKitError.postgres(error, storeID: id, doing: "looking for the store")
        }
    }

    /// One round trip to the database (the readiness probe of a server over this log).
    ///
    /// - Throws: `storeUnavailable` when the database does not answer within the log's bounds.
    public func ping() async throws {
        do {
            try await withConnection { connection in
                let rows = try await connection.query("SELECT 1", logger: self.logger)
                for try await _ in rows {}
            }
        } catch {
            throw StreamKitError.postgres(error, storeID: nil, doing: "checking that the database answers")
        }
    }

    /// Every store in the database, by id.
    public func storeIDs() async throws -> [UUID] {
        do {
            return try await withConnection { connection in
                var ids: [UUID] = []
                let rows = try await connection.query(
                    "SELECT store FROM streamkit_stores ORDER BY store", logger: self.logger)
                for try await id in rows.decode(UUID.self) { ids.append(id) }
                return ids
            }
        } catch {
            throw StreamKitError.postgres(error, storeID: nil, doing: "listing stores")
        }
    }

    /// Rows (group-committed database transactions) of a store.
    package func rowCount(store: UUID) async throws -> Int {
        do {
            return try await withConnection { connection in
                let rows = try await connection.query(
                    "SELECT count(*) FROM streamkit_batches WHERE store = \(store)", logger: self.logger)
                for try await count in rows.decode(Int64.self) { return Int(count) }
                return 0
            }
        } catch {
            throw StreamKitError.postgres(error, storeID: store, doing: "counting rows")
        }
    }

    /// `base` with its stores opened in this database (creating them on first write, as file stores are).
    public func registryConfiguration(_ base: RegistryConfiguration = .init()) -> RegistryConfiguration {
        var configuration = base
        configuration.inMemory = false
        configuration.opener = { [self] id, _, storeConfiguration in
            guard let store = try await openStore(id: id, configuration: storeConfiguration, creating: true) else {
                throw StreamKitError(code: .notFound, message: "store \(id) does not exist", storeID: id)
            }
            return store
        }
        // While the database cannot be answered, say the store exists: the open then fails with storeUnavailable
        // instead of reads answering as for an empty store.
        configuration.openerStoreExists = { [self] id, _ in (try? await storeExists(id)) ?? true }
        configuration.readinessCheck = { [self] in try await ping() }
        return configuration
    }

    // MARK: - Connections

    /// Runs `body` on a pooled connection; fails with `storeUnavailable` when no connection comes within
    /// ``Options/connectionWait`` or the whole call takes longer than ``callTimeout`` (the pool waits for a
    /// database that is down rather than failing; a caller must not wait with it).
    func withConnection<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let client = self.client
        let timeout = callTimeout
        // Not a task group: a group waits for its children, and a call on a connection to a server that went
        // away does not always end when cancelled (an outage test hung there for good).
        let outcome = await withDeadline(timeout) { () -> Swift.Result<Result, any Error> in
            do { return .success(try await client.withConnection(body)) } catch { return .failure(error) }
        }
        guard let outcome else {
            throw StreamKitError(code: .storeUnavailable, message: "PostgreSQL did not answer within \(timeout)")
        }
        return try outcome.get()
    }

    // MARK: - Notifications

    /// Registers a store's follower for wake-ups by other nodes' commits to the store.
    func follow(_ store: UUID, signal: WakeSignal) {
        state.withLock { $0.followers[store, default: [:]][ObjectIdentifier(signal)] = signal }
    }

    func unfollow(_ store: UUID, signal: WakeSignal) {
        state.withLock { state in
            state.followers[store]?[ObjectIdentifier(signal)] = nil
            if state.followers[store]?.isEmpty == true { state.followers[store] = nil }
        }
    }

    /// Tells other nodes (soon, coalesced, outside the append transaction) that this node committed to `store`.
    func announce(_ store: UUID) {
        state.withLock { _ = $0.announce.insert(store) }
        announcement.signal()
    }

    private func wake(_ store: UUID?) {
        let signals = state.withLock { state -> [WakeSignal] in
            if let store { return state.followers[store].map { Array($0.values) } ?? [] }
            return state.followers.values.flatMap { $0.values }
        }
        for signal in signals { signal.signal() }
    }

    /// Sends the pending announcements, one `pg_notify` statement at a time (so a busy node sends few).
    private func announceLoop() async {
        while !Task.isCancelled {
            await announcement.wait(timeout: .seconds(60))
            let stores = state.withLock { state -> [UUID] in
                defer { state.announce.removeAll() }
                return Array(state.announce)
            }
            guard !stores.isEmpty, !Task.isCancelled else { continue }
            let payloads = stores.map { "\($0.uuidString.lowercased()) \(writer.uuidString.lowercased())" }
            do {
                _ = try await withConnection { connection in
                    try await connection.query(
                        "SELECT pg_notify(\(Self.channel), p) FROM unnest(\(payloads)::text[]) AS p",
                        logger: self.logger)
                }
            } catch {
                // Followers poll too: a lost notification only delays other nodes by up to their poll interval.
                logger.debug("commit notification not sent", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Listens for other nodes' commit notifications on a connection of its own, reconnecting when it drops
    /// (and then waking every follower: notifications sent meanwhile are lost).
    private func listen() async {
        var pause = Duration.milliseconds(100)
        var id = 1_000_000
        while !Task.isCancelled {
            id += 1
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: location.connectionConfiguration(statementTimeout: .seconds(30)), id: id,
                    logger: logger)
                do {
                    try await withTaskCancellationHandler {
                        try await connection.listen(on: Self.channel) { notifications in
                            wake(nil)
                            pause = .milliseconds(100)
                            for try await notification in notifications {
                                dispatch(notification.payload)
                            }
                        }
                    } onCancel: {
                        Self.discard(connection)
                    }
                } catch {
                    // A PostgresConnection must be closed before it is released, also when listening failed.
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { return }
                logger.debug("commit listener disconnected; reconnecting", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(2))
        }
    }

    /// Closes a connection and keeps it alive until it is closed (a `PostgresConnection` must be closed before it
    /// is released).
    static func discard(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    private func dispatch(_ payload: String) {
        let parts = payload.split(separator: " ")
        guard parts.count == 2, let store = UUID(uuidString: String(parts[0])),
            let from = UUID(uuidString: String(parts[1]))
        else { return }
        if from != writer { wake(store) }
    }
}
