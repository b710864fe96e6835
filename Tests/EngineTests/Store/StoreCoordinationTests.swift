import Foundation
import Synchronization
import Testing

@testable import StreamKitEngine

/// A clock tests move by hand.
final class ManualTime: Sendable {
    private let nanoseconds = Atomic<UInt64>(1_000_000_000)
    var now: UInt64 { nanoseconds.load(ordering: .relaxed) }
    func advance(seconds: Double) { nanoseconds.add(UInt64(seconds * 1e9), ordering: .relaxed) }
    var clock: EngineClock {
        EngineClock(now: { self.now }, sleep: { _ in try await Task.sleep(nanoseconds: 1_000_000) })
    }
}

@Suite struct StoreCoordinationTests {
    @Test("each new lease holder gets a higher fencing token, also after the store reopens")
    func fencingAcrossRestart() async throws {
        let time = ManualTime()
        var configuration = StoreFixture.quiet()
        configuration.clock = time.clock
        try await withStore(.file, configuration: configuration) { fixture in
            let first = try #require(try await fixture.store.acquireLease(key: "job", holder: "a", ttlSeconds: 10))
            #expect(try await fixture.store.acquireLease(key: "job", holder: "b", ttlSeconds: 10) == nil)
            time.advance(seconds: 11)
            let second = try #require(try await fixture.store.acquireLease(key: "job", holder: "b", ttlSeconds: 10))
            #expect(second.fencingToken > first.fencingToken)
            let error = await streamKitError { _ = try await fixture.store.renewLease(first) }
            #expect(error?.code == .leaseNotHeld)

            let reopened = try await fixture.reopen(configuration: configuration)
            let third = try #require(try await reopened.acquireLease(key: "job", holder: "c", ttlSeconds: 10))
            #expect(third.fencingToken > second.fencingToken)
            await reopened.close()
        }
    }

    @Test("a worker missing three heartbeats drops out of the inventory; a duplicate id replaces the older one")
    func presence() async throws {
        let time = ManualTime()
        var configuration = StoreFixture.quiet()
        configuration.clock = time.clock
        try await withStore(.memory, configuration: configuration) { fixture in
            let store = fixture.store
            let a = try await store.registerWorker(workerID: "a", metadata: ["zone": "1"], heartbeatSeconds: 1)
            _ = try await store.registerWorker(workerID: "b", heartbeatSeconds: 10)
            #expect(try await store.workerInventory().workers.map(\.workerID) == ["a", "b"])
            time.advance(seconds: 3.5)
            #expect(try await store.workerInventory().workers.map(\.workerID) == ["b"])
            let heartbeat = await streamKitError {
                try await store.workerHeartbeat(workerID: "a", generation: a.generation)
            }
            #expect(heartbeat?.code == .notFound)

            let b2 = try await store.registerWorker(workerID: "b", heartbeatSeconds: 10)
            #expect(b2.replacedGeneration != nil)
            #expect(try await store.workerInventory().workers.count == 1)
        }
    }
}
