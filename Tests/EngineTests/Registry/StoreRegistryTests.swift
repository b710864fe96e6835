import Foundation
import StreamKitLogFiles
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine

@Suite("StoreRegistry", .timeLimit(.minutes(1)))
struct StoreRegistryTests {
    let second = RegistryFixture.second
    let idleTimeout = RegistryFixture.idleTimeout

    // MARK: - Opening

    @Test("concurrent first uses of a store share one open and get the same store")
    func concurrentFirstUsesShareOneOpen() async throws {
        let clock = ManualClock()
        let probe = OpenerProbe()
        let latch = Latch()
        probe.hold(on: latch)
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: clock, probe: probe))
        let id = UUID()

        let (allWaited, stores) = try await withThrowingTaskGroup(of: ObjectIdentifier.self) { group in
            for _ in 0..<8 {
                group.addTask { try await registry.withStore(id) { ObjectIdentifier($0) } }
            }
            let allWaited = await RegistryFixture.eventually { await registry.waitingCallers == 8 }
            latch.open()
            return try await (allWaited, group.reduce(into: Set<ObjectIdentifier>()) { $0.insert($1) })
        }

        #expect(allWaited)
        #expect(stores.count == 1)
        #expect(probe.opens(of: id) == 1)
        #expect(await registry.openStoreCount == 1)
        await registry.shutdown()
    }

    @Test("a slow open of one store does not hold up calls to other stores")
    func slowOpenDoesNotBlockOtherStores() async throws {
        let probe = OpenerProbe()
        let latch = Latch()
        let slow = UUID()
        probe.hold(on: latch, ids: [slow])
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: ManualClock(), probe: probe))
        let slowCall = Task { try await registry.withStore(slow) { $0.id } }
        let slowOpenStarted = await RegistryFixture.eventually { probe.opens(of: slow) == 1 }

        let fast = UUID()
        let fastID = try await RegistryFixture.bounded { try await registry.withStore(fast) { $0.id } }
        let slowStillWaiting = await registry.waitingCallers == 1
        latch.open()

        #expect(slowOpenStarted)
        #expect(fastID == fast)
        #expect(slowStillWaiting)
        #expect(try await slowCall.value == slow)
        await registry.shutdown()
    }

    @Test("a file store opens under <root>/<uuid-lowercased>, creating the root, and keeps its data across eviction")
    func fileStoreReopensAfterEvictionWithItsData() async throws {
        let base = RegistryFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let root = base + "/nested/stores"
        let clock = ManualClock()
        let registry = StoreRegistry(root: root, configuration: RegistryFixture.configuration(clock: clock))
        let id = UUID()
        _ = try await registry.withStore(id) { store in
            try await store.publish(space: "orders", segment: "o-1", payload: [1, 2, 3])
        }
        let directoryExists = FileManager.default.fileExists(atPath: root + "/" + id.uuidString.lowercased())

        clock.advance(by: idleTimeout)
        await registry.evictIdle()
        let countAfterEviction = await registry.openStoreCount
        let entry = try await registry.withStore(id) { try await $0.peek(space: "orders", segment: "o-1") }

        #expect(directoryExists)
        #expect(countAfterEviction == 0)
        #expect(entry?.payload == [1, 2, 3])
        #expect(entry?.sequence == 1)
        await registry.shutdown()
    }

    @Test("an open failure is reported with the store id and the open is retried on the next call")
    func openFailureIsReportedAndRetried() async throws {
        let probe = OpenerProbe()
        probe.setFailing(true)
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: ManualClock(), probe: probe))
        let id = UUID()

        let error = await streamKitError { try await registry.withStore(id) { _ in } }
        probe.setFailing(false)
        let reopened = try await registry.withStore(id) { $0.id }

        #expect(error?.code == .storage)
        #expect(error?.storeID == id)
        #expect(reopened == id)
        #expect(probe.opens(of: id) == 2)
        await registry.shutdown()
    }

    // MARK: - Idle eviction

    @Test("a store idle for the idle timeout is closed and dropped; a recently used one is kept")
    func idleStoreIsEvicted() async throws {
        let clock = ManualClock()
        let probe = OpenerProbe()
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: clock, probe: probe))
        let idle = try await registry.store(UUID())
        clock.advance(by: idleTimeout - second)
        let recent = try await registry.store(UUID())
        clock.advance(by: second)

        await registry.evictIdle()

        #expect(await idle.isClosing)
        #expect(await !recent.isClosing)
        #expect(await registry.openStoreCount == 1)
        await registry.shutdown()
    }

    @Test("a store with a call in progress is not evicted however long the call lasts")
    func pinnedStoreIsNotEvicted() async throws {
        let clock = ManualClock()
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: clock, probe: OpenerProbe()))
        let id = UUID()
        let release = Latch()
        let entered = Latch()
        let call = Task {
            try await registry.withStore(id) { store in
                entered.open()
                await release.wait()
                return await store.isClosing
            }
        }
        await entered.wait()

        clock.advance(by: 2 * idleTimeout)
        let evictionReturned = try await RegistryFixture.bounded { await registry.evictIdle() } != nil
        let countWhilePinned = await registry.openStoreCount
        release.open()
        let closedUnderCall = try await call.value
        await registry.evictIdle()
        let countJustAfterCall = await registry.openStoreCount
        clock.advance(by: idleTimeout)
        await registry.evictIdle()

        #expect(evictionReturned, "eviction does not wait for a pinned store")
        #expect(countWhilePinned == 1)
        #expect(!closedUnderCall)
        #expect(countJustAfterCall == 1, "the end of a call counts as a use")
        #expect(await registry.openStoreCount == 0)
        await registry.shutdown()
    }

    @Test("a handle from store(_:) is not pinned: the store is still evicted when idle")
    func storeHandleIsNotPinned() async throws {
        let clock = ManualClock()
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: clock, probe: OpenerProbe()))
        let store = try await registry.store(UUID())

        clock.advance(by: idleTimeout)
        await registry.evictIdle()

        #expect(await store.isClosing)
        #expect(await registry.openStoreCount == 0)
        await registry.shutdown()
    }

    @Test("evict(_:) from inside a call closes the store once the call ends, and the next call reopens it")
    func evictOnRequestClosesAfterTheCall() async throws {
        let probe = OpenerProbe()
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: ManualClock(), probe: probe))
        let id = UUID()

        let (first, closedUnderCall) = try await registry.withStore(id) { store in
            await registry.evict(id)
            return (store, await store.isClosing)
        }
        let reopened = try await registry.withStore(id) { store in (store, await store.isClosing) }

        #expect(!closedUnderCall)
        #expect(await first.isClosing)
        #expect(reopened.0 !== first)
        #expect(!reopened.1)
        #expect(probe.opens(of: id) == 2)
        await registry.shutdown()
    }

    @Test("the body of withStore runs in the caller's isolation")
    func bodyRunsInCallerIsolation() async throws {
        actor Tally {
            var calls = 0
            func use(_ registry: StoreRegistry, _ id: UUID) async throws {
                // Touches actor state synchronously: compiles only because the body is isolated to this actor.
                try await registry.withStore(id) { _ in calls += 1 }
            }
        }
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: ManualClock(), probe: OpenerProbe()))
        let tally = Tally()

        try await tally.use(registry, UUID())
        try await tally.use(registry, UUID())

        #expect(await tally.calls == 2)
        await registry.shutdown()
    }

    @Test("a call arriving while its store is being closed waits for the close and gets a reopened store")
    func callDuringEvictionWaitsAndReopens() async throws {
        let clock = ManualClock()
        let closeLatch = Latch()
        let probe = OpenerProbe { id, configuration in
            Store(id: id, storage: CloseGatedStorage(latch: closeLatch), contents: .empty, configuration: configuration)
        }
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: clock, probe: probe))
        let id = UUID()
        let first = try await registry.store(id)
        clock.advance(by: idleTimeout)
        let eviction = Task { await registry.evictIdle() }
        let closeStarted = await RegistryFixture.eventually { await first.isClosing }

        let call = Task {
            try await registry.withStore(id) { store in (ObjectIdentifier(store), await store.isClosing) }
        }
        let callWaited = await RegistryFixture.eventually { await registry.waitingCallers == 1 }
        let opensWhileClosing = probe.opens(of: id)
        closeLatch.open()
        await eviction.value
        let (second, secondClosing) = try await call.value

        #expect(closeStarted)
        #expect(callWaited)
        #expect(opensWhileClosing == 1, "no second open while the first store is still closing")
        #expect(second != ObjectIdentifier(first))
        #expect(!secondClosing)
        #expect(probe.opens(of: id) == 2)
        await registry.shutdown()
    }

    @Test("calls racing with eviction never see a closing store or a storeClosing error")
    func callsRacingEvictionNeverFail() async throws {
        var configuration = RegistryFixture.configuration(clock: ManualClock(), probe: OpenerProbe())
        configuration.idleTimeout = .zero
        let registry = StoreRegistry(root: "/unused", configuration: configuration)
        let ids = (0..<3).map { _ in UUID() }

        let outcomes = try await withThrowingTaskGroup(of: [Bool].self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var sawOpenStore: [Bool] = []
                    for call in 0..<50 {
                        let open = try await registry.withStore(ids[(worker + call) % ids.count]) { store in
                            try await store.publish(space: "s", segment: "w\(worker)", payload: [UInt8(call)])
                            return await !store.isClosing
                        }
                        sawOpenStore.append(open)
                    }
                    return sawOpenStore
                }
            }
            group.addTask {
                for _ in 0..<200 {
                    await registry.evictIdle()
                    await Task.yield()
                }
                return []
            }
            return try await group.reduce(into: [Bool]()) { $0 += $1 }
        }

        #expect(outcomes.count == 200)
        #expect(outcomes.allSatisfy { $0 })
        await registry.shutdown()
    }

    @Test("the background sweep evicts idle stores when the clock passes the sweep interval")
    func sweepEvictsIdleStores() async throws {
        let clock = ManualClock()
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: clock, probe: OpenerProbe()))
        await registry.start()
        await registry.start()
        let store = try await registry.store(UUID())
        let sweepAsleep = await RegistryFixture.eventually { clock.sleeperCount == 1 }

        clock.advance(by: idleTimeout)
        let evicted = await RegistryFixture.eventually { await registry.openStoreCount == 0 }
        await registry.shutdown()
        let sweepStopped = await RegistryFixture.eventually { clock.sleeperCount == 0 }

        #expect(sweepAsleep)
        #expect(evicted)
        #expect(await store.isClosing)
        #expect(sweepStopped)
    }

    @Test("in-memory stores are never evicted for idleness, since closing would drop their data")
    func inMemoryStoresAreNotEvicted() async throws {
        let clock = ManualClock()
        var configuration = RegistryFixture.configuration(clock: clock)
        configuration.inMemory = true
        let registry = StoreRegistry(root: "/unused", configuration: configuration)
        let id = UUID()
        _ = try await registry.withStore(id) { try await $0.publish(space: "s", segment: "g", payload: [7]) }

        clock.advance(by: 10 * idleTimeout)
        await registry.evictIdle()
        let entry = try await registry.withStore(id) { try await $0.peek(space: "s", segment: "g") }

        #expect(await registry.openStoreCount == 1)
        #expect(entry?.payload == [7])
        await registry.shutdown()
    }

    // MARK: - Shutdown

    @Test("shutdown closes every store, refuses later calls with storeClosing, and is idempotent")
    func shutdownClosesEverythingAndRefusesLaterCalls() async throws {
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: ManualClock(), probe: OpenerProbe()))
        var stores: [Store] = []
        for _ in 0..<3 { stores.append(try await registry.store(UUID())) }

        await registry.shutdown()
        await registry.shutdown()
        let error = await streamKitError { try await registry.withStore(stores[0].id) { _ in } }
        let newStoreError = await streamKitError { _ = try await registry.store(UUID()) }

        for store in stores { #expect(await store.isClosing) }
        #expect(await registry.openStoreCount == 0)
        #expect(error?.code == .storeClosing)
        #expect(error?.storeID == stores[0].id)
        #expect(newStoreError?.code == .storeClosing)
    }

    @Test("shutdown waits for calls in progress before closing their stores")
    func shutdownWaitsForCallsInProgress() async throws {
        let registry = StoreRegistry(
            root: "/unused", configuration: RegistryFixture.configuration(clock: ManualClock(), probe: OpenerProbe()))
        let id = UUID()
        let release = Latch()
        let entered = Latch()
        let call = Task {
            try await registry.withStore(id) { store in
                entered.open()
                await release.wait()
                return try await store.publish(space: "s", segment: "g", payload: [1]).lastSequence
            }
        }
        await entered.wait()
        let store = try await registry.store(id)

        let shutdown = Task { await registry.shutdown() }
        let refusing = await RegistryFixture.eventually {
            await streamKitError { _ = try await registry.store(UUID()) }?.code == .storeClosing
        }
        let closedUnderCall = await store.isClosing
        release.open()
        let lastSequence = try await call.value
        await shutdown.value

        #expect(refusing)
        #expect(!closedUnderCall)
        #expect(lastSequence == 1)
        #expect(await store.isClosing)
    }
}
