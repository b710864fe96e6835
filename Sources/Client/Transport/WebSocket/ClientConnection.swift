import NIOCore
import StreamKitEngine
import StreamKitWire
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One client-side WebSocket connection: owns the ``MuxConnection`` (role `.client`), turns its actions into
/// outgoing frames, per-stream receivers and credit waits. The mirror of the server's `ServerConnection`.
///
/// Outgoing frames go, in order, to `output` (the session's writer task puts them on the socket). Every method is
/// synchronous apart from the credit wait in ``send(_:on:)``, so frame order is the order of the calls. A received
/// frame costs one hop onto this actor (``receive(_:)``); its messages go straight to the stream's receiver.
actor ClientConnection {
    /// A stream the client has open.
    private struct StreamRecord {
        /// Where its messages go; nil once the consumer let go (late messages are freed and dropped).
        var receiver: (any StreamReceiver)?
        /// Senders waiting for credit (produce uploads).
        var waiters: [CheckedContinuation<Void, any Error>] = []
        /// The request that opened it.
        var kind: WireMessageKind
    }

    /// Why the connection ended (nil while it has not).
    var endError: StreamKitError? { closed }

    /// Identifies the connection among those of its transport.
    nonisolated let serial: UInt64
    /// The URL, for error messages.
    nonisolated let url: String
    private nonisolated let usable = Atomic<Bool>(true)
    private let mux: MuxConnection
    private let output: AsyncStream<[UInt8]>.Continuation
    private var streams: [UInt64: StreamRecord] = [:]
    private var closed: StreamKitError?
    /// Reads and subscriptions open when the connection ended (``ConnectionEvent/lost(connection:error:reads:subscriptions:)``).
    private(set) var interrupted = (reads: 0, subscriptions: 0)
    private var goingAway = false
    /// The optional features the server agreed on in the hello (requests that need one are refused without it).
    private var features: Set<String> = []

    init(serial: UInt64, url: String, limits: MuxLimits, output: AsyncStream<[UInt8]>.Continuation) {
        self.serial = serial
        self.url = url
        mux = MuxConnection(role: .client, limits: limits, now: .now)
        self.output = output
    }

    /// Whether new streams may open here: false once the connection ended or the server sent go-away.
    nonisolated var isUsable: Bool { usable.load(ordering: .acquiring) }

    /// Streams still open (for tests and diagnostics).
    var openStreamCount: Int { streams.count }

    // MARK: - Streams

    /// Opens a stream with its first request.
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - store: The store it addresses.
    ///   - receiver: Where the answers go.
    ///   - closeAfterOpen: Whether the client's half ends with the request (everything but produce and subscribe).
    ///   - traceparent: The W3C trace context the open frame carries (the client operation's span), if any.
    /// - Returns: The stream id.
    /// - Throws: ``ConnectionUnusable`` when the connection ended or is going away (take another one);
    ///   `overloaded` (retryable) at the stream limit; `limitExceeded` when the request cannot be encoded.
    func open(
        _ request: WireMessage, store: UUID?, receiver: any StreamReceiver, closeAfterOpen: Bool,
        traceparent: String? = nil
    ) throws -> UInt64 {
        guard closed == nil, !goingAway else { throw ConnectionUnusable() }
        // A server without the feature would close the whole connection on a message kind it does not know.
        if case .deleteEntries = request, !features.contains(WireMessage.deleteFeature) {
            throw StreamKitError(
                code: .unsupported, message: "the server at \(url) does not support deleting entries", storeID: store)
        }
        switch request {
        case .getRetention, .setRetention:
            guard features.contains(WireMessage.retentionFeature) else {
                throw StreamKitError(
                    code: .unsupported, message: "the server at \(url) does not support retention policies",
                    storeID: store)
            }
        case .consumerCreate, .consumerQuery, .consumerAck, .consumerDelete:
            guard features.contains(WireMessage.consumersFeature) else {
                throw StreamKitError(
                    code: .unsupported, message: "the server at \(url) does not support durable consumers",
                    storeID: store)
            }
        case .workerWatch:
            guard features.contains(WireMessage.workerWatchFeature) else {
                throw StreamKitError(
                    code: .unsupported, message: "the server at \(url) does not support watching workers",
                    storeID: store)
            }
        default: break
        }
        let (id, frame): (UInt64, [UInt8])
        do throws(StreamKitError) {
            (id, frame) = try mux.openStream(request, store: store, traceparent: traceparent)
        } catch {
            if error.code == .storeUnavailable { throw ConnectionUnusable() }
            throw error.code == .invalidArgument ? Self.tooLarge(request.kind, error) : error
        }
        streams[id] = StreamRecord(receiver: receiver, kind: request.kind)
        emit(frame)
        if closeAfterOpen, let close = mux.close(id) { emit(close) }
        return id
    }

    /// Records the features agreed on in the hello.
    func agree(on features: [String]) { self.features = Set(features) }

    /// Sends a message on a stream, waiting for credit when the server has given none.
    ///
    /// - Throws: The stream's or the connection's error once it ended; `limitExceeded` when the message cannot be
    ///   encoded within the limits.
    func send(_ message: WireMessage, on id: UInt64) async throws {
        while true {
            if let closed { throw closed }
            guard streams[id] != nil else { throw Self.ended(id) }
            if mux.canSend(on: id) {
                do throws(StreamKitError) {
                    emit(try mux.send(message, on: id))
                } catch {
                    throw error.code == .invalidArgument ? Self.tooLarge(message.kind, error) : error
                }
                return
            }
            try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
                if let closed {
                    waiter.resume(throwing: closed)
                } else if streams[id] == nil {
                    waiter.resume(throwing: Self.ended(id))
                } else {
                    streams[id]?.waiters.append(waiter)
                }
            }
        }
    }

    /// Finishes the client's half of a stream (after a produce's last batch, or to end a subscription).
    func finishSending(_ id: UInt64) {
        if let frame = mux.close(id) { emit(frame) }
    }

    /// Ends a subscription: the client's half closes (the server then ends it) and later statuses are dropped.
    func endSubscription(_ id: UInt64) {
        streams[id]?.receiver = nil
        finishSending(id)
        discardIfDone(id)
    }

    /// Abandons a stream: resets it on both sides. Nothing more is delivered for it.
    ///
    /// - Parameters:
    ///   - id: The stream.
    ///   - reason: What the server is told.
    func cancel(
        _ id: UInt64,
        reason: StreamKitError = StreamKitError(code: .storeClosing, message: "the client abandoned the stream")
    ) {
        if let frame = mux.reset(id, error: reason) { emit(frame) }
        drop(id, error: reason)
    }

    /// The consumer took `count` messages of a read: free them and, once half a window is free, grant credit.
    func consumed(_ id: UInt64, count: Int) {
        if let frame = mux.consumed(id, count: count) { emit(frame) }
        discardIfDone(id)
    }

    // MARK: - Transport side

    /// Handles one received WebSocket binary message.
    func receive(_ buffer: ByteBuffer) {
        let actions = buffer.withUnsafeReadableBytes { mux.receive($0, now: .now) }
        perform(actions)
    }

    /// Advances the heartbeat and silence clock.
    func tick() {
        perform(mux.tick(now: .now))
    }

    /// The transport is gone or the client is closing: every stream fails with `error` and the writer stops.
    ///
    /// - Parameters:
    ///   - error: Why.
    ///   - connectionLost: Whether streams may resume elsewhere (false when the client closes).
    func shutdown(_ error: StreamKitError, connectionLost: Bool = true) {
        end(error, reason: connectionLost ? .connectionLost : .server)
    }

    // MARK: - Actions

    private func perform(_ actions: [MuxAction]) {
        // A go-away comes after the resets of the streams it refuses (those above its last stream id, never
        // accepted: safe to send again); what it resets later with a retryable error was lost with the connection.
        var refusedAbove: UInt64?
        for action in actions {
            if case .goAwayReceived(let last, _) = action {
                refusedAbove = last
                goingAway = true
                usable.store(false, ordering: .releasing)
            }
        }
        for action in actions {
            switch action {
            case .send(let frame):
                emit(frame)
            case .message(let id, let message):
                let taken = streams[id]?.receiver?.deliver(message) ?? true
                if taken, let frame = mux.consumed(id) { emit(frame) }
                discardIfDone(id)
            case .streamFinished(let id):
                if let record = streams[id] {
                    record.receiver?.finish()
                    streams[id]?.receiver = nil
                    let failure = Self.ended(id)
                    for waiter in record.waiters { waiter.resume(throwing: failure) }
                    streams[id]?.waiters = []
                }
                discardIfDone(id)
            case .streamReset(let id, let error):
                let reason: StreamFailure =
                    if let refusedAbove, id > refusedAbove {
                        .refused
                    } else if goingAway, error.isRetryable {
                        .connectionLost  // The server fails what it will not finish as it goes away.
                    } else {
                        .server
                    }
                drop(id, error: error, reason: reason)
            case .writable(let id):
                streams[id]?.receiver?.accepted()
                let waiters = streams[id]?.waiters ?? []
                streams[id]?.waiters = []
                for waiter in waiters { waiter.resume() }
            case .streamOpened(let id, _, let request, _):
                let refusal = StreamKitError(
                    code: .invalidArgument, message: "a client accepts no streams (the server opened \(request.kind))")
                if let frame = mux.reset(id, error: refusal) { emit(frame) }
            case .goAwayReceived:
                break  // Handled above.
            case .closeConnection(let error):
                end(error, reason: .connectionLost)
            }
        }
        if goingAway, closed == nil, mux.isDrained {
            end(
                StreamKitError(code: .storeUnavailable, message: "the server at \(url) went away"),
                reason: .connectionLost)
        }
    }

    /// Forgets a stream whose receiver is gone once the mux is done with it.
    private func discardIfDone(_ id: UInt64) {
        guard let record = streams[id], record.receiver == nil, record.waiters.isEmpty else { return }
        if mux.state(of: id) == .closed { streams[id] = nil }
    }

    /// Counts a read or subscription the connection's loss interrupted (it reopens on the next connection).
    private func noteInterrupted(_ record: StreamRecord) {
        switch record.kind {
        case .consumeSegment, .consumeSpace, .consume: interrupted.reads += 1
        case .subscribe: interrupted.subscriptions += 1
        default: break
        }
    }

    private func drop(_ id: UInt64, error: StreamKitError, reason: StreamFailure = .server) {
        guard let record = streams.removeValue(forKey: id) else { return }
        if reason == .connectionLost, record.receiver != nil { noteInterrupted(record) }
        record.receiver?.fail(error, reason: reason)
        for waiter in record.waiters { waiter.resume(throwing: error) }
    }

    private func end(_ error: StreamKitError, reason: StreamFailure) {
        guard closed == nil else { return }
        closed = error
        usable.store(false, ordering: .releasing)
        let records = streams
        streams = [:]
        for record in records.values where record.receiver != nil { noteInterrupted(record) }
        for id in records.keys.sorted() {
            if let frame = mux.reset(id, error: error) { emit(frame) }  // Nil once the mux itself closed.
            records[id]?.receiver?.fail(error, reason: reason)
            for waiter in records[id]?.waiters ?? [] { waiter.resume(throwing: error) }
        }
        output.finish()
    }

    private func emit(_ frame: [UInt8]) {
        output.yield(frame)
    }

    // MARK: - Errors

    private static func ended(_ id: UInt64) -> StreamKitError {
        StreamKitError(code: .storeUnavailable, message: "stream \(id) ended")
    }

    private static func tooLarge(_ kind: WireMessageKind, _ error: StreamKitError) -> StreamKitError {
        StreamKitError(
            code: .limitExceeded, message: "the \(kind) message does not fit the wire limits: \(error.message)")
    }
}
