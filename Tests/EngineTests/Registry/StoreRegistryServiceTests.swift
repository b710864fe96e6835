import Foundation
import Logging
import ServiceLifecycle
import StreamKitPostgres
import StreamKitTestSupport
import Synchronization
import Testing

@testable import StreamKitEngine

/// The registry as a swift-service-lifecycle `Service`, and its readiness (what the server's readiness probe asks).
@Suite(.timeLimit(.minutes(2)))
struct StoreRegistryServiceTests {
    private static func memoryRegistry() -> StoreRegistry {
        var configuration = RegistryConfiguration(store: StoreFixture.quiet())
        configuration.inMemory = true
        return StoreRegistry(root: "/nonexistent-registry-service-tests", configuration: configuration)
    }

    private static var quiet: Logger {
        var logger = Logger(label: "test.service-group")
        logger.logLevel = .critical
        return logger
    }

    @Test(
        "run() serves until the group's graceful shutdown, then shuts the registry down: stores closed, calls refused")
    func gracefulShutdownOfTheGroupShutsTheRegistryDown() async throws {
        let registry = Self.memoryRegistry()
        let group = ServiceGroup(services: [registry], logger: Self.quiet)
        let running = Task { try await group.run() }
        let store = UUID()
        _ = try await registry.withStore(store) { try await $0.publish(space: "s", segment: "g", payload: [1]) }
        try await registry.checkReadiness()  // Running: ready.

        await group.triggerGracefulShutdown()
        try await running.value

        let refused = await #expect(throws: StreamKitError.self) {
            _ = try await registry.withStore(store) { try await $0.publish(space: "s", segment: "g", payload: [2]) }
        }
        let notReady = await #expect(throws: StreamKitError.self) { try await registry.checkReadiness() }
        #expect(refused?.code == .storeClosing)
        #expect(notReady?.code == .storeClosing)
    }

    @Test("run() shuts the registry down when its task is cancelled")
    func cancellationShutsTheRegistryDown() async throws {
        let registry = Self.memoryRegistry()
        let running = Task { try await registry.run() }
        try await registry.checkReadiness()

        running.cancel()
        try await running.value

        let notReady = await #expect(throws: StreamKitError.self) { try await registry.checkReadiness() }
        #expect(notReady?.code == .storeClosing)
    }

    @Test("checkReadiness reports the backend's failure while it does not answer, and passes once it does")
    func readinessAsksTheBackend() async throws {
        let answers = Atomic<Bool>(false)
        var configuration = RegistryConfiguration(store: StoreFixture.quiet())
        configuration.inMemory = true
        configuration.readinessCheck = {
            guard answers.load(ordering: .relaxed) else {
                throw StreamKitError(code: .storeUnavailable, message: "the backend is down")
            }
        }
        let registry = StoreRegistry(root: "/nonexistent-registry-service-tests", configuration: configuration)

        let down = await #expect(throws: StreamKitError.self) { try await registry.checkReadiness() }
        answers.store(true, ordering: .relaxed)
        try await registry.checkReadiness()
        await registry.shutdown()

        #expect(down?.code == .storeUnavailable)
    }

    @Test(
        "over PostgreSQL, readiness is one round trip to the database: ready while it answers, storeUnavailable once the log's connections are closed"
    )
    func postgresReadinessPingsTheDatabase() async throws {
        let log = try await TestPostgres.node()
        let registry = StoreRegistry(
            root: "", configuration: log.registryConfiguration(RegistryConfiguration(store: StoreFixture.quiet())))

        try await registry.checkReadiness()
        await log.close()
        let down = await #expect(throws: StreamKitError.self) { try await registry.checkReadiness() }
        await registry.shutdown()

        #expect(down?.code == .storeUnavailable)
    }
}
