import NIOCore
import NIOPosix
import Synchronization

/// A loopback TCP proxy for chaos tests: it forwards bytes both ways between each accepted connection and a new
/// connection to `127.0.0.1:<upstreamPort>`, and can sever every connection it carries at once (both sockets
/// closed, as a network failure or a crashed middlebox would). While the upstream is down, an accepted connection
/// is closed at once, so a client dialling through the proxy sees its upgrade fail.
///
/// Both sockets of a pair live on the accepted channel's event loop, so forwarding needs no hop. There is no
/// backpressure: fine for tests whose peers are flow-controlled (the mux window).
final class ChaosProxy: Sendable {
    /// The port clients dial.
    let port: Int
    /// Where connections are forwarded.
    let upstreamPort: Int
    private let listener: any Channel
    private let connections: ProxyConnections

    private init(port: Int, upstreamPort: Int, listener: any Channel, connections: ProxyConnections) {
        self.port = port
        self.upstreamPort = upstreamPort
        self.listener = listener
        self.connections = connections
    }

    /// A `ws://` URL through the proxy with the StreamKit path.
    var url: String { "ws://127.0.0.1:\(port)/streamkit" }

    /// Starts a proxy on a free loopback port.
    static func start(upstreamPort: Int) async throws -> ChaosProxy {
        let connections = ProxyConnections()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { inbound in
                guard !connections.isRefusing else {
                    connections.countRefused()
                    return inbound.eventLoop.makeFailedFuture(ChaosProxyError.refusing)
                }
                // Registration of the accepted channel waits for this future, so nothing is read from it before
                // its forwarder is in place; a failed upstream connect closes it.
                return ClientBootstrap(group: inbound.eventLoop)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .channelInitializer { outbound in
                        outbound.eventLoop.makeCompletedFuture {
                            try outbound.pipeline.syncOperations.addHandler(Forwarder(partner: inbound))
                        }
                    }
                    .connect(host: "127.0.0.1", port: upstreamPort)
                    .flatMapErrorThrowing { error in
                        connections.countRefused()
                        throw error
                    }
                    .flatMapThrowing { outbound in
                        try inbound.pipeline.syncOperations.addHandler(Forwarder(partner: outbound))
                        connections.add(inbound, outbound)
                    }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        guard let port = listener.localAddress?.port else {
            try? await listener.close()
            throw ChaosProxyError.noPort
        }
        return ChaosProxy(port: port, upstreamPort: upstreamPort, listener: listener, connections: connections)
    }

    /// Connections currently carried (a pair counts until both of its sockets are closed).
    var openConnections: Int { connections.openCount }

    /// Connections accepted and forwarded so far.
    var forwardedConnections: Int { connections.forwardedCount }

    /// Connections accepted and closed at once (while refusing, or the upstream refused them).
    var refusedConnections: Int { connections.refusedCount }

    /// Whether new connections are closed at once, as if nothing listened behind the proxy (a crashed server).
    var isRefusing: Bool {
        get { connections.isRefusing }
        set { connections.isRefusing = newValue }
    }

    /// Closes every connection the proxy carries now (both sockets); new ones are accepted as before.
    ///
    /// - Returns: How many connections were severed.
    @discardableResult
    func severAll() -> Int {
        connections.severAll()
    }

    /// Stops listening, severs every connection and waits until their sockets are closed.
    func close() async {
        try? await listener.close()
        await connections.closeAll()
    }
}

enum ChaosProxyError: Error {
    case noPort
    case refusing
}

/// The proxy's connection pairs, behind a `Mutex`.
private final class ProxyConnections: Sendable {
    private struct Pair {
        let inbound: any Channel
        let outbound: any Channel
    }

    private struct State {
        var next = 0
        var pairs: [Int: Pair] = [:]
        var forwarded = 0
        var refused = 0
        var refusing = false
        var closed = false
    }

    private let state = Mutex(State())

    var openCount: Int { state.withLock { $0.pairs.count } }
    var forwardedCount: Int { state.withLock { $0.forwarded } }
    var refusedCount: Int { state.withLock { $0.refused } }

    var isRefusing: Bool {
        get { state.withLock { $0.refusing } }
        set { state.withLock { $0.refusing = newValue } }
    }

    func countRefused() {
        state.withLock { $0.refused += 1 }
    }

    /// Tracks a pair until both sockets are closed; closes it at once when the proxy is closing.
    func add(_ inbound: any Channel, _ outbound: any Channel) {
        let id = state.withLock { state -> Int? in
            guard !state.closed else { return nil }
            state.next += 1
            state.forwarded += 1
            state.pairs[state.next] = Pair(inbound: inbound, outbound: outbound)
            return state.next
        }
        guard let id else {
            inbound.close(promise: nil)
            outbound.close(promise: nil)
            return
        }
        inbound.closeFuture.and(outbound.closeFuture).whenComplete { [self] _ in
            _ = state.withLock { $0.pairs.removeValue(forKey: id) }
        }
    }

    func severAll() -> Int {
        let pairs = state.withLock { Array($0.pairs.values) }
        for pair in pairs {
            pair.inbound.close(promise: nil)
            pair.outbound.close(promise: nil)
        }
        return pairs.count
    }

    func closeAll() async {
        let pairs = state.withLock { state in
            state.closed = true
            return Array(state.pairs.values)
        }
        for pair in pairs {
            pair.inbound.close(promise: nil)
            pair.outbound.close(promise: nil)
        }
        for pair in pairs {
            try? await pair.inbound.closeFuture.get()
            try? await pair.outbound.closeFuture.get()
        }
    }
}

/// Forwards what one socket reads to its partner; when either side closes or fails, both close.
private final class Forwarder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let partner: any Channel

    init(partner: any Channel) {
        self.partner = partner
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner.write(Self.unwrapInboundIn(data), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner.flush()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
