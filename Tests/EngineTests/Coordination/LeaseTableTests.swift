import Testing

@testable import StreamKitEngine

extension CoordinationTests {
    @Suite("LeaseTable")
    struct LeaseTableTests {
        let second = CoordinationTests.second
        let t0 = CoordinationTests.t0

        // MARK: - Acquire and fencing tokens

        @Test("acquiring a free key returns a lease expiring at now + ttl")
        func acquireFreeKey() throws {
            var table = LeaseTable()

            let lease = try #require(
                try table.acquire(key: "k", holder: "a", ttl: 10 * second, now: t0, fencingFloor: 0))

            #expect(
                lease == Lease(key: "k", holder: "a", fencingToken: 1, expiresAt: t0 + 10 * second, ttl: 10 * second))
            #expect(table.lease(key: "k", now: t0) == lease)
            #expect(table.count == 1)
        }

        @Test("acquire gives a higher fencing token to each new holder")
        func newHolderNewToken() throws {
            var table = LeaseTable()
            let first = try #require(try table.acquire(key: "k", holder: "a", ttl: second, now: t0, fencingFloor: 0))

            let afterExpiry = try #require(
                try table.acquire(key: "k", holder: "b", ttl: second, now: first.expiresAt, fencingFloor: 0))
            try table.release(key: "k", holder: "b", fencingToken: afterExpiry.fencingToken, now: first.expiresAt)
            let afterRelease = try #require(
                try table.acquire(key: "k", holder: "c", ttl: second, now: first.expiresAt, fencingFloor: 0))

            #expect(first.fencingToken < afterExpiry.fencingToken)
            #expect(afterExpiry.fencingToken < afterRelease.fencingToken)
            #expect(table.lastFencingToken == afterRelease.fencingToken)
        }

        @Test("fencing tokens strictly increase across all keys of the table")
        func tokensIncreaseAcrossKeys() throws {
            var table = LeaseTable()

            let tokens = try (0..<5).map { index throws(StreamKitError) in
                try table.acquire(key: "key-\(index)", holder: "a", ttl: second, now: t0, fencingFloor: 0)?.fencingToken
            }

            #expect(tokens == [1, 2, 3, 4, 5])
        }

        @Test("the fencing floor lifts new tokens, and tokens keep increasing from there when the floor is lower")
        func fencingFloor() throws {
            var table = LeaseTable()

            let lifted = try table.acquire(key: "a", holder: "h", ttl: second, now: t0, fencingFloor: 1_000)
            let next = try table.acquire(key: "b", holder: "h", ttl: second, now: t0, fencingFloor: 10)
            let equalToNext = try table.acquire(key: "c", holder: "h", ttl: second, now: t0, fencingFloor: 1_002)

            #expect(lifted?.fencingToken == 1_000)
            #expect(next?.fencingToken == 1_001)
            #expect(equalToNext?.fencingToken == 1_002)
        }

        @Test("a key held live by another holder is not given: acquire returns nil and the lease stays")
        func heldByAnother() throws {
            var table = LeaseTable()
            let held = try table.acquire(key: "k", holder: "a", ttl: 10 * second, now: t0, fencingFloor: 0)

            let refused = try table.acquire(key: "k", holder: "b", ttl: 10 * second, now: t0 + second, fencingFloor: 0)

            #expect(refused == nil)
            #expect(table.lease(key: "k", now: t0 + second) == held)
            #expect(table.lastFencingToken == 1)
        }

        @Test("the same holder re-acquiring a live lease refreshes it: same token, new expiry and ttl")
        func sameHolderRefresh() throws {
            var table = LeaseTable()
            let first = try #require(
                try table.acquire(key: "k", holder: "a", ttl: 10 * second, now: t0, fencingFloor: 0))

            let refreshed = try #require(
                try table.acquire(key: "k", holder: "a", ttl: 20 * second, now: t0 + 5 * second, fencingFloor: 99))

            #expect(refreshed.fencingToken == first.fencingToken)
            #expect(refreshed.expiresAt == t0 + 25 * second)
            #expect(refreshed.ttl == 20 * second)
            #expect(table.lastFencingToken == first.fencingToken)
        }

        @Test("the same holder re-acquiring after its lease expired gets a new, higher token")
        func sameHolderAfterExpiry() throws {
            var table = LeaseTable()
            let first = try #require(try table.acquire(key: "k", holder: "a", ttl: second, now: t0, fencingFloor: 0))

            let again = try #require(
                try table.acquire(key: "k", holder: "a", ttl: second, now: first.expiresAt, fencingFloor: 0))

            #expect(again.fencingToken > first.fencingToken)
        }

        @Test("a lease expires exactly at expiresAt: held one nanosecond before, free at that instant")
        func expiryBoundary() throws {
            var table = LeaseTable()
            let lease = try #require(try table.acquire(key: "k", holder: "a", ttl: second, now: t0, fencingFloor: 0))
            let justBefore = lease.expiresAt - 1

            #expect(lease.isLive(at: justBefore))
            #expect(!lease.isLive(at: lease.expiresAt))
            #expect(table.lease(key: "k", now: justBefore) == lease)
            #expect(try table.acquire(key: "k", holder: "b", ttl: second, now: justBefore, fencingFloor: 0) == nil)
            #expect(table.lease(key: "k", now: lease.expiresAt) == nil)
            let taken = try table.acquire(key: "k", holder: "b", ttl: second, now: lease.expiresAt, fencingFloor: 0)
            #expect(taken?.holder == "b")
        }

        @Test("an expiry beyond UInt64.max saturates instead of trapping")
        func expirySaturates() throws {
            var table = LeaseTable()

            let lease = try table.acquire(key: "k", holder: "a", ttl: second, now: .max - 10, fencingFloor: 0)

            #expect(lease?.expiresAt == .max)
        }

        // MARK: - Validation

        @Test("a ttl of exactly 1 s or 24 h is accepted")
        func ttlLimitsAccepted() throws {
            var table = LeaseTable()

            let shortest = try table.acquire(key: "a", holder: "h", ttl: second, now: t0, fencingFloor: 0)
            let longest = try table.acquire(key: "b", holder: "h", ttl: 86_400 * second, now: t0, fencingFloor: 0)

            #expect(shortest?.ttl == second)
            #expect(longest?.expiresAt == t0 + 86_400 * second)
        }

        @Test(
            "a ttl under 1 s or over 24 h is invalidArgument naming the limit",
            arguments: [
                (UInt64(0), 1_000_000_000), (999_999_999, 1_000_000_000), (86_400_000_000_001, 86_400_000_000_000),
                (.max, 86_400_000_000_000),
            ] as [(UInt64, Int)])
        func ttlLimitsRefused(ttl: UInt64, limit: Int) {
            var table = LeaseTable()

            let error = CoordinationTests.expectError(.invalidArgument) {
                try table.acquire(key: "k", holder: "a", ttl: ttl, now: t0, fencingFloor: 0)
            }

            #expect(error?.limit == limit)
            #expect(table.count == 0)
            #expect(table.lastFencingToken == 0)
        }

        @Test("renew checks the ttl limits too")
        func renewTTLLimits() throws {
            var table = LeaseTable()
            let lease = try #require(try table.acquire(key: "k", holder: "a", ttl: second, now: t0, fencingFloor: 0))

            CoordinationTests.expectError(.invalidArgument) {
                try table.renew(
                    key: "k", holder: "a", fencingToken: lease.fencingToken, ttl: 86_400 * second + 1, now: t0)
            }
            #expect(table.lease(key: "k", now: t0) == lease)
        }

        @Test("an empty key or holder is invalidArgument")
        func emptyNames() {
            var table = LeaseTable()

            CoordinationTests.expectError(.invalidArgument) {
                try table.acquire(key: "", holder: "a", ttl: second, now: t0, fencingFloor: 0)
            }
            CoordinationTests.expectError(.invalidArgument) {
                try table.acquire(key: "k", holder: "", ttl: second, now: t0, fencingFloor: 0)
            }
            CoordinationTests.expectError(.invalidArgument) {
                try table.release(key: "", holder: "a", fencingToken: 1, now: t0)
            }
            #expect(table.count == 0)
        }

        @Test("a key or holder of 256 UTF-8 bytes is accepted, 257 bytes is invalidArgument naming the limit")
        func nameLengthLimit() throws {
            var table = LeaseTable()
            let longest = String(repeating: "é", count: 128)  // 2 bytes each
            let tooLong = longest + "x"

            #expect(try table.acquire(key: longest, holder: longest, ttl: second, now: t0, fencingFloor: 0) != nil)
            let keyError = CoordinationTests.expectError(.invalidArgument) {
                try table.acquire(key: tooLong, holder: "a", ttl: second, now: t0, fencingFloor: 0)
            }
            let holderError = CoordinationTests.expectError(.invalidArgument) {
                try table.acquire(key: "k", holder: tooLong, ttl: second, now: t0, fencingFloor: 0)
            }

            #expect(keyError?.limit == 256)
            #expect(keyError?.value == 257)
            #expect(holderError?.limit == 256)
        }

        // MARK: - Renew

        @Test("renew moves the expiry to now + ttl and keeps the token")
        func renewExtends() throws {
            var table = LeaseTable()
            let lease = try #require(
                try table.acquire(key: "k", holder: "a", ttl: 10 * second, now: t0, fencingFloor: 0))

            let renewed = try table.renew(
                key: "k", holder: "a", fencingToken: lease.fencingToken, ttl: 30 * second, now: t0 + 9 * second)

            #expect(renewed.fencingToken == lease.fencingToken)
            #expect(renewed.expiresAt == t0 + 39 * second)
            #expect(renewed.ttl == 30 * second)
            #expect(table.lease(key: "k", now: t0 + 38 * second) == renewed)
        }

        @Test("a renewal one nanosecond before expiry succeeds")
        func renewJustBeforeExpiry() throws {
            var table = LeaseTable()
            let lease = try #require(try table.acquire(key: "k", holder: "a", ttl: second, now: t0, fencingFloor: 0))

            let renewed = try table.renew(
                key: "k", holder: "a", fencingToken: lease.fencingToken, ttl: second, now: lease.expiresAt - 1)

            #expect(renewed.expiresAt == lease.expiresAt - 1 + second)
        }

        @Test("a renewal after expiry fails with leaseNotHeld, also at the expiry instant and with nobody else holding")
        func renewAfterExpiry() throws {
            var table = LeaseTable()
            let lease = try #require(try table.acquire(key: "k", holder: "a", ttl: second, now: t0, fencingFloor: 0))

            let atInstant = CoordinationTests.expectError(.leaseNotHeld) {
                try table.renew(
                    key: "k", holder: "a", fencingToken: lease.fencingToken, ttl: second, now: lease.expiresAt)
            }
            let later = CoordinationTests.expectError(.leaseNotHeld) {
                try table.renew(
                    key: "k", holder: "a", fencingToken: lease.fencingToken, ttl: second, now: lease.expiresAt + second)
            }

            #expect(atInstant?.message.contains("expired") == true)
            #expect(later?.message.contains("expired") == true)
            #expect(table.lease(key: "k", now: lease.expiresAt) == nil)
        }

        @Test("a renewal after another holder took the key fails with leaseNotHeld saying it was taken")
        func renewAfterTakeover() throws {
            var table = LeaseTable()
            let old = try #require(try table.acquire(key: "k", holder: "a", ttl: second, now: t0, fencingFloor: 0))
            let new = try #require(
                try table.acquire(key: "k", holder: "b", ttl: second, now: old.expiresAt, fencingFloor: 0))

            let error = CoordinationTests.expectError(.leaseNotHeld) {
                try table.renew(key: "k", holder: "a", fencingToken: old.fencingToken, ttl: second, now: old.expiresAt)
            }

            #expect(error?.message.contains("taken") == true)
            #expect(table.lease(key: "k", now: old.expiresAt) == new)
        }

        @Test("a renewal with the token of the holder's own earlier, expired acquisition fails")
        func renewWithStaleToken() throws {
            var table = LeaseTable()
            let old = try #require(try table.acquire(key: "k", holder: "a", ttl: second, now: t0, fencingFloor: 0))
            let new = try #require(
                try table.acquire(key: "k", holder: "a", ttl: second, now: old.expiresAt, fencingFloor: 0))

            let error = CoordinationTests.expectError(.leaseNotHeld) {
                try table.renew(key: "k", holder: "a", fencingToken: old.fencingToken, ttl: second, now: old.expiresAt)
            }

            #expect(error?.message.contains("\(new.fencingToken)") == true)
        }

        @Test("renewing a released lease fails with leaseNotHeld saying it was released")
        func renewAfterRelease() throws {
            var table = LeaseTable()
            let lease = try #require(try table.acquire(key: "k", holder: "a", ttl: second, now: t0, fencingFloor: 0))
            try table.release(key: "k", holder: "a", fencingToken: lease.fencingToken, now: t0)

            let error = CoordinationTests.expectError(.leaseNotHeld) {
                try table.renew(key: "k", holder: "a", fencingToken: lease.fencingToken, ttl: second, now: t0)
            }

            #expect(error?.message.contains("released") == true)
        }

        // MARK: - Release

        @Test("release frees the key at once and the next acquire gets a higher token")
        func releaseFrees() throws {
            var table = LeaseTable()
            let lease = try #require(
                try table.acquire(key: "k", holder: "a", ttl: 60 * second, now: t0, fencingFloor: 0))

            try table.release(key: "k", holder: "a", fencingToken: lease.fencingToken, now: t0 + second)
            let next = try table.acquire(key: "k", holder: "b", ttl: second, now: t0 + second, fencingFloor: 0)

            #expect(next?.fencingToken ?? 0 > lease.fencingToken)
            #expect(table.count == 1)
        }

        @Test("releasing twice fails the second time with leaseNotHeld")
        func releaseTwice() throws {
            var table = LeaseTable()
            let lease = try #require(try table.acquire(key: "k", holder: "a", ttl: second, now: t0, fencingFloor: 0))
            try table.release(key: "k", holder: "a", fencingToken: lease.fencingToken, now: t0)

            CoordinationTests.expectError(.leaseNotHeld) {
                try table.release(key: "k", holder: "a", fencingToken: lease.fencingToken, now: t0)
            }
            #expect(table.count == 0)
        }

        @Test("releasing an expired lease fails with leaseNotHeld saying it expired")
        func releaseExpired() throws {
            var table = LeaseTable()
            let lease = try #require(try table.acquire(key: "k", holder: "a", ttl: second, now: t0, fencingFloor: 0))

            let error = CoordinationTests.expectError(.leaseNotHeld) {
                try table.release(key: "k", holder: "a", fencingToken: lease.fencingToken, now: lease.expiresAt)
            }

            #expect(error?.message.contains("expired") == true)
        }

        @Test("a release by another holder or with a wrong token fails and keeps the lease")
        func releaseByOther() throws {
            var table = LeaseTable()
            let lease = try #require(try table.acquire(key: "k", holder: "a", ttl: second, now: t0, fencingFloor: 0))

            CoordinationTests.expectError(.leaseNotHeld) {
                try table.release(key: "k", holder: "b", fencingToken: lease.fencingToken, now: t0)
            }
            CoordinationTests.expectError(.leaseNotHeld) {
                try table.release(key: "k", holder: "a", fencingToken: lease.fencingToken + 1, now: t0)
            }
            #expect(table.lease(key: "k", now: t0) == lease)
        }

        // MARK: - Sweep and bound

        @Test("sweep removes expired leases but the fencing counter never goes back")
        func sweepKeepsCounter() throws {
            var table = LeaseTable()
            _ = try table.acquire(key: "short", holder: "a", ttl: second, now: t0, fencingFloor: 0)
            let long = try table.acquire(key: "long", holder: "a", ttl: 10 * second, now: t0, fencingFloor: 0)

            #expect(table.sweep(now: t0 + second - 1) == 0)
            #expect(table.sweep(now: t0 + second) == 1)
            #expect(table.count == 1)
            #expect(table.lease(key: "long", now: t0 + second) == long)

            #expect(table.sweep(now: t0 + 10 * second) == 1)
            #expect(table.count == 0)
            let next = try table.acquire(key: "short", holder: "a", ttl: second, now: t0 + 10 * second, fencingFloor: 0)
            #expect(next?.fencingToken == 3)
        }

        @Test("sweep sees a lease whose renewal shortened its expiry")
        func sweepAfterShorterRenewal() throws {
            var table = LeaseTable()
            let lease = try #require(
                try table.acquire(key: "k", holder: "a", ttl: 60 * second, now: t0, fencingFloor: 0))
            _ = try table.renew(key: "k", holder: "a", fencingToken: lease.fencingToken, ttl: second, now: t0)

            #expect(table.sweep(now: t0 + second) == 1)
        }

        @Test("a full table refuses a new key with limitExceeded naming the limit, but still refreshes held keys")
        func tableFull() throws {
            var table = LeaseTable(maxKeys: 2)
            _ = try table.acquire(key: "a", holder: "h", ttl: 10 * second, now: t0, fencingFloor: 0)
            _ = try table.acquire(key: "b", holder: "h", ttl: 10 * second, now: t0, fencingFloor: 0)

            let error = CoordinationTests.expectError(.limitExceeded) {
                try table.acquire(key: "c", holder: "h", ttl: second, now: t0 + second, fencingFloor: 0)
            }
            let refreshed = try table.acquire(
                key: "a", holder: "h", ttl: 10 * second, now: t0 + second, fencingFloor: 0)
            let refused = try table.acquire(key: "b", holder: "other", ttl: second, now: t0 + second, fencingFloor: 0)

            #expect(error?.limit == 2)
            #expect(refreshed?.fencingToken == 1)
            #expect(refused == nil)
            #expect(table.count == 2)
            #expect(table.lastFencingToken == 2)
        }

        @Test("a full table makes room for a new key by sweeping expired leases")
        func tableFullSweeps() throws {
            var table = LeaseTable(maxKeys: 2)
            _ = try table.acquire(key: "a", holder: "h", ttl: second, now: t0, fencingFloor: 0)
            let live = try table.acquire(key: "b", holder: "h", ttl: 10 * second, now: t0, fencingFloor: 0)

            let added = try table.acquire(key: "c", holder: "h", ttl: second, now: t0 + second, fencingFloor: 0)

            #expect(added?.fencingToken == 3)
            #expect(table.count == 2)
            #expect(table.lease(key: "a", now: t0 + second) == nil)
            #expect(table.lease(key: "b", now: t0 + second) == live)
        }

        @Test("the default bound is 100,000 keys and a bound below 1 counts as 1")
        func bounds() {
            #expect(LeaseTable().maxKeys == 100_000)
            #expect(LeaseTable(maxKeys: 0).maxKeys == 1)
        }
    }
}
