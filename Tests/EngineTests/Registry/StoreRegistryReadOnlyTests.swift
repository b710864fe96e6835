import Foundation
import StreamKitLogFiles
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine

/// Only writes create stores: reads reach a store only if it exists, and a read that races a writer's first
/// open neither fails nor makes a second store.
@Suite("StoreRegistry reads create nothing", .timeLimit(.minutes(1)))
struct StoreRegistryReadOnlyTests {
    @Test("1,000 reads of file stores that do not exist create no directory and leave no store open")
    func readsOfMissingFileStoresCreateNothing() async throws {
        let root = RegistryFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let registry = StoreRegistry(root: root, configuration: RegistryFixture.configuration(clock: ManualClock()))

        var missing = 0
        for call in 0..<1_000 {
            let id = UUID()
            let found: Bool
            switch call % 4 {
            case 0:
                found = try await registry.withExistingStore(id) { try await $0.peek(space: "s", segment: "g") } != nil
            case 1: found = try await registry.withExistingStore(id) { await $0.spaces() } != nil
            case 2: found = try await registry.withExistingStore(id) { try await $0.workerInventory() } != nil
            default: found = try await registry.existingStore(id) != nil
            }
            if !found { missing += 1 }
        }

        #expect(missing == 1_000)
        #expect(!FileManager.default.fileExists(atPath: root), "not even the root is created")
        #expect(await registry.openStoreCount == 0)
        await registry.shutdown()
    }

    @Test("reads of an in-memory store that was never written create nothing; the first write does")
    func readsOfMissingInMemoryStoresCreateNothing() async throws {
        var configuration = RegistryFixture.configuration(clock: ManualClock())
        configuration.inMemory = true
        let registry = StoreRegistry(root: "/unused", configuration: configuration)
        let id = UUID()

        for _ in 0..<1_000 { _ = try await registry.withExistingStore(UUID()) { await $0.spaces() } }
        let beforeWrite = try await registry.withExistingStore(id) { await $0.spaces() }
        let countBeforeWrite = await registry.openStoreCount
        _ = try await registry.withStore(id) { try await $0.publish(space: "s", segment: "g", payload: [1]) }
        let afterWrite = try await registry.withExistingStore(id) { await $0.spaces() }

        #expect(beforeWrite == nil)
        #expect(countBeforeWrite == 0)
        #expect(afterWrite == ["s"])
        #expect(await registry.openStoreCount == 1)
        await registry.shutdown()
    }

    @Test("a file store that exists is opened by a read, with its data, after the registry closed it")
    func readsOpenExistingFileStores() async throws {
        let root = RegistryFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clock = ManualClock()
        let registry = StoreRegistry(root: root, configuration: RegistryFixture.configuration(clock: clock))
        let id = UUID()
        _ = try await registry.withStore(id) { try await $0.publish(space: "s", segment: "g", payload: [9]) }
        clock.advance(by: RegistryFixture.idleTimeout)
        await registry.evictIdle()
        let countAfterEviction = await registry.openStoreCount

        let entry = try await registry.withExistingStore(id) { try await $0.peek(space: "s", segment: "g") }

        #expect(countAfterEviction == 0)
        #expect(entry??.payload == [9])
        #expect(await registry.openStoreCount == 1)
        await registry.shutdown()
    }

    @Test("a read arriving during a writer's first open waits for it and gets the writer's store")
    func readDuringWritersOpenGetsTheSameStore() async throws {
        let probe = OpenerProbe()
        let latch = Latch()
        probe.hold(on: latch)
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: ManualClock(), probe: probe))
        let id = UUID()
        let writer = Task { try await registry.withStore(id) { ObjectIdentifier($0) } }
        let openStarted = await RegistryFixture.eventually { probe.opens(of: id) == 1 }
        let reader = Task { try await registry.withExistingStore(id) { ObjectIdentifier($0) } }
        let bothWaiting = await RegistryFixture.eventually { await registry.waitingCallers == 2 }

        latch.open()
        let written = try await writer.value
        let read = try await reader.value

        #expect(openStarted)
        #expect(bothWaiting)
        #expect(read == written)
        #expect(probe.opens(of: id) == 1)
        #expect(probe.existenceChecks(of: id) == 0, "the reader shared the writer's open")
        await registry.shutdown()
    }

    @Test("a writer arriving while a read looks for a missing store waits for it, then creates the store once")
    func writerDuringReadsOpenCreatesOnce() async throws {
        let probe = OpenerProbe()
        let latch = Latch()
        probe.hold(on: nil)
        probe.holdExistenceChecks(on: latch)
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: ManualClock(), probe: probe))
        let id = UUID()
        let reader = Task { try await registry.withExistingStore(id) { ObjectIdentifier($0) } }
        let checkStarted = await RegistryFixture.eventually { probe.existenceChecks(of: id) == 1 }
        let writer = Task { try await registry.withStore(id) { ObjectIdentifier($0) } }
        let bothWaiting = await RegistryFixture.eventually { await registry.waitingCallers == 2 }

        latch.open()
        let read = try await reader.value
        let written = try await writer.value
        let readAfter = try await registry.withExistingStore(id) { ObjectIdentifier($0) }

        #expect(checkStarted)
        #expect(bothWaiting)
        #expect(read == nil)
        #expect(readAfter == written)
        #expect(probe.opens(of: id) == 1)
        #expect(await registry.openStoreCount == 1)
        await registry.shutdown()
    }

    @Test("readers racing a writer's first use of file stores see nothing or the writer's store, never a second")
    func readersRacingWritersNeverSeeASecondStore() async throws {
        let root = RegistryFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let registry = StoreRegistry(root: root, configuration: RegistryFixture.configuration(clock: ManualClock()))
        let ids = (0..<20).map { _ in UUID() }

        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for id in ids {
                group.addTask {
                    try await withThrowingTaskGroup(of: ObjectIdentifier?.self) { race in
                        race.addTask {
                            try await registry.withStore(id) { store in
                                try await store.publish(space: "s", segment: "g", payload: [1])
                                return ObjectIdentifier(store)
                            }
                        }
                        for _ in 0..<4 {
                            race.addTask { try await registry.withExistingStore(id) { ObjectIdentifier($0) } }
                        }
                        let seen = try await race.reduce(into: Set<ObjectIdentifier>()) {
                            if let store = $1 { $0.insert(store) }
                        }
                        return seen.count == 1 ? 0 : 1
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        let directories = try FileManager.default.contentsOfDirectory(atPath: root)

        #expect(mismatches == 0)
        #expect(directories.count == ids.count)
        #expect(await registry.openStoreCount == ids.count)
        for id in ids {
            let entry = try await registry.withExistingStore(id) { try await $0.peek(space: "s", segment: "g") }
            #expect(entry??.sequence == 1)
        }
        await registry.shutdown()
    }

    @Test("absent stores answer lease and presence calls as an empty store does")
    func absentStoreAnswersAsAnEmptyStore() async throws {
        let store = Store.inMemory(configuration: StoreFixture.quiet())
        let lease = Lease(key: "job", holder: "one", fencingToken: 7, expiresAt: 0, ttl: 1_000_000_000)

        let storeRenew = await streamKitError { _ = try await store.renewLease(lease) }
        let absentRenew = await streamKitError { _ = try AbsentStore.renewLease(lease) }
        let storeRelease = await streamKitError { try await store.releaseLease(lease) }
        let absentRelease = await streamKitError { try AbsentStore.releaseLease(lease) }
        let storeHeartbeat = await streamKitError { try await store.workerHeartbeat(workerID: "w", generation: 1) }
        let absentHeartbeat = await streamKitError { try AbsentStore.workerHeartbeat(workerID: "w", generation: 1) }
        let badTTL = await streamKitError { _ = try AbsentStore.renewLease(lease, ttlSeconds: 0) }

        #expect(storeRenew?.code == .leaseNotHeld)
        #expect(absentRenew == storeRenew)
        #expect(absentRelease == storeRelease)
        #expect(storeHeartbeat?.code == .notFound)
        #expect(absentHeartbeat == storeHeartbeat)
        #expect(badTTL?.code == .invalidArgument)
        #expect(try await store.workerInventory() == .empty)
        await store.close()
    }
}
