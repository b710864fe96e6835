import Logging
import StreamKitEngine
import StreamKitWire
import Synchronization
import Tracing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Sends the client's requests to a `StreamKitServer` over one multiplexed WebSocket (`docs/protocol.md` §7):
/// each call is a stream whose open frame names the store and carries the request.
///
/// Opening a stream — reaching a connection (joining or starting a dial) and sending the open frame — is retried
/// with the client's ``RetryPolicy``; nothing after that is replayed, except reads, which resume after the last
/// delivered entry (``ResumableRead``), and subscriptions, which subscribe again (``WebSocketStatusFeed``). The
/// server's typed errors (mux error frames) are rethrown unchanged. Connections are re-established in the
/// background by the ``ConnectionManager``.
struct WebSocketTransport: ClientTransport {
    let options: WebSocketOptions
    let context: TransportContext
    let manager: ConnectionManager

    init(options: WebSocketOptions, context: TransportContext) {
        self.options = options
        self.context = context
        let metrics = context.metrics
        manager = ConnectionManager(
            options: options, logger: context.logger, onReconnect: { metrics.count(.reconnect) })
    }

    // MARK: - Opening

    /// The `traceparent` of the current task's trace context (the client operation's span), if a tracer makes one.
    static func currentTraceparent() -> String? {
        WireTraceContext.traceparent(of: ServiceContext.current)
    }

    /// Opens a stream on the current connection (dialling if needed), retried under the policy.
    ///
    /// - Parameter traceparent: The open frame's trace context; nil takes the current task's
    ///   (``currentTraceparent()``). Streams that reopen later pass the one of their first open.
    /// - Returns: The connection and the stream id.
    func openStream(
        _ operation: String, store: UUID, _ request: WireMessage, receiver: any StreamReceiver, closeAfterOpen: Bool,
        retrying: Bool = true, traceparent: String? = nil
    ) async throws -> (ClientConnection, UInt64) {
        let manager = self.manager
        let url = options.url
        let traceparent = traceparent ?? Self.currentTraceparent()
        let attempt = { () async throws -> (ClientConnection, UInt64) in
            for _ in 0..<2 {
                let connection = try await manager.connection()
                do {
                    let id = try await connection.open(
                        request, store: store, receiver: receiver, closeAfterOpen: closeAfterOpen,
                        traceparent: traceparent)
                    return (connection, id)
                } catch is ConnectionUnusable {
                    continue  // Lost or going away since: the next call dials.
                }
            }
            throw StreamKitError(
                code: .storeUnavailable, message: "the connection to \(url) ended while a stream opened", storeID: store
            )
        }
        guard retrying else {
            guard !context.isClosed() else { throw StreamKitError.clientClosed(storeID: store) }
            return try await attempt()
        }
        return try await context.retrying(operation, store: store, stopIf: { manager.isClosing }) {
            try await attempt()
        }
    }

    /// Opens a stream whose answers go to a fresh inbox.
    func open(
        _ operation: String, store: UUID, _ request: WireMessage, closeAfterOpen: Bool, autoConsume: Bool,
        retrying: Bool = true, traceparent: String? = nil
    ) async throws -> StreamHandle {
        let inbox = StreamInbox(autoConsume: autoConsume)
        let (connection, id) = try await openStream(
            operation, store: store, request, receiver: inbox, closeAfterOpen: closeAfterOpen, retrying: retrying,
            traceparent: traceparent)
        return StreamHandle(connection: connection, id: id, inbox: inbox, queueDepth: options.limits.streamQueueDepth)
    }

    /// Whether a one-shot request may be sent again after the connection went away under it, when it may have
    /// been applied already.
    enum Replay: Sendable {
        /// Never: a second copy would be applied again (`publish` appends another record). Only a request the
        /// server's go-away says it never accepted is sent again.
        case never
        /// Sending it twice does what sending it once does (reads, heartbeats, an unregistration, an acquisition
        /// by the same holder, which refreshes the lease): every retryable failure — a failed dial, the connection
        /// lost or the server going away under it, a retryable error from the server — is retried under the
        /// retry policy.
        case safe
    }

    /// A request with one answer.
    ///
    /// - Parameters:
    ///   - retrying: False sends it once (a lease renewal must fail at once, not after backoff).
    ///   - replay: Whether it may be sent again after it may have been applied (``Replay``).
    ///   - onReplay: Called before a request that may have been applied is sent again.
    private func call(
        _ operation: String, store: UUID, _ request: WireMessage, retrying: Bool = true, replay: Replay = .never,
        onReplay: () -> Void = {}
    ) async throws -> WireMessage {
        guard retrying, case .safe = replay else {
            return try await callOnce(operation, store: store, request, retrying: retrying)
        }
        let manager = self.manager
        return try await context.retrying(operation, store: store, stopIf: { manager.isClosing }) {
            switch try await exchange(operation, store: store, request, retrying: false) {
            case .answer(let answer):
                return answer
            case .lost(let error):
                if RetryPolicy.isRetryable(error) { onReplay() }
                throw error
            case .refused(let error):
                throw error
            }
        }
    }

    /// A request with one answer that is never sent again once it may have been applied. A request the server
    /// refused unseen (it went away first) is sent again on the next connection, at most `retryPolicy.maxAttempts`
    /// times.
    private func callOnce(
        _ operation: String, store: UUID, _ request: WireMessage, retrying: Bool
    ) async throws -> WireMessage {
        var refusals = 0
        while true {
            switch try await exchange(operation, store: store, request, retrying: retrying) {
            case .answer(let answer):
                return answer
            case .lost(let error):
                throw error
            case .refused(let error):
                refusals += 1
                guard refusals < context.retryPolicy.effectiveMaxAttempts else { throw error }
                context.logger.debug(
                    "request refused by a server going away; sending it again",
                    metadata: ["store_id": "\(store)", "operation": "\(operation)", "attempt": "\(refusals)"])
            }
        }
    }

    /// How a one-shot request's stream ended, when the server did not fail it.
    private enum Exchange {
        case answer(WireMessage)
        /// The connection went away under it: it may have been applied.
        case lost(StreamKitError)
        /// The server's go-away says it never accepted it.
        case refused(StreamKitError)
    }

    /// Sends a one-shot request on a new stream and waits for its answer.
    ///
    /// - Throws: The server's error; opening's errors; `internalError` when the server ends the stream without an
    ///   answer.
    private func exchange(
        _ operation: String, store: UUID, _ request: WireMessage, retrying: Bool
    ) async throws -> Exchange {
        let handle = try await open(
            operation, store: store, request, closeAfterOpen: true, autoConsume: true, retrying: retrying)
        switch try await handle.next() {
        case .message(let answer):
            handle.markEnded()
            return .answer(answer)
        case .finished:
            throw StreamKitError(
                code: .internalError, message: "the server ended the \(operation) stream without an answer",
                storeID: store)
        case .failed(let error):
            throw error
        case .lost(let error):
            return .lost(error)
        case .refused(let error):
            return .refused(error)
        }
    }

    private static func unexpected(_ answer: WireMessage, to operation: String) -> StreamKitError {
        StreamKitError(code: .internalError, message: "unexpected \(answer.kind) answer to \(operation)")
    }

    // MARK: - Writes

    func produce<Records: AsyncSequence & Sendable>(
        store id: UUID, space: String, segment: String, records: Records
    ) -> ClientStream<SegmentStatus> where Records.Element == Record {
        let transport = self
        return ClientStream {
            let handle = try await transport.open(
                "produce", store: id, .produceOpen(space: space, segment: segment), closeAfterOpen: false,
                autoConsume: true)
            let progress = ProduceProgress()
            let cutter = transport.cutter()
            let upload = Task { [connection = handle.connection, stream = handle.id, inbox = handle.inbox] in
                await Self.upload(
                    records, connection: connection, id: stream, inbox: inbox, cutter: cutter, progress: progress)
            }
            handle.onRelease = { upload.cancel() }
            return Cursor { try await Self.nextStatus(handle, progress: progress, store: id) }
        }
    }

    func produce(store id: UUID, space: String, segment: String, records: [Record]) async throws -> [SegmentStatus] {
        let handle = try await open(
            "produce", store: id, .produceOpen(space: space, segment: segment), closeAfterOpen: false,
            autoConsume: true)
        return try await Self.produce(records, on: handle, cutter: cutter(), store: id)
    }

    /// Sends an array produce's records on its open stream and collects the statuses.
    static func produce(
        _ records: [Record], on handle: StreamHandle, cutter: TransactionCutter, store id: UUID
    )
        async throws -> [SegmentStatus]
    {
        var cutter = cutter
        let progress = ProduceProgress()
        do {
            for record in records {
                for batch in cutter.add(record) {
                    progress.sending(batch)
                    try await handle.connection.send(.records(batch), on: handle.id)
                }
            }
            if let rest = cutter.finish() {
                progress.sending(rest)
                try await handle.connection.send(.records(rest), on: handle.id)
            }
            progress.sendingEnd()
            try await handle.connection.send(.produceEnd, on: handle.id)
            await handle.connection.finishSending(handle.id)
        } catch {
            // A stream that ended has its reason in the inbox; anything else is local: abandon the stream.
            guard handle.inbox.hasEnded else { throw error }
        }
        var statuses: [SegmentStatus] = []
        while let status = try await Self.nextStatus(handle, progress: progress, store: id) { statuses.append(status) }
        return statuses
    }

    func publish(
        store id: UUID, space: String, segment: String, payload: [UInt8], metadata: [String: String]
    )
        async throws -> SegmentStatus
    {
        let request = WireMessage.publish(space: space, segment: segment, payload: payload, metadata: metadata)
        switch try await call("publish", store: id, request) {
        case .status(let status): return status
        case let other: throw Self.unexpected(other, to: "publish")
        }
    }

    /// Cuts records into `records` messages like the store's transactions.
    private func cutter() -> TransactionCutter {
        TransactionCutter(
            maxBatchCount: options.limits.wire.maxBatchCount, maxMessageBytes: options.limits.wire.maxMessageBytes)
    }

    /// Uploads a produce's records as they come, cut like the store's transactions, then `produceEnd` and the
    /// client's close. A source error ends the stream with that error (the server is told with a reset); nothing
    /// is sent after a failure. `progress` learns what is sent.
    static func upload<Records: AsyncSequence & Sendable>(
        _ records: Records, connection: ClientConnection, id: UInt64, inbox: StreamInbox, cutter: TransactionCutter,
        progress: ProduceProgress
    ) async where Records.Element == Record {
        var cutter = cutter
        var source = records.makeAsyncIterator()
        do {
            while true {
                let next: Record?
                do {
                    next = try await source.next()
                } catch {
                    throw SourceFailure(error: error)
                }
                guard let record = next else { break }
                for batch in cutter.add(record) {
                    try Task.checkCancellation()
                    progress.sending(batch)
                    try await connection.send(.records(batch), on: id)
                }
            }
            try Task.checkCancellation()  // A cancelled source may just end: commit nothing more.
            if let rest = cutter.finish() {
                progress.sending(rest)
                try await connection.send(.records(rest), on: id)
            }
            progress.sendingEnd()
            try await connection.send(.produceEnd, on: id)
            await connection.finishSending(id)
        } catch let failure as SourceFailure where failure.error is CancellationError {
            // The consumer let go: its handle resets the stream.
        } catch is CancellationError {
            // Likewise.
        } catch {
            if !inbox.hasEnded {  // A source error or a local limit: the server is told, the consumer gets it.
                let cause = (error as? SourceFailure)?.error ?? error
                inbox.failLocally(cause)
                await connection.cancel(
                    id, reason: StreamKitError(code: .invalidArgument, message: "the producer failed: \(cause)"))
            }
        }
    }

    /// The next status of a produce; nil once the server finished the stream having acknowledged every record sent.
    ///
    /// - Throws: The server's error; the connection's loss; `storeUnavailable` when the server finished the stream
    ///   early (``ProduceProgress/checkFinished(store:)``).
    static func nextStatus(
        _ handle: StreamHandle, progress: ProduceProgress, store: UUID
    ) async throws
        -> SegmentStatus?
    {
        switch try await handle.next() {
        case .message(.status(let status)):
            progress.acknowledged(status)
            return status
        case .message(let other):
            handle.markEnded()
            await handle.connection.cancel(handle.id)
            throw unexpected(other, to: "produce")
        case .finished:
            try progress.checkFinished(store: store)
            return nil
        case .failed(let error):
            throw error
        case .lost(let error), .refused(let error):
            throw error  // Records may have been consumed from the source: never sent again.
        }
    }

    // MARK: - Deletion

    /// Sent again after a lost connection (deleting twice deletes nothing more): the count is then that of the
    /// last attempt, 0 when the first one had applied.
    func deleteEntries(store id: UUID, space: String, segment: String, before: UInt64?) async throws -> Int {
        let request = WireMessage.deleteEntries(space: space, segment: segment, before: before)
        switch try await call("deleteEntries", store: id, request, replay: .safe) {
        case .deleted(let count): return Int(clamping: count)
        case let other: throw Self.unexpected(other, to: "deleteEntries")
        }
    }

    // MARK: - Retention

    func retention(store id: UUID) async throws -> StoreRetention {
        switch try await call("retention", store: id, .getRetention, replay: .safe) {
        case .retention(let retention): return retention
        case let other: throw Self.unexpected(other, to: "getRetention")
        }
    }

    /// Sent again after a lost connection (setting the same policy twice changes nothing).
    func setRetention(store id: UUID, policy: LogRetention.Policy?) async throws -> StoreRetention {
        switch try await call("setRetention", store: id, .setRetention(policy), replay: .safe) {
        case .retention(let retention): return retention
        case let other: throw Self.unexpected(other, to: "setRetention")
        }
    }

    // MARK: - Durable consumers

    /// Sent again after a lost connection (creating the same consumer twice finds the first).
    func createConsumer(
        store id: UUID, name: String, target: ConsumerTarget, startAtHead: Bool
    ) async throws
        -> ConsumerStatus
    {
        let request = WireMessage.consumerCreate(name: name, target: target, startAtHead: startAtHead)
        switch try await call("createConsumer", store: id, request, replay: .safe) {
        case .consumers(let statuses) where statuses.count == 1: return statuses[0]
        case let other: throw Self.unexpected(other, to: "consumerCreate")
        }
    }

    func consumerStatuses(store id: UUID, name: String?) async throws -> [ConsumerStatus] {
        switch try await call("consumers", store: id, .consumerQuery(name: name), replay: .safe) {
        case .consumers(let statuses): return statuses
        case let other: throw Self.unexpected(other, to: "consumerQuery")
        }
    }

    /// Sent again after a lost connection (positions only move forward: the same acknowledgement twice is one).
    func acknowledge(
        store id: UUID, consumer: String, position: ConsumerPosition, fencingToken: UInt64, durable: Bool
    )
        async throws
    {
        let request = WireMessage.consumerAck(
            name: consumer, position: position, fencingToken: fencingToken, durable: durable)
        switch try await call("acknowledge", store: id, request, replay: .safe) {
        case .ack: return
        case let other: throw Self.unexpected(other, to: "consumerAck")
        }
    }

    /// Sent again after a lost connection (a replayed deletion may report that nothing existed).
    func deleteConsumer(store id: UUID, name: String) async throws -> Bool {
        switch try await call("deleteConsumer", store: id, .consumerDelete(name: name), replay: .safe) {
        case .ack(let existed): return existed
        case let other: throw Self.unexpected(other, to: "consumerDelete")
        }
    }

    // MARK: - Reads

    func peek(store id: UUID, space: String, segment: String) async throws -> Entry? {
        switch try await call("peek", store: id, .peek(space: space, segment: segment), replay: .safe) {
        case .entries(let entries): return entries.last
        case let other: throw Self.unexpected(other, to: "peek")
        }
    }

    func consumeSegment(store id: UUID, request: SegmentReadRequest) -> ClientStream<Entry> {
        read(store: id, .segment(request))
    }

    func consume(store id: UUID, request: SpaceReadRequest) -> ClientStream<Entry> {
        read(store: id, .spaces(request))
    }

    private func read(store id: UUID, _ request: ResumableRead.Request) -> ClientStream<Entry> {
        let transport = self
        return ClientStream {
            let read = ResumableRead(transport: transport, store: id, request: request)
            try await read.start()
            return Cursor(batches: { try await read.nextBatch() })
        }
    }

    func spaces(store id: UUID) async throws -> [String] {
        switch try await call("spaces", store: id, .spaces, replay: .safe) {
        case .names(let names): return names
        case let other: throw Self.unexpected(other, to: "spaces")
        }
    }

    func segments(store id: UUID, space: String) async throws -> [String] {
        switch try await call("segments", store: id, .segments(space: space), replay: .safe) {
        case .names(let names): return names
        case let other: throw Self.unexpected(other, to: "segments")
        }
    }

    // MARK: - Subscriptions

    func subscribe(
        store id: UUID, space: String, segment: String, heartbeatSeconds: Int?
    ) async throws -> any StatusFeed {
        let feed = WebSocketFeed<SegmentStatus>.subscription(
            transport: self, store: id, space: space, segment: segment, heartbeatSeconds: heartbeatSeconds)
        try await feed.start()
        return feed
    }

    // MARK: - Leases

    func acquireLease(store id: UUID, key: String, holder: String, ttlSeconds: Double) async throws -> Lease? {
        let request = WireMessage.leaseAcquire(key: key, holder: holder, ttlSeconds: ttlSeconds)
        switch try await call("acquireLease", store: id, request, replay: .safe) {
        case .leaseResult(let lease): return lease
        case let other: throw Self.unexpected(other, to: "acquireLease")
        }
    }

    func renewLease(store id: UUID, lease: Lease) async throws -> Lease {
        switch try await call("renewLease", store: id, .leaseRenew(lease, ttlSeconds: nil), retrying: false) {
        case .leaseResult(let renewed?):
            return renewed
        case .leaseResult(nil):
            throw StreamKitError(
                code: .leaseNotHeld, message: "lease '\(lease.key)' was not renewed: it is not held", storeID: id)
        case let other:
            throw Self.unexpected(other, to: "renewLease")
        }
    }

    func releaseLease(store id: UUID, lease: Lease) async throws {
        // Sent again after a lost attempt, a release that finds the lease not held was that attempt's: released.
        let answer = try await shielded {
            let replayed = Mutex(false)
            do {
                return try await call(
                    "releaseLease", store: id, .leaseRelease(lease), replay: .safe,
                    onReplay: { replayed.withLock { $0 = true } })
            } catch let error as StreamKitError where error.code == .leaseNotHeld && replayed.withLock({ $0 }) {
                return WireMessage.ack(false)
            }
        }
        guard case .ack = answer else { throw Self.unexpected(answer, to: "releaseLease") }
    }

    /// Runs a clean-up call (lease release, worker unregistration) to its answer even when the caller is
    /// cancelled — it typically runs *because* the caller was cancelled — as the in-process transport does.
    private func shielded<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await Task { try await body() }.value
    }

    // MARK: - Worker presence

    func registerWorker(
        store id: UUID, workerID: String, metadata: [String: String], heartbeatSeconds: Int
    )
        async throws -> RegisteredWorker
    {
        let request = WireMessage.workerRegister(
            workerID: workerID, metadata: metadata, heartbeatSeconds: heartbeatSeconds)
        switch try await call("registerWorker", store: id, request, replay: .safe) {
        case .workerRegistered(let generation, let worker, _, _):
            return RegisteredWorker(generation: generation, worker: worker)
        case let other:
            throw Self.unexpected(other, to: "registerWorker")
        }
    }

    func workerHeartbeat(store id: UUID, workerID: String, generation: UInt64) async throws {
        let request = WireMessage.workerHeartbeat(workerID: workerID, generation: generation)
        switch try await call("workerHeartbeat", store: id, request, replay: .safe) {
        case .ack: return
        case let other: throw Self.unexpected(other, to: "workerHeartbeat")
        }
    }

    func unregisterWorker(store id: UUID, workerID: String, generation: UInt64) async throws {
        let request = WireMessage.workerUnregister(workerID: workerID, generation: generation)
        let answer = try await shielded { try await call("unregisterWorker", store: id, request, replay: .safe) }
        guard case .ack = answer else { throw Self.unexpected(answer, to: "unregisterWorker") }
    }

    func watchWorkers(store id: UUID) async throws -> any WorkerInventoryFeed {
        let feed = WebSocketFeed<WorkerInventory>.workerWatch(transport: self, store: id)
        try await feed.start()
        return feed
    }

    func workerInventory(store id: UUID) async throws -> WorkerInventory {
        switch try await call("workerInventory", store: id, .workerInventoryRequest, replay: .safe) {
        case .workerInventory(let inventory): return inventory
        case let other: throw Self.unexpected(other, to: "workerInventory")
        }
    }

    // MARK: - Closing

    /// Stops reconnecting and closes every connection; streams still open fail with `storeClosing`.
    func connectionEvents() -> AsyncStream<ConnectionEvent> { manager.events.stream() }

    func close() async {
        await manager.close()
    }
}

/// The application's record sequence threw: carried through the upload buffer to tell it from a send error.
private struct SourceFailure: Error {
    let error: any Error
}
