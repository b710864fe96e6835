public import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
public import ServiceLifecycle
public import StreamKitEngine
import Synchronization

/// The StreamKit WebSocket server: fronts a `StoreRegistry` over multiplexed WebSocket connections.
///
/// `GET <path>` (default `/streamkit`) upgrades to a WebSocket; every binary message is one mux frame
/// (`docs/protocol.md` §7) and each connection runs one ``MuxConnection`` in the server role. Every stream
/// opens with a mux open frame naming the store and carrying the request.
///
/// The opening handshake is checked as RFC 6455 §4.2.1 says before anything else: another path is answered 404,
/// another method 405, a malformed handshake 400, and a `Sec-WebSocket-Version` other than 13 gets 426 with
/// `Sec-WebSocket-Version: 13` (`docs/protocol.md`, Opening handshake). A connection that has not completed its
/// upgrade within the configuration's `upgradeTimeout` is closed, and one beyond `maxConnections` open at once is
/// answered 503 (`docs/protocol.md`, Admission).
///
/// Callers are checked once per upgrade as the configuration's ``ServerAuthentication`` says: a missing or
/// invalid `Authorization: Bearer <JWT>` is refused with HTTP 401, and a stream opened on a store the token
/// does not grant ends with `forbidden` (`docs/protocol.md`, Authentication).
public final class StreamKitServer: Service, Sendable {
    /// Server settings.
    public struct Configuration: Sendable {
        /// How callers are checked. Has no default: ``ServerAuthentication/none`` must be written out.
        public var authentication: ServerAuthentication
        /// The address to listen on. Default 127.0.0.1.
        public var host: String
        /// The port; 0 picks a free one (see ``StreamKitServer/start()``). Default 7420.
        public var port: Int
        /// The HTTP path that upgrades to the StreamKit WebSocket. Default `/streamkit`.
        public var path: String
        /// Multiplexing limits and heartbeat timing of each connection.
        public var limits: MuxLimits
        /// How often each connection's heartbeat and silence clock advance. Default 1 s.
        public var tickInterval: Duration
        /// Most entries per `entries` message of a read (at most the codec's `maxBatchCount`). Default 256.
        public var entriesPerBatch: Int
        /// Bytes after which a read's `entries` message is cut: the entry that would take it over starts the
        /// next one, and an entry larger than this goes alone. No message is ever larger than one mux frame
        /// carries (`limits`), whatever this says. Default 1 MiB.
        public var bytesPerBatch: Int
        /// How long a new connection has to complete its WebSocket upgrade (request read, token checked, `101`
        /// sent); one that has not by then (idle, a partial request, a client trickling its headers) is closed
        /// without an answer. Default 10 s.
        public var upgradeTimeout: Duration
        /// Most TCP connections open at once, upgraded or not. One more is answered `503 Service Unavailable`
        /// with `Retry-After: 1` at once and closed. Keep it under the process's file descriptor limit, with room
        /// for the stores' files. Default 512.
        public var maxConnections: Int
        /// TLS: when set, the server speaks only TLS (clients dial `wss://`), with this certificate and key, read
        /// by ``StreamKitServer/start()``. The TLS handshake counts in ``upgradeTimeout``. Default nil (plain
        /// `ws://`; keep it to loopback or behind a TLS proxy, since tokens cross in clear).
        public var tls: ServerTLS? = nil
        /// When set, `GET /metrics` on the server's port answers with what it returns: the Prometheus text
        /// exposition of the process's metrics (`streamkit serve` bootstraps swift-prometheus and sets it). Served
        /// without a token, like the health probes. Default nil: `/metrics` is 404.
        public var metricsExporter: (@Sendable () -> [UInt8])? = nil
        /// Called by ``StreamKitServer/run()`` once the server listens, with the bound port (the chosen one when
        /// ``port`` is 0), before it serves. Default nil.
        public var onServerRunning: (@Sendable (Int) async -> Void)? = nil
        /// Where the server logs: lifecycle at info, failed streams (internal errors) at error, connections,
        /// refused tokens and streams ended by typed errors at debug. Default label `streamkit.server`.
        public var logger: Logger

        /// Creates settings; every argument but `authentication` has a safe default.
        public init(
            authentication: ServerAuthentication, host: String = "127.0.0.1", port: Int = 7420,
            path: String = "/streamkit", limits: MuxLimits = MuxLimits(), tickInterval: Duration = .seconds(1),
            entriesPerBatch: Int = 256, bytesPerBatch: Int = 1 << 20, upgradeTimeout: Duration = .seconds(10),
            maxConnections: Int = 512, logger: Logger = Logger(label: "streamkit.server")
        ) {
            self.authentication = authentication
            self.host = host
            self.port = port
            self.path = path
            self.limits = limits
            self.tickInterval = tickInterval
            self.entriesPerBatch = max(1, entriesPerBatch)
            self.bytesPerBatch = max(1, bytesPerBatch)
            self.upgradeTimeout = upgradeTimeout
            self.maxConnections = max(1, maxConnections)
            self.logger = logger
        }
    }

    private enum Upgrade: Sendable {
        case webSocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, StoreAccess)
        case refused
    }

    /// Where the server is in its life. `idle` → `starting` (``start()`` binds) → `running` → `stopped`; a
    /// ``shutdown()`` during `starting` records itself and waits: `start` then closes what it bound, resumes it and
    /// throws, so nothing listens after `shutdown` returns, whenever it came.
    private enum Phase {
        case idle
        /// Binding; the shutdowns that arrived meanwhile wait for the start to give up.
        case starting(shutdowns: [CheckedContinuation<Void, Never>])
        case running(channel: any Channel, acceptTask: Task<Void, Never>)
        case stopped
    }

    /// The registry whose stores are served.
    public let registry: StoreRegistry
    /// The settings.
    public let configuration: Configuration
    private let phase = Mutex<Phase>(.idle)
    private let group: MultiThreadedEventLoopGroup
    /// The open connections, against `configuration.maxConnections`.
    private let slots: ConnectionSlots
    /// The connections not upgraded yet, which a shutdown closes at once.
    private let pending = PendingUpgrades()
    /// The readiness check running now, and the last answer with when it came (store clock): see ``readiness()``.
    private let readinessChecks = Mutex<(running: Task<String?, Never>?, last: (answer: String?, at: UInt64)?)>(
        (nil, nil))

    /// TCP connections open now, upgraded or not.
    package var openConnectionCount: Int { slots.count }

    /// Creates a server; nothing listens until ``start()`` or ``run()``.
    ///
    /// - Parameters:
    ///   - registry: The stores to serve.
    ///   - configuration: How callers are checked, where to listen and the connection limits.
    public init(registry: StoreRegistry, configuration: Configuration) {
        self.registry = registry
        self.configuration = configuration
        group = .singleton
        slots = ConnectionSlots(limit: configuration.maxConnections)
    }

    /// Binds and starts accepting connections in the background.
    ///
    /// - Returns: The bound port (the chosen one when the configuration's port is 0).
    /// - Throws: The bind error (the server may be started again); `invalidArgument` when the server was already
    ///   started or shut down, or when the authentication settings are unusable (an empty HMAC secret, a PEM that is
    ///   no supported public key) or the TLS certificate or key cannot be read; `storeClosing` when ``shutdown()``
    ///   came while it was binding (what it bound is closed before that shutdown returns).
    public func start() async throws -> Int {
        let idle = phase.withLock { phase -> Bool in
            guard case .idle = phase else { return false }
            phase = .starting(shutdowns: [])
            return true
        }
        guard idle else {
            throw StreamKitError(code: .invalidArgument, message: "the server was already started or shut down")
        }
        let server: NIOAsyncChannel<EventLoopFuture<Upgrade>, Never>
        do {
            server = try await bind(
                verifier: TokenVerifier.make(configuration.authentication), tls: configuration.tls?.makeContext())
        } catch {
            for waiter in giveUpStarting() { waiter.resume() }
            throw error
        }
        let port = server.channel.localAddress?.port ?? configuration.port
        let task = Task { [self] in await accept(server) }
        let shutdowns = phase.withLock { phase -> [CheckedContinuation<Void, Never>]? in
            guard case .starting(let shutdowns) = phase else {
                phase = .stopped
                return []
            }
            if !shutdowns.isEmpty {
                phase = .stopped
                return shutdowns
            }
            phase = .running(channel: server.channel, acceptTask: task)
            return nil
        }
        if let shutdowns {  // Shut down while binding: close what was bound before the shutdowns return.
            try? await server.channel.close()
            pending.closeAll()
            task.cancel()
            await task.value
            for waiter in shutdowns { waiter.resume() }
            throw StreamKitError(code: .storeClosing, message: "the server was shut down while it started")
        }
        configuration.logger.info(
            "server listening",
            metadata: [
                "host": "\(configuration.host)", "port": "\(port)", "path": "\(configuration.path)",
                "authentication": "\(configuration.authentication.kindName)",
            ])
        return port
    }

    /// Runs the server as a swift-service-lifecycle `Service`: starts it (see ``start()``), serves until the
    /// graceful shutdown of its `ServiceGroup`, the cancellation of the calling task, or a ``shutdown()`` from
    /// elsewhere, then shuts it down (as ``shutdown()`` says: clients get a goAway and recover) and returns.
    ///
    /// In a group, put the `StoreRegistry` before the server: the group shuts its services down in reverse
    /// order, so the server stops before the stores close. ``Configuration/onServerRunning`` tells the bound port.
    ///
    /// - Throws: What ``start()`` throws.
    public func run() async throws {
        let port = try await start()
        let acceptTask = phase.withLock { phase -> Task<Void, Never>? in
            guard case .running(_, let acceptTask) = phase else { return nil }
            return acceptTask
        }
        guard let acceptTask else { return }  // Shut down from elsewhere already.
        await configuration.onServerRunning?(port)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await gracefulShutdown() }  // Graceful shutdown, or cancellation (throws).
            group.addTask { await acceptTask.value }  // A shutdown() from elsewhere.
            await group.next()
            await self.shutdown()  // Ends the accept task, if it was the graceful shutdown.
            group.cancelAll()  // Ends the wait for a graceful shutdown, if it was the accept task.
        }
    }

    /// Stops accepting, ends every connection, and waits until they are closed.
    ///
    /// Each connection first sends its goAway, then fails its streams in flight with the retryable
    /// `storeUnavailable`, and only then stops their work, so a client sees the goAway before any stream's error
    /// and recovers (reads resume, subscriptions subscribe again) instead of taking the error as final. The last
    /// frames are written (2 s at most: a peer that reads nothing cannot hold the shutdown) before the socket closes.
    public func shutdown() async {
        enum Step {
            case none
            case waitForStart
            case close(any Channel, Task<Void, Never>)
        }
        let step = phase.withLock { phase -> Step in
            switch phase {
            case .idle, .stopped:
                phase = .stopped
                return .none
            case .starting(let shutdowns):
                phase = .starting(shutdowns: shutdowns)
                return .waitForStart
            case .running(let channel, let acceptTask):
                phase = .stopped
                return .close(channel, acceptTask)
            }
        }
        let channel: (any Channel)?
        let task: Task<Void, Never>?
        switch step {
        case .none:
            return
        case .waitForStart:
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let registered = phase.withLock { phase -> Bool in
                    guard case .starting(var shutdowns) = phase else { return false }  // Settled meanwhile: see below.
                    shutdowns.append(waiter)
                    phase = .starting(shutdowns: shutdowns)
                    return true
                }
                if !registered { waiter.resume() }
            }
            // The start gave up and closed what it bound, or it finished first and is running: stop it then.
            let running = phase.withLock { phase -> (any Channel, Task<Void, Never>)? in
                guard case .running(let channel, let acceptTask) = phase else {
                    phase = .stopped
                    return nil
                }
                phase = .stopped
                return (channel, acceptTask)
            }
            guard let running else { return }
            (channel, task) = (running.0, running.1)
        case .close(let running, let acceptTask):
            (channel, task) = (running, acceptTask)
        }
        try? await channel?.close()
        pending.closeAll()
        task?.cancel()
        await task?.value
        if channel != nil { configuration.logger.info("server stopped") }
    }

    // MARK: - Listening

    /// The start failed: back to stopped; the shutdowns that waited for it go on.
    private func giveUpStarting() -> [CheckedContinuation<Void, Never>] {
        phase.withLock { phase in
            guard case .starting(let shutdowns) = phase else {
                phase = .stopped
                return []
            }
            phase = shutdowns.isEmpty ? .idle : .stopped
            return shutdowns
        }
    }

    /// Whether the readiness probe answers 200: nil when the server is running (started, not shutting down) and
    /// the registry's backend answers (`StoreRegistry.checkReadiness()`), else why not.
    ///
    /// The probe needs no token, so the backend is asked at most once per ``readinessReuse`` (on the store clock):
    /// probes that come while a check runs wait for it, and those that come soon after get its answer. A flood of
    /// probes costs the database one round trip a second, not one pooled connection per probe.
    func readiness() async -> String? {
        guard isListening else { return "the server is not running" }
        enum Step {
            case answer(String?)
            case wait(Task<String?, Never>)
        }
        let clock = registry.configuration.store.clock
        let step = readinessChecks.withLock { checks -> Step in
            if let last = checks.last, clock.now() &- last.at < Self.readinessReuse { return .answer(last.answer) }
            if let running = checks.running { return .wait(running) }
            let task = Task { [registry] in await Self.checkBackend(registry) }
            checks.running = task
            return .wait(task)
        }
        let task: Task<String?, Never>
        switch step {
        case .answer(let answer): return answer
        case .wait(let running): task = running
        }
        let answer = await task.value
        readinessChecks.withLock { checks in
            guard checks.running == task else { return }
            checks.running = nil
            checks.last = (answer, clock.now())
        }
        return answer
    }

    /// How long (nanoseconds on the store clock) a readiness answer is reused: 1 s.
    static let readinessReuse: UInt64 = 1_000_000_000

    /// The registry's readiness as the probe says it: nil, or the error.
    private static func checkBackend(_ registry: StoreRegistry) async -> String? {
        do {
            try await registry.checkReadiness()
            return nil
        } catch let error as StreamKitError {
            return "\(error.code): \(error.message)"
        } catch {
            return "\(error)"
        }
    }

    /// Whether the server is listening (for tests).
    package var isListening: Bool {
        phase.withLock { phase in
            if case .running = phase { return true }
            return false
        }
    }

    private func bind(
        verifier: TokenVerifier, tls: NIOSSLContext?
    ) async throws
        -> NIOAsyncChannel<EventLoopFuture<Upgrade>, Never>
    {
        let path = configuration.path
        let metricsExporter = configuration.metricsExporter
        let maxFrame = configuration.limits.maxFrameBytes
        let logger = configuration.logger
        let slots = slots
        let pending = pending
        let timeout = configuration.upgradeTimeout
        let upgradeTimeout = TimeAmount(timeout)
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // With TLS everything below, a refusal included, goes over it.
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    guard slots.take() else {
                        Counter(label: "streamkit_server_connections_refused_total").increment()
                        if slots.shouldWarnOfRefusal() {
                            logger.warning(
                                """
                                connection refused with 503: \(slots.limit) connections are open, the limit; \
                                refusals in the next minute are only counted \
                                (streamkit_server_connections_refused_total)
                                """)
                        }
                        try channel.pipeline.syncOperations.addHandler(
                            OverCapacityResponder(limit: slots.limit, grace: min(upgradeTimeout, .seconds(1))))
                        return channel.eventLoop.makeSucceededFuture(Upgrade.refused)
                    }
                    // Until the upgrade completes: idle sockets and slow partial requests must not hold a slot, nor
                    // a shutdown.
                    let deadline = channel.eventLoop.scheduleTask(in: upgradeTimeout) {
                        Counter(label: "streamkit_server_upgrade_timeouts_total").increment()
                        logger.debug("connection closed: no upgrade within \(timeout)")
                        channel.close(promise: nil)
                    }
                    channel.closeFuture.whenComplete { _ in
                        slots.release()
                        deadline.cancel()
                        pending.remove(channel)
                    }
                    if !pending.add(channel) { channel.close(promise: nil) }  // The server is shutting down.
                    let gate = UpgradeGate()  // This connection's authentication outcome.
                    let upgrader = NIOTypedWebSocketServerUpgrader<Upgrade>(
                        maxFrameSize: maxFrame,
                        shouldUpgrade: { channel, head in
                            // `UpgradeValidator` passed only a well-formed upgrade of `path`: the token is left.
                            guard verifier.checksTokens else {
                                gate.allow(.all)
                                return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
                            }
                            // Once per upgrade, off the event loop: nil (no upgrade) answers 401 below.
                            let authorization = head.headers["Authorization"]
                            let promise = channel.eventLoop.makePromise(of: HTTPHeaders?.self)
                            promise.completeWithTask {
                                do {
                                    gate.allow(try await verifier.access(authorization: authorization))
                                    return HTTPHeaders()
                                } catch {
                                    gate.refuse()
                                    Counter(label: "streamkit_server_auth_refused_total").increment()
                                    logger.debug("upgrade refused: \(error)")
                                    return nil
                                }
                            }
                            return promise.futureResult
                        },
                        upgradePipelineHandler: { channel, _ in
                            // Upgraded: the mux's heartbeat watches the connection from now on, and a shutdown
                            // ends it through its goAway.
                            deadline.cancel()
                            pending.remove(channel)
                            return channel.eventLoop.makeCompletedFuture {
                                guard let access = gate.access else {
                                    throw StreamKitError(
                                        code: .unauthorized, message: "upgrade without a verified caller")
                                }
                                try channel.pipeline.syncOperations.addHandler(
                                    NIOWebSocketFrameAggregator(
                                        minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024,
                                        maxAccumulatedFrameSize: maxFrame))
                                return Upgrade.webSocket(
                                    try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                                        wrappingChannelSynchronously: channel),
                                    access)
                            }
                        })
                    let configuration = NIOTypedHTTPServerUpgradeConfiguration<Upgrade>(
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            channel.eventLoop.makeCompletedFuture {
                                let responder =
                                    gate.isUnauthorized
                                    ? RefusalResponder(
                                        HTTPRefusal(
                                            .unauthorized, headers: [("WWW-Authenticate", "Bearer")],
                                            reason: "a valid bearer token is required"),
                                        atOnce: true)
                                    : RefusalResponder(
                                        HTTPRefusal(.badRequest, reason: "not a WebSocket upgrade"), atOnce: false)
                                try channel.pipeline.syncOperations.addHandler(responder)
                                return Upgrade.refused
                            }
                        })
                    let operations = channel.pipeline.syncOperations
                    let upgraded = try operations.configureUpgradableHTTPServerPipeline(
                        configuration: .init(upgradeConfiguration: configuration))
                    // RFC 6455 §4.2 checks with the right status codes, before NIO's upgrader sees the request.
                    try operations.addHandler(
                        UpgradeValidator(
                            path: path, logger: logger,
                            readiness: { [weak self] in
                                guard let self else { return "the server is gone" }
                                return await self.readiness()
                            },
                            metrics: metricsExporter),
                        position: .before(operations.handler(type: NIOTypedHTTPServerUpgradeHandler<Upgrade>.self)))
                    // After the 400 that NIO's protocol error handler writes for an unparsable request: close.
                    try operations.addHandler(
                        ParserErrorCloser(),
                        position: .after(operations.handler(type: HTTPServerProtocolErrorHandler.self)))
                    return upgraded
                }
            }
    }

    private func accept(_ server: NIOAsyncChannel<EventLoopFuture<Upgrade>, Never>) async {
        await withDiscardingTaskGroup { group in
            do {
                try await server.executeThenClose { inbound in
                    for try await upgrade in inbound {
                        group.addTask { [self] in
                            guard case .webSocket(let channel, let access)? = try? await upgrade.get() else { return }
                            await serve(channel, access: access)
                        }
                    }
                }
            } catch {
                // The listener failed or was closed; connections still end below.
            }
            group.cancelAll()
        }
    }

    // MARK: - Connections

    private func serve(_ channel: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, access: StoreAccess) async {
        let (output, outputContinuation) = AsyncStream<[UInt8]>.makeStream()
        let (jobs, jobsContinuation) = AsyncStream<ServerConnection.Job>.makeStream()
        let connection = ServerConnection(
            access: access, limits: configuration.limits,
            dispatcher: StreamDispatcher(
                registry: registry,
                batchLimits: EntryBatchLimits(
                    entriesPerBatch: configuration.entriesPerBatch, batchBytes: configuration.bytesPerBatch,
                    limits: configuration.limits),
                logger: configuration.logger),
            output: outputContinuation, jobs: jobsContinuation)
        let tickInterval = configuration.tickInterval
        Counter(label: "streamkit_server_connections_total").increment()
        configuration.logger.debug("connection opened")
        defer { configuration.logger.debug("connection closed") }
        try? await channel.executeThenClose { inbound, outbound in
            // The writer is not a child task: a server shutdown cancels this task, and the writer must still put the
            // goAway and the streams' final errors on the socket. It ends when the connection finishes its output,
            // or after `drainTimeout` once the connection's work is done.
            let writer = Task {
                for await frame in output {
                    do {
                        try await outbound.write(
                            WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(bytes: frame)))
                    } catch {
                        break
                    }
                }
            }
            // The connection's work (reader, heartbeat, stream jobs) runs in a task of its own, which a server
            // shutdown (this task cancelled) does not cancel directly: it only signals `stop`. The connection then
            // ends itself first, through `ServerConnection.shutdown(_:)`: its goAway, then every open stream reset
            // with `storeUnavailable`, in that order on the socket. Only after that are the stream jobs cancelled,
            // and by then their streams are gone, so they send nothing more. (Cancelled first, a job would end its
            // own stream, a subscription with `storeUnavailable` ahead of the goAway, and a client takes an error on
            // a live connection as the server's final answer instead of a lost connection to recover from.)
            let (stop, stopContinuation) = AsyncStream<Void>.makeStream()
            let work = Task {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {  // Reader.
                        do {
                            for try await frame in inbound {
                                switch frame.opcode {
                                case .binary:
                                    await connection.receive(frame.unmaskedPayload)
                                case .ping:
                                    let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedPayload)
                                    try await outbound.write(pong)
                                case .connectionClose:
                                    return
                                default:
                                    break
                                }
                            }
                        } catch {
                            // The transport failed: end below.
                        }
                    }
                    group.addTask {  // Heartbeat and silence timeout.
                        while (try? await Task.sleep(for: tickInterval)) != nil {
                            await connection.tick()
                        }
                    }
                    group.addTask {  // Stream jobs.
                        await withDiscardingTaskGroup { jobGroup in
                            for await job in jobs {
                                jobGroup.addTask { await job() }
                            }
                        }
                    }
                    group.addTask {  // Server shutdown: goAway and the streams' errors before any job is cancelled.
                        for await _ in stop {}
                        guard !Task.isCancelled else { return }  // The connection ended otherwise.
                        await connection.shutdown(StreamKitServer.shuttingDown)
                    }
                    _ = await group.next()
                    await connection.shutdown(
                        StreamKitError(code: .storeUnavailable, message: "the connection is closed"))
                    group.cancelAll()
                }
            }
            await withTaskCancellationHandler {
                await work.value
            } onCancel: {
                stopContinuation.finish()
            }
            // Let the writer drain what was queued (bounded: a peer that reads nothing cannot hold the shutdown).
            let deadline = Task {
                try? await Task.sleep(for: StreamKitServer.drainTimeout)
                writer.cancel()
            }
            await writer.value
            deadline.cancel()
        }
    }

    /// Longest wait for a closing connection's last frames to be written.
    static let drainTimeout: Duration = .seconds(2)

    /// The error of a server shutdown: in each connection's goAway and on every stream it fails.
    static let shuttingDown = StreamKitError(code: .storeUnavailable, message: "the server is shutting down")
}
