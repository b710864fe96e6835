import Foundation
import StreamKitClient
import StreamKitTestSupport
import Testing

/// `close()`: idempotent, stops every background task, and makes later calls fail with `storeClosing`.
struct ClientLifecycleTests {
    @Test(arguments: TransportKind.allCases)
    func closeStopsEveryBackgroundTaskAndIsIdempotent(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let subscription = try await h.client.subscribe(store: h.storeID, space: "s") { _ in }
        let worker = try await h.client.registerWorker(store: h.storeID, workerID: "w", heartbeatInterval: .seconds(5))
        let bodyCancelled = Box(false)
        let gate = ManualClock()
        let lease = Task {
            try await h.client.withLease(store: h.storeID, key: "job", ttl: .seconds(10)) { _ in
                do { try await gate.sleep(UInt64.max / 2) } catch {
                    bodyCancelled.update { $0 = true }
                    throw error
                }
            }
        }
        await eventually("all running") { h.client.backgroundTaskCount == 3 && gate.sleeperCount == 1 }
        async let first: Void = h.client.close()
        async let second: Void = h.client.close()
        _ = await (first, second)
        await h.client.close()
        #expect(h.client.isClosed)
        #expect(h.client.backgroundTaskCount == 0)
        #expect(subscription.status().state == .cancelled)
        #expect(bodyCancelled.get)
        #expect(await errorCode { try await lease.value } == .storeClosing)
        let store = try await h.registry.store(h.storeID)
        #expect(await store.lease(key: "job") == nil)  // released on the way out
        #expect(await store.workerInventory().workers.isEmpty)  // unregistered on the way out
        await worker.stop()
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func everyCallAfterCloseFailsWithStoreClosing(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [])
        let stream = h.client.consumeSegment(store: h.storeID, space: "s", segment: "g")  // created before, opened after
        await h.client.close()
        let id = h.storeID
        let c = h.client
        #expect(await errorCode { try await c.publish(store: id, space: "s", segment: "g", payload: []) } == .storeClosing)
        #expect(await errorCode { try await c.produce(store: id, space: "s", segment: "g", records: records(2...2)) } == .storeClosing)
        #expect(await errorCode { _ = try await collect(c.produce(store: id, space: "s", segment: "g", records: AsyncStream { $0.finish() })) } == .storeClosing)
        #expect(await errorCode { _ = try await c.peek(store: id, space: "s", segment: "g") } == .storeClosing)
        #expect(await errorCode { _ = try await collect(stream) } == .storeClosing)
        #expect(await errorCode { _ = try await collect(c.consumeSpace(store: id, space: "s")) } == .storeClosing)
        #expect(await errorCode { _ = try await collect(c.consume(store: id, spaces: ["s": .start])) } == .storeClosing)
        #expect(await errorCode { _ = try await c.spaces(store: id) } == .storeClosing)
        #expect(await errorCode { _ = try await c.segments(store: id, space: "s") } == .storeClosing)
        #expect(await errorCode { _ = try await c.subscribe(store: id, space: "s") { _ in } } == .storeClosing)
        #expect(await errorCode { try await c.withLease(store: id, key: "k", ttl: .seconds(5)) { _ in } } == .storeClosing)
        #expect(await errorCode { _ = try await c.registerWorker(store: id, workerID: "w") } == .storeClosing)
        #expect(await errorCode { _ = try await c.workerInventory(store: id) } == .storeClosing)
        await h.tearDown()
    }
}
