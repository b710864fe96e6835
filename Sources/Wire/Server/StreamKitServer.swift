public import StreamKitEngine
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// The StreamKit WebSocket server: fronts a ``StoreRegistry`` over multiplexed WebSocket connections.
///
/// `GET <path>` (default `/streamkit`) upgrades to a WebSocket; every binary message is one mux frame
/// (`docs/protocol.md` §7) and each connection runs one ``MuxConnection`` in the server role. Every stream
/// opens with a mux open frame naming the store and carrying the request.
///
/// No authentication yet: every caller may use every store of the registry.
public final class StreamKitServer: Sendable {
    /// Server settings.
    public struct Configuration: Sendable {
        /// The address to listen on. Default 127.0.0.1.
        public var host: String
        /// The port; 0 picks a free one (see ``StreamKitServer/start()``). Default 7447.
        public var port: Int
        /// The HTTP path that upgrades to the StreamKit WebSocket. Default `/streamkit`.
        public var path: String
        /// Multiplexing limits and heartbeat timing of each connection.
        public var limits: MuxLimits
        /// How often each connection's heartbeat and silence clock advance. Default 1 s.
        public var tickInterval: Duration
        /// Most entries per `entries` message of a read. Default 256.
        public var entriesPerBatch: Int

        /// Creates settings; every argument has a safe default.
        public init(
            host: String = "127.0.0.1", port: Int = 7447, path: String = "/streamkit", limits: MuxLimits = MuxLimits(),
            tickInterval: Duration = .seconds(1), entriesPerBatch: Int = 256
        ) {
            self.host = host
            self.port = port
            self.path = path
            self.limits = limits
            self.tickInterval = tickInterval
            self.entriesPerBatch = max(1, entriesPerBatch)
        }
    }

    private enum Upgrade: Sendable {
        case webSocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        case refused
    }

    private struct State: ~Copyable {
        var channel: (any Channel)?
        var acceptTask: Task<Void, Never>?
        var stopped = false
    }

    /// The registry whose stores are served.
    public let registry: StoreRegistry
    /// The settings.
    public let configuration: Configuration
    private let state = Mutex(State())
    private let group: MultiThreadedEventLoopGroup

    /// Creates a server; nothing listens until ``start()`` or ``run()``.
    ///
    /// - Parameters:
    ///   - registry: The stores to serve.
    ///   - configuration: Where to listen and the connection limits.
    public init(registry: StoreRegistry, configuration: Configuration = Configuration()) {
        self.registry = registry
        self.configuration = configuration
        group = .singleton
    }

    /// Binds and starts accepting connections in the background.
    ///
    /// - Returns: The bound port (the chosen one when the configuration's port is 0).
    /// - Throws: The bind error; `invalidArgument` when the server was already started or shut down.
    public func start() async throws -> Int {
        let taken = state.withLock { state in
            let taken = state.stopped || state.channel != nil
            state.stopped = true  // Reserves the start; cleared below once bound.
            return taken
        }
        guard !taken else {
            throw StreamKitError(code: .invalidArgument, message: "the server was already started or shut down")
        }
        let server = try await bind()
        let port = server.channel.localAddress?.port ?? configuration.port
        let task = Task { [self] in await accept(server) }
        state.withLock { state in
            state.channel = server.channel
            state.acceptTask = task
        }
        return port
    }

    /// Starts the server (see ``start()``) and returns when it has been shut down.
    public func run() async throws {
        _ = try await start()
        let task = state.withLock { $0.acceptTask }
        await withTaskCancellationHandler {
            await task?.value
        } onCancel: {
            task?.cancel()
        }
    }

    /// Stops accepting, ends every connection (streams in flight fail with `storeUnavailable`), and waits
    /// until they are closed.
    public func shutdown() async {
        let (channel, task) = state.withLock { state in
            state.stopped = true
            defer {
                state.channel = nil
                state.acceptTask = nil
            }
            return (state.channel, state.acceptTask)
        }
        try? await channel?.close()
        task?.cancel()
        await task?.value
    }

    // MARK: - Listening

    private func bind() async throws -> NIOAsyncChannel<EventLoopFuture<Upgrade>, Never> {
        let path = configuration.path
        let maxFrame = configuration.limits.maxFrameBytes
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOTypedWebSocketServerUpgrader<Upgrade>(
                        maxFrameSize: maxFrame,
                        shouldUpgrade: { channel, head in
                            let target = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init)
                            guard head.method == .GET, target == path else {
                                return channel.eventLoop.makeSucceededFuture(nil)
                            }
                            return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
                        },
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(
                                    NIOWebSocketFrameAggregator(
                                        minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024,
                                        maxAccumulatedFrameSize: maxFrame))
                                return Upgrade.webSocket(
                                    try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                                        wrappingChannelSynchronously: channel))
                            }
                        })
                    let configuration = NIOTypedHTTPServerUpgradeConfiguration<Upgrade>(
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(NotFoundResponder())
                                return Upgrade.refused
                            }
                        })
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(
                        configuration: .init(upgradeConfiguration: configuration))
                }
            }
    }

    private func accept(_ server: NIOAsyncChannel<EventLoopFuture<Upgrade>, Never>) async {
        await withDiscardingTaskGroup { group in
            do {
                try await server.executeThenClose { inbound in
                    for try await upgrade in inbound {
                        group.addTask { [self] in
                            guard case .webSocket(let channel)? = try? await upgrade.get() else { return }
                            await serve(channel)
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

    private func serve(_ channel: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>) async {
        let (output, outputContinuation) = AsyncStream<[UInt8]>.makeStream()
        let (jobs, jobsContinuation) = AsyncStream<ServerConnection.Job>.makeStream()
        let connection = ServerConnection(
            limits: configuration.limits,
            dispatcher: StreamDispatcher(registry: registry, entriesPerBatch: configuration.entriesPerBatch),
            output: outputContinuation, jobs: jobsContinuation)
        let tickInterval = configuration.tickInterval
        try? await channel.executeThenClose { inbound, outbound in
            await withTaskGroup(of: Void.self) { group in
                group.addTask {  // Writer: mux frames, in order, until the connection ends.
                    for await frame in output {
                        let data = ByteBuffer(bytes: frame)
                        do {
                            try await outbound.write(WebSocketFrame(fin: true, opcode: .binary, data: data))
                        } catch {
                            break
                        }
                    }
                }
                group.addTask {  // Reader.
                    do {
                        for try await frame in inbound {
                            switch frame.opcode {
                            case .binary:
                                await connection.receive(Array(frame.unmaskedData.readableBytesView))
                            case .ping:
                                let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
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
                await withTaskCancellationHandler {
                    _ = await group.next()
                } onCancel: {
                    Task { await connection.shutdown(StreamKitError(code: .storeUnavailable, message: "the server is shutting down")) }
                }
                await connection.shutdown(StreamKitError(code: .storeUnavailable, message: "the connection is closed"))
                _ = await group.next()  // The writer drains what was queued.
                group.cancelAll()
            }
        }
    }
}

/// Answers every plain HTTP request (anything but the WebSocket upgrade) with 404 and closes.
private final class NotFoundResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = Self.unwrapInboundIn(data) else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "0")
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: .notFound, headers: headers)
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
