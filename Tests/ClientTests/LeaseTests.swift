import Foundation
import StreamKitClient
import StreamKitTestSupport
import Testing

/// `withLease`: fencing, renewal at ttl/2 on the manual clock, and cancellation of the body when the lease
/// is lost or cannot be renewed.
struct LeaseTests {
    private static let second: UInt64 = 1_000_000_000

    @Test(arguments: TransportKind.allCases)
    func bodyGetsTheFencingTokenAndTheLeaseIsReleased(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let first = try await h.client.withLease(store: h.storeID, key: "job", ttl: .seconds(10)) { lease in
            lease.fencingToken
        }
        #expect(first > 0)
        // Released: an immediate new acquisition succeeds, with a higher token.
        let second = try await h.client.withLease(store: h.storeID, key: "job", ttl: .seconds(10)) { $0.fencingToken }
        #expect(second > first)
        let store = try await h.registry.store(h.storeID)
        #expect(try await store.lease(key: "job") == nil)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func anotherHolderIsRefusedWhileTheLeaseIsHeld(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let inside = Box(false)
        try await h.client.withLease(store: h.storeID, key: "job", ttl: .seconds(10)) { _ in
            inside.update { $0 = true }
            let code = await errorCode {
                try await h.client.withLease(store: h.storeID, key: "job", ttl: .seconds(10)) { _ in }
            }
            #expect(code == .leaseNotHeld)
        }
        #expect(inside.get)
        #expect(
            await errorCode { try await h.client.withLease(store: h.storeID, key: "", ttl: .seconds(10)) { _ in } }
                == .invalidArgument)
        #expect(
            await errorCode {
                try await h.client.withLease(store: h.storeID, key: "k", ttl: .milliseconds(10)) { _ in }
            } == .invalidArgument)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func renewsEveryHalfTtlSoTheBodyOutlivesTheTtl(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let gate = ManualClock()  // the body waits on its own clock, advanced once at the end
        let run = Task {
            try await h.client.withLease(store: h.storeID, key: "job", ttl: .seconds(10)) { lease in
                try await gate.sleep(1)
                return lease.fencingToken
            }
        }
        let store = try await h.registry.store(h.storeID)
        await eventually("lease acquired") { (try? await store.lease(key: "job")) != nil }
        for _ in 1...6 {  // 30 s: three times the ttl
            await eventually("renewer asleep") { h.clock.sleeperCount == 1 }
            let before = try await store.lease(key: "job")?.expiresAt ?? 0
            h.clock.advance(by: 5 * Self.second)
            await eventually("renewed") { ((try? await store.lease(key: "job"))?.expiresAt ?? 0) > before }
        }
        await eventually("body waiting") { gate.sleeperCount == 1 }
        gate.advance(by: 1)
        let token = try await run.value
        #expect(token > 0)
        #expect(try await store.lease(key: "job") == nil)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func losingTheLeaseCancelsTheBody(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let held = Box<Lease?>(nil)
        let cancelled = Box(false)
        let gate = ManualClock()
        let run = Task {
            try await h.client.withLease(store: h.storeID, key: "job", ttl: .seconds(4)) { lease in
                held.update { $0 = lease }
                do {
                    try await gate.sleep(UInt64.max / 2)
                } catch {
                    cancelled.update { $0 = true }
                    throw error
                }
            }
        }
        await eventually("body running") { held.get != nil && gate.sleeperCount == 1 }
        // Someone else releases it behind our back (as if it had been taken over): the next renewal fails.
        let store = try await h.registry.store(h.storeID)
        try await store.releaseLease(try #require(held.get))
        await eventually("renewer asleep") { h.clock.sleeperCount == 1 }
        h.clock.advance(by: 2 * Self.second)
        let code = await errorCode { try await run.value }
        #expect(code == .leaseNotHeld)
        #expect(cancelled.get)
        #expect(h.client.backgroundTaskCount == 0)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func aRenewalErrorCancelsTheBodyEvenIfTheLeaseMightStillBeHeld(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let cancelled = Box(false)
        let started = Box(false)
        let gate = ManualClock()
        let run = Task {
            try await h.client.withLease(store: h.storeID, key: "job", ttl: .seconds(4)) { _ in
                started.update { $0 = true }
                do {
                    try await gate.sleep(UInt64.max / 2)
                } catch {
                    cancelled.update { $0 = true }
                    throw error
                }
            }
        }
        await eventually("body running") { started.get && gate.sleeperCount == 1 }
        await h.registry.shutdown()  // renewals now fail with storeClosing: a transport error, not a lost lease
        await eventually("renewer asleep") { h.clock.sleeperCount == 1 }
        h.clock.advance(by: 2 * Self.second)
        do {
            try await run.value
            Issue.record("expected the lease to be reported lost")
        } catch let error as StreamKitError {
            #expect(error.code == .leaseNotHeld)
            #expect(error.message.contains("closing") || error.message.contains("shut down"))
        }
        #expect(cancelled.get)
        await h.tearDown()
    }

    @Test(arguments: TransportKind.allCases)
    func cancellingTheCallerCancelsTheBodyAndReleases(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let gate = ManualClock()
        let run = Task {
            try await h.client.withLease(store: h.storeID, key: "job", ttl: .seconds(10)) { _ in
                try await gate.sleep(UInt64.max / 2)
            }
        }
        await eventually("body running") { gate.sleeperCount == 1 }
        run.cancel()
        #expect(await errorCode { try await run.value } == nil)  // CancellationError, not a StreamKitError
        let store = try await h.registry.store(h.storeID)
        #expect(try await store.lease(key: "job") == nil)
        await h.tearDown()
    }
}
