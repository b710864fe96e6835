import Foundation
import StreamKitPostgres
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine

/// Watching the worker inventory of a store in PostgreSQL: changes made through another node arrive through the
/// watching node's poll of the shared inventory.
@Suite struct PostgresWorkerWatchTests {
    typealias Nodes = PostgresNodesTests.Nodes

    @Test("a registration and an unregistration through node A arrive in a watch on node B")
    func changesThroughAnotherNodeArriveInAWatch() async throws {
        var configuration = StoreFixture.quiet()
        configuration.followPollInterval = .milliseconds(100)
        let nodes = try await Nodes.open(2, configuration: configuration)
        let (a, b) = (nodes.stores[0], nodes.stores[1])
        let watch = try await b.watchWorkers()
        // Fails the test instead of hanging if an update never comes.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(30))
            watch.cancel()
        }
        var updates = watch.makeAsyncIterator()

        let first = try #require(await updates.next())
        let registration = try await a.registerWorker(workerID: "w", heartbeatSeconds: 60)
        let registered = try #require(await updates.next())
        try await a.unregisterWorker(workerID: "w", generation: registration.generation)
        let unregistered = try #require(await updates.next())

        #expect(first.workers.isEmpty)
        #expect(registered.workers.map(\.workerID) == ["w"])
        #expect(registered.version > first.version)
        #expect(unregistered.workers.isEmpty)
        #expect(unregistered.version > registered.version)
        #expect(await b.workerWatchCount == 1)
        watch.cancel()
        watchdog.cancel()
        await nodes.close()
    }
}
