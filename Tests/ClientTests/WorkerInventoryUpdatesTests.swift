import Foundation
import StreamKitClient
import StreamKitTestSupport
import Testing

/// The push feed of a store's worker inventory (`workerInventoryUpdates`): the current inventory, then one per
/// membership change, on both transports.
struct WorkerInventoryUpdatesTests {
    /// Registers a worker in the store itself: no heartbeat loop sleeps on the manual clock.
    private func register(_ h: ClientHarness, _ workerID: String, heartbeatSeconds: Int = 1) async throws -> UInt64 {
        try await h.registry.withStore(h.storeID) { store in
            try await store.registerWorker(workerID: workerID, heartbeatSeconds: heartbeatSeconds).generation
        }
    }

    /// Iterates the harness client's feed in a task, recording every inventory.
    private func watch(_ h: ClientHarness) -> (seen: Box<[WorkerInventory]>, reader: Task<Void, any Error>) {
        let seen = Box<[WorkerInventory]>([])
        let updates = h.client.workerInventoryUpdates(store: h.storeID)
        let reader = Task {
            for try await inventory in updates { seen.update { $0.append(inventory) } }
        }
        return (seen, reader)
    }

    private func ids(_ seen: Box<[WorkerInventory]>) -> [String]? { seen.get.last?.workers.map(\.workerID) }

    @Test(arguments: TransportKind.allCases)
    func theCurrentInventoryComesFirstThenEveryRegistrationAndUnregistration(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let (seen, reader) = watch(h)
        await eventually("the first inventory") { seen.get.count == 1 }
        #expect(seen.get.first?.workers.isEmpty == true)  // The store does not exist yet.

        let generation = try await register(h, "w")
        await eventually("the registration") { ids(seen) == ["w"] }
        let registered = try #require(seen.get.last)
        _ = try await h.registry.withStore(h.storeID) {
            try await $0.unregisterWorker(workerID: "w", generation: generation)
        }
        await eventually("the unregistration") { ids(seen) == [] && seen.get.count == 3 }

        let versions = seen.get.map(\.version)
        #expect(versions == versions.sorted() && Set(versions).count == versions.count)
        #expect(try #require(seen.get.last).version > registered.version)
        reader.cancel()
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func aWorkerThatMissesThreeIntervalsIsEvictedOnTheStoresClock(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        _ = try await register(h, "w", heartbeatSeconds: 1)
        let (seen, reader) = watch(h)
        await eventually("the current inventory") { ids(seen) == ["w"] }
        let before = try #require(seen.get.last).version
        await eventually("the eviction timer asleep") { h.clock.sleeperCount == 1 }

        h.clock.advance(by: 3_000_000_000)  // Exactly three intervals: still live.
        h.clock.advance(by: 1)  // Past them.

        await eventually("the eviction") { ids(seen) == [] }
        #expect(try #require(seen.get.last).version > before)
        #expect(seen.get.count == 2)
        reader.cancel()
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func cancellingTheIterationEndsTheWatchInTheStore(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        _ = try await register(h, "w", heartbeatSeconds: 1)
        let (seen, reader) = watch(h)
        await eventually("the current inventory") { ids(seen) == ["w"] }
        let store = try await h.registry.store(h.storeID)
        #expect(await h.registry.workerWatchCount(of: h.storeID) == 1)
        #expect(await store.workerWatchCount == 1)

        reader.cancel()

        await eventually("the registry's watch ended") { await h.registry.workerWatchCount(of: h.storeID) == 0 }
        await eventually("the store's watch ended") { await store.workerWatchCount == 0 }
        await eventually("the eviction timer stopped") { h.clock.sleeperCount == 0 }
        await h.tearDown()
    }

    @Test func theFeedWatchesAgainAfterAReconnectAndYieldsWhatChangedMeanwhile() async throws {
        let h = try await webSocketHarness()
        let (seen, reader) = watch(h)
        await eventually("the first inventory") { seen.get.count == 1 }

        let server = try #require(h.server)
        await server.stop()
        await eventually("connection lost") { await !h.isConnected() }
        _ = try await register(h, "w", heartbeatSeconds: 300)  // While the client is cut off.
        try await server.resume()

        await eventually("the inventory after the reconnect") { ids(seen) == ["w"] }
        _ = try await register(h, "x", heartbeatSeconds: 300)
        await eventually("live again") { ids(seen) == ["w", "x"] }
        #expect(seen.get.count == 3)  // Nothing yielded twice.
        await eventually("one watch in the registry") { await h.registry.workerWatchCount(of: h.storeID) == 1 }
        reader.cancel()
        await h.tearDown()
    }
}
