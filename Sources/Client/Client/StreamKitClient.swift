import Logging
public import StreamKitEngine

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The StreamKit client: produce, read, subscribe, lease and register workers in stores identified by UUID,
/// over a ``Transport``: a registry in this process (`.inProcess`) or a `StreamKitServer` (`.webSocket`).
///
/// ```swift
/// let registry = StoreRegistry(root: "", configuration: RegistryConfiguration(inMemory: true))
/// let client = StreamKitClient(transport: .inProcess(registry))
/// try await client.publish(store: id, space: "orders", segment: "o-1", payload: Array("hi".utf8))
/// for try await entry in client.consumeSegment(store: id, space: "orders", segment: "o-1") { … }
/// await client.close()
/// ```
///
/// **Why a final class, not an actor.** The client's own state is a lifecycle flag and a table of
/// background tasks, each behind a small `Mutex`; everything else is the transport's. Streams are returned
/// synchronously and iterated by the caller, so an actor would add a hop per call and serialise unrelated
/// operations for nothing.
///
/// Errors are `StreamKitError`s. After ``close()`` every call fails with `storeClosing`. A call made from a task
/// that is already cancelled throws `CancellationError` before anything reaches the store (nothing is dialled or
/// sent); a stream does so on its first `next()`.
public final class StreamKitClient: Sendable {
    /// The client's settings.
    public let configuration: ClientConfiguration
    let transport: any ClientTransport
    let lifecycle: ClientLifecycle
    let background = BackgroundTasks()
    let pool: HandlerPool
    let logger: Logger
    /// The client's metrics, made once.
    let metrics: ClientMetrics
    /// Spans and metrics around each operation.
    let observer: OperationObserver

    /// Creates a client; nothing is opened until the first call.
    ///
    /// - Parameters:
    ///   - transport: How to reach the stores, e.g. `.inProcess(registry)`.
    ///   - configuration: Retries, the handler pool, the clock and the logger.
    public init(transport: Transport, configuration: ClientConfiguration = .init()) {
        self.configuration = configuration
        let lifecycle = ClientLifecycle()
        self.lifecycle = lifecycle
        logger = configuration.logger
        pool = HandlerPool(capacity: configuration.maxConcurrentHandlers)
        let metrics = ClientMetrics(factory: configuration.metricsFactory, dimensions: configuration.metricsDimensions)
        self.metrics = metrics
        observer = OperationObserver(metrics: metrics)
        self.transport = transport.make(
            TransportContext(
                retryPolicy: configuration.retryPolicy, clock: configuration.clock, logger: configuration.logger,
                metrics: metrics, isClosed: { lifecycle.isClosed }))
        logger.info("client created", metadata: ["transport": "\(transport.name)"])
    }

    /// Whether ``close()`` has begun.
    public var isClosed: Bool { !lifecycle.isOpen }

    /// The connection's events, for applications that must react to an outage: ``ConnectionEvent/lost(connection:error:reads:subscriptions:)``
    /// when the WebSocket connection is lost (the transport reconnects by itself), and
    /// ``ConnectionEvent/reestablished(connection:downtime:resumedReads:resubscriptions:)`` when a new one is up, with
    /// the reads and subscriptions that resume on it. Each call is a new listener that sees the events from then
    /// on (the newest 64 it has not taken); it finishes when the client closes. The in-process transport has no
    /// connection: its listeners see nothing until the stream finishes.
    public func connectionEvents() -> AsyncStream<ConnectionEvent> { transport.connectionEvents() }

    // MARK: - Writes

    /// Produces records to a segment as they arrive; iterate the result to drive the produce.
    ///
    /// The records are cut into transactions (the store's limits); each committed transaction yields one
    /// status. Earlier transactions stay committed when a later one fails, so partial success is possible.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - space: The space (created on first produce).
    ///   - segment: The segment (created on first produce); `"*"` is refused.
    ///   - records: Records in sequence order; the first must be the segment's last sequence + 1.
    /// - Returns: One status per committed transaction. Iteration throws `sequenceConflict` (with
    ///   `expectedSequence` and `gotSequence`), `invalidArgument`, `limitExceeded`, `storeClosing`.
    public func produce<Records: AsyncSequence & Sendable>(
        store: UUID, space: String, segment: String, records: Records
    ) -> ClientStream<SegmentStatus> where Records.Element == Record {
        let target = OperationObserver.Target(store: store, space: space, segment: segment)
        if let error = precheck(store: store, names: [("space", space), ("segment", segment)]) {
            return observer.stream("produce", target, tally: .none, .failing(error))
        }
        let probe = FirstSequenceProbe()
        let inner = transport.produce(store: store, space: space, segment: segment, records: probe.probing(records))
        return observer.stream("produce", target, tally: .records(probe), guarded(store: store, inner))
    }

    /// Produces an array of records and returns every acknowledgement.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - space: The space.
    ///   - segment: The segment.
    ///   - records: Records in sequence order; the first must be the segment's last sequence + 1.
    /// - Returns: One status per committed transaction (empty for no records).
    /// - Throws: The first failure (`sequenceConflict`, `invalidArgument`, `limitExceeded`, `storeClosing`);
    ///   transactions acknowledged before it stay committed.
    @discardableResult
    public func produce(
        store: UUID, space: String, segment: String, records: [Record]
    ) async throws
        -> [SegmentStatus]
    {
        let statuses = try await observer.run("produce", .init(store: store, space: space, segment: segment)) {
            try check(store: store, names: [("space", space), ("segment", segment)])
            guard !records.isEmpty else { return [SegmentStatus]() }
            let statuses = try await transport.produce(store: store, space: space, segment: segment, records: records)
            metrics.count(.recordsProduced, by: records.count)
            return statuses
        }
        guard !statuses.isEmpty else { return statuses }
        logger.debug(
            "produced",
            metadata: [
                "store_id": "\(store)", "space": "\(space)", "segment": "\(segment)",
                "record_count": "\(records.count)",
            ])
        return statuses
    }

    /// Appends one record at the segment's next sequence.
    ///
    /// Unlike the Go client, the sequence is chosen by the store under its own lock, so concurrent
    /// publishers (in any process) never collide.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - space: The space.
    ///   - segment: The segment.
    ///   - payload: The record's bytes.
    ///   - metadata: The record's metadata.
    /// - Returns: The status of the one-record transaction.
    /// - Throws: `invalidArgument`, `limitExceeded`, `storeClosing`.
    @discardableResult
    public func publish(
        store: UUID, space: String, segment: String, payload: [UInt8], metadata: [String: String] = [:]
    ) async throws -> SegmentStatus {
        try await observer.run("publish", .init(store: store, space: space, segment: segment)) {
            try check(store: store, names: [("space", space), ("segment", segment)])
            let status = try await transport.publish(
                store: store, space: space, segment: segment, payload: payload, metadata: metadata)
            metrics.count(.recordsProduced)
            return status
        }
    }

    // MARK: - Reads

    /// The last entry of a segment.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - space: The space.
    ///   - segment: The segment.
    /// - Returns: The entry, or nil for an empty or unknown segment (not an error).
    /// - Throws: `invalidArgument` for an empty name; `storeClosing` after close.
    public func peek(store: UUID, space: String, segment: String) async throws -> Entry? {
        try await observer.run("peek", .init(store: store, space: space, segment: segment)) {
            try check(store: store, names: [("space", space), ("segment", segment)])
            return try await transport.peek(store: store, space: space, segment: segment)
        }
    }

    /// Reads one segment in sequence order.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - space: The space.
    ///   - segment: The segment.
    ///   - minSequence: First sequence (inclusive; 0 or 1 = from the start).
    ///   - maxSequence: Last sequence (inclusive; 0 = no bound).
    ///   - minTimestamp: Only entries committed after this (exclusive; 0 = no bound).
    ///   - maxTimestamp: Only entries committed at or before this (inclusive; 0 = no bound).
    ///   - limit: Most entries (0 = no limit; negative is `invalidArgument`).
    /// - Returns: The entries; an unknown segment gives none.
    public func consumeSegment(
        store: UUID, space: String, segment: String, minSequence: UInt64 = 0, maxSequence: UInt64 = 0,
        minTimestamp: Int64 = 0, maxTimestamp: Int64 = 0, limit: Int = 0
    ) -> ClientStream<Entry> {
        let target = OperationObserver.Target(store: store, space: space, segment: segment)
        if let error = precheck(store: store, names: [("space", space), ("segment", segment)], limit: limit) {
            return observer.stream("consumeSegment", target, tally: .entries, .failing(error))
        }
        let request = SegmentReadRequest(
            space: space, segment: segment, minSequence: minSequence, maxSequence: maxSequence,
            minTimestamp: minTimestamp, maxTimestamp: maxTimestamp, limit: limit)
        return observer.stream(
            "consumeSegment", target, tally: .entries,
            guarded(store: store, transport.consumeSegment(store: store, request: request)))
    }

    /// Reads every segment of a space in commit order, after `offset`.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - space: The space.
    ///   - offset: Resume after this entry (exclusive): pass the last processed `entry.offset`;
    ///     `.start` for the beginning.
    ///   - minTimestamp: Only entries committed after this (exclusive; 0 = no bound).
    ///   - maxTimestamp: Only entries committed at or before this (inclusive; 0 = no bound).
    ///   - limit: Most entries (0 = no limit).
    /// - Returns: The entries. Iteration throws `invalidOffset` for an offset this store did not issue.
    public func consumeSpace(
        store: UUID, space: String, offset: Offset = .start, minTimestamp: Int64 = 0, maxTimestamp: Int64 = 0,
        limit: Int = 0
    ) -> ClientStream<Entry> {
        consume(
            store: store, spaces: [space: offset], minTimestamp: minTimestamp, maxTimestamp: maxTimestamp,
            limit: limit)
    }

    /// Reads several spaces merged in commit order, each after its own offset.
    ///
    /// Commit order is total within a store, so the merge is exact (no timestamp ties).
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - spaces: Each space to read and the offset to resume after (`.start` for the beginning); at least one.
    ///   - minTimestamp: Only entries committed after this (exclusive; 0 = no bound).
    ///   - maxTimestamp: Only entries committed at or before this (inclusive; 0 = no bound).
    ///   - limit: Most entries in total (0 = no limit).
    /// - Returns: The entries. Iteration throws `invalidOffset` for an offset this store did not issue.
    public func consume(
        store: UUID, spaces: [String: Offset], minTimestamp: Int64 = 0, maxTimestamp: Int64 = 0, limit: Int = 0
    ) -> ClientStream<Entry> {
        let target = OperationObserver.Target(store: store, space: spaces.count == 1 ? spaces.keys.first : nil)
        if spaces.isEmpty {
            let error = StreamKitError.clientInvalidArgument("consume needs at least one space")
            return observer.stream("consume", target, tally: .entries, .failing(error))
        }
        if let error = precheck(store: store, names: spaces.keys.map { ("space", $0) }, limit: limit) {
            return observer.stream("consume", target, tally: .entries, .failing(error))
        }
        let request = SpaceReadRequest(
            offsets: spaces, minTimestamp: minTimestamp, maxTimestamp: maxTimestamp, limit: limit)
        return observer.stream(
            "consume", target, tally: .entries,
            guarded(store: store, transport.consume(store: store, request: request)))
    }

    /// Every space with at least one entry, sorted.
    ///
    /// - Parameter store: The store.
    /// - Returns: The space names in lexicographic order.
    /// - Throws: `storeClosing` after close.
    public func spaces(store: UUID) async throws -> [String] {
        try await observer.run("spaces", .init(store: store)) {
            try check(store: store, names: [])
            return try await transport.spaces(store: store)
        }
    }

    /// Every segment of `space` with at least one entry, sorted.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - space: The space.
    /// - Returns: The segment names in lexicographic order; empty for an unknown space.
    /// - Throws: `invalidArgument` for an empty name; `storeClosing` after close.
    public func segments(store: UUID, space: String) async throws -> [String] {
        try await observer.run("segments", .init(store: store, space: space)) {
            try check(store: store, names: [("space", space)])
            return try await transport.segments(store: store, space: space)
        }
    }

    // MARK: - Closing

    /// Stops every background task (subscriptions, lease scopes, worker heartbeats) and waits for them, then
    /// closes the transport. Later calls fail with `storeClosing`. Calling it again waits for the first close.
    ///
    /// Lease bodies still running are cancelled and their leases released; workers are unregistered.
    /// The registry of an in-process transport is not shut down: it belongs to the caller.
    ///
    /// It may be called from a subscription handler or a lease body (or a task they start, not a detached one):
    /// that one task cannot end before `close()` returns, so `close()` cancels it without waiting for it; every
    /// other task is waited for as usual. The calling subscription or lease scope ends once the handler or body
    /// returns (``backgroundTaskCount`` counts it until then).
    public func close() async {
        let background = self.background
        let transport = self.transport
        let logger = self.logger
        background.enterClose()
        await lifecycle.close {
            await background.cancelAll()
            await transport.close()
            logger.info("client closed")
        }
    }

    /// Background tasks running now (subscription dispatchers, lease scopes, heartbeats); 0 after close.
    public var backgroundTaskCount: Int { background.count }

    // MARK: - Checks

    /// Fails with `CancellationError` in a cancelled task (before anything reaches the store: no dial, no request),
    /// `storeClosing` after close, `invalidArgument` for an empty name or a negative limit.
    func check(store: UUID, names: [(String, String)], limit: Int = 0) throws {
        try Task.checkCancellation()
        if let error = precheck(store: store, names: names, limit: limit) { throw error }
    }

    func precheck(store: UUID, names: [(String, String)], limit: Int = 0) -> StreamKitError? {
        guard lifecycle.isOpen else { return .clientClosed(storeID: store) }
        for (kind, name) in names where name.isEmpty {
            return .clientInvalidArgument("\(kind) name is empty")
        }
        if limit < 0 { return .clientInvalidArgument("limit is negative: \(limit)", limit: 0, value: limit) }
        return nil
    }

    /// `inner`, refusing to open in a cancelled task (`CancellationError`) or once the client is closed.
    private func guarded<Element>(store: UUID, _ inner: ClientStream<Element>) -> ClientStream<Element> {
        let lifecycle = self.lifecycle
        return ClientStream {
            try Task.checkCancellation()
            guard lifecycle.isOpen else { throw StreamKitError.clientClosed(storeID: store) }
            return try await inner.open()
        }
    }
}

// MARK: - Failing streams

extension ClientStream {
    /// A stream whose first `next()` throws `error`.
    static func failing(_ error: any Error) -> ClientStream {
        ClientStream { throw error }
    }
}
