import Foundation
import StreamKitClient
import StreamKitTestSupport
import Testing

/// `close()`: idempotent, stops every background task, and makes later calls fail with `storeClosing`.
struct ClientLifecycleTests {
    /// Handler timeouts to run the handler tests with: inline (zero) and in a task raced against a timer.
    static let handlerTimeouts: [Duration] = [.zero, .seconds(30)]

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
        #expect(try await store.lease(key: "job") == nil)  // released on the way out
        #expect(try await store.workerInventory().workers.isEmpty)  // unregistered on the way out
        await worker.stop()
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func everyCallAfterCloseFailsWithStoreClosing(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [])
        // Created before, opened after.
        let stream = h.client.consumeSegment(store: h.storeID, space: "s", segment: "g")
        await h.client.close()
        let id = h.storeID
        let c = h.client
        #expect(
            await errorCode { try await c.publish(store: id, space: "s", segment: "g", payload: []) } == .storeClosing)
        #expect(
            await errorCode { try await c.produce(store: id, space: "s", segment: "g", records: records(2...2)) }
                == .storeClosing)
        #expect(
            await errorCode {
                _ = try await collect(
                    c.produce(store: id, space: "s", segment: "g", records: AsyncStream { $0.finish() }))
            } == .storeClosing)
        #expect(await errorCode { _ = try await c.peek(store: id, space: "s", segment: "g") } == .storeClosing)
        #expect(await errorCode { _ = try await collect(stream) } == .storeClosing)
        #expect(await errorCode { _ = try await collect(c.consumeSpace(store: id, space: "s")) } == .storeClosing)
        #expect(await errorCode { _ = try await collect(c.consume(store: id, spaces: ["s": .start])) } == .storeClosing)
        #expect(await errorCode { _ = try await c.spaces(store: id) } == .storeClosing)
        #expect(await errorCode { _ = try await c.segments(store: id, space: "s") } == .storeClosing)
        #expect(await errorCode { _ = try await c.subscribe(store: id, space: "s") { _ in } } == .storeClosing)
        #expect(
            await errorCode { try await c.withLease(store: id, key: "k", ttl: .seconds(5)) { _ in } } == .storeClosing)
        #expect(await errorCode { _ = try await c.registerWorker(store: id, workerID: "w") } == .storeClosing)
        #expect(await errorCode { _ = try await c.workerInventory(store: id) } == .storeClosing)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases, handlerTimeouts)
    func closeCalledFromASubscriptionHandlerReturnsAndStopsEverythingElse(
        _ kind: TransportKind, _ timeout: Duration
    ) async throws {
        let h = try await ClientHarness.make(kind) { $0.handlerTimeout = timeout }
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])
        let bystander = try await h.client.subscribe(store: h.storeID, space: "other") { _ in }
        let closed = Box(false)
        let closing = try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { _ in
            await h.client.close()
            closed.update { $0 = true }
        }
        await eventually("close() returned inside the handler") { closed.get }
        guard closed.get else { return }  // Deadlocked: nothing more to check, and tearing down would hang too.
        #expect(h.client.isClosed)
        #expect(bystander.status().state == .cancelled)  // Waited for by close().
        await eventually("the handler's own subscription ended") { h.client.backgroundTaskCount == 0 }
        #expect(closing.status().state == .cancelled)
        #expect(await errorCode { _ = try await h.client.spaces(store: h.storeID) } == .storeClosing)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases, handlerTimeouts)
    func cancelCalledFromTheSubscriptionsOwnHandlerReturns(_ kind: TransportKind, _ timeout: Duration) async throws {
        let h = try await ClientHarness.make(kind) { $0.handlerTimeout = timeout }
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])
        let cancelled = Box(false)
        let handle = Box<Subscription?>(nil)
        let started = Box(false)
        let subscription = try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { _ in
            await eventually("the handle is known") { handle.get != nil }
            started.update { $0 = true }
            await handle.get?.cancel()
            cancelled.update { $0 = true }
        }
        handle.update { $0 = subscription }
        await eventually("cancel() returned inside the handler") { cancelled.get }
        guard cancelled.get else { return }
        #expect(started.get)
        #expect(subscription.status().state == .cancelled)
        await eventually("the subscription ended") { h.client.backgroundTaskCount == 0 }
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [2])
        #expect(subscription.status().deliveredCount == 1)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func closeCalledFromALeaseBodyReturns(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let closed = Box(false)
        let lease = Task {
            try await h.client.withLease(store: h.storeID, key: "job", ttl: .seconds(10)) { _ in
                await h.client.close()
                closed.update { $0 = true }
            }
        }
        await eventually("close() returned inside the lease body") { closed.get }
        guard closed.get else { return }
        #expect(h.client.isClosed)
        _ = await lease.result  // The body returned: withLease ends too.
        #expect(h.client.backgroundTaskCount == 0)
        await h.tearDown()
    }
}
