import Foundation
import StreamKitClient
import StreamKitTestSupport
import Testing

/// Subscriptions: delivery, the bounded handler pool, timeouts, failures and the status counters.
struct SubscriptionTests {
    @Test(arguments: TransportKind.allCases)
    func deliversTheSnapshotThenLiveStatusesInOrder(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])
        let seen = Box<[UInt64]>([])
        let subscription = try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { status in
            seen.update { $0.append(status.lastSequence) }
        }
        await eventually("snapshot") { seen.get == [1] }
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [2])
        try await h.client.publish(store: h.storeID, space: "s", segment: "other", payload: [2])
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [3])
        await eventually("live statuses") { subscription.status().lastStatus?.lastSequence == 3 }
        #expect(seen.get == seen.get.sorted())
        #expect(seen.get.last == 3)
        let status = subscription.status()
        #expect(status.state == .active)
        #expect(status.id == subscription.id)
        #expect(status.lastStatus?.lastSequence == 3)
        #expect(status.deliveredCount == seen.get.count)
        #expect(status.handlerFailures == 0 && status.handlerTimeouts == 0 && status.failureCount == 0)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func wildcardSeesEverySegmentOfTheSpace(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        try await h.client.publish(store: h.storeID, space: "s", segment: "b", payload: [])
        try await h.client.publish(store: h.storeID, space: "s", segment: "a", payload: [])
        let seen = Box<[String]>([])
        _ = try await h.client.subscribe(store: h.storeID, space: "s") { status in
            seen.update { $0.append(status.segment) }
        }
        await eventually("snapshot") { seen.get == ["a", "b"] }
        try await h.client.publish(store: h.storeID, space: "s", segment: "c", payload: [])
        try await h.client.publish(store: h.storeID, space: "elsewhere", segment: "d", payload: [])
        await eventually("live") { seen.get == ["a", "b", "c"] }
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func aThrowingHandlerIsCountedAndStopsNothing(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        struct Boom: Error {}
        let failingCalls = Box(0)
        let healthy = Box<UInt64>(0)
        let failing = try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { _ in
            failingCalls.update { $0 += 1 }
            throw Boom()
        }
        let other = try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { status in
            healthy.update { $0 = status.lastSequence }
        }
        for sequence in UInt64(1)...3 {
            try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [])
            await eventually("both handled") {
                failing.status().lastStatus?.lastSequence == sequence
                    && other.status().lastStatus?.lastSequence == sequence
            }
        }
        #expect(healthy.get == 3)
        #expect(failingCalls.get == 3)
        let status = failing.status()
        #expect(status.state == .active)
        #expect(status.handlerFailures == 3)
        #expect(status.lastError?.contains("Boom") == true)
        #expect(other.status().handlerFailures == 0)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func aHandlerThatTimesOutIsCancelledCountedAndDeliveryGoesOn(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind) { $0.handlerTimeout = .seconds(1) }
        let gate = ManualClock()
        let cancelled = Box(0)
        let seen = Box<[UInt64]>([])
        let subscription = try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { status in
            seen.update { $0.append(status.lastSequence) }
            guard status.lastSequence == 1 else { return }
            do { try await gate.sleep(UInt64.max / 2) } catch { cancelled.update { $0 += 1 } }
        }
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [])
        await eventually("handler stuck") { gate.sleeperCount == 1 && h.clock.sleeperCount == 1 }
        h.clock.advance(by: 1_000_000_000)
        await eventually("timed out") { subscription.status().handlerTimeouts == 1 }
        await eventually("abandoned handler cancelled") { cancelled.get == 1 }
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [])
        await eventually("next status delivered") { seen.get == [1, 2] }
        #expect(subscription.status().state == .active)
        #expect(subscription.status().lastError?.contains("timed out") == true)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func handlersRunOnABoundedPool(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind) { $0.maxConcurrentHandlers = 2 }
        let gate = ManualClock()
        let running = Box((now: 0, most: 0, done: 0))
        for index in 0..<5 {
            _ = try await h.client.subscribe(store: h.storeID, space: "s", segment: "g\(index)") { _ in
                running.update {
                    $0.now += 1
                    $0.most = max($0.most, $0.now)
                }
                try? await gate.sleep(1)
                running.update {
                    $0.now -= 1
                    $0.done += 1
                }
            }
            try await h.client.publish(store: h.storeID, space: "s", segment: "g\(index)", payload: [])
        }
        await eventually("pool full") { gate.sleeperCount == 2 }
        // Give the other three dispatchers every chance to (wrongly) start a handler.
        for _ in 0..<200 { await Task.yield() }
        #expect(running.get.now == 2)
        while running.get.done < 5 {
            gate.advance(by: 1)
            await Task.yield()
        }
        #expect(running.get.most == 2)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func aZeroTimeoutRunsHandlersInline(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind) { $0.handlerTimeout = .zero }
        let seen = Box(0)
        _ = try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { _ in seen.update { $0 += 1 } }
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [])
        await eventually("delivered") { seen.get == 1 }
        #expect(h.clock.sleeperCount == 0)  // no timer
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func aSlowHandlerGetsCoalescedUpdatesAndTheLatestStatus(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind) { $0.handlerTimeout = .zero }
        let gate = ManualClock()
        let seen = Box<[UInt64]>([])
        let subscription = try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { status in
            seen.update { $0.append(status.lastSequence) }
            try? await gate.sleep(1)
        }
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [])
        await eventually("handler busy") { gate.sleeperCount == 1 }
        for _ in 2...10 { try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: []) }
        while seen.get.last != 10 {
            gate.advance(by: 1)
            await Task.yield()
        }
        #expect(seen.get.count < 10)
        #expect(subscription.status().coalescedUpdates > 0)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func cancelStopsDeliveryAndTheStoreClosingFailsTheSubscription(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let seen = Box(0)
        let cancelled = try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { _ in
            seen.update { $0 += 1 }
        }
        let failing = try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { _ in }
        await cancelled.cancel()
        await cancelled.cancel()
        #expect(cancelled.status().state == .cancelled)
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [])
        await eventually("other delivered") { failing.status().deliveredCount == 1 }
        #expect(seen.get == 0)
        #expect(
            await errorCode { _ = try await h.client.subscribe(store: h.storeID, space: "", segment: "g") { _ in } }
                == .invalidArgument)
        await h.registry.shutdown()
        await eventually("failed") { failing.status().state == .failed }
        #expect(failing.status().failureCount == 1)
        #expect(failing.status().lastError != nil)
        await h.tearDown()
    }
}
