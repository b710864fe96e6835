import Logging
import StreamKitEngine
import StreamKitWire
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A live feed over the WebSocket transport that survives lost connections — a subscription's statuses
/// (``subscription(transport:store:space:segment:heartbeatSeconds:)``) or a worker watch's inventories
/// (``workerWatch(transport:store:)``): elements arrive in a ``CoalescingBuffer``; when the connection is lost the
/// feed waits for the transport to reconnect (with backoff, for as long as it takes) and opens its stream again,
/// which delivers a fresh snapshot (the current statuses, the current inventory) and then live elements.
///
/// It ends (nil) when the server finishes the feed (the store closed) or after ``cancel()``; it throws the server's
/// error, or a permanent reconnect error such as `unauthorized`. A `Mutex` guards the current stream.
final class WebSocketFeed<Element: Sendable>: AsyncSequence, Sendable {

    private struct Current {
        var connection: ClientConnection?
        var id: UInt64 = 0
        var cancelled = false
    }

    private let transport: WebSocketTransport
    private let store: UUID
    /// The request that opens the feed's stream, and its operation name (spans, logs).
    private let request: WireMessage
    private let operation: String
    /// Log metadata naming what the feed follows.
    private let metadata: Logger.Metadata
    private let buffer: CoalescingBuffer<Element>
    /// Whether to hand an element on (a worker watch skips an inventory it handed on before a reconnect).
    private let accept: @Sendable (Element) -> Bool
    private let current = Mutex(Current())
    private let resubscriptions = Mutex(0)
    /// The trace context of the feed's span, sent again on every reopen.
    private let traceparent: String?

    /// Creates the feed; call it in the feed's trace context (the client's span), which every open carries.
    private init(
        transport: WebSocketTransport, store: UUID, request: WireMessage, operation: String, metadata: Logger.Metadata,
        buffer: CoalescingBuffer<Element>, accept: @escaping @Sendable (Element) -> Bool = { _ in true }
    ) {
        self.transport = transport
        self.store = store
        self.request = request
        self.operation = operation
        self.metadata = metadata.merging(["store_id": "\(store)"]) { $1 }
        self.buffer = buffer
        self.accept = accept
        traceparent = WebSocketTransport.currentTraceparent()
    }

    var coalescedCount: Int { buffer.coalescedCount }

    /// Times the feed opened its stream again after a lost connection.
    var resubscriptionCount: Int { resubscriptions.withLock { $0 } }

    /// Opens the first subscribe stream and waits until the server accepted it, so that a refusal of the stream
    /// (`forbidden` for a store the token does not grant, `overloaded` …) is thrown here, as the in-process
    /// transport throws it, not later by the feed. Opening and a stream lost or refused by a go-away before its
    /// acceptance are retried under the retry policy.
    ///
    /// The server accepts the stream with its first credit (`docs/protocol.md` §7), or its first status. That
    /// credit comes as the stream opens, before the server asks its registry: an error of the registry's own (it
    /// is shut down, the store cannot be opened) still ends the feed later.
    func start() async throws {
        let transport = self.transport
        let manager = transport.manager
        do {
            try await transport.context.retrying(operation, store: store, stopIf: { manager.isClosing }) {
                let (connection, id) = try await transport.openStream(
                    operation, store: store, request, receiver: buffer, closeAfterOpen: false, retrying: false,
                    traceparent: traceparent)
                attach(connection, id)
                switch await buffer.acceptance() {
                case .accepted:
                    return
                case .ended(.failed(let error)):
                    throw error  // Refused by the server: forbidden, invalidArgument …
                case .ended(.lost(let error)):
                    current.withLock { $0.connection = nil }
                    guard buffer.reopen() else { throw CancellationError() }
                    throw error  // Retryable: the connection went away before the server accepted it.
                case .ended(.cancelled):
                    throw CancellationError()
                case .ended(.finished), .ended(.element):
                    throw StreamKitError(
                        code: .internalError, message: "the server ended a \(request.kind) stream it had not accepted",
                        storeID: store)
                }
            }
        } catch {
            cancel()
            throw error
        }
    }

    /// Ends the feed: the server's side ends too, and iteration returns nil.
    func cancel() {
        buffer.cancel()
        let stream = current.withLock { current -> (ClientConnection, UInt64)? in
            current.cancelled = true
            defer { current.connection = nil }
            return current.connection.map { ($0, current.id) }
        }
        if let (connection, id) = stream {
            Task { await connection.endSubscription(id) }
        }
    }

    func makeAsyncIterator() -> Iterator { Iterator(feed: self) }

    /// Iterates the elements.
    struct Iterator: AsyncIteratorProtocol {
        let feed: WebSocketFeed

        /// The next element; nil once the feed ended.
        mutating func next() async throws -> Element? { try await feed.next() }
    }

    // MARK: - Delivery

    private func next() async throws -> Element? {
        while true {
            switch await buffer.next() {
            case .element(let element):
                if accept(element) { return element }
            case .finished, .cancelled:
                return nil
            case .failed(let error):
                throw error
            case .lost(let error):
                guard try await resubscribe(after: error) else { return nil }
            }
        }
    }

    /// Waits for a connection and opens the feed's stream again; false when the feed was cancelled meanwhile.
    private func resubscribe(after loss: StreamKitError) async throws -> Bool {
        current.withLock { $0.connection = nil }
        var metadata = self.metadata
        metadata["error"] = "\(loss)"
        transport.context.logger.debug("\(operation) connection lost; opening the feed again", metadata: metadata)
        var failures = 0
        while true {
            let connection: ClientConnection
            do {
                connection = try await transport.manager.reconnected()
            } catch is CancellationError {
                return false
            }
            guard buffer.reopen() else { return false }
            do {
                let id = try await connection.open(
                    request, store: store, receiver: buffer, closeAfterOpen: false, traceparent: traceparent)
                resubscriptions.withLock { $0 += 1 }
                return attach(connection, id)
            } catch is ConnectionUnusable {
                continue  // Lost again at once: wait for the next connection.
            } catch let error as StreamKitError where error.isRetryable {
                failures += 1  // The stream limit, for instance: back off a little.
                do {
                    try await Task.sleep(for: transport.options.reconnectInitialBackoff * Swift.min(failures, 30))
                } catch {
                    return false
                }
            }
        }
    }

    /// Records the open stream, or ends it at once when the feed was cancelled meanwhile.
    @discardableResult
    private func attach(_ connection: ClientConnection, _ id: UInt64) -> Bool {
        let cancelled = current.withLock { current in
            if !current.cancelled {
                current.connection = connection
                current.id = id
            }
            return current.cancelled
        }
        if cancelled { Task { await connection.endSubscription(id) } }
        return !cancelled
    }
}

extension WebSocketFeed: StatusFeed where Element == SegmentStatus {
    /// A subscription's statuses (``StreamKitClient/subscribe(store:space:segment:heartbeat:silenceBound:handler:)``).
    static func subscription(
        transport: WebSocketTransport, store: UUID, space: String, segment: String, heartbeatSeconds: Int?
    ) -> WebSocketFeed<SegmentStatus> {
        WebSocketFeed(
            transport: transport, store: store,
            request: .subscribe(space: space, segment: segment, heartbeatSeconds: heartbeatSeconds),
            operation: "subscribe",
            metadata: ["space": "\(space)", "segment": "\(segment)"], buffer: .statuses())
    }
}

extension WebSocketFeed: WorkerInventoryFeed where Element == WorkerInventory {
    /// A worker watch's inventories (``StreamKitClient/workerInventoryUpdates(store:)``); after a reconnect the
    /// current inventory is handed on only when its version differs from the last one handed on.
    static func workerWatch(transport: WebSocketTransport, store: UUID) -> WebSocketFeed<WorkerInventory> {
        let last = Mutex<UInt64?>(nil)
        return WebSocketFeed(
            transport: transport, store: store, request: .workerWatch, operation: "workerInventoryUpdates",
            metadata: [:],
            buffer: .inventories(),
            accept: { inventory in
                last.withLock { last in
                    guard last != inventory.version else { return false }
                    last = inventory.version
                    return true
                }
            })
    }
}
