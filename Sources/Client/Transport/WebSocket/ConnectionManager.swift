import Logging
import NIOCore
import StreamKitEngine
import StreamKitWire
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The WebSocket transport's connections: dials on demand, shares one dial among concurrent callers, and
/// reconnects in the background with backoff after a connection is lost.
///
/// - ``connection()`` is the open path: the live connection, or the result of a dial (joined, or started at once).
///   Its failure is what the client's retry policy retries.
/// - ``reconnected()`` is for what must survive outages (subscriptions): it waits, without a deadline, until the
///   background loop has a connection, and fails only for a permanent error (such as `unauthorized`), close or
///   cancellation.
///
/// The token provider is called on every dial. An HTTP 401 (without `retryAuthFailures`) or another permanent
/// refusal stops the background loop until the next call dials again.
actor ConnectionManager {
    private struct Live {
        let connection: ClientConnection
        let session: Task<Void, Never>
    }

    private let options: WebSocketOptions
    private let dialer: WebSocketDialer
    private let logger: Logger
    private let backoff: RetryPolicy
    private var current: ClientConnection?
    /// Every connection still running (a replaced one may still drain its streams).
    private var sessions: [UInt64: Live] = [:]
    private var dialing: Task<ClientConnection, any Error>?
    private var reconnecting: Task<Void, Never>?
    private var waiters: [UInt64: CheckedContinuation<ClientConnection, any Error>] = [:]
    private var nextSerial: UInt64 = 0
    private var nextWaiter: UInt64 = 0
    private var closed = false
    private nonisolated let closedFlag = Atomic<Bool>(false)
    private var closing: Task<Void, Never>?
    /// Dials made so far (tests).
    private(set) var dialCount = 0
    /// Connections established so far: every one after the first is a reconnect.
    private var connectionsMade = 0
    /// Connections established whose end has not been reported yet.
    private var established: Set<UInt64> = []
    /// A connection established after a loss whose report had not come yet (``ConnectionEvent`` order).
    private var establishedBeforeLossReport: UInt64?
    /// Background reconnect attempts that failed so far (tests).
    private(set) var failedReconnects = 0
    /// When the current connection was lost and what it interrupted, until the next one is established.
    private var lastLoss: (at: ContinuousClock.Instant, reads: Int, subscriptions: Int)?
    /// Listeners of ``ConnectionEvent``s.
    nonisolated let events = ConnectionEvents()
    /// Called for every connection established after the first (the client counts reconnects).
    private let onReconnect: @Sendable () -> Void
    /// Makes a negotiated connection; `nil` dials the WebSocket server of `options` (tests hand in their own).
    private let connect: (@Sendable () async throws -> ClientConnection)?

    init(
        options: WebSocketOptions, logger: Logger, onReconnect: @escaping @Sendable () -> Void = {},
        connect: (@Sendable () async throws -> ClientConnection)? = nil
    ) {
        self.options = options
        self.logger = logger
        self.onReconnect = onReconnect
        self.connect = connect
        dialer = WebSocketDialer(
            url: options.url, tls: options.tls, limits: options.limits, connectTimeout: options.connectTimeout,
            retryAuthFailures: options.retryAuthFailures)
        backoff = RetryPolicy(
            maxAttempts: .max, initialBackoff: options.reconnectInitialBackoff,
            maxBackoff: options.reconnectMaxBackoff, multiplier: 2, jitter: 0.2)
    }

    /// Whether ``close()`` has begun: opens stop retrying.
    nonisolated var isClosing: Bool { closedFlag.load(ordering: .acquiring) }

    /// Tasks of the transport still running: connection sessions, a dial, the reconnect loop (0 after close).
    var runningTaskCount: Int {
        sessions.count + (dialing == nil ? 0 : 1) + (reconnecting == nil ? 0 : 1)
    }

    /// The connection currently used for new streams, if it is up (tests).
    var currentConnection: ClientConnection? {
        current.flatMap { $0.isUsable ? $0 : nil }
    }

    // MARK: - Getting a connection

    /// The live connection, or a new one: joins the dial in flight or starts one at once.
    ///
    /// - Throws: The dial's `StreamKitError` (`storeUnavailable` for an unreachable server, `unauthorized` …);
    ///   `storeClosing` after close.
    func connection() async throws -> ClientConnection {
        guard !closed else { throw StreamKitError.clientClosed() }
        if let current, current.isUsable { return current }
        return try await dial()
    }

    /// Waits until a connection is up, reconnecting in the background with backoff for as long as it takes.
    ///
    /// - Throws: A permanent dial error (`unauthorized`, `forbidden` …), `storeClosing` after close,
    ///   `CancellationError` when the waiting task is cancelled.
    func reconnected() async throws -> ClientConnection {
        guard !closed else { throw StreamKitError.clientClosed() }
        if let current, current.isUsable { return current }
        startReconnecting()
        nextWaiter += 1
        let id = nextWaiter
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<ClientConnection, any Error>) in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else if closed {
                    continuation.resume(throwing: StreamKitError.clientClosed())
                } else if let current, current.isUsable {
                    continuation.resume(returning: current)
                } else {
                    waiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func cancelWaiter(_ id: UInt64) {
        waiters.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }

    // MARK: - Dialling

    private func dial() async throws -> ClientConnection {
        if let dialing { return try await dialing.value }
        let task = Task { try await self.dialOnce() }
        dialing = task
        defer { dialing = nil }
        return try await task.value
    }

    private func dialOnce() async throws -> ClientConnection {
        dialCount += 1
        let connection: ClientConnection
        if let connect {
            connection = try await connect()
        } else {
            connection = try await connectWebSocket()
        }
        current = connection
        connectionsMade += 1
        established.insert(connection.serial)
        if connectionsMade > 1 {
            onReconnect()
            if let loss = lastLoss {
                lastLoss = nil
                events.yield(
                    .reestablished(
                        connection: connection.serial, downtime: ContinuousClock.now - loss.at,
                        resumedReads: loss.reads,
                        resubscriptions: loss.subscriptions))
            } else if established.count > 1 {
                establishedBeforeLossReport = connection.serial  // The old connection's end is still on its way.
            }
            logger.info("reconnected", metadata: ["url": "\(options.url)", "connection": "\(connection.serial)"])
        } else {
            logger.info("connected", metadata: ["url": "\(options.url)", "connection": "\(connection.serial)"])
        }
        if connection.isUsable {  // Else the reconnect loop goes on, and its waiters wait for the next one.
            let ready = waiters
            waiters = [:]
            for waiter in ready.values { waiter.resume(returning: connection) }
        }
        return connection
    }

    /// Dials the server, starts the connection's session and negotiates the protocol version.
    private func connectWebSocket() async throws -> ClientConnection {
        let token: String?
        do {
            token = try await options.token()
        } catch let error as StreamKitError {
            throw error
        } catch {
            throw StreamKitError(code: .storeUnavailable, message: "the token provider failed: \(error)")
        }
        let channel = try await dialer.dial(token: token)
        guard !closed else {
            channel.channel.close(promise: nil)
            throw StreamKitError.clientClosed()
        }
        nextSerial += 1
        let (output, continuation) = AsyncStream<[UInt8]>.makeStream()
        let connection = ClientConnection(
            serial: nextSerial, url: options.url, limits: options.limits, output: continuation)
        let tickInterval = options.tickInterval
        let session = Task {
            await WebSocketSession.run(channel, connection: connection, output: output, tickInterval: tickInterval)
            let (interrupted, error) = (await connection.interrupted, await connection.endError)
            self.ended(connection, interrupted: interrupted, error: error)
        }
        sessions[connection.serial] = Live(connection: connection, session: session)
        do {
            try await Self.negotiate(on: connection)
        } catch {
            await connection.shutdown(
                StreamKitError(code: .storeUnavailable, message: "the version negotiation failed"),
                connectionLost: false)
            throw error
        }
        return connection
    }

    /// Exchanges hellos on a fresh connection (`docs/protocol.md` §3): the server must speak a version this
    /// build implements.
    ///
    /// - Throws: `invalidArgument` (not retryable) when the two share no version; the connection's error when it
    ///   ends first.
    private static func negotiate(on connection: ClientConnection) async throws {
        let local = WireHello(
            features: [
                "trace-context", StoredEntries.feature, WireMessage.deleteFeature, WireMessage.retentionFeature,
                WireMessage.consumersFeature, WireMessage.workerWatchFeature,
            ])
        let inbox = StreamInbox(autoConsume: true)
        do {
            _ = try await connection.open(.hello(local), store: nil, receiver: inbox, closeAfterOpen: true)
        } catch is ConnectionUnusable {
            throw StreamKitError(
                code: .storeUnavailable, message: "the connection ended during the version negotiation")
        }
        switch try await inbox.next() {
        case .message(.hello(let remote)):
            let agreed: WireNegotiation
            do {
                agreed = try WireHello.negotiate(local: local, remote: remote)
            } catch {
                throw StreamKitError(code: .invalidArgument, message: error.message)
            }
            await connection.agree(on: agreed.features)
        case .message(let other):
            throw StreamKitError(code: .invalidArgument, message: "the server answered the hello with \(other.kind)")
        case .failed(let error):
            throw error
        case .lost(let error), .refused(let error):
            throw error
        case .finished:
            throw StreamKitError(code: .invalidArgument, message: "the server did not answer the hello")
        }
    }

    /// A session ended: forget it, and reconnect in the background when it was the current connection.
    private func ended(
        _ connection: ClientConnection, interrupted: (reads: Int, subscriptions: Int), error: StreamKitError?
    ) {
        sessions[connection.serial] = nil
        guard !closed else { return }
        if established.remove(connection.serial) != nil {
            // Reported for every connection that was up, in order: a reconnect that beat this report waits for it.
            events.yield(
                .lost(
                    connection: connection.serial, error: error.map { "\($0)" } ?? "connection lost",
                    reads: interrupted.reads, subscriptions: interrupted.subscriptions))
            if let early = establishedBeforeLossReport {
                establishedBeforeLossReport = nil
                events.yield(
                    .reestablished(
                        connection: early, downtime: .zero, resumedReads: interrupted.reads,
                        resubscriptions: interrupted.subscriptions))
            } else {
                lastLoss = (ContinuousClock.now, interrupted.reads, interrupted.subscriptions)
            }
        }
        if current === connection || current?.isUsable == false {
            current = nil
            logger.warning(
                "connection lost; reconnecting",
                metadata: ["url": "\(options.url)", "connection": "\(connection.serial)"])
            startReconnecting()
        }
    }

    private func startReconnecting() {
        guard reconnecting == nil, !closed else { return }
        reconnecting = Task { await self.reconnectLoop() }
    }

    private func reconnectLoop() async {
        var failures = 0
        while !closed, !Task.isCancelled {
            if let current, current.isUsable {
                let ready = waiters
                waiters = [:]
                for waiter in ready.values { waiter.resume(returning: current) }
                break
            }
            do {
                // A dial can hand back a connection that is already lost (another caller's dial, finished but not
                // yet cleared from `dialing` because that caller waits for this actor): going round again at once
                // would get it again without ever suspending, and spin on the actor forever (seen in tests as a
                // process stuck at 100% CPU). Such a connection counts as a failed attempt, with its back-off.
                guard try await dial().isUsable else {
                    throw StreamKitError(code: .storeUnavailable, message: "the new connection was lost at once")
                }
                continue  // Resumes the waiters above.
            } catch let error as StreamKitError where !error.isRetryable {
                logger.error(
                    "reconnecting stopped", metadata: ["url": "\(options.url)", "error": "\(error)"])
                let failed = waiters
                waiters = [:]
                for waiter in failed.values { waiter.resume(throwing: error) }
                break
            } catch {
                failures += 1
                failedReconnects += 1
                let delay = backoff.delay(beforeRetry: failures)
                logger.warning(
                    "reconnect failed",
                    metadata: [
                        "url": "\(options.url)", "attempt": "\(failures)", "retry_in_ms": "\(delay / .milliseconds(1))",
                        "error": "\(error)",
                    ])
                do { try await Task.sleep(for: delay) } catch { break }
            }
        }
        reconnecting = nil
    }

    // MARK: - Closing

    /// Stops reconnecting, fails waiters and every stream with `storeClosing`, closes every socket and waits for
    /// all of it. Idempotent: later calls wait for the first.
    func close() async {
        if let closing {
            await closing.value
            return
        }
        events.finish()
        closed = true
        closedFlag.store(true, ordering: .releasing)
        let task = Task { await self.shutDown() }
        closing = task
        await task.value
    }

    private func shutDown() async {
        reconnecting?.cancel()
        let failed = waiters
        waiters = [:]
        for waiter in failed.values { waiter.resume(throwing: StreamKitError.clientClosed()) }
        current = nil
        _ = try? await dialing?.value
        await reconnecting?.value
        let live = sessions
        for session in live.values {
            await session.connection.shutdown(StreamKitError.clientClosed(), connectionLost: false)
        }
        for session in live.values { await session.session.value }
        sessions = [:]
    }
}
