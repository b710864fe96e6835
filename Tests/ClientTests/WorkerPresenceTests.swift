import Foundation
import Logging
import StreamKitClient
import StreamKitTestSupport
import Testing

/// Worker presence when a registration is lost: a displaced one ends and says so; an evicted one registers again.
struct WorkerPresenceTests {
    /// A second client of the harness's stores (the same registry, or the same server), on the harness's clock.
    private func secondClient(_ h: ClientHarness) -> StreamKitClient {
        var configuration = ClientConfiguration(clock: h.clock.engineClock)
        configuration.logger.logLevel = .critical
        let transport: StreamKitClient.Transport =
            if let server = h.server { .webSocket(url: server.url) { nil } } else { .inProcess(h.registry) }
        return StreamKitClient(transport: transport, configuration: configuration)
    }

    @Test(arguments: TransportKind.allCases)
    func aDisplacedRegistrationEndsAndTellsItsOwnerWithoutRegisteringAgain(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let other = secondClient(h)
        let first = try await h.client.registerWorker(store: h.storeID, workerID: "w", heartbeatInterval: .seconds(2))
        let second = try await other.registerWorker(store: h.storeID, workerID: "w", heartbeatInterval: .seconds(2))
        #expect(second.generation > first.generation)

        await eventually("both heartbeat loops asleep") { h.clock.sleeperCount == 2 }
        h.clock.advance(by: 2_000_000_000)
        await eventually("the displaced registration ended") { h.client.backgroundTaskCount == 0 }
        await eventually("the newer registration's heartbeat") { second.heartbeatCount == 1 }
        for round in 2...4 {  // Only the newer one goes on; nobody takes the id from it.
            await eventually("one heartbeat loop asleep (\(round))") { h.clock.sleeperCount == 1 }
            h.clock.advance(by: 2_000_000_000)
            await eventually("heartbeat \(round)") { second.heartbeatCount == round }
        }

        #expect(first.registrationCount == 1)  // Not registered again.
        #expect(second.registrationCount == 1)
        #expect(second.lastError == nil)
        #expect(first.state == .displaced)
        #expect(second.state == .active)
        let ending = await #expect(throws: StreamKitError.self) { try await first.ended() }
        #expect(ending?.code == .notFound)
        #expect(ending?.storeID == h.storeID)
        let inventory = try await h.client.workerInventory(store: h.storeID)
        #expect(inventory.workers.map(\.workerID) == ["w"])
        await first.stop()  // Does nothing more: the id stays the newer registration's.
        #expect(try await other.workerInventory(store: h.storeID).workers.map(\.workerID) == ["w"])

        await second.stop()
        #expect(second.state == .stopped)
        try await second.ended()
        #expect(try await other.workerInventory(store: h.storeID).workers.isEmpty)
        await other.close()
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func anEvictedRegistrationRegistersAgain(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let presence = try await h.client.registerWorker(
            store: h.storeID, workerID: "w", heartbeatInterval: .seconds(1))
        let generation = presence.generation
        await eventually("heartbeat loop asleep") { h.clock.sleeperCount == 1 }
        h.clock.advance(by: 4_000_000_000)  // Past three missed intervals before the heartbeat: evicted.
        await eventually("registered again") { presence.registrationCount == 2 }
        #expect(presence.generation > generation)
        #expect(presence.state == .active)
        #expect(try await h.client.workerInventory(store: h.storeID).workers.map(\.workerID) == ["w"])
        await presence.stop()
        #expect(presence.state == .stopped)
        #expect(try await h.client.workerInventory(store: h.storeID).workers.isEmpty)
        await h.tearDown()
    }
}
