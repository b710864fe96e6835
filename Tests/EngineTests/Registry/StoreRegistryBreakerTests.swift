import Foundation
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine

@Suite("StoreRegistry circuit breaker", .timeLimit(.minutes(1)))
struct StoreRegistryBreakerTests {
    let second = RegistryFixture.second
    let failFast = RegistryFixture.failFast

    /// A registry whose opens go through `probe`, and a helper that makes one call and returns its error.
    private func makeRegistry(
        _ probe: OpenerProbe, clock: ManualClock, _ adjust: (inout RegistryConfiguration) -> Void = { _ in }
    ) -> StoreRegistry {
        var configuration = RegistryFixture.configuration(clock: clock, probe: probe)
        adjust(&configuration)
        return StoreRegistry(root: "/unused", configuration: configuration)
    }

    private func call(_ registry: StoreRegistry, _ id: UUID) async -> StreamKitError? {
        await streamKitError { try await registry.withStore(id) { _ in } }
    }

    /// Fails three opens of `id`, opening its breaker.
    private func trip(_ registry: StoreRegistry, _ id: UUID, _ probe: OpenerProbe) async {
        probe.setFailing(true)
        for _ in 0..<3 { _ = await call(registry, id) }
    }

    // MARK: - Opening the breaker

    @Test("after 3 failed opens calls fail fast with storeUnavailable without calling the opener")
    func breakerOpensAfterThreeFailures() async throws {
        let probe = OpenerProbe()
        let registry = makeRegistry(probe, clock: ManualClock())
        let id = UUID()
        probe.setFailing(true)

        var openErrors: [StreamKitError.Code?] = []
        for _ in 0..<3 { openErrors.append(await call(registry, id)?.code) }
        let failFastError = await call(registry, id)
        let againError = await call(registry, id)

        #expect(openErrors == [.storage, .storage, .storage])
        #expect(failFastError?.code == .storeUnavailable)
        #expect(failFastError?.isRetryable == true)
        #expect(failFastError?.storeID == id)
        #expect(failFastError?.message.contains("30.0 s") == true, "says when it will retry")
        #expect(failFastError?.message.contains("disk on fire") == true, "carries the last open error")
        #expect(againError?.code == .storeUnavailable)
        #expect(probe.opens(of: id) == 3)
        await registry.shutdown()
    }

    @Test("a success between failures resets the count: only consecutive failures open the breaker")
    func successResetsConsecutiveFailures() async throws {
        let clock = ManualClock()
        let probe = OpenerProbe()
        let registry = makeRegistry(probe, clock: clock)
        let id = UUID()
        probe.setFailing(true)
        for _ in 0..<2 { _ = await call(registry, id) }
        probe.setFailing(false)
        _ = try await registry.store(id)
        clock.advance(by: RegistryFixture.idleTimeout)
        await registry.evictIdle()

        probe.setFailing(true)
        var errors: [StreamKitError.Code?] = []
        for _ in 0..<3 { errors.append(await call(registry, id)?.code) }

        #expect(errors == [.storage, .storage, .storage])
        #expect(probe.opens(of: id) == 6)
        await registry.shutdown()
    }

    @Test("one store's open breaker does not affect other stores")
    func breakerIsPerStore() async throws {
        let probe = OpenerProbe()
        let registry = makeRegistry(probe, clock: ManualClock())
        let broken = UUID()
        await trip(registry, broken, probe)
        probe.setFailing(false)

        let healthy = UUID()
        let opened = try await registry.withStore(healthy) { $0.id }
        let brokenError = await call(registry, broken)

        #expect(opened == healthy)
        #expect(brokenError?.code == .storeUnavailable)
        await registry.shutdown()
    }

    // MARK: - Half-open

    @Test("after the fail-fast duration one trial open goes through; its failure reopens the breaker")
    func failedTrialReopensBreaker() async throws {
        let clock = ManualClock()
        let probe = OpenerProbe()
        let registry = makeRegistry(probe, clock: clock)
        let id = UUID()
        await trip(registry, id, probe)

        clock.advance(by: failFast - second)
        let beforeDuration = await call(registry, id)
        clock.advance(by: second)
        let trial = await call(registry, id)
        let afterTrial = await call(registry, id)

        #expect(beforeDuration?.code == .storeUnavailable)
        #expect(beforeDuration?.message.contains("1.0 s") == true)
        #expect(trial?.code == .storage, "the trial reports the open's own error")
        #expect(afterTrial?.code == .storeUnavailable)
        #expect(afterTrial?.message.contains("30.0 s") == true, "a failed trial starts a new fail-fast period")
        #expect(probe.opens(of: id) == 4)
        await registry.shutdown()
    }

    @Test("a successful trial closes the breaker and resets the failure count")
    func successfulTrialClosesBreaker() async throws {
        let clock = ManualClock()
        let probe = OpenerProbe()
        let registry = makeRegistry(probe, clock: clock)
        let id = UUID()
        await trip(registry, id, probe)
        clock.advance(by: failFast)
        probe.setFailing(false)

        let opened = try await registry.withStore(id) { $0.id }
        clock.advance(by: RegistryFixture.idleTimeout)
        await registry.evictIdle()
        probe.setFailing(true)
        let firstFailure = await call(registry, id)
        let secondFailure = await call(registry, id)

        #expect(opened == id)
        #expect(firstFailure?.code == .storage)
        #expect(secondFailure?.code == .storage, "one failure after a success does not reopen the breaker")
        #expect(probe.opens(of: id) == 6)
        await registry.shutdown()
    }

    @Test("concurrent calls after the fail-fast duration share one trial open")
    func concurrentCallersShareOneTrial() async throws {
        let clock = ManualClock()
        let probe = OpenerProbe()
        let registry = makeRegistry(probe, clock: clock)
        let id = UUID()
        await trip(registry, id, probe)
        clock.advance(by: failFast)
        probe.setFailing(false)
        let latch = Latch()
        probe.hold(on: latch)

        let (allWaited, stores) = try await withThrowingTaskGroup(of: ObjectIdentifier.self) { group in
            for _ in 0..<4 {
                group.addTask { try await registry.withStore(id) { ObjectIdentifier($0) } }
            }
            let allWaited = await RegistryFixture.eventually { await registry.waitingCallers == 4 }
            latch.open()
            return try await (allWaited, group.reduce(into: Set<ObjectIdentifier>()) { $0.insert($1) })
        }

        #expect(allWaited)
        #expect(stores.count == 1)
        #expect(probe.opens(of: id) == 4, "three failures and one trial")
        await registry.shutdown()
    }

    // MARK: - Tracking limit

    @Test("at most maxTrackedFailures stores are tracked; the least recently failed is forgotten")
    func trackedFailuresAreCapped() async throws {
        let probe = OpenerProbe()
        let registry = makeRegistry(probe, clock: ManualClock()) {
            $0.failureThreshold = 1
            $0.maxTrackedFailures = 2
        }
        let (oldest, middle, newest) = (UUID(), UUID(), UUID())
        probe.setFailing(true)
        for id in [oldest, middle, newest] { _ = await call(registry, id) }

        let oldestError = await call(registry, oldest)
        let newestError = await call(registry, newest)

        #expect(oldestError?.code == .storage, "forgotten, so opened again")
        #expect(newestError?.code == .storeUnavailable)
        #expect(probe.opens(of: oldest) == 2)
        #expect(probe.opens(of: newest) == 1)
        await registry.shutdown()
    }

    @Test("the breaker table never holds more than its capacity")
    func breakerTableStaysWithinCapacity() {
        var breakers = StoreOpenBreakers(threshold: 3, failFast: failFast, capacity: 4)
        let ids = (0..<10).map { _ in UUID() }

        for (index, id) in ids.enumerated() {
            _ = breakers.recordFailure(id, error: "e", now: UInt64(index))
        }

        #expect(breakers.count == 4)
        #expect(ids.prefix(6).allSatisfy { breakers.failures(of: $0) == 0 })
        #expect(ids.suffix(4).allSatisfy { breakers.failures(of: $0) == 1 })
    }

    @Test("admission: closed, rejected until the fail-fast period ends, then trial")
    func breakerAdmission() {
        var breakers = StoreOpenBreakers(threshold: 2, failFast: failFast, capacity: 8)
        let id = UUID()
        let t0: UInt64 = 1_000

        let first = breakers.recordFailure(id, error: "a", now: t0)
        let admittedAfterOne = breakers.admit(id, now: t0)
        let tripped = breakers.recordFailure(id, error: "b", now: t0)

        #expect(first == nil)
        #expect(admittedAfterOne == .closed)
        #expect(tripped == t0 + failFast)
        let rejected = StoreOpenBreakers.Admission.rejected(retryAt: t0 + failFast, failures: 2, lastError: "b")
        #expect(breakers.admit(id, now: t0 + failFast - 1) == rejected)
        #expect(breakers.admit(id, now: t0 + failFast) == .trial)
        let wasOpen = breakers.recordSuccess(id)
        #expect(wasOpen)
        #expect(breakers.admit(id, now: t0 + failFast) == .closed)
    }
}
