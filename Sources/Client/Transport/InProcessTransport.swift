import StreamKitEngine

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Calls a `StoreRegistry` in this process directly: no serialisation, engine errors as they are.
///
/// Opening means pinning the store in the registry (which may open it, or fail fast with the retryable
/// `storeUnavailable` while its circuit breaker is open); that part is retried. Only writes (produce, publish,
/// acquiring a lease, registering a worker) create a store; the other calls reach a store only if it exists
/// and otherwise answer as an empty store would (`AbsentStore`). One-shot calls keep the store pinned while
/// they run, streams until they end (or their iterator is dropped). A read ends with `CancellationError` once
/// its task is cancelled: checked once per read batch and at the end, so a cancelled read never looks complete
/// (a call from a task already cancelled never gets here: `StreamKitClient` refuses it). Subscriptions are the
/// registry's: they pin nothing, wait for a store that does not exist yet, and outlive the store closing.
struct InProcessTransport: ClientTransport {
    let registry: StoreRegistry
    let context: TransportContext
    /// No connection, so no events: listeners only see the stream finish at close.
    private let events = ConnectionEvents()

    init(registry: StoreRegistry, context: TransportContext) {
        self.registry = registry
        self.context = context
    }

    // MARK: - Opening

    /// Pins the store `id` (retrying unless told not to), creating it only when `creating`; nil when it does not
    /// exist.
    private nonisolated(nonsending) func pin(
        _ operation: String, _ id: UUID, creating: Bool, retrying: Bool = true
    ) async throws -> Store? {
        let registry = self.registry
        switch (creating, retrying) {
        case (true, true): return try await context.retrying(operation, store: id) { try await registry.pin(id) }
        case (true, false): return try await registry.pin(id)
        case (false, true):
            return try await context.retrying(operation, store: id) { try await registry.pinExisting(id) }
        case (false, false): return try await registry.pinExisting(id)
        }
    }

    /// Pins the store, creating it if needed, runs `body`, unpins.
    private nonisolated(nonsending) func withStore<T>(
        _ operation: String, _ id: UUID, _ body: nonisolated(nonsending) (Store) async throws -> T
    ) async throws -> T {
        guard let store = try await pin(operation, id, creating: true) else {
            throw StreamKitError(code: .internalError, message: "the registry did not create the store", storeID: id)
        }
        return try await run(body, pinned: store)
    }

    /// Pins the store if it exists, runs `body`, unpins; answers `absent()` when the store does not exist.
    private nonisolated(nonsending) func withExistingStore<T>(
        _ operation: String, _ id: UUID, retrying: Bool = true, orIfAbsent absent: () throws -> T,
        _ body: nonisolated(nonsending) (Store) async throws -> T
    ) async throws -> T {
        guard let store = try await pin(operation, id, creating: false, retrying: retrying) else { return try absent() }
        return try await run(body, pinned: store)
    }

    private nonisolated(nonsending) func run<T>(
        _ body: nonisolated(nonsending) (Store) async throws -> T, pinned store: Store
    ) async throws -> T {
        let result: T
        do {
            result = try await body(store)
        } catch {
            await registry.unpin(store)
            throw error
        }
        await registry.unpin(store)
        return result
    }

    /// Opens a stream's store: pinned until the stream ends; nil when it does not exist and `creating` is false.
    private func openStream(_ operation: String, _ id: UUID, creating: Bool) async throws -> StreamPin? {
        guard let store = try await pin(operation, id, creating: creating) else { return nil }
        return StreamPin(registry: registry, store: store)
    }

    // MARK: - Writes

    func produce<Records: AsyncSequence & Sendable>(
        store id: UUID, space: String, segment: String, records: Records
    ) -> ClientStream<SegmentStatus> where Records.Element == Record {
        let transport = self
        return ClientStream {
            guard let pin = try await transport.openStream("produce", id, creating: true) else {
                throw StreamKitError(
                    code: .internalError, message: "the registry did not create the store", storeID: id)
            }
            var statuses = pin.store.produce(space: space, segment: segment, records: records).makeAsyncIterator()
            return Cursor {
                do {
                    guard let status = try await statuses.next() else {
                        await pin.release()
                        return nil
                    }
                    return status
                } catch {
                    await pin.release()
                    throw error
                }
            }
        }
    }

    func produce(store id: UUID, space: String, segment: String, records: [Record]) async throws -> [SegmentStatus] {
        try await withStore("produce", id) { store in
            try await store.produce(space: space, segment: segment, records: records)
        }
    }

    func publish(
        store id: UUID, space: String, segment: String, payload: [UInt8], metadata: [String: String]
    )
        async throws -> SegmentStatus
    {
        try await withStore("publish", id) { store in
            try await store.publish(space: space, segment: segment, payload: payload, metadata: metadata)
        }
    }

    // MARK: - Deletion

    func deleteEntries(store id: UUID, space: String, segment: String, before: UInt64?) async throws -> Int {
        try await withExistingStore(
            "deleteEntries", id,
            orIfAbsent: {
                throw StreamKitError(
                    code: .notFound, message: "no segment \(space)/\(segment): the store does not exist", storeID: id)
            }
        ) { store in
            if let before { return try await store.truncateSegment(space: space, segment: segment, before: before) }
            return try await store.deleteSegment(space: space, segment: segment)
        }
    }

    // MARK: - Retention

    func retention(store id: UUID) async throws -> StoreRetention {
        let configured = registry.configuration.store.retention.policy
        return try await withExistingStore(
            "retention", id, orIfAbsent: { StoreRetention(own: nil, configured: configured) }
        ) {
            StoreRetention(own: try await $0.retentionPolicy(), configured: configured)
        }
    }

    func setRetention(store id: UUID, policy: LogRetention.Policy?) async throws -> StoreRetention {
        let configured = registry.configuration.store.retention.policy
        return try await withExistingStore(
            "setRetention", id,
            orIfAbsent: {
                throw StreamKitError(
                    code: .notFound, message: "the store does not exist (write to it first)", storeID: id)
            }
        ) { store in
            try await store.setRetentionPolicy(policy)
            return StoreRetention(own: policy, configured: configured)
        }
    }

    // MARK: - Durable consumers

    func createConsumer(
        store id: UUID, name: String, target: ConsumerTarget, startAtHead: Bool
    ) async throws
        -> ConsumerStatus
    {
        try await withStore("createConsumer", id) { store in
            let consumer = try await store.createConsumer(name: name, target: target, startAtHead: startAtHead)
            return ConsumerStatus(consumer: consumer, lag: try await store.lag(of: consumer))
        }
    }

    func consumerStatuses(store id: UUID, name: String?) async throws -> [ConsumerStatus] {
        try await withExistingStore("consumers", id, orIfAbsent: { [] }) { try await $0.consumerStatuses(named: name) }
    }

    func acknowledge(
        store id: UUID, consumer: String, position: ConsumerPosition, fencingToken: UInt64, durable: Bool
    )
        async throws
    {
        try await withExistingStore("acknowledge", id, orIfAbsent: { throw StreamKitError.consumerNotFound(consumer) })
        {
            try await $0.acknowledge(
                consumer: consumer, through: position, fencingToken: fencingToken, durable: durable)
        }
    }

    func deleteConsumer(store id: UUID, name: String) async throws -> Bool {
        try await withExistingStore("deleteConsumer", id, orIfAbsent: { false }) {
            try await $0.deleteConsumer(named: name)
        }
    }

    // MARK: - Reads

    func peek(store id: UUID, space: String, segment: String) async throws -> Entry? {
        try await withExistingStore("peek", id, orIfAbsent: { nil }) { store in
            try await store.peek(space: space, segment: segment)
        }
    }

    func consumeSegment(store id: UUID, request: SegmentReadRequest) -> ClientStream<Entry> {
        let transport = self
        return ClientStream {
            guard let pin = try await transport.openStream("consumeSegment", id, creating: false) else {
                return Self.noEntries()
            }
            let entries = pin.store.consumeSegment(
                space: request.space, segment: request.segment, minSequence: request.minSequence,
                maxSequence: request.maxSequence, minTimestamp: request.minTimestamp,
                maxTimestamp: request.maxTimestamp, limit: request.limit)
            return Self.entries(entries, pin: pin)
        }
    }

    func consume(store id: UUID, request: SpaceReadRequest) -> ClientStream<Entry> {
        let transport = self
        return ClientStream {
            guard let pin = try await transport.openStream("consume", id, creating: false) else {
                return Self.noEntries()
            }
            let entries = pin.store.consume(
                spaces: request.offsets, minTimestamp: request.minTimestamp, maxTimestamp: request.maxTimestamp,
                limit: request.limit)
            return Self.entries(entries, pin: pin)
        }
    }

    /// A read's entries; the store stays pinned until the read ends. Once the reading task is cancelled the read
    /// ends with `CancellationError`: checked before every `readBatchSize` entries (the engine's batch) and at
    /// the end, never per entry, so a cancelled read stops within a batch and never ends as if complete.
    private static func entries<Entries: AsyncSequence>(_ entries: Entries, pin: StreamPin) -> Cursor<Entry>
    where Entries.Element == Entry {
        var iterator = entries.makeAsyncIterator()
        let batch = max(1, pin.store.configuration.readBatchSize)
        var untilCheck = 0
        return Cursor {
            do {
                if untilCheck == 0 {
                    try Task.checkCancellation()
                    untilCheck = batch
                }
                untilCheck -= 1
                guard let entry = try await iterator.next() else {
                    try Task.checkCancellation()
                    await pin.release()
                    return nil
                }
                return entry
            } catch {
                await pin.release()
                throw error
            }
        }
    }

    /// The read of a store that does not exist: no entries (or `CancellationError` once the task is cancelled).
    private static func noEntries() -> Cursor<Entry> {
        Cursor(next: {
            try Task.checkCancellation()
            return nil
        })
    }

    func spaces(store id: UUID) async throws -> [String] {
        try await withExistingStore("spaces", id, orIfAbsent: { [] }) { store in await store.spaces() }
    }

    func segments(store id: UUID, space: String) async throws -> [String] {
        try await withExistingStore("segments", id, orIfAbsent: { [] }) { store in await store.segments(space: space) }
    }

    // MARK: - Subscriptions

    func subscribe(
        store id: UUID, space: String, segment: String, heartbeatSeconds: Int?
    ) async throws -> any StatusFeed {
        let registry = self.registry
        return try await context.retrying("subscribe", store: id) {
            try await registry.subscribe(id, space: space, segment: segment, heartbeatSeconds: heartbeatSeconds)
        }
    }

    // MARK: - Leases

    func acquireLease(store id: UUID, key: String, holder: String, ttlSeconds: Double) async throws -> Lease? {
        try await withStore("acquireLease", id) { store in
            try await store.acquireLease(key: key, holder: holder, ttlSeconds: ttlSeconds)
        }
    }

    func renewLease(store id: UUID, lease: Lease) async throws -> Lease {
        try await withExistingStore(
            "renewLease", id, retrying: false, orIfAbsent: { try AbsentStore.renewLease(lease) }
        ) { store in
            try await store.renewLease(lease)
        }
    }

    func releaseLease(store id: UUID, lease: Lease) async throws {
        try await withExistingStore(
            "releaseLease", id, orIfAbsent: { try AbsentStore.releaseLease(lease) }
        ) { store in
            try await store.releaseLease(lease)
        }
    }

    // MARK: - Worker presence

    func registerWorker(
        store id: UUID, workerID: String, metadata: [String: String], heartbeatSeconds: Int
    )
        async throws -> RegisteredWorker
    {
        let registration = try await withStore("registerWorker", id) { store in
            try await store.registerWorker(workerID: workerID, metadata: metadata, heartbeatSeconds: heartbeatSeconds)
        }
        return RegisteredWorker(generation: registration.generation, worker: registration.worker)
    }

    func workerHeartbeat(store id: UUID, workerID: String, generation: UInt64) async throws {
        try await withExistingStore(
            "workerHeartbeat", id,
            orIfAbsent: { try AbsentStore.workerHeartbeat(workerID: workerID, generation: generation) }
        ) { store in
            try await store.workerHeartbeat(workerID: workerID, generation: generation)
        }
    }

    func unregisterWorker(store id: UUID, workerID: String, generation: UInt64) async throws {
        _ = try await withExistingStore("unregisterWorker", id, orIfAbsent: { false }) { store in
            try await store.unregisterWorker(workerID: workerID, generation: generation)
        }
    }

    func workerInventory(store id: UUID) async throws -> WorkerInventory {
        try await withExistingStore("workerInventory", id, orIfAbsent: { .empty }) { store in
            try await store.workerInventory()
        }
    }

    func watchWorkers(store id: UUID) async throws -> any WorkerInventoryFeed {
        let registry = self.registry
        return try await context.retrying("workerInventoryUpdates", store: id) {
            try await registry.watchWorkers(id)
        }
    }

    /// Nothing to release: the registry belongs to the caller, who shuts it down.
    func connectionEvents() -> AsyncStream<ConnectionEvent> { events.stream() }

    func close() async { events.finish() }
}

/// The pin an in-process stream holds on its store: released when the stream ends, or when its iterator is
/// dropped before that.
private final class StreamPin {
    let registry: StoreRegistry
    let store: Store
    private var released = false

    init(registry: StoreRegistry, store: Store) {
        self.registry = registry
        self.store = store
    }

    func release() async {
        guard !released else { return }
        released = true
        await registry.unpin(store)
    }

    deinit {
        guard !released else { return }
        let (registry, store) = (registry, store)
        Task { await registry.unpin(store) }
    }
}

// MARK: - StatusFeed

extension StatusSubscription: StatusFeed {}

extension WorkerInventoryWatch: WorkerInventoryFeed {}
