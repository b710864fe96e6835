import Foundation
import Logging
import StreamKitTestSupport
import Testing

@testable import StreamKitClient

/// `withLease`'s renewer on the manual clock: retryable renewal failures are retried while the lease still holds,
/// up to a margin before it would expire; permanent failures lose the lease at once. And the lease calls the client
/// offers directly.
struct LeaseRenewalTests {
    private static let second: UInt64 = 1_000_000_000
    private static let ttl = 10 * second

    /// A scope whose renewals run `renew` (counting attempts), and a body that waits for `gate`.
    private static func start(
        clock: ManualClock, gate: ManualClock, attempts: Box<Int>,
        renew: @escaping @Sendable (Int, Lease) async throws -> Lease
    ) -> Task<Result<String, any Error>, Never> {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let scope = LeaseScope(
            clock: clock.engineClock, store: UUID(), logger: logger,
            renewOnce: { lease in
                let attempt = attempts.update { count -> Int in
                    count += 1
                    return count
                }
                return try await renew(attempt, lease)
            },
            releaseOnce: { _ in })
        let lease = Lease(key: "job", holder: "me", fencingToken: 7, expiresAt: clock.now + ttl, ttl: ttl)
        return Task {
            await scope.run(lease: lease) { _ in
                try await gate.sleep(1)
                return "done"
            }
        }
    }

    @Test func retryableRenewalFailuresAreRetriedAndTheBodyKeepsItsLease() async throws {
        let (clock, gate, attempts) = (ManualClock(), ManualClock(), Box(0))
        let run = Self.start(clock: clock, gate: gate, attempts: attempts) { attempt, lease in
            if attempt <= 2 { throw StreamKitError(code: .storeUnavailable, message: "connection lost") }
            return lease
        }

        for expected in 0...2 {  // At 5 s (fails), 6 s (fails), 7 s (renewed).
            await eventually("renewer asleep after \(expected) attempts") {
                attempts.get == expected && clock.sleeperCount == 1
            }
            clock.advance(by: expected == 0 ? 5 * Self.second : Self.second)
        }
        await eventually("renewed, then asleep until the next renewal") { attempts.get == 3 && clock.sleeperCount == 1 }
        gate.advance(by: 1)
        let outcome = await run.value

        #expect(try outcome.get() == "done")
    }

    @Test func renewalsThatKeepFailingRetryablyLoseTheLeaseAMarginBeforeItWouldExpire() async throws {
        let (clock, gate, attempts) = (ManualClock(), ManualClock(), Box(0))
        let start = clock.now
        let run = Self.start(clock: clock, gate: gate, attempts: attempts) { _, _ in
            throw StreamKitError(code: .storeUnavailable, message: "connection lost")
        }

        for expected in 0...3 {  // Attempts at 5, 6 and 7 s fail; at 8 s (10 s less the 2 s margin) it gives up.
            await eventually("renewer asleep after \(expected) attempts") {
                attempts.get == expected && clock.sleeperCount == 1
            }
            clock.advance(by: expected == 0 ? 5 * Self.second : Self.second)
        }
        let outcome = await run.value
        let lostAt = clock.now - start

        #expect((outcome.error as? StreamKitError)?.code == .leaseNotHeld)
        #expect(attempts.get == 3)
        #expect(lostAt == 8 * Self.second)
    }

    @Test func aPermanentRenewalFailureLosesTheLeaseAtOnce() async throws {
        let (clock, gate, attempts) = (ManualClock(), ManualClock(), Box(0))
        let run = Self.start(clock: clock, gate: gate, attempts: attempts) { _, _ in
            throw StreamKitError(code: .leaseNotHeld, message: "taken")
        }

        await eventually("renewer asleep") { clock.sleeperCount == 1 }
        clock.advance(by: 5 * Self.second)
        let outcome = await run.value

        #expect((outcome.error as? StreamKitError)?.code == .leaseNotHeld)
        #expect(attempts.get == 1)
    }

    @Test func aLeaseBodySurvivesAServerRestartBetweenRenewals() async throws {
        let h = try await ClientHarness.make(.webSocket)
        let server = try #require(h.server)
        let gate = ManualClock()
        let run = Task {
            try await h.client.withLease(store: h.storeID, key: "job", ttl: .seconds(10)) { lease in
                try await gate.sleep(1)
                return lease.fencingToken
            }
        }
        let store = try await h.registry.store(h.storeID)
        await eventually("lease acquired, renewer asleep") {
            (try? await store.lease(key: "job")) != nil && h.clock.sleeperCount == 1
        }
        let before = try #require(try await store.lease(key: "job")).expiresAt

        await server.stop()  // The renewal at 5 s finds no server: storeUnavailable, retried every second.
        h.clock.advance(by: 5 * Self.second)
        await eventually("renewal failed, retry pending") { h.clock.sleeperCount == 1 }
        let whileDown = try #require(try await store.lease(key: "job")).expiresAt
        try await server.resume()
        h.clock.advance(by: Self.second)
        await eventually("renewed through the new server") {
            ((try? await store.lease(key: "job"))?.expiresAt ?? 0) > before
        }
        await eventually("body waiting") { gate.sleeperCount == 1 }
        gate.advance(by: 1)
        let token = try await run.value
        await h.tearDown()

        #expect(whileDown == before)
        #expect(token > 0)
    }

    @Test(arguments: TransportKind.allCases)
    func leasesCanBeAcquiredRenewedAndReleasedDirectly(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let lease = try #require(
            try await h.client.acquireLease(store: h.storeID, key: "job", ttl: .seconds(10), holder: "a"))
        let other = try await h.client.acquireLease(store: h.storeID, key: "job", ttl: .seconds(10), holder: "b")
        h.clock.advance(by: 4 * Self.second)
        let renewed = try await h.client.renewLease(store: h.storeID, lease)
        try await h.client.releaseLease(store: h.storeID, renewed)
        let releasedAgain = await errorCode { try await h.client.releaseLease(store: h.storeID, renewed) }
        let next = try await h.client.acquireLease(store: h.storeID, key: "job", ttl: .seconds(10), holder: "b")
        await h.tearDown()

        #expect(other == nil)
        #expect(renewed.fencingToken == lease.fencingToken)
        #expect(renewed.expiresAt == lease.expiresAt + 4 * Self.second)
        #expect(releasedAgain == .leaseNotHeld)
        #expect((next?.fencingToken ?? 0) > lease.fencingToken)
    }
}

extension Result {
    fileprivate var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
