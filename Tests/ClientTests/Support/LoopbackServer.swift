import StreamKitClient
import StreamKitWire
import Synchronization

/// A `StreamKitServer` on 127.0.0.1 over a test's registry, that a test can stop and start again on the same
/// port (the client then sees its connection dropped and reconnects to the new server).
final class LoopbackServer: Sendable {
    let registry: StoreRegistry
    let port: Int
    private let configuration: StreamKitServer.Configuration
    private let server: Mutex<StreamKitServer?>

    private init(
        registry: StoreRegistry, port: Int, configuration: StreamKitServer.Configuration, server: StreamKitServer
    ) {
        self.registry = registry
        self.port = port
        self.configuration = configuration
        self.server = Mutex(server)
    }

    /// The URL a client dials.
    var url: String { "ws://127.0.0.1:\(port)/streamkit" }

    /// Starts a server on a free port.
    static func start(
        registry: StoreRegistry, configuration: StreamKitServer.Configuration = .init(authentication: .none, port: 0)
    ) async throws -> LoopbackServer {
        // The token check runs in the cooperative pool, which every test running in parallel shares: on a loaded
        // machine it took over the default 10 s upgrade timeout and the server closed connections under 401 tests.
        // Tests that set their own upgrade timeout keep it.
        var configuration = configuration
        if configuration.upgradeTimeout == .seconds(10) { configuration.upgradeTimeout = .seconds(60) }
        guard configuration.port == 0 else {
            let server = StreamKitServer(registry: registry, configuration: configuration)
            let port = try await server.start()
            return LoopbackServer(registry: registry, port: port, configuration: configuration, server: server)
        }
        // A port below the kernel's range of ephemeral ports (32768–60999 on Linux): a test restarts its server on
        // the same port, and a port the kernel handed out could meanwhile be the source port of any outgoing
        // connection of the machine (the PostgreSQL tests open many), so that the restart failed with "address in
        // use". A port taken by another server is tried again elsewhere.
        var lastError: (any Error)?
        for _ in 0..<64 {
            var fixed = configuration
            fixed.port = Int.random(in: Self.ports)
            let server = StreamKitServer(registry: registry, configuration: fixed)
            do {
                let port = try await server.start()
                fixed.port = port
                return LoopbackServer(registry: registry, port: port, configuration: fixed, server: server)
            } catch {
                lastError = error
                await server.shutdown()
            }
        }
        throw lastError ?? CancellationError()
    }

    /// Ports test servers listen on: below the ephemeral range and below the ports of `scripts/postgres.sh`.
    static let ports = 10_000...19_999

    /// Shuts the server down: its connections end, in-flight streams fail. Does nothing when stopped.
    func stop() async {
        let running = server.withLock { server in
            defer { server = nil }
            return server
        }
        await running?.shutdown()
    }

    /// Starts a new server on the same port (after ``stop()``).
    func resume() async throws {
        let next = StreamKitServer(registry: registry, configuration: configuration)
        _ = try await next.start()
        let previous = server.withLock { server in
            defer { server = next }
            return server
        }
        await previous?.shutdown()
    }

    /// Stops the server and starts a new one on the same port: every client connection is dropped.
    func restart() async throws {
        await stop()
        try await resume()
    }
}
