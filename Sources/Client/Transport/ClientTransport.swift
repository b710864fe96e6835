import StreamKitEngine

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a ``StreamKitClient`` needs from the thing that reaches the stores: the in-process transport calls a
/// `StoreRegistry` directly; the WebSocket transport sends the same requests to a server over the wire.
///
/// Contract, so that the client's behaviour does not depend on the transport:
/// - **Errors are `StreamKitError`s** with the engine's codes (a remote transport rebuilds them from the wire
///   code, never from message text), so ``RetryPolicy`` and callers can switch on `code`.
/// - **Opening is retried inside the transport** with ``TransportContext/retryPolicy`` (via
///   ``TransportContext/retrying(_:store:_:)``), and only opening: a request that may have been applied is
///   never replayed. Streams open lazily on the first `next()`.
/// - **Validation that needs no store** (empty names, negative limits) is done by the client before it
///   calls the transport; the transport surfaces the store's own validation unchanged.
/// - **No background work of its own** besides what ``close()`` stops: timers (lease renewal, heartbeats,
///   handler timeouts) live in the client and run on ``TransportContext/clock``. (The WebSocket transport's
///   connection heartbeat and reconnect backoff are its own, on real time, and stop in ``close()``.)
protocol ClientTransport: Sendable {
    // MARK: Writes
    func produce<Records: AsyncSequence & Sendable>(
        store: UUID, space: String, segment: String, records: Records
    ) -> ClientStream<SegmentStatus> where Records.Element == Record
    func produce(store: UUID, space: String, segment: String, records: [Record]) async throws -> [SegmentStatus]
    func publish(
        store: UUID, space: String, segment: String, payload: [UInt8], metadata: [String: String]
    )
        async throws -> SegmentStatus

    // MARK: Reads
    func peek(store: UUID, space: String, segment: String) async throws -> Entry?
    func consumeSegment(store: UUID, request: SegmentReadRequest) -> ClientStream<Entry>
    func consume(store: UUID, request: SpaceReadRequest) -> ClientStream<Entry>
    func spaces(store: UUID) async throws -> [String]
    func segments(store: UUID, space: String) async throws -> [String]

    // MARK: Deletion
    /// Deletes a segment's entries below `before` (nil: all); returns how many were deleted.
    func deleteEntries(store: UUID, space: String, segment: String, before: UInt64?) async throws -> Int

    // MARK: Retention
    /// The store's retention: its own policy and the configured default.
    func retention(store: UUID) async throws -> StoreRetention
    /// Gives the store a policy of its own (nil: back to the default); returns the retention that results.
    func setRetention(store: UUID, policy: LogRetention.Policy?) async throws -> StoreRetention

    // MARK: Durable consumers
    /// Creates a consumer (or finds the same one) and returns it with its lag.
    func createConsumer(
        store: UUID, name: String, target: ConsumerTarget, startAtHead: Bool
    ) async throws
        -> ConsumerStatus
    /// The consumer named `name` (nil: every one) with its lag.
    func consumerStatuses(store: UUID, name: String?) async throws -> [ConsumerStatus]
    /// Acknowledges a consumer's entries through `position` (durable: returns once recorded).
    func acknowledge(
        store: UUID, consumer: String, position: ConsumerPosition, fencingToken: UInt64, durable: Bool)
        async throws
    /// Deletes a consumer; whether it existed.
    func deleteConsumer(store: UUID, name: String) async throws -> Bool

    // MARK: Subscriptions
    /// Opens a live status feed: a snapshot, then a status per commit, and a heartbeat status (`isHeartbeat`) after
    /// every `heartbeatSeconds` (1–300) without one when set.
    func subscribe(store: UUID, space: String, segment: String, heartbeatSeconds: Int?) async throws -> any StatusFeed

    // MARK: Leases
    func acquireLease(store: UUID, key: String, holder: String, ttlSeconds: Double) async throws -> Lease?
    /// Renews once, **without retries**: a lease renewal that fails must cancel the lease's body at once,
    /// not after backoff that could outlast the lease.
    func renewLease(store: UUID, lease: Lease) async throws -> Lease
    func releaseLease(store: UUID, lease: Lease) async throws

    // MARK: Worker presence
    func registerWorker(
        store: UUID, workerID: String, metadata: [String: String], heartbeatSeconds: Int
    )
        async throws -> RegisteredWorker
    func workerHeartbeat(store: UUID, workerID: String, generation: UInt64) async throws
    func unregisterWorker(store: UUID, workerID: String, generation: UInt64) async throws
    func workerInventory(store: UUID) async throws -> WorkerInventory
    /// Opens a live feed of the worker inventory: the current one, then one per membership change.
    func watchWorkers(store: UUID) async throws -> any WorkerInventoryFeed

    /// Events of the transport's connection (none for a transport without one); finished by ``close()``.
    func connectionEvents() -> AsyncStream<ConnectionEvent>

    /// Releases what the transport holds (connections). Called once by ``StreamKitClient/close()``, after every
    /// background task of the client has stopped.
    func close() async
}

/// What a worker registration returned that the client uses: the generation for heartbeats and the worker as
/// registered (its heartbeat interval). (`WorkerRegistration` has no public initialiser, so a remote transport
/// could not build one.)
struct RegisteredWorker: Sendable, Hashable {
    var generation: UInt64
    var worker: WorkerInfo
}

/// A live status feed from a transport: iterate it for statuses; it ends (nil) when the store or connection
/// goes away, or after ``cancel()``.
protocol StatusFeed: AsyncSequence, Sendable where Element == SegmentStatus {
    /// Statuses replaced by a newer one of the same segment before delivery (the consumer was slow).
    var coalescedCount: Int { get }
    /// Ends the feed.
    func cancel()
}

/// A live feed of a store's worker inventory from a transport: iterate it for inventories; it ends (nil) when the
/// watch ends on the other side, or after ``cancel()``.
protocol WorkerInventoryFeed: AsyncSequence, Sendable where Element == WorkerInventory {
    /// Ends the feed (and the watch on the server).
    func cancel()
}

/// A segment read, as the client validated it.
struct SegmentReadRequest: Sendable, Hashable {
    var space: String
    var segment: String
    var minSequence: UInt64
    var maxSequence: UInt64
    var minTimestamp: Int64
    var maxTimestamp: Int64
    var limit: Int
}

/// A read of one or several spaces, as the client validated it.
struct SpaceReadRequest: Sendable, Hashable {
    var offsets: [String: Offset]
    var minTimestamp: Int64
    var maxTimestamp: Int64
    var limit: Int
}
