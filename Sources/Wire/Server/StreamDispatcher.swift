import FoundationEssentials
import Logging
import Metrics
import StreamKitEngine
import StreamKitLogFiles
import Synchronization
import Tracing

/// Runs one server stream: calls the store named by the open and sends the answers.
struct StreamDispatcher: Sendable {
    let registry: StoreRegistry
    /// How a read's entries are cut into messages, and the size a written record must keep to be readable.
    let batchLimits: EntryBatchLimits
    /// The server's logger.
    let logger: Logger

    /// Serves a stream to its end: closes it after the last answer, or resets it with the typed error.
    func run(
        _ open: StreamOpen, streamID id: UInt64, inbox: AsyncThrowingStream<WireMessage, any Error>?,
        connection: ServerConnection
    ) async {
        let context = WireTraceContext.context(traceparent: open.traceparent)
        let kind = "\(open.request.kind)"
        let start = ContinuousClock.now
        let failure = await withSpan("streamkit.server.\(kind)", context: context, ofKind: .server) { span in
            if let store = open.store { span.attributes["streamkit.store_id"] = store.uuidString }
            span.attributes["streamkit.stream_id"] = Int(truncatingIfNeeded: id)
            return await serveStream(open, streamID: id, inbox: inbox, connection: connection, span: span)
        }
        Timer(label: "streamkit_server_stream_duration_seconds", dimensions: [("kind", kind)])
            .recordNanoseconds((ContinuousClock.now - start).nanoseconds)
        guard let failure else { return }
        Counter(label: "streamkit_server_stream_errors_total", dimensions: [("code", "\(failure.code)")]).increment()
        var metadata: Logger.Metadata = ["kind": "\(kind)", "stream_id": "\(id)", "code": "\(failure.code)"]
        if let store = open.store { metadata["store_id"] = "\(store)" }
        if failure.code == .internalError {
            logger.error("stream failed: \(failure.message)", metadata: metadata)
        } else {
            logger.debug("stream ended with an error: \(failure.message)", metadata: metadata)
        }
    }

    private func serveStream(
        _ open: StreamOpen, streamID id: UInt64, inbox: AsyncThrowingStream<WireMessage, any Error>?,
        connection: ServerConnection, span: any Span
    ) async -> StreamKitError? {
        do {
            if case .hello(let remote) = open.request {
                try await hello(remote, id: id, connection: connection)
                await connection.finish(id)
                return nil
            }
            guard let storeID = open.store else {
                throw StreamKitError(
                    code: .invalidArgument, message: "a \(open.request.kind) stream must name its store")
            }
            if case .subscribe(let space, let segment, let heartbeatSeconds) = open.request {
                // A registry subscription pins nothing, creates nothing, and outlives its store closing.
                let subscription = try await registry.subscribe(
                    storeID, space: space, segment: segment, heartbeatSeconds: heartbeatSeconds)
                try await subscribe(subscription, id: id, connection: connection)
            } else if case .workerWatch = open.request {
                // As a subscription: pins nothing, creates nothing, outlives its store closing.
                let watch = try await registry.watchWorkers(storeID)
                try await watchWorkers(watch, id: id, connection: connection)
            } else if Self.createsStore(open.request) {
                try await registry.withStore(storeID) { store in
                    try await serve(open.request, store: store, id: id, inbox: inbox, connection: connection)
                }
            } else if try await registry.withExistingStore(
                storeID,
                { store in
                    try await serve(open.request, store: store, id: id, inbox: inbox, connection: connection)
                }) == nil
            {
                try await serveAbsent(open.request, id: id, connection: connection)
            }
            await connection.finish(id)
            return nil
        } catch {
            let failure = error as? StreamKitError ?? StreamKitError(code: .internalError, message: "\(error)")
            span.recordError(failure)
            await connection.fail(id, error: failure)
            return failure
        }
    }

    private func serve(
        _ request: WireMessage, store: Store, id: UInt64, inbox: AsyncThrowingStream<WireMessage, any Error>?,
        connection: ServerConnection
    ) async throws {
        switch request {
        case .publish(let space, let segment, let payload, let metadata):
            try batchLimits.checkReadable(
                payloadBytes: payload.count, metadata: metadata, space: space, segment: segment)
            let status = try await store.publish(space: space, segment: segment, payload: payload, metadata: metadata)
            try await connection.send(.status(status), on: id)
        case .peek(let space, let segment):
            let entry = try await store.peek(space: space, segment: segment)
            if let entry { try batchLimits.checkSendable(entry) }
            try await connection.send(.entries(entry.map { [$0] } ?? []), on: id)
        case .getStatus(let space, let segment):
            let status = await store.status(space: space, segment: segment)
            try await connection.send(status.map { .status($0) } ?? .empty, on: id)
        case .spaces:
            try await connection.send(.names(await store.spaces()), on: id)
        case .segments(let space):
            try await connection.send(.names(await store.segments(space: space)), on: id)
        case .consumeSegment(let space, let segment, let bounds, let limit):
            let entries = store.consumeSegment(
                space: space, segment: segment, minSequence: bounds.minSequence, maxSequence: bounds.maxSequence,
                minTimestamp: bounds.minTimestamp, maxTimestamp: bounds.maxTimestamp, limit: limit)
            if await connection.features.contains(StoredEntries.feature) {
                var iterator = entries.makeAsyncIterator()
                try await streamChunks(id: id, connection: connection) {
                    try await iterator.nextChunk(maxBlockBytes: $0)
                }
            } else {
                try await stream(entries, id: id, connection: connection)
            }
        case .consumeSpace(let space, let offset, let bounds, let limit):
            let entries = store.consumeSpace(
                space: space, offset: offset, minTimestamp: bounds.minTimestamp, maxTimestamp: bounds.maxTimestamp,
                limit: limit)
            try await streamSpaces(entries, id: id, connection: connection)
        case .consume(let spaces, let bounds, let limit):
            let entries = store.consume(
                spaces: spaces, minTimestamp: bounds.minTimestamp, maxTimestamp: bounds.maxTimestamp, limit: limit)
            try await streamSpaces(entries, id: id, connection: connection)
        case .deleteEntries(let space, let segment, let before):
            let count =
                if let before {
                    try await store.truncateSegment(space: space, segment: segment, before: before)
                } else {
                    try await store.deleteSegment(space: space, segment: segment)
                }
            try await connection.send(.deleted(count: UInt64(count)), on: id)
        case .getRetention:
            let own = try await store.retentionPolicy()
            try await connection.send(
                .retention(StoreRetention(own: own, configured: store.configuration.retention.policy)), on: id)
        case .setRetention(let policy):
            try await store.setRetentionPolicy(policy)
            try await connection.send(
                .retention(StoreRetention(own: policy, configured: store.configuration.retention.policy)), on: id)
        case .consumerCreate(let name, let target, let startAtHead):
            let consumer = try await store.createConsumer(name: name, target: target, startAtHead: startAtHead)
            try await connection.send(.consumers(try await store.consumerStatuses(named: consumer.name)), on: id)
        case .consumerQuery(let name):
            try await connection.send(.consumers(try await store.consumerStatuses(named: name)), on: id)
        case .consumerAck(let name, let position, let fencingToken, let durable):
            try await store.acknowledge(consumer: name, through: position, fencingToken: fencingToken, durable: durable)
            try await connection.send(.ack(true), on: id)
        case .consumerDelete(let name):
            try await connection.send(.ack(try await store.deleteConsumer(named: name)), on: id)
        case .leaseAcquire(let key, let holder, let ttlSeconds):
            let lease = try await store.acquireLease(key: key, holder: holder, ttlSeconds: ttlSeconds)
            try await connection.send(.leaseResult(lease), on: id)
        case .leaseRenew(let lease, let ttlSeconds):
            let renewed = try await store.renewLease(lease, ttlSeconds: ttlSeconds)
            try await connection.send(.leaseResult(renewed), on: id)
        case .leaseRelease(let lease):
            try await store.releaseLease(lease)
            try await connection.send(.ack(true), on: id)
        case .leaseQuery(let key):
            try await connection.send(.leaseResult(try await store.lease(key: key)), on: id)
        case .workerRegister(let workerID, let metadata, let heartbeatSeconds):
            let registration = try await store.registerWorker(
                workerID: workerID, metadata: metadata, heartbeatSeconds: heartbeatSeconds)
            try await connection.send(
                .workerRegistered(
                    generation: registration.generation, worker: registration.worker,
                    replacedGeneration: registration.replacedGeneration, inventory: registration.inventory),
                on: id)
        case .workerHeartbeat(let workerID, let generation):
            try await store.workerHeartbeat(workerID: workerID, generation: generation)
            try await connection.send(.ack(true), on: id)
        case .workerUnregister(let workerID, let generation):
            let removed = try await store.unregisterWorker(workerID: workerID, generation: generation)
            try await connection.send(.ack(removed), on: id)
        case .workerInventoryRequest:
            try await connection.send(.workerInventory(try await store.workerInventory()), on: id)
        case .produceOpen(let space, let segment):
            guard let inbox else { throw StreamKitError(code: .internalError, message: "produce without an inbox") }
            try await produce(
                space: space, segment: segment, store: store, id: id, inbox: inbox, connection: connection)
        case .subscribe, .workerWatch:
            throw StreamKitError(code: .internalError, message: "subscriptions and watches are served unpinned")
        case .hello, .error, .ack, .empty, .records, .produceEnd, .status, .entries, .storedEntries, .names,
            .leaseResult,
            .workerRegistered, .workerInventory, .deleted, .retention, .consumers:
            throw StreamKitError(code: .invalidArgument, message: "a stream cannot open with \(request.kind)")
        }
    }

    /// Streams a subscription's statuses until the client closes or resets the stream (or the connection
    /// ends), or the registry shuts down, which fails the stream with `storeClosing` as the engine fails its own
    /// subscriptions (the store closing for idleness or the open-store bound does not end it). A server shutdown
    /// ends the connection before this task is cancelled: the connection sends its goAway and fails the stream
    /// with the retryable `storeUnavailable` itself (`ServerConnection.shutdown`).
    private func subscribe(_ subscription: StatusSubscription, id: UInt64, connection: ServerConnection) async throws {
        let endedByClient = Mutex(false)
        await connection.onEnd(id) {
            endedByClient.withLock { $0 = true }
            subscription.cancel()
        }
        defer { subscription.cancel() }
        for await status in subscription {
            try await connection.send(.status(status), on: id)
        }
        guard !endedByClient.withLock({ $0 }) else { return }  // The client or the connection ended the stream.
        // Cancelled without the stream ended (not expected: the connection ends its streams before cancelling
        // their jobs): retryable, never mistaken for the store closing; the connection sends it only if still open.
        if Task.isCancelled {
            throw StreamKitError(code: .storeUnavailable, message: "the server is shutting down")
        }
        throw StreamKitError(code: .storeClosing, message: "the store closed; subscribe again")
    }

    /// Streams a watch's worker inventories until the client closes or resets the stream (or the connection
    /// ends), or the registry shuts down (`storeClosing`), as ``subscribe(_:id:connection:)`` streams statuses.
    private func watchWorkers(_ watch: WorkerInventoryWatch, id: UInt64, connection: ServerConnection) async throws {
        let endedByClient = Mutex(false)
        await connection.onEnd(id) {
            endedByClient.withLock { $0 = true }
            watch.cancel()
        }
        defer { watch.cancel() }
        for await inventory in watch {
            try await connection.send(.workerInventory(inventory), on: id)
        }
        guard !endedByClient.withLock({ $0 }) else { return }
        if Task.isCancelled {
            throw StreamKitError(code: .storeUnavailable, message: "the server is shutting down")
        }
        throw StreamKitError(code: .storeClosing, message: "the registry shut down; watch again")
    }

    /// Whether `request` may create its store: writes, and the leases and worker registrations that need one.
    /// Every other request reaches its store only if it exists (``serveAbsent(_:id:connection:)`` otherwise).
    private static func createsStore(_ request: WireMessage) -> Bool {
        switch request {
        case .publish, .produceOpen, .leaseAcquire, .workerRegister, .consumerCreate:
            true
        case .peek, .getStatus, .spaces, .segments, .consumeSegment, .consumeSpace, .consume, .leaseRenew,
            .leaseRelease, .leaseQuery, .workerHeartbeat, .workerUnregister, .workerInventoryRequest, .subscribe,
            .workerWatch, .hello, .error, .ack, .empty, .records, .produceEnd, .status, .entries, .storedEntries,
            .names, .leaseResult,
            .workerRegistered, .workerInventory, .deleteEntries, .deleted, .getRetention, .setRetention, .retention,
            .consumerQuery, .consumerAck, .consumerDelete, .consumers:
            false
        }
    }

    /// Answers `request` for a store that does not exist as an empty store would, creating nothing.
    private func serveAbsent(_ request: WireMessage, id: UInt64, connection: ServerConnection) async throws {
        switch request {
        case .peek:
            try await connection.send(.entries([]), on: id)
        case .getStatus:
            try await connection.send(.empty, on: id)
        case .spaces, .segments:
            try await connection.send(.names([]), on: id)
        case .consumeSegment, .consumeSpace, .consume:
            return  // No entries: the stream just finishes.
        case .leaseQuery:
            try await connection.send(.leaseResult(nil), on: id)
        case .leaseRenew(let lease, let ttlSeconds):
            _ = try AbsentStore.renewLease(lease, ttlSeconds: ttlSeconds)
        case .leaseRelease(let lease):
            try AbsentStore.releaseLease(lease)
        case .workerHeartbeat(let workerID, let generation):
            try AbsentStore.workerHeartbeat(workerID: workerID, generation: generation)
        case .workerUnregister:
            try await connection.send(.ack(false), on: id)
        case .workerInventoryRequest:
            try await connection.send(.workerInventory(.empty), on: id)
        case .deleteEntries(let space, let segment, _):
            throw StreamKitError(code: .notFound, message: "no segment \(space)/\(segment): the store does not exist")
        case .getRetention:
            try await connection.send(
                .retention(StoreRetention(own: nil, configured: registry.configuration.store.retention.policy)), on: id)
        case .setRetention:
            throw StreamKitError(code: .notFound, message: "the store does not exist (write to it first)")
        case .consumerQuery:
            try await connection.send(.consumers([]), on: id)
        case .consumerAck(let name, _, _, _):
            throw StreamKitError.consumerNotFound(name)
        case .consumerDelete:
            try await connection.send(.ack(false), on: id)
        case .publish, .produceOpen, .leaseAcquire, .workerRegister, .subscribe, .workerWatch, .hello, .consumerCreate:
            throw StreamKitError(code: .internalError, message: "\(request.kind) is not answered for a missing store")
        case .error, .ack, .empty, .records, .produceEnd, .status, .entries, .storedEntries, .names, .leaseResult,
            .workerRegistered, .workerInventory, .deleted, .retention, .consumers:
            throw StreamKitError(code: .invalidArgument, message: "a stream cannot open with \(request.kind)")
        }
    }

    /// Answers a client's hello with the server's and checks that the two share a protocol version.
    private func hello(_ remote: WireHello, id: UInt64, connection: ServerConnection) async throws {
        let local = WireHello(features: StreamDispatcher.features)
        let agreed: WireNegotiation
        do {
            agreed = try WireHello.negotiate(local: local, remote: remote)
        } catch {
            throw StreamKitError(code: .invalidArgument, message: error.message)
        }
        await connection.agree(on: agreed.features)
        try await connection.send(.hello(local), on: id)
    }

    /// The optional features this server supports.
    static let features = [
        "trace-context", StoredEntries.feature, WireMessage.deleteFeature, WireMessage.retentionFeature,
        WireMessage.consumersFeature, WireMessage.workerWatchFeature,
    ]

    /// Commits each `records` message of an upload as it arrives (cut into transactions only by the store's
    /// limits) and answers with its statuses, so a client's batching decides the transactions and a slow
    /// producer's records are acknowledged without waiting for more. Taking a message grants the client
    /// credit for the next; the upload ends at `produceEnd` or when the client closes its half.
    private func produce(
        space: String, segment: String, store: Store, id: UInt64,
        inbox: AsyncThrowingStream<WireMessage, any Error>, connection: ServerConnection
    ) async throws {
        for try await message in inbox {
            await connection.consumed(id)
            switch message {
            case .records(let records):
                // Before anything of the message is committed: every record must be readable in one message.
                for record in records { try batchLimits.checkReadable(record, space: space, segment: segment) }
                for status in try await store.produce(space: space, segment: segment, records: records) {
                    try await connection.send(.status(status), on: id)
                }
            case .produceEnd:
                return
            default:
                throw StreamKitError(
                    code: .invalidArgument, message: "a produce takes records and produceEnd, got \(message.kind)")
            }
        }
    }

    /// Sends a space read as ``streamChunks(id:connection:next:)`` does to a client that takes stored blocks,
    /// else as ``stream(_:id:connection:)``.
    private func streamSpaces(_ entries: SpaceEntries, id: UInt64, connection: ServerConnection) async throws {
        if await connection.features.contains(StoredEntries.feature) {
            var iterator = entries.makeAsyncIterator()
            try await streamChunks(id: id, connection: connection) { try await iterator.nextChunk(maxBlockBytes: $0) }
        } else {
            try await stream(entries, id: id, connection: connection)
        }
    }

    /// Sends a read to a client that takes stored blocks: stretches of sealed blocks go as ``StoredEntries``, as
    /// stored; other entries in batches as ``stream(_:id:connection:)`` cuts them. `next` gets the most bytes a
    /// stored block may have to go in one message.
    private func streamChunks(
        id: UInt64, connection: ServerConnection, next: (Int) async throws -> ReadChunk?
    ) async throws {
        let maxBlockBytes = batchLimits.messageBytes - StoredEntries.maxHeaderBytes
        var batcher = EntryBatcher(batchLimits)
        while true {
            let chunk: ReadChunk
            do {
                guard let next = try await next(maxBlockBytes) else { break }
                chunk = next
            } catch {
                // A read that fails (a damaged block) still delivers the entries it read before.
                if !batcher.entries.isEmpty { try? await connection.send(.entries(batcher.entries), on: id) }
                throw error
            }
            switch chunk {
            case .block(let block, let range):
                if !batcher.entries.isEmpty {
                    try await connection.send(.entries(batcher.entries), on: id)
                    batcher.clear()
                }
                try await connection.send(.storedEntries(StoredEntries(block: block, range: range)), on: id)
            case .entry(let entry):
                let size = EntryBatchCodec.maxEncodedBytes(entry)
                if batcher.mustCut(before: size) {
                    try await connection.send(.entries(batcher.entries), on: id)
                    batcher.clear()
                }
                if size > batchLimits.maxEntryBytes { try batchLimits.checkSendable(entry) }
                batcher.append(entry, size: size)
                if batcher.isFull {
                    try await connection.send(.entries(batcher.entries), on: id)
                    batcher.clear()
                }
            }
        }
        if !batcher.entries.isEmpty { try await connection.send(.entries(batcher.entries), on: id) }
    }

    /// Sends a read's entries in batches cut by count and by bytes (``EntryBatcher``); each send waits for the
    /// client's credit.
    private func stream<Entries: AsyncSequence>(
        _ entries: Entries, id: UInt64, connection: ServerConnection
    ) async throws where Entries.Element == Entry {
        try await EntryBatcher.forEachBatch(of: entries, limits: batchLimits) { batch in
            try await connection.send(.entries(batch), on: id)
        }
    }
}
