import Foundation
import StreamKitLogFiles
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine

/// Registry subscriptions: they create nothing, pin nothing, wait for a store that does not exist yet, and
/// outlive their store closing.
@Suite("StoreRegistry subscriptions", .timeLimit(.minutes(1)))
struct StoreRegistrySubscriptionTests {
    /// The subscription's next status, or nil when it ended or none came within 10 s of wall time.
    private func next(_ subscription: StatusSubscription) async throws -> SegmentStatus? {
        try await RegistryFixture.bounded {
            var iterator = subscription.makeAsyncIterator()
            return await iterator.next()
        } ?? nil
    }

    /// Statuses until one has `lastSequence`, or nil when the subscription ends first (or after 10 s).
    private func status(_ subscription: StatusSubscription, reaching sequence: UInt64) async throws -> SegmentStatus? {
        while let status = try await next(subscription) {
            if status.lastSequence >= sequence { return status }
        }
        return nil
    }

    @Test("a subscription to a store that does not exist creates nothing and gets the creating writer's statuses")
    func subscriptionWaitsForTheStoreToBeCreated() async throws {
        let root = RegistryFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let registry = StoreRegistry(root: root, configuration: RegistryFixture.configuration(clock: ManualClock()))
        let id = UUID()

        let subscription = try await registry.subscribe(id, space: "s")
        let createdBySubscribing = FileManager.default.fileExists(atPath: root)
        let openAfterSubscribing = await registry.openStoreCount
        _ = try await registry.withStore(id) { try await $0.publish(space: "s", segment: "g", payload: [1]) }
        let first = try await next(subscription)
        _ = try await registry.withStore(id) { try await $0.publish(space: "s", segment: "g", payload: [2]) }
        let second = try await next(subscription)

        #expect(!createdBySubscribing)
        #expect(openAfterSubscribing == 0)
        #expect(first?.lastSequence == 1)
        #expect(second?.lastSequence == 2)
        subscription.cancel()
        await registry.shutdown()
    }

    @Test("a subscription outlives its store closing for idleness and follows the store when it reopens")
    func subscriptionOutlivesIdleEviction() async throws {
        let root = RegistryFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clock = ManualClock()
        let registry = StoreRegistry(root: root, configuration: RegistryFixture.configuration(clock: clock))
        let id = UUID()
        _ = try await registry.withStore(id) { try await $0.publish(space: "s", segment: "g", payload: [1]) }
        let subscription = try await registry.subscribe(id, space: "s", segment: "g")
        let snapshot = try await next(subscription)

        clock.advance(by: RegistryFixture.idleTimeout)
        await registry.evictIdle()
        let openAfterEviction = await registry.openStoreCount
        _ = try await registry.withStore(id) { try await $0.publish(space: "s", segment: "g", payload: [2]) }
        let afterReopen = try await status(subscription, reaching: 2)

        #expect(snapshot?.lastSequence == 1)
        #expect(openAfterEviction == 0, "the subscription does not keep its store open")
        #expect(afterReopen?.lastSequence == 2)
        subscription.cancel()
        await registry.shutdown()
    }

    @Test("a subscription outlives its store closing for the open-store bound")
    func subscriptionOutlivesTheBound() async throws {
        let root = RegistryFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var configuration = RegistryFixture.configuration(clock: ManualClock())
        configuration.maxOpenStores = 1
        let registry = StoreRegistry(root: root, configuration: configuration)
        let id = UUID()
        let subscription = try await registry.subscribe(id, space: "s")
        _ = try await registry.withStore(id) { try await $0.publish(space: "s", segment: "g", payload: [1]) }
        let first = try await next(subscription)

        _ = try await registry.store(UUID())
        let openAfterOther = await registry.openStoreIDs
        _ = try await registry.withStore(id) { try await $0.publish(space: "s", segment: "g", payload: [2]) }
        let afterReopen = try await status(subscription, reaching: 2)

        #expect(first?.lastSequence == 1)
        #expect(!openAfterOther.contains(id))
        #expect(afterReopen?.lastSequence == 2)
        subscription.cancel()
        await registry.shutdown()
    }

    @Test("a cancelled subscription is forgotten by the registry")
    func cancelledSubscriptionsAreForgotten() async throws {
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: ManualClock(), probe: OpenerProbe()))
        let missing = UUID()
        let existing = UUID()
        _ = try await registry.store(existing)
        let waiting = try await registry.subscribe(missing, space: "s")
        let registered = try await registry.subscribe(existing, space: "s")
        let counts = (await registry.subscriptionCount(of: missing), await registry.subscriptionCount(of: existing))

        waiting.cancel()
        registered.cancel()
        let forgotten = await RegistryFixture.eventually {
            let remaining = await registry.subscriptionCount(of: missing) + registry.subscriptionCount(of: existing)
            return remaining == 0
        }

        #expect(counts == (1, 1))
        #expect(forgotten)
        #expect(try await next(waiting) == nil)
        await registry.shutdown()
    }

    @Test("shutdown ends every registry subscription, waiting or registered, and refuses new ones")
    func shutdownEndsSubscriptions() async throws {
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: ManualClock(), probe: OpenerProbe()))
        let existing = UUID()
        _ = try await registry.store(existing)
        let waiting = try await registry.subscribe(UUID(), space: "s")
        let registered = try await registry.subscribe(existing, space: "s")

        await registry.shutdown()
        let later = await streamKitError { _ = try await registry.subscribe(existing, space: "s") }

        #expect(try await next(waiting) == nil)
        #expect(try await next(registered) == nil)
        #expect(later?.code == .storeClosing)
    }

    @Test("a subscription with a heartbeat gets heartbeats while its store does not exist")
    func heartbeatsWhileTheStoreDoesNotExist() async throws {
        let clock = ManualClock()
        var configuration = RegistryFixture.configuration(clock: clock)
        configuration.inMemory = true
        let registry = StoreRegistry(root: "/unused", configuration: configuration)
        let subscription = try await registry.subscribe(UUID(), space: "s", heartbeatSeconds: 1)
        // A heartbeat comes after a whole interval without a delivery: the second interval.
        let sleeping = await RegistryFixture.eventually { clock.sleeperCount == 1 }
        clock.advance(by: RegistryFixture.second)
        let sleepingAgain = await RegistryFixture.eventually { clock.sleeperCount == 1 }
        clock.advance(by: RegistryFixture.second)
        let heartbeat = try await next(subscription)

        #expect(sleeping)
        #expect(sleepingAgain)
        #expect(heartbeat?.isHeartbeat == true)
        #expect(await registry.openStoreCount == 0)
        subscription.cancel()
        await registry.shutdown()
    }
}
