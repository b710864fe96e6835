import NIOCore
import NIOPosix
import Synchronization

/// A plain TCP connection to a test server, for what no WebSocket client sends: malformed upgrade requests,
/// partial headers, idle sockets. Bytes go out as given; what comes back, and whether the server closed the
/// connection, can be awaited with a deadline that only matters when a test fails.
final class RawConnection: Sendable {
    fileprivate struct State {
        var received: [UInt8] = []
        var closed = false
        /// Bumped on every change, so a waiter cannot miss one that lands between its check and its sleep.
        var version: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Whether a server answers HTTP at 127.0.0.1 (or `host`):`port`: false when nothing accepts the connection, or
    /// when it ends without an answer to `GET /health/live`. The second case is a listening socket that a child
    /// process, being spawned by another test just then, still holds a copy of (from its clone until its exec):
    /// the kernel queues the connection but nobody accepts it, and it is reset once the copy goes. (A connection
    /// the kernel made to itself also ends without an answer.)
    static func serverAnswers(port: Int, host: String = "127.0.0.1") async -> Bool {
        guard let connection = try? await RawConnection.open(port: port, host: host) else { return false }
        try? await connection.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = await connection.waitForResponseHead()
        let answered = connection.status != nil
        await connection.close()
        return answered
    }

    /// The connection's two ends, for failure messages.
    var addresses: String {
        "\(channel.localAddress.map { "\($0)" } ?? "?") -> \(channel.remoteAddress.map { "\($0)" } ?? "?")"
    }

    /// Connects to 127.0.0.1:`port`.
    static func open(port: Int, host: String = "127.0.0.1") async throws -> RawConnection {
        let box = Mutex<RawConnection?>(nil)
        _ = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connection = RawConnection(channel: channel)
                    box.withLock { $0 = connection }
                    try channel.pipeline.syncOperations.addHandler(Collector(connection))
                }
            }
            .connect(host: host, port: port).get()
        guard let connection = box.withLock({ $0 }) else { throw TestClientError.noResponse }
        return connection
    }

    /// Sends `text` (UTF-8) as is.
    func send(_ text: String) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(string: text)).get()
    }

    /// Closes the connection from this side.
    func close() async {
        try? await channel.close()
    }

    /// Everything received so far, as text.
    var text: String { String(decoding: state.withLock { $0.received }, as: UTF8.self) }

    /// Whether the server has closed the connection (or it was reset).
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Waits until the server closes the connection; false when `timeout` passes first.
    func waitUntilClosed(timeout: Duration = .seconds(30)) async -> Bool {
        await wait(timeout: timeout) { _, closed in closed }
    }

    /// Waits until a whole response head (up to the empty line) has arrived, or the connection closed; false
    /// when `timeout` passes first.
    func waitForResponseHead(timeout: Duration = .seconds(30)) async -> Bool {
        await wait(timeout: timeout) { bytes, closed in
            closed
                || bytes.count >= 4
                    && (0...(bytes.count - 4)).contains { bytes[$0..<($0 + 4)].elementsEqual("\r\n\r\n".utf8) }
        }
    }

    /// The status code of the response received so far (nil before a status line arrived).
    var status: Int? {
        let line = text.split(separator: "\r\n", maxSplits: 1).first ?? ""
        let fields = line.split(separator: " ")
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/1.") else { return nil }
        return Int(fields[1])
    }

    /// The value of a response header received so far (first match, name case-insensitive).
    func header(_ name: String) -> String? {
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: false).dropFirst() {
            if line.isEmpty { return nil }  // The end of the head.
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() {
                return String(parts[1].drop { $0 == " " || $0 == "\t" })
            }
        }
        return nil
    }

    /// Waits until `done(received, closed)` holds; false when `timeout` passes first.
    func wait(timeout: Duration, until done: @Sendable ([UInt8], Bool) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (satisfied, version) = state.withLock { (done($0.received, $0.closed), $0.version) }
            if satisfied { return true }
            if ContinuousClock.now >= deadline { return false }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.change(after: version) }
                group.addTask { try? await Task.sleep(until: deadline) }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// Returns after the state changes past `version` (at once if it already has), or when cancelled.
    private func change(after version: UInt64) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.version != version || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    fileprivate func update(_ change: (inout State) -> Void) {
        let waiters = state.withLock { state in
            change(&state)
            state.version += 1
            defer { state.waiters = [:] }
            return state.waiters
        }
        for waiter in waiters.values { waiter.resume() }
    }

    /// Feeds a ``RawConnection`` from its channel.
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer

        private let connection: RawConnection

        init(_ connection: RawConnection) {
            self.connection = connection
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = Array(Self.unwrapInboundIn(data).readableBytesView)
            connection.update { $0.received += bytes }
        }

        func channelInactive(context: ChannelHandlerContext) {
            connection.update { $0.closed = true }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)  // A reset: closed like an orderly close.
        }
    }
}
