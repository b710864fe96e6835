import StreamKitEngine
import StreamKitWire

/// Runs `body` with a started server on 127.0.0.1 (port 0) over `registry` (by default a fresh in-memory one),
/// then shuts both down, also when `body` throws.
func withTestServer(
    _ configuration: StreamKitServer.Configuration = .init(authentication: .none, port: 0),
    registry given: StoreRegistry? = nil,
    _ body: (_ port: Int, _ server: StreamKitServer) async throws -> Void
) async throws {
    var registryConfiguration = RegistryConfiguration()
    registryConfiguration.inMemory = true
    let registry =
        given ?? StoreRegistry(root: "/nonexistent-streamkit-server-tests", configuration: registryConfiguration)
    // The token check runs in the cooperative pool, which every test running in parallel shares: on a loaded
    // machine it took over the default 10 s upgrade timeout and the server closed connections under 401 tests.
    // Tests that set their own upgrade timeout keep it.
    var configuration = configuration
    if configuration.upgradeTimeout == .seconds(10) { configuration.upgradeTimeout = .seconds(60) }
    let server = StreamKitServer(registry: registry, configuration: configuration)
    let port = try await server.start()
    do {
        try await body(port, server)
    } catch {
        await server.shutdown()
        await registry.shutdown()
        throw error
    }
    await server.shutdown()
    await registry.shutdown()
}
