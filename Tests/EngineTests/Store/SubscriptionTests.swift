import Foundation
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine

@Suite(.timeLimit(.minutes(1))) struct SubscriptionTests {
    @Test(
        "a space subscription delivers a sorted snapshot first, then a status after each commit",
        arguments: Backend.allCases)
    func snapshotThenLive(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            try await store.produce(space: "s", segment: "b", records: records(1...2))
            try await store.produce(space: "s", segment: "a", records: records(1...3))
            let subscription = try await store.subscribe(space: "s", segment: "*")
            var iterator = subscription.makeAsyncIterator()
            let first = await iterator.next()
            let second = await iterator.next()
            #expect(first?.segment == "a" && first?.lastSequence == 3)
            #expect(second?.segment == "b" && second?.lastSequence == 2)

            try await store.produce(space: "s", segment: "c", records: records(1...1))
            let live = await iterator.next()
            #expect(live?.segment == "c" && live?.lastSequence == 1 && live?.firstSequence == 1)
            subscription.cancel()
            #expect(await iterator.next() == nil)
        }
    }

    @Test("a segment subscription sees only its segment", arguments: Backend.allCases)
    func segmentOnly(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let subscription = try await store.subscribe(space: "s", segment: "mine")
            var iterator = subscription.makeAsyncIterator()
            try await store.produce(space: "s", segment: "other", records: records(1...1))
            try await store.produce(space: "s", segment: "mine", records: records(1...4))
            let status = await iterator.next()
            #expect(status?.segment == "mine" && status?.lastSequence == 4)
            subscription.cancel()
        }
    }

    @Test(
        "a slow subscriber gets the latest status per segment, with the replaced ones counted",
        arguments: Backend.allCases)
    func coalescing(backend: Backend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let subscription = try await store.subscribe(space: "s", segment: "*")
            for n in 1...50 { try await store.publish(space: "s", segment: "g", payload: [UInt8(n)]) }
            var iterator = subscription.makeAsyncIterator()
            let status = await iterator.next()
            #expect(status?.lastSequence == 50)
            #expect(subscription.coalescedCount == 49)
            subscription.cancel()
        }
    }

    @Test("closing the store ends its subscriptions")
    func closeEnds() async throws {
        let store = Store.inMemory(configuration: StoreFixture.quiet())
        let subscription = try await store.subscribe(space: "s")
        let waiter = Task { try await subscription.collect() }
        await store.close()
        let delivered = try await waiter.value
        #expect(delivered.isEmpty)
    }

    @Test(
        "a subscription with a heartbeat gets a heartbeat status after an interval without updates, and none while updates flow"
    )
    func heartbeat() async throws {
        let clock = ManualClock()
        var configuration = StoreFixture.quiet()
        configuration.clock = clock.engineClock
        let store = Store.inMemory(configuration: configuration)
        let subscription = try await store.subscribe(space: "s", segment: "*", heartbeatSeconds: 5)
        try await store.publish(space: "s", segment: "g", payload: [1])
        let update = try await RegistryFixture.bounded { await subscription.first { _ in true } }
        #expect(update??.isHeartbeat == false)

        // First interval: an update was delivered in it, so no heartbeat; second interval: quiet.
        #expect(await RegistryFixture.eventually { clock.sleeperCount > 0 })
        clock.advance(by: 5_000_000_000)
        #expect(await RegistryFixture.eventually { clock.sleeperCount > 0 })
        clock.advance(by: 5_000_000_000)
        let beat = try await RegistryFixture.bounded { await subscription.first { _ in true } }
        #expect(beat??.isHeartbeat == true)
        #expect(beat??.space == "s")
        subscription.cancel()
        await store.close()
    }

    @Test("a heartbeat outside 1–300 seconds is refused")
    func heartbeatBounds() async throws {
        let store = Store.inMemory(configuration: StoreFixture.quiet())
        let error = await streamKitError { _ = try await store.subscribe(space: "s", heartbeatSeconds: 0) }
        #expect(error?.code == .invalidArgument)
        await store.close()
    }
}
