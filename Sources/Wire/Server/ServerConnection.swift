import FoundationEssentials
import NIOCore
import StreamKitEngine

/// One server-side WebSocket connection: owns the ``MuxConnection`` (role `.server`), turns its actions into
/// outgoing frames, per-stream inboxes and credit waits, and starts one job per opened stream.
///
/// Outgoing frames go, in order, to `output` (a writer task puts them on the WebSocket); stream jobs go to
/// `jobs` (a task group runs them). Every method is synchronous apart from the credit wait in ``send(_:on:)``,
/// so frame order is the order of the calls.
actor ServerConnection {
    /// A stream the server is working on.
    private struct StreamState {
        /// Messages after the opening request (produce uploads); nil for request/response streams.
        var inbox: AsyncThrowingStream<WireMessage, any Error>.Continuation?
        /// Senders waiting for credit.
        var waiters: [CheckedContinuation<Void, any Error>] = []
        /// Called once when the stream ends for any reason (the job's own end included).
        var onEnd: [@Sendable () -> Void] = []
    }

    /// A job for one stream.
    typealias Job = @Sendable () async -> Void

    private let mux: MuxConnection
    private let output: AsyncStream<[UInt8]>.Continuation
    private let jobs: AsyncStream<Job>.Continuation
    private let dispatcher: StreamDispatcher
    /// The stores the connection's caller may open streams on (checked once per stream open).
    private let access: StoreAccess
    private var streams: [UInt64: StreamState] = [:]
    private var closed: StreamKitError?
    /// The optional features agreed with the client in its hello (none until then).
    private(set) var features: Set<String> = []

    init(
        access: StoreAccess, limits: MuxLimits, dispatcher: StreamDispatcher, output: AsyncStream<[UInt8]>.Continuation,
        jobs: AsyncStream<Job>.Continuation
    ) {
        mux = MuxConnection(role: .server, limits: limits, now: .now)
        self.access = access
        self.dispatcher = dispatcher
        self.output = output
        self.jobs = jobs
    }

    // MARK: - Transport side

    /// Records the optional features agreed with the client's hello.
    func agree(on features: [String]) {
        self.features = Set(features)
    }

    /// Handles one received WebSocket binary message.
    func receive(_ buffer: ByteBuffer) {
        let actions = buffer.withUnsafeReadableBytes { mux.receive($0, now: .now) }
        perform(actions)
    }

    /// Advances the heartbeat and silence clock.
    func tick() {
        perform(mux.tick(now: .now))
    }

    /// The transport is gone or the server is stopping: send a goAway (when the mux is still open), then fail
    /// every stream with `error`, and stop the writer and the job queue.
    ///
    /// The server calls this before it cancels the stream jobs, so every frame of the connection's end is queued
    /// before a job can notice the cancellation; the streams are gone by then, and ``finish(_:)`` and
    /// ``fail(_:error:)`` send nothing more. Idempotent: only the first call sends anything.
    func shutdown(_ error: StreamKitError) {
        if closed == nil, let frame = mux.goAway(error: error) { emit(frame) }
        end(error)
    }

    // MARK: - Stream side

    /// Sends a message on a stream, waiting for credit when the peer has given none.
    func send(_ message: WireMessage, on id: UInt64) async throws {
        while true {
            if let closed { throw closed }
            guard streams[id] != nil else {
                throw StreamKitError(code: .storeUnavailable, message: "stream \(id) ended")
            }
            if mux.canSend(on: id) {
                emit(try mux.send(message, on: id))
                return
            }
            try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
                if streams[id] == nil || closed != nil {
                    waiter.resume(throwing: closed ?? StreamKitError(code: .storeUnavailable, message: "ended"))
                } else {
                    streams[id]?.waiters.append(waiter)
                }
            }
        }
    }

    /// The stream's job took one message from its inbox: free it and grant credit.
    func consumed(_ id: UInt64) {
        if let frame = mux.consumed(id) { emit(frame) }
    }

    /// Registers work to do when the stream ends for any reason (peer reset or close, connection loss, the job's
    /// own end); runs it at once when the stream has already ended.
    func onEnd(_ id: UInt64, _ handler: @escaping @Sendable () -> Void) {
        if streams[id] != nil, closed == nil {
            streams[id]?.onEnd.append(handler)
        } else {
            handler()
        }
    }

    /// The stream's job is done: finish the server's half. Nothing once the connection has ended (its end already
    /// failed the stream).
    func finish(_ id: UInt64) {
        guard closed == nil else { return }
        if let frame = mux.close(id) { emit(frame) }
        drop(id, error: nil)
    }

    /// The stream's job failed: end the stream with a typed error. Nothing once the connection has ended: its end
    /// already failed the stream (after the goAway, on a server shutdown), and a job that stops because the
    /// connection ended must not answer for it.
    func fail(_ id: UInt64, error: StreamKitError) {
        guard closed == nil else { return }
        if let frame = mux.reset(id, error: error) { emit(frame) }
        drop(id, error: error)
    }

    // MARK: - Actions

    private func perform(_ actions: [MuxAction]) {
        for action in actions {
            switch action {
            case .send(let frame):
                emit(frame)
            case .streamOpened(let id, let store, let request, let traceparent):
                opened(id, store: store, request: request, traceparent: traceparent)
            case .message(let id, let message):
                if let inbox = streams[id]?.inbox {
                    inbox.yield(message)
                } else {
                    if let frame = mux.reset(
                        id,
                        error: StreamKitError(
                            code: .invalidArgument, message: "stream \(id) takes no messages after its request"))
                    {
                        emit(frame)
                    }
                    drop(id, error: StreamKitError(code: .invalidArgument, message: "unexpected message"))
                }
            case .streamFinished(let id):
                // The client sends no more: a produce's inbox ends, a subscription stops.
                streams[id]?.inbox?.finish()
                streams[id]?.inbox = nil
                let handlers = streams[id]?.onEnd ?? []
                streams[id]?.onEnd = []
                for handler in handlers { handler() }
            case .streamReset(let id, let error):
                drop(id, error: error)
            case .writable(let id):
                let waiters = streams[id]?.waiters ?? []
                streams[id]?.waiters = []
                for waiter in waiters { waiter.resume() }
            case .goAwayReceived:
                break  // The server opens no streams.
            case .closeConnection(let error):
                end(error)
            }
        }
    }

    private func opened(_ id: UInt64, store: UUID?, request: WireMessage, traceparent: String?) {
        if let store, !access.allows(store) {  // Before any job: only this stream ends (nil store: connection-level).
            let error = StreamKitError(
                code: .forbidden, message: "the token does not grant store \(store)", storeID: store)
            if let frame = mux.reset(id, error: error) { emit(frame) }
            return
        }
        if let store, request.deletesEntries, !access.allowsDeletion(in: store) {
            let error = StreamKitError(
                code: .forbidden, message: "the token does not grant deleting entries of store \(store)", storeID: store
            )
            if let frame = mux.reset(id, error: error) { emit(frame) }
            return
        }
        if let frame = mux.consumed(id) { emit(frame) }
        let open = StreamOpen(store: store, request: request, traceparent: traceparent)
        var state = StreamState()
        var inbox: AsyncThrowingStream<WireMessage, any Error>?
        if case .produceOpen = request {
            let (stream, continuation) = AsyncThrowingStream<WireMessage, any Error>.makeStream()
            state.inbox = continuation
            inbox = stream
        }
        streams[id] = state
        let dispatcher = dispatcher
        jobs.yield { [self, inbox] in
            await dispatcher.run(open, streamID: id, inbox: inbox, connection: self)
        }
    }

    private func drop(_ id: UInt64, error: StreamKitError?) {
        guard let state = streams.removeValue(forKey: id) else { return }
        let failure = error ?? StreamKitError(code: .storeUnavailable, message: "stream \(id) ended")
        state.inbox?.finish(throwing: failure)
        for waiter in state.waiters { waiter.resume(throwing: failure) }
        for handler in state.onEnd { handler() }
    }

    private func end(_ error: StreamKitError) {
        guard closed == nil else { return }
        closed = error
        for id in streams.keys.sorted() {
            if let frame = mux.reset(id, error: error) { emit(frame) }  // Nil once the mux itself closed.
            drop(id, error: error)
        }
        output.finish()
        jobs.finish()
    }

    private func emit(_ frame: [UInt8]) {
        output.yield(frame)
    }
}
