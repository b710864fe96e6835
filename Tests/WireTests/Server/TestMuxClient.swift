import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import StreamKitEngine
import StreamKitWire

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Why a test connection could not be made.
enum TestClientError: Error, Equatable {
    /// The server answered the upgrade request with something other than 101
    /// (``upgradeResponse(port:path:token:headers:)`` tells the status).
    case notUpgraded
    /// The connection closed before the server answered the upgrade request.
    case noResponse
}

/// Test-only client side of a StreamKit WebSocket connection: a ``MuxConnection`` in the client role over a
/// NIO WebSocket client channel. Frames go out, in order, through `output` (a writer task).
actor TestMuxClient {
    /// How a stream or the connection ended, as the server said it, in arrival order (see ``endings``).
    enum Ending: Sendable, Equatable {
        /// The server's goAway.
        case goAway(lastStreamID: UInt64, error: StreamKitError?)
        /// The server reset a stream.
        case reset(UInt64, StreamKitError)
        /// The server finished its half of a stream.
        case finished(UInt64)
    }

    private let mux: MuxConnection
    /// Every goAway, reset and close from the server, in the order the frames arrived.
    private(set) var endings: [Ending] = []
    private var endWaiters: [CheckedContinuation<Void, Never>] = []
    private let output: AsyncStream<[UInt8]>.Continuation
    private var inboxes: [UInt64: AsyncThrowingStream<WireMessage, any Error>.Continuation] = [:]
    private var waiters: [UInt64: [CheckedContinuation<Void, any Error>]] = [:]
    private var closed: StreamKitError?
    private var receivedCounts: [UInt64: Int] = [:]

    init(limits: MuxLimits, output: AsyncStream<[UInt8]>.Continuation) {
        mux = MuxConnection(role: .client, limits: limits, now: .now)
        self.output = output
    }

    // MARK: - Transport

    func receive(_ bytes: [UInt8]) {
        for action in mux.receive(bytes, now: .now) {
            switch action {
            case .send(let frame):
                output.yield(frame)
            case .message(let id, let message):
                receivedCounts[id, default: 0] += 1
                inboxes[id]?.yield(message)
            case .streamFinished(let id):
                endings.append(.finished(id))
                inboxes.removeValue(forKey: id)?.finish()
            case .streamReset(let id, let error):
                endings.append(.reset(id, error))
                inboxes.removeValue(forKey: id)?.finish(throwing: error)
                for waiter in waiters.removeValue(forKey: id) ?? [] { waiter.resume(throwing: error) }
            case .writable(let id):
                for waiter in waiters.removeValue(forKey: id) ?? [] { waiter.resume() }
            case .closeConnection(let error):
                end(error)
            case .goAwayReceived(let last, let error):
                endings.append(.goAway(lastStreamID: last, error: error))
            case .streamOpened:
                break
            }
        }
    }

    /// The transport is gone.
    func end(_ error: StreamKitError = StreamKitError(code: .storeUnavailable, message: "the connection is closed")) {
        guard closed == nil else { return }
        closed = error
        for inbox in inboxes.values { inbox.finish(throwing: error) }
        for waiter in waiters.values.joined() { waiter.resume(throwing: error) }
        inboxes = [:]
        waiters = [:]
        output.finish()
        for waiter in endWaiters { waiter.resume() }
        endWaiters = []
    }

    /// Returns once the connection has ended (the server closed it, or ``end(_:)`` was called).
    func ended() async {
        guard closed == nil else { return }
        await withCheckedContinuation { endWaiters.append($0) }
    }

    // MARK: - Streams

    /// Opens a stream with a raw opening request (no envelope); optionally finishes the client's half at once.
    func openRaw(
        _ request: WireMessage, store: UUID?, traceparent: String? = nil, closeAfterOpen: Bool
    ) throws -> (id: UInt64, answers: AsyncThrowingStream<WireMessage, any Error>) {
        if let closed { throw closed }
        let (id, frame) = try mux.openStream(request, store: store, traceparent: traceparent)
        let (answers, inbox) = AsyncThrowingStream<WireMessage, any Error>.makeStream()
        inboxes[id] = inbox
        output.yield(frame)
        if closeAfterOpen, let close = mux.close(id) { output.yield(close) }
        return (id, answers)
    }

    /// Sends a message, waiting for credit from the server.
    func send(_ message: WireMessage, on id: UInt64) async throws {
        while true {
            if let closed { throw closed }
            if mux.canSend(on: id) {
                output.yield(try mux.send(message, on: id))
                return
            }
            guard inboxes[id] != nil else { throw StreamKitError(code: .storeUnavailable, message: "stream ended") }
            try await withCheckedThrowingContinuation { waiters[id, default: []].append($0) }
        }
    }

    func close(_ id: UInt64) {
        if let frame = mux.close(id) { output.yield(frame) }
    }

    func consumed(_ id: UInt64) {
        if let frame = mux.consumed(id) { output.yield(frame) }
    }

    /// How many messages arrived on a stream so far (taken or not).
    func received(on id: UInt64) -> Int {
        receivedCounts[id, default: 0]
    }

    /// Every answer of a stream until the server finishes it; each is consumed (granting credit) as it comes.
    func collect(_ id: UInt64, _ answers: AsyncThrowingStream<WireMessage, any Error>) async throws -> [WireMessage] {
        var messages: [WireMessage] = []
        for try await message in answers {
            messages.append(message)
            consumed(id)
        }
        return messages
    }

    /// A request/response (or read) stream on a store: all the answers.
    func call(_ store: UUID, _ request: WireMessage) async throws -> [WireMessage] {
        let (id, answers) = try openRaw(request, store: store, closeAfterOpen: true)
        return try await collect(id, answers)
    }

    /// A produce upload of the given batches: the status acknowledgements.
    func produce(_ store: UUID, space: String, segment: String, batches: [[Record]]) async throws -> [WireMessage] {
        let (id, answers) = try openRaw(
            .produceOpen(space: space, segment: segment), store: store, closeAfterOpen: false)
        async let statuses = collect(id, answers)
        for batch in batches { try await send(.records(batch), on: id) }
        try await send(.produceEnd, on: id)
        close(id)
        return try await statuses
    }
}

private enum ClientUpgrade: Sendable {
    case webSocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, HTTPResponseHead)
    case refused(any Channel, EventLoopFuture<HTTPResponseHead>)
}

/// Hands the response head of a refused upgrade to a promise.
private final class ResponseHeadCatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<HTTPResponseHead>

    init(_ promise: EventLoopPromise<HTTPResponseHead>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = Self.unwrapInboundIn(data) { promise.succeed(head) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(TestClientError.noResponse)  // Ignored once the head arrived.
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        promise.fail(TestClientError.noResponse)
    }
}

/// Sends the WebSocket upgrade request (with `Authorization: Bearer <token>` when a token is given, and any extra
/// headers) and returns what came of it.
private func connectTestClient(
    port: Int, path: String, limits: MuxLimits, token: String?, headers extra: [(String, String)]
) async throws -> ClientUpgrade {
    let maxFrame = limits.maxFrameBytes
    let upgrade: EventLoopFuture<ClientUpgrade> = try await ClientBootstrap(
        group: MultiThreadedEventLoopGroup.singleton
    )
    .connect(host: "127.0.0.1", port: port) { channel in
        channel.eventLoop.makeCompletedFuture {
            let upgrader = NIOTypedWebSocketClientUpgrader<ClientUpgrade>(
                maxFrameSize: maxFrame,
                upgradePipelineHandler: { channel, head in
                    channel.eventLoop.makeCompletedFuture {
                        ClientUpgrade.webSocket(
                            try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                                wrappingChannelSynchronously: channel),
                            head)
                    }
                })
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "127.0.0.1:\(port)")
            headers.add(name: "Content-Length", value: "0")
            if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
            for (name, value) in extra { headers.add(name: name, value: value) }
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
            let configuration = NIOTypedHTTPClientUpgradeConfiguration<ClientUpgrade>(
                upgradeRequestHead: head, upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let promise = channel.eventLoop.makePromise(of: HTTPResponseHead.self)
                        try channel.pipeline.syncOperations.addHandler(ResponseHeadCatcher(promise))
                        return ClientUpgrade.refused(channel, promise.futureResult)
                    }
                })
            return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                configuration: .init(upgradeConfiguration: configuration))
        }
    }
    return try await upgrade.get()
}

/// The server's answer to a WebSocket upgrade request: 101 when it upgrades (the connection is then closed at
/// once), else the refusal (e.g. 401 with `WWW-Authenticate`, or 404), read before the server closes.
func upgradeResponse(
    port: Int, path: String = "/streamkit", token: String? = nil, headers: [(String, String)] = []
) async throws -> HTTPResponseHead {
    switch try await connectTestClient(port: port, path: path, limits: MuxLimits(), token: token, headers: headers) {
    case .webSocket(let channel, let head):
        try await channel.executeThenClose { _, _ in }
        return head
    case .refused(let channel, let head):
        defer { channel.close(promise: nil) }
        return try await head.get()
    }
}

/// Connects a ``TestMuxClient`` to a server on 127.0.0.1, runs `body`, then closes the connection.
///
/// - Parameters:
///   - token: Sent as `Authorization: Bearer <token>` when given.
///   - headers: Extra headers of the upgrade request.
/// - Throws: ``TestClientError/notUpgraded`` when the server refuses the upgrade
///   (``upgradeResponse(port:path:token:headers:)`` tells the status), or what `body` throws.
func withTestClient<T: Sendable>(
    port: Int, path: String = "/streamkit", limits: MuxLimits = MuxLimits(), token: String? = nil,
    headers: [(String, String)] = [],
    _ body: (TestMuxClient) async throws -> T
) async throws -> T {
    let upgrade = try await connectTestClient(port: port, path: path, limits: limits, token: token, headers: headers)
    guard case .webSocket(let channel, _) = upgrade else {
        if case .refused(let channel, _) = upgrade { channel.close(promise: nil) }
        throw TestClientError.notUpgraded
    }
    return try await channel.executeThenClose { inbound, outbound in
        let (output, continuation) = AsyncStream<[UInt8]>.makeStream()
        let client = TestMuxClient(limits: limits, output: continuation)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await frame in output {
                    try await outbound.write(
                        WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(), data: ByteBuffer(bytes: frame)))
                }
            }
            group.addTask {
                do {
                    for try await frame in inbound where frame.opcode == .binary {
                        await client.receive(Array(frame.unmaskedData.readableBytesView))
                    }
                } catch {
                    // A reset connection ends like a closed one.
                }
                await client.end()
            }
            do {
                let result = try await body(client)
                await client.end()
                group.cancelAll()
                return result
            } catch {
                await client.end()
                group.cancelAll()
                throw error
            }
        }
    }
}

/// Upgrades a WebSocket that never sends anything (not even pongs) and waits until the server closes it.
///
/// - Returns: The binary frames the server sent before closing (its pings and its goAway).
func silentSocketUntilClosed(port: Int) async throws -> [MuxFrame] {
    let upgrade = try await connectTestClient(
        port: port, path: "/streamkit", limits: MuxLimits(), token: nil, headers: [])
    guard case .webSocket(let channel, _) = upgrade else {
        if case .refused(let channel, _) = upgrade { channel.close(promise: nil) }
        throw TestClientError.notUpgraded
    }
    return try await channel.executeThenClose { inbound, _ in
        var frames: [MuxFrame] = []
        do {
            for try await frame in inbound where frame.opcode == .binary {
                frames.append(try MuxFrame(decoding: Array(frame.unmaskedData.readableBytesView)))
            }
        } catch {
            // A reset connection ends like a closed one.
        }
        return frames
    }
}
