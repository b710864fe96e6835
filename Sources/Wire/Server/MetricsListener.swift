import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// `GET /metrics` and the health probes on a port of their own (`streamkit serve --metrics-port`), for operators
/// who keep the scrape off the clients' port. Plain HTTP/1.1, no token, one request per connection; anything else
/// is answered 404. Bounded like the server's port: at most ``maxConnections`` open at once (one more is closed at
/// once) and each closed after ``requestTimeout`` if its request has not been answered by then.
package final class MetricsListener: Service, Sendable {
    /// Most connections open at once.
    static let maxConnections = 64
    /// How long a connection has to send its request and get the answer.
    static let requestTimeout: TimeAmount = .seconds(10)

    private let server: StreamKitServer
    private let host: String
    private let port: Int
    private let exporter: @Sendable () -> [UInt8]
    private let onRunning: @Sendable (Int) async -> Void

    /// - Parameters:
    ///   - server: The server whose readiness the readiness probe reports.
    ///   - host: The address to listen on.
    ///   - port: The port; 0 picks a free one (``run()`` tells it to `onRunning`).
    ///   - exporter: The Prometheus text exposition.
    ///   - onRunning: Called with the bound port once the listener listens.
    package init(
        server: StreamKitServer, host: String, port: Int, exporter: @escaping @Sendable () -> [UInt8],
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.server = server
        self.host = host
        self.port = port
        self.exporter = exporter
        self.onRunning = onRunning
    }

    /// Listens until the graceful shutdown of its group (or the cancellation of the calling task), then closes.
    /// - Throws: The bind error.
    package func run() async throws {
        let slots = ConnectionSlots(limit: Self.maxConnections)
        let (server, exporter) = (server, exporter)
        let logger = server.configuration.logger
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard slots.take() else { return channel.close() }
                let deadline = channel.eventLoop.scheduleTask(in: Self.requestTimeout) { channel.close(promise: nil) }
                channel.closeFuture.whenComplete { _ in
                    slots.release()
                    deadline.cancel()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    try operations.configureHTTPServerPipeline(withErrorHandling: true)
                    // No path upgrades here: every request is a probe, the exposition, or 404.
                    try operations.addHandler(
                        UpgradeValidator(
                            path: "", logger: logger, readiness: { await server.readiness() }, metrics: exporter,
                            upgrades: false))
                }
            }
            .bind(host: host, port: port).get()
        await onRunning(channel.localAddress?.port ?? port)
        try? await gracefulShutdown()  // Returns on graceful shutdown, throws on cancellation: either way, close.
        try? await channel.close()
    }
}
