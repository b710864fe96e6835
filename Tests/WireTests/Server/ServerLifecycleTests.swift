import Logging
import ServiceLifecycle
import StreamKitEngine
import StreamKitWire
import Synchronization
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `start()` and `shutdown()` racing: whatever point of the start a shutdown comes at, nothing listens once the
/// shutdown returned, and the start either returned a port that no longer accepts, or failed: `storeClosing` when
/// the shutdown came while it bound, `invalidArgument` when it came before the start began.
@Suite(.timeLimit(.minutes(5)))
struct ServerLifecycleTests {
    @Test("a shutdown at any point of start leaves nothing listening once it returns (1,000 rounds)")
    func shutdownDuringStartLeavesNothingListening() async throws {
        var configuration = RegistryConfiguration()
        configuration.inMemory = true
        let registry = StoreRegistry(root: "/nonexistent-streamkit-lifecycle-tests", configuration: configuration)
        var (started, interrupted, refused) = (0, 0, 0)

        for round in 0..<1_000 {
            let server = StreamKitServer(
                registry: registry,
                configuration: .init(authentication: .none, host: "127.0.0.76", port: 0, logger: Self.quiet))
            let start = Task { () -> Result<Int, StreamKitError> in
                do { return .success(try await server.start()) } catch let error as StreamKitError {
                    return .failure(error)
                } catch {
                    return .failure(StreamKitError(code: .internalError, message: "\(error)"))
                }
            }
            // Spreads the shutdown over the start's steps: before it, while it binds, after it (every tenth round
            // lets it finish; which path a round takes changes nothing the test expects).
            for _ in 0..<(round % 25) { await Task.yield() }
            if round % 10 == 9 { _ = await start.value }
            await server.shutdown()
            let listeningAfterShutdown = server.isListening
            let outcome = await start.value
            let restart = await #expect(throws: StreamKitError.self) { _ = try await server.start() }

            #expect(!listeningAfterShutdown, "round \(round)")
            #expect(!server.isListening, "round \(round)")
            #expect(restart?.code == .invalidArgument)
            switch outcome {
            case .success(let port):
                started += 1
                // Nothing serves the port (a child process another test spawns may hold the closed socket a moment).
                let serves = await RawConnection.serverAnswers(port: port, host: "127.0.0.76")
                #expect(!serves, "round \(round): port \(port) still serves")
            case .failure(let error) where error.code == .storeClosing:
                interrupted += 1
            case .failure(let error):
                refused += 1
                #expect(error.code == .invalidArgument, "round \(round): \(error)")
            }
        }
        await registry.shutdown()

        #expect(started + interrupted + refused == 1_000)
        print(
            "ServerLifecycleTests: \(started) started then shut down, \(interrupted) shut down while binding, \(refused) shut down before starting"
        )
    }

    /// A server on `host` (a loopback address no other test listens on, so that a port it frees cannot be taken at
    /// once by another test's server) over a fresh in-memory registry, and the port it tells once it runs.
    private static func serverTellingItsPort(host: String) -> (StreamKitServer, StoreRegistry, AsyncStream<Int>) {
        var registryConfiguration = RegistryConfiguration()
        registryConfiguration.inMemory = true
        let registry = StoreRegistry(
            root: "/nonexistent-streamkit-lifecycle-tests", configuration: registryConfiguration)
        let (running, signal) = AsyncStream<Int>.makeStream()
        var configuration = StreamKitServer.Configuration(authentication: .none, host: host, port: 0, logger: quiet)
        configuration.onServerRunning = { port in signal.yield(port) }
        return (StreamKitServer(registry: registry, configuration: configuration), registry, running)
    }

    /// A loopback address no other test listens on.
    private static let ownHost = "127.0.0.77"

    private static var quiet: Logger {
        var logger = Logger(label: "test.service-group")
        logger.logLevel = .critical
        return logger
    }

    @Test(
        "a graceful shutdown of the service group at any point of the server's start leaves nothing listening once the group returns (1,000 rounds)"
    )
    func gracefulShutdownDuringStartLeavesNothingListening() async throws {
        var registryConfiguration = RegistryConfiguration()
        registryConfiguration.inMemory = true
        let registry = StoreRegistry(
            root: "/nonexistent-streamkit-lifecycle-tests", configuration: registryConfiguration)
        var (served, shutDownFirst) = (0, 0)

        for round in 0..<1_000 {
            let bound = Mutex<Int?>(nil)
            let (running, signal) = AsyncStream<Void>.makeStream()
            // An address of its own: a port freed here and taken at once by a server of a test running beside this
            // one (on 127.0.0.1) cannot pass for this server still listening.
            var configuration = StreamKitServer.Configuration(
                authentication: .none, host: Self.ownHost, port: 0, logger: Self.quiet)
            configuration.onServerRunning = { port in
                bound.withLock { $0 = port }
                signal.yield()
            }
            let server = StreamKitServer(registry: registry, configuration: configuration)
            let group = ServiceGroup(services: [server], logger: Self.quiet)
            let run = Task { try await group.run() }
            // Spreads the shutdown over the start's steps, as the test above does; every tenth round lets the
            // server run first.
            for _ in 0..<(round % 25) { await Task.yield() }
            if round % 10 == 9 { _ = await running.first { _ in true } }
            await group.triggerGracefulShutdown()
            let outcome = await run.result
            let port = bound.withLock { $0 }

            #expect(!server.isListening, "round \(round)")
            switch outcome {
            case .success:
                served += 1
            case .failure(let error as ServiceGroupError):  // The group was shut down before it ran.
                shutDownFirst += 1
                #expect(port == nil, "round \(round): \(error)")
            case .failure(let error):
                Issue.record("round \(round): \(error)")
            }
            if let port {
                let serves = await RawConnection.serverAnswers(port: port, host: Self.ownHost)
                #expect(!serves, "round \(round): port \(port) still serves")
            }
        }
        await registry.shutdown()

        #expect(served + shutDownFirst == 1_000)
        print(
            "ServerLifecycleTests (service group): \(served) ran then shut down, \(shutDownFirst) shut down before running"
        )
    }

    @Test("registry and server in one group: a graceful shutdown stops the server, then closes the stores")
    func groupShutsDownServerThenRegistry() async throws {
        let (server, registry, running) = Self.serverTellingItsPort(host: "127.0.0.78")
        let group = ServiceGroup(services: [registry, server], logger: Self.quiet)
        let run = Task { try await group.run() }
        let port = try #require(await running.first { _ in true })
        let live = try await RawConnection.open(port: port, host: "127.0.0.78")
        await live.close()

        await group.triggerGracefulShutdown()
        try await run.value

        #expect(!server.isListening)
        let closed = await #expect(throws: StreamKitError.self) { try await registry.checkReadiness() }
        #expect(closed?.code == .storeClosing)
        #expect(!(await RawConnection.serverAnswers(port: port, host: "127.0.0.78")))
    }

    @Test("cancelling the task that runs the server shuts it down")
    func cancellingRunShutsTheServerDown() async throws {
        let (server, registry, running) = Self.serverTellingItsPort(host: "127.0.0.79")
        let run = Task { try await server.run() }
        let port = try #require(await running.first { _ in true })

        run.cancel()
        try await run.value

        #expect(!server.isListening)
        #expect(!(await RawConnection.serverAnswers(port: port, host: "127.0.0.79")))
        await registry.shutdown()
    }
}
