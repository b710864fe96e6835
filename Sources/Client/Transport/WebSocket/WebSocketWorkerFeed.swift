#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import StreamKitEngine
import StreamKitWire
import Synchronization

/// A worker watch over the WebSocket transport that survives lost connections: inventories arrive in a coalescing
/// ``InventoryBuffer``; when the connection is lost the feed waits for the transport to reconnect (with backoff,
/// for as long as it takes) and watches again, which delivers the current inventory — handed on only when it
/// has another version than the last one handed on — and then live ones.
///
/// It ends (nil) when the server finishes the watch or after ``cancel()``; it throws the server's error, or a
/// permanent reconnect error such as `unauthorized`. A `Mutex` guards the current stream and the last inventory.
final class WebSocketWorkerFeed: WorkerInventoryFeed {
    typealias Element = WorkerInventory

    private struct Current {
        var connection: ClientConnection?
        var id: UInt64 = 0
        var cancelled = false
    }

    private let transport: WebSocketTransport
    private let store: UUID
    private let buffer = InventoryBuffer()
    /// The last inventory handed on: after a new watch stream the same one is not handed on again.
    private let lastDelivered = Mutex<WorkerInventory?>(nil)
    private let current = Mutex(Current())
    private let resubscriptions = Mutex(0)
    /// The trace context of the watch's span, sent again on every new watch stream.
    private let traceparent: String?

    /// Creates the feed; call it in the watch's trace context (the client's span), which every open carries.
    init(transport: WebSocketTransport, store: UUID) {
        self.transport = transport
        self.store = store
        traceparent = WebSocketTransport.currentTraceparent()
    }

    /// Times the feed watched again after a lost connection.
    var resubscriptionCount: Int { resubscriptions.withLock { $0 } }

    private var request: WireMessage { .workerWatch }

    /// Opens the first watch stream and waits until the server accepted it, so that a refusal of the stream
    /// (`forbidden` for a store the token does not grant, `overloaded` …) is thrown here, as the in-process
    /// transport throws it, not later by the feed. Opening and a stream lost or refused by a go-away before its
    /// acceptance are retried under the retry policy.
    ///
    /// The server accepts the stream with its first credit (`docs/protocol.md` §7), or its first inventory. That
    /// credit comes as the stream opens, before the server asks its registry: an error of the registry's own (it
    /// is shut down, the store cannot be opened) still ends the feed later.
    func start() async throws {
        let transport = self.transport
        let manager = transport.manager
        do {
            try await transport.context.retrying("workerInventoryUpdates", store: store, stopIf: { manager.isClosing }) {
                let (connection, id) = try await transport.openStream(
                    "workerInventoryUpdates", store: store, request, receiver: buffer, closeAfterOpen: false, retrying: false,
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
                case .ended(.finished), .ended(.inventory):
                    throw StreamKitError(
                        code: .internalError, message: "the server ended a worker watch it had not accepted",
                        storeID: store)
                }
            }
        } catch {
            cancel()
            throw error
        }
    }

    /// Ends the feed: the server's watch ends too, and iteration returns nil.
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

    /// Iterates inventories.
    struct Iterator: AsyncIteratorProtocol {
        let feed: WebSocketWorkerFeed

        /// The next inventory; nil once the feed ended.
        mutating func next() async throws -> WorkerInventory? { try await feed.next() }
    }

    // MARK: - Delivery

    private func next() async throws -> WorkerInventory? {
        while true {
            switch await buffer.next() {
            case .inventory(let inventory):
                let new = lastDelivered.withLock { last in
                    guard last?.version != inventory.version else { return false }
                    last = inventory
                    return true
                }
                if new { return inventory }
            case .finished, .cancelled:
                return nil
            case .failed(let error):
                throw error
            case .lost(let error):
                guard try await resubscribe(after: error) else { return nil }
            }
        }
    }

    /// Waits for a connection and watches again; false when the feed was cancelled meanwhile.
    private func resubscribe(after loss: StreamKitError) async throws -> Bool {
        current.withLock { $0.connection = nil }
        let metadata: Logger.Metadata = [
            "store_id": "\(store)", "error": "\(loss)",
        ]
        transport.context.logger.debug("worker watch connection lost; watching again", metadata: metadata)
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
