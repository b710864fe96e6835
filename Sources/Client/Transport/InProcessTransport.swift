#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import StreamKitEngine

/// Calls a `StoreRegistry` in this process directly: no serialisation, engine errors as they are.
///
/// Opening means pinning the store in the registry (which may open it, or fail fast with the retryable
/// `storeUnavailable` while its circuit breaker is open); that part is retried. One-shot calls keep the store
/// pinned while they run. Streams and subscriptions hold an unpinned handle, so a file store evicted for
/// idleness under a long read ends it with `storeClosing` (in-memory stores are never evicted).
struct InProcessTransport: ClientTransport {
    let registry: StoreRegistry
    let context: TransportContext

    // MARK: - Opening

    /// Pins the store (retrying), runs `body`, unpins.
    private nonisolated(nonsending) func withStore<T>(
        _ operation: String, _ id: UUID, retrying: Bool = true, _ body: nonisolated(nonsending) (Store) async throws -> T
    ) async throws -> T {
        let registry = self.registry
        let store =
            retrying
            ? try await context.retrying(operation, store: id) { try await registry.pin(id) }
            : try await registry.pin(id)
        do {
            let result = try await body(store)
            await registry.unpin(store)
            return result
        } catch {
            await registry.unpin(store)
            throw error
        }
    }

    /// The store (retrying), unpinned, for streams.
    private func openStore(_ operation: String, _ id: UUID) async throws -> Store {
        let registry = self.registry
        return try await context.retrying(operation, store: id) { try await registry.store(id) }
    }

    // MARK: - Writes

    func produce<Records: AsyncSequence & Sendable>(
        store id: UUID, space: String, segment: String, records: Records
    ) -> ClientStream<SegmentStatus> where Records.Element == Record {
        let transport = self
        return ClientStream {
            let store = try await transport.openStore("produce", id)
            return Cursor(store.produce(space: space, segment: segment, records: records).makeAsyncIterator())
        }
    }

    func produce(store id: UUID, space: String, segment: String, records: [Record]) async throws -> [SegmentStatus] {
        try await withStore("produce", id) { store in
            try await store.produce(space: space, segment: segment, records: records)
        }
    }

    func publish(store id: UUID, space: String, segment: String, payload: [UInt8], metadata: [String: String])
        async throws -> SegmentStatus
    {
        try await withStore("publish", id) { store in
            try await store.publish(space: space, segment: segment, payload: payload, metadata: metadata)
        }
    }

    // MARK: - Reads

    func peek(store id: UUID, space: String, segment: String) async throws -> Entry? {
        try await withStore("peek", id) { store in try await store.peek(space: space, segment: segment) }
    }

    func consumeSegment(store id: UUID, request: SegmentReadRequest) -> ClientStream<Entry> {
        let transport = self
        return ClientStream {
            let store = try await transport.openStore("consumeSegment", id)
            let entries = store.consumeSegment(
                space: request.space, segment: request.segment, minSequence: request.minSequence,
                maxSequence: request.maxSequence, minTimestamp: request.minTimestamp,
                maxTimestamp: request.maxTimestamp, limit: request.limit)
            return Cursor(entries.makeAsyncIterator())
        }
    }

    func consume(store id: UUID, request: SpaceReadRequest) -> ClientStream<Entry> {
        let transport = self
        return ClientStream {
            let store = try await transport.openStore("consume", id)
            let entries = store.consume(
                spaces: request.offsets, minTimestamp: request.minTimestamp, maxTimestamp: request.maxTimestamp,
                limit: request.limit)
            return Cursor(entries.makeAsyncIterator())
        }
    }

    func spaces(store id: UUID) async throws -> [String] {
        try await withStore("spaces", id) { store in await store.spaces() }
    }

    func segments(store id: UUID, space: String) async throws -> [String] {
        try await withStore("segments", id) { store in await store.segments(space: space) }
    }

    // MARK: - Subscriptions

    func subscribe(store id: UUID, space: String, segment: String) async throws -> any StatusFeed {
        let store = try await openStore("subscribe", id)
        return try await store.subscribe(space: space, segment: segment)
    }

    // MARK: - Leases

    func acquireLease(store id: UUID, key: String, holder: String, ttlSeconds: Double) async throws -> Lease? {
        try await withStore("acquireLease", id) { store in
            try await store.acquireLease(key: key, holder: holder, ttlSeconds: ttlSeconds)
        }
    }

    func renewLease(store id: UUID, lease: Lease) async throws -> Lease {
        try await withStore("renewLease", id, retrying: false) { store in try await store.renewLease(lease) }
    }

    func releaseLease(store id: UUID, lease: Lease) async throws {
        try await withStore("releaseLease", id) { store in try await store.releaseLease(lease) }
    }

    // MARK: - Worker presence

    func registerWorker(store id: UUID, workerID: String, metadata: [String: String], heartbeatSeconds: Int)
        async throws -> RegisteredWorker
    {
        let registration = try await withStore("registerWorker", id) { store in
            try await store.registerWorker(workerID: workerID, metadata: metadata, heartbeatSeconds: heartbeatSeconds)
        }
        return RegisteredWorker(generation: registration.generation, worker: registration.worker)
    }

    func workerHeartbeat(store id: UUID, workerID: String, generation: UInt64) async throws {
        try await withStore("workerHeartbeat", id) { store in
            try await store.workerHeartbeat(workerID: workerID, generation: generation)
        }
    }

    func unregisterWorker(store id: UUID, workerID: String, generation: UInt64) async throws {
        _ = try await withStore("unregisterWorker", id) { store in
            await store.unregisterWorker(workerID: workerID, generation: generation)
        }
    }

    func workerInventory(store id: UUID) async throws -> WorkerInventory {
        try await withStore("workerInventory", id) { store in await store.workerInventory() }
    }

    /// Nothing to release: the registry belongs to the caller, who shuts it down.
    func close() async {}
}

// MARK: - StatusFeed

extension StatusSubscription: StatusFeed {}
