import Foundation
import StreamKitLogFiles
import StreamKitTestSupport
import Synchronization
import Testing

@testable import StreamKitEngine

/// A store the registry closed for idleness still ages: the sweep reopens it for a retention pass once time alone
/// made work due, and leaves it closed otherwise.
struct StoreRegistryRetentionTests {
    @Test(
        "a closed store whose oldest files aged past the maximum age is reopened for retention; one not due stays closed"
    )
    func closedStoresAreRetainedOnceTheirFilesAge() async throws {
        let root = RegistryFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clock = ManualClock()
        let wallClock = Mutex<Int64>(1_800_000_000_000_000_000)
        var configuration = RegistryFixture.configuration(clock: clock)
        configuration.store.log.clock = { wallClock.withLock { $0 } }
        configuration.store.log.blockBytes = 1024
        configuration.store.log.logFileBytes = 8 * 1024
        // Passes of open stores only every hour: the sweep is what runs here.
        configuration.store.retention = RetentionConfiguration(
            policy: .init(maxAge: .seconds(3_600)), interval: .seconds(3_600))
        let registry = StoreRegistry(root: root, configuration: configuration)
        let id = UUID()
        try await registry.withStore(id) { store in
            for t in UInt64(0)..<30 {
                wallClock.withLock { $0 += 1_000_000 }
                try await store.produce(
                    space: "s", segment: "g",
                    records: records((t * 10 + 1)...(t * 10 + 10), tag: String(repeating: "x", count: 60)))
            }
        }
        clock.advance(by: 2 * RegistryFixture.idleTimeout)
        await registry.evictIdle()
        let openAfterEviction = await registry.openStoreIDs

        await registry.retainClosedStores()  // Nothing aged yet.
        let openWhenNotDue = await registry.openStoreIDs
        wallClock.withLock { $0 += 2 * 3_600 * 1_000_000_000 }
        await registry.retainClosedStores()
        let openWhenDue = await registry.openStoreIDs
        let first = try await registry.withStore(id) { await $0.status(space: "s", segment: "g")?.firstSequence }
        await registry.shutdown()

        #expect(openAfterEviction.isEmpty)
        #expect(openWhenNotDue.isEmpty)
        #expect(openWhenDue == [id])
        #expect((first ?? 0) > 1)
    }
}
