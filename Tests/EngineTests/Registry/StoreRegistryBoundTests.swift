import Foundation
import StreamKitLogFiles
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine

/// `maxOpenStores`: the least recently used store that is not in use is closed when one store too many opens.
@Suite("StoreRegistry open-store bound", .timeLimit(.minutes(1)))
struct StoreRegistryBoundTests {
    /// A registry over `probe` (in-memory stores, evicted like file stores) with `maxOpenStores` = `bound`.
    private func registry(
        bound: Int, probe: OpenerProbe = OpenerProbe(), clock: ManualClock = ManualClock()
    )
        -> StoreRegistry
    {
        var configuration = RegistryFixture.configuration(clock: clock, probe: probe)
        configuration.maxOpenStores = bound
        return StoreRegistry(root: "/unused", configuration: configuration)
    }

    @Test("with maxOpenStores N, opening N+k stores keeps at most N open and closes the least recently used first")
    func boundClosesLeastRecentlyUsedFirst() async throws {
        let registry = registry(bound: 3)
        let ids = (0..<6).map { _ in UUID() }
        var stores: [Store] = []
        for id in ids[0..<3] { stores.append(try await registry.store(id)) }
        _ = try await registry.withStore(ids[0]) { _ in }  // ids[1] is now the least recently used

        _ = try await registry.store(ids[3])
        let afterFourth = await registry.openStoreIDs
        _ = try await registry.store(ids[4])
        let afterFifth = await registry.openStoreIDs
        _ = try await registry.store(ids[5])
        let afterSixth = await registry.openStoreIDs
        let closed = await RegistryFixture.eventually {
            for store in stores where await !store.isClosing { return false }
            return true
        }

        #expect(afterFourth == [ids[0], ids[2], ids[3]])
        #expect(afterFifth == [ids[0], ids[3], ids[4]])
        #expect(afterSixth == [ids[3], ids[4], ids[5]])
        #expect(closed)
        #expect(await registry.openStoreCount == 3)
        await registry.shutdown()
    }

    @Test("1,000 stores through a bound of 8 never leave more than 8 open")
    func manyStoresStayUnderTheBound() async throws {
        let registry = registry(bound: 8)
        var highest = 0
        for _ in 0..<1_000 {
            _ = try await registry.withStore(UUID()) { try await $0.publish(space: "s", segment: "g", payload: [1]) }
            highest = max(highest, await registry.openStoreCount)
        }

        #expect(highest == 8)
        await registry.shutdown()
    }

    @Test("data in file stores closed for the bound is intact when they are reopened")
    func evictedFileStoresKeepTheirData() async throws {
        let root = RegistryFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var configuration = RegistryFixture.configuration(clock: ManualClock())
        configuration.maxOpenStores = 2
        let registry = StoreRegistry(root: root, configuration: configuration)
        let ids = (0..<6).map { _ in UUID() }

        var highest = 0
        for round in 0..<3 {
            for (index, id) in ids.enumerated() {
                _ = try await registry.withStore(id) { store in
                    try await store.publish(space: "s", segment: "g", payload: [UInt8(index), UInt8(round)])
                }
                highest = max(highest, await registry.openStoreCount)
            }
        }
        var contents: [[[UInt8]]] = []
        for id in ids {
            let payloads = try await registry.withExistingStore(id) { store in
                var payloads: [[UInt8]] = []
                for try await entry in store.consumeSegment(space: "s", segment: "g") {
                    payloads.append(entry.payload.bytes)
                }
                return payloads
            }
            contents.append(payloads ?? [])
            highest = max(highest, await registry.openStoreCount)
        }

        #expect(highest <= 2)
        for (index, payloads) in contents.enumerated() {
            #expect(payloads == (0..<3).map { [UInt8(index), UInt8($0)] })
        }
        await registry.shutdown()
    }

    @Test("a store with a call in progress is not closed for the bound: the registry goes over, then closes the excess")
    func pinnedStoresAreNotClosedForTheBound() async throws {
        let registry = registry(bound: 1)
        let busy = UUID()
        let other = UUID()
        let entered = Latch()
        let release = Latch()
        let call = Task {
            try await registry.withStore(busy) { store in
                entered.open()
                await release.wait()
                return await store.isClosing
            }
        }
        await entered.wait()

        let otherStore = try await registry.store(other)
        let otherClosed = await RegistryFixture.eventually { await otherStore.isClosing }
        let openWhileBusy = await registry.openStoreIDs
        release.open()
        let closedUnderCall = try await call.value

        #expect(otherClosed, "the store opened over the bound is closed once its call ends")
        #expect(openWhileBusy == [busy])
        #expect(!closedUnderCall)
        #expect(await registry.openStoreIDs == [busy])
        await registry.shutdown()
    }

    @Test("a store holding a live lease stays open past the bound and idleness until the lease expires")
    func storesWithLiveLeasesStayOpen() async throws {
        let clock = ManualClock()
        let registry = registry(bound: 1, clock: clock)
        let leased = UUID()
        let other = UUID()
        let leasedStore = try await registry.store(leased)
        let lease = try await registry.withStore(leased) { store in
            try await store.acquireLease(key: "job", holder: "one", ttlSeconds: 3_600)
        }

        let otherStore = try await registry.store(other)
        let otherClosed = await RegistryFixture.eventually { await otherStore.isClosing }
        let openAfterBound = await registry.openStoreIDs
        clock.advance(by: 2 * RegistryFixture.idleTimeout)
        await registry.evictIdle()
        let openAfterIdle = await registry.openStoreIDs
        let leaseAfterIdle = try await leasedStore.lease(key: "job")
        clock.advance(by: 3_600 * RegistryFixture.second)
        await registry.evictIdle()

        #expect(lease != nil)
        #expect(otherClosed)
        #expect(openAfterBound == [leased])
        #expect(openAfterIdle == [leased])
        #expect(leaseAfterIdle == lease)
        #expect(await leasedStore.isClosing, "closed once the lease expired")
        #expect(await registry.openStoreCount == 0)
        await registry.shutdown()
    }

    @Test("the bound for file stores is lowered to what the open-file limit allows at 8 descriptors per store")
    func boundFitsTheOpenFileLimit() {
        var files = RegistryConfiguration()
        var memory = RegistryConfiguration()
        memory.inMemory = true

        #expect(files.openStoreLimit(openFileLimit: nil) == 1_024)
        #expect(files.openStoreLimit(openFileLimit: 1_048_576) == 1_024)
        #expect(files.openStoreLimit(openFileLimit: 1_024) == 96, "(1,024 - 256) / 8")
        #expect(files.openStoreLimit(openFileLimit: 300) == 16, "never below 16")
        #expect(memory.openStoreLimit(openFileLimit: 1_024) == 1_024, "in-memory stores hold no descriptors")
        files.maxOpenStores = 0
        #expect(files.openStoreLimit(openFileLimit: nil) == 1)
    }

    @Test("reads of stores that do not exist never close an open store for the bound")
    func readsOfMissingStoresDoNotChurnTheBound() async throws {
        let probe = OpenerProbe()
        let registry = registry(bound: 1, probe: probe)
        let id = UUID()
        let store = try await registry.store(id)

        for _ in 0..<100 { _ = try await registry.withExistingStore(UUID()) { await $0.spaces() } }

        #expect(await registry.openStoreIDs == [id])
        #expect(await !store.isClosing)
        #expect(probe.opens(of: id) == 1)
        await registry.shutdown()
    }
}
