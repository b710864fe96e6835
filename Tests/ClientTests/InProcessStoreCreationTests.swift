import Foundation
import StreamKitClient
import StreamKitTestSupport
import Testing

/// In process, as over the wire, only writes create stores.
@Suite(.timeLimit(.minutes(1)))
struct InProcessStoreCreationTests {
    @Test("in process, reads, listings, presence queries and subscriptions of unknown stores create no store")
    func readsOfUnknownStoresCreateNothing() async throws {
        let h = try await ClientHarness.make(.inProcess)

        for _ in 0..<100 {
            let id = UUID()
            #expect(try await h.client.peek(store: id, space: "s", segment: "g") == nil)
            #expect(try await h.client.spaces(store: id).isEmpty)
            #expect(try await h.client.segments(store: id, space: "s").isEmpty)
            #expect(try await collect(h.client.consumeSegment(store: id, space: "s", segment: "g")).isEmpty)
            #expect(try await collect(h.client.consumeSpace(store: id, space: "s")).isEmpty)
            #expect(try await h.client.workerInventory(store: id) == .empty)
            let subscription = try await h.client.subscribe(store: id, space: "s") { _ in }
            await subscription.cancel()
        }
        #expect(await h.registry.openStoreCount == 0)
        await h.tearDown()
    }

    @Test("in process, a subscription made before its store exists gets the first publish")
    func subscriptionBeforeTheStoreExists() async throws {
        let h = try await ClientHarness.make(.inProcess)
        let seen = Box<[UInt64]>([])
        let subscription = try await h.client.subscribe(store: h.storeID, space: "s") { status in
            seen.update { $0.append(status.lastSequence) }
        }
        let openBeforePublish = await h.registry.openStoreCount

        _ = try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])
        await eventually("the first status") { seen.get == [1] }

        #expect(openBeforePublish == 0)
        await subscription.cancel()
        await h.tearDown()
    }
}
