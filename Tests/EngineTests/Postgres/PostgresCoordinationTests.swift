import Foundation
import StreamKitPostgres
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine

/// Leases and worker presence of a store in PostgreSQL, shared by every node that opens it: each node is its own
/// `PostgresLog` (see ``PostgresNodesTests/Nodes``). Expiry is by the database's clock, so the tests that need a
/// lease or a worker to expire wait for it (bounded waits on the outcome; they fail only after 30 s).
@Suite struct PostgresCoordinationTests {
    typealias Nodes = PostgresNodesTests.Nodes

    // MARK: - Leases

    @Test(
        "a lease acquired on one node is refused on another while live, and granted there after release with a higher token"
    )
    func leaseExcludesOtherNodesUntilReleased() async throws {
        let nodes = try await Nodes.open(2)
        let (a, b) = (nodes.stores[0], nodes.stores[1])

        let held = try #require(try await a.acquireLease(key: "job", holder: "one", ttlSeconds: 60))
        let refused = try await b.acquireLease(key: "job", holder: "two", ttlSeconds: 60)
        let seenOnB = try await b.lease(key: "job")
        let refreshed = try #require(try await a.acquireLease(key: "job", holder: "one", ttlSeconds: 60))
        try await a.releaseLease(refreshed)
        let taken = try #require(try await b.acquireLease(key: "job", holder: "two", ttlSeconds: 60))
        let refusedOnA = try await a.acquireLease(key: "job", holder: "one", ttlSeconds: 60)

        #expect(refused == nil)
        #expect(seenOnB?.holder == "one")
        #expect(seenOnB?.fencingToken == held.fencingToken)
        #expect(refreshed.fencingToken == held.fencingToken, "the same holder refreshes: same token")
        #expect(taken.holder == "two")
        #expect(taken.fencingToken > held.fencingToken)
        #expect(refusedOnA == nil)
        #expect(try await a.lease(key: "job")?.holder == "two")
        await nodes.close()
    }

    @Test(
        "an expired lease is granted on another node with a higher token, and the old holder's renewal says it was taken"
    )
    func expiredLeaseMovesToAnotherNode() async throws {
        let nodes = try await Nodes.open(2)
        let (a, b) = (nodes.stores[0], nodes.stores[1])
        let start = a.configuration.clock.now()
        let first = try #require(try await a.acquireLease(key: "job", holder: "one", ttlSeconds: 1))

        var second: Lease?
        try await eventually {
            second = try await b.acquireLease(key: "job", holder: "two", ttlSeconds: 60)
            return second != nil
        }
        let expiredFor = a.configuration.clock.now() - start
        let renewal = await streamKitError { _ = try await a.renewLease(first) }

        let taken = try #require(second)
        #expect(taken.fencingToken > first.fencingToken)
        #expect(expiredFor >= 999_000_000, "free only once the 1 s lease expired (by the database's clock)")
        #expect(first.expiresAt <= start + 1_000_000_000, "expiresAt is never later than the database's expiry")
        #expect(renewal?.code == .leaseNotHeld)
        #expect(renewal?.message.contains("taken") == true, "\(String(describing: renewal))")
        await nodes.close()
    }

    @Test(
        "fencing tokens rise across nodes and after every node reopens the store, and are at least wall-clock nanoseconds"
    )
    func fencingTokensRiseAcrossNodesAndReopens() async throws {
        let nodes = try await Nodes.open(2)
        let wallBefore = UInt64(Date().timeIntervalSince1970 * 1e9) - 60_000_000_000
        var tokens: [UInt64] = []
        for round in 0..<6 {
            let store = nodes.stores[round % 2]
            let lease = try #require(
                try await store.acquireLease(key: "k\(round % 3)", holder: "h\(round)", ttlSeconds: 60))
            tokens.append(lease.fencingToken)
            try await store.releaseLease(lease)
        }
        let id = nodes.stores[0].id
        await nodes.close()

        let reopened = try await TestPostgres.node()
        let store = try #require(
            try await reopened.openStore(id: id, configuration: StoreFixture.quiet(), creating: false))
        let afterReopen = try #require(try await store.acquireLease(key: "k0", holder: "later", ttlSeconds: 60))
        await store.close()
        await reopened.close()

        #expect(tokens == tokens.sorted() && Set(tokens).count == tokens.count, "strictly rising: \(tokens)")
        #expect(afterReopen.fencingToken > tokens.last ?? .max)
        #expect(tokens[0] >= wallBefore, "at least the database's wall clock in ns")
    }

    @Test("acquisitions of a new key racing on two nodes give exactly one holder")
    func racingAcquisitionsGiveOneHolder() async throws {
        let nodes = try await Nodes.open(2)
        for round in 0..<20 {
            let key = "race-\(round)"
            let winners = try await withThrowingTaskGroup(of: Lease?.self) { group in
                for (n, store) in nodes.stores.enumerated() {
                    for h in 0..<4 {
                        group.addTask { try await store.acquireLease(key: key, holder: "n\(n)h\(h)", ttlSeconds: 60) }
                    }
                }
                var granted: [Lease] = []
                for try await lease in group { if let lease { granted.append(lease) } }
                return granted
            }
            #expect(winners.count == 1, "\(key): \(winners.map(\.holder))")
            for store in nodes.stores {
                #expect(try await store.lease(key: key)?.holder == winners.first?.holder)
            }
        }
        await nodes.close()
    }

    @Test(
        "renewal and release need the live holder and token, and say whether the lease was released, taken or expired")
    func renewAndReleaseErrors() async throws {
        let nodes = try await Nodes.open(2)
        let (a, b) = (nodes.stores[0], nodes.stores[1])
        let lease = try #require(try await a.acquireLease(key: "job", holder: "one", ttlSeconds: 10))
        let renewed = try await b.renewLease(lease, ttlSeconds: 60)
        let forged = Lease(
            key: "job", holder: "one", fencingToken: lease.fencingToken + 1, expiresAt: 0, ttl: lease.ttl)
        let wrongToken = await streamKitError { _ = try await b.renewLease(forged) }
        let wrongHolder = await streamKitError {
            try await a.releaseLease(
                Lease(key: "job", holder: "two", fencingToken: lease.fencingToken, expiresAt: 0, ttl: lease.ttl))
        }
        try await b.releaseLease(renewed)
        let releasedTwice = await streamKitError { try await a.releaseLease(lease) }
        let renewedAfterRelease = await streamKitError { _ = try await a.renewLease(lease) }

        let short = try #require(try await a.acquireLease(key: "brief", holder: "one", ttlSeconds: 1))
        try await eventually { try await b.lease(key: "brief") == nil }
        let renewedAfterExpiry = await streamKitError { _ = try await b.renewLease(short) }
        let releasedAfterExpiry = await streamKitError { try await a.releaseLease(short) }

        #expect(renewed.fencingToken == lease.fencingToken)
        #expect(renewed.ttl == 60_000_000_000)
        #expect(renewed.expiresAt > lease.expiresAt)
        for error in [wrongToken, wrongHolder] {
            #expect(error?.code == .leaseNotHeld)
            #expect(error?.message.contains("taken") == true, "\(String(describing: error))")
        }
        for error in [releasedTwice, renewedAfterRelease] {
            #expect(error?.code == .leaseNotHeld)
            #expect(error?.message.contains("released") == true, "\(String(describing: error))")
        }
        for error in [renewedAfterExpiry, releasedAfterExpiry] {
            #expect(error?.code == .leaseNotHeld)
            #expect(error?.message.contains("expired") == true, "\(String(describing: error))")
        }
        await nodes.close()
    }

    @Test("the registry closes an idle PostgreSQL store holding a live lease: the lease lives in the database")
    func closingKeepsSharedLeases() async throws {
        let nodes = try await Nodes.open(1)
        let store = nodes.stores[0]
        let lease = try #require(try await store.acquireLease(key: "job", holder: "one", ttlSeconds: 60))
        _ = try await store.registerWorker(workerID: "w", heartbeatSeconds: 30)

        let closed = await store.closeUnlessCoordinating()
        let other = try await TestPostgres.node()
        let reopened = try #require(
            try await other.openStore(id: store.id, configuration: StoreFixture.quiet(), creating: false))
        let seen = try await reopened.lease(key: "job")
        let refused = try await reopened.acquireLease(key: "job", holder: "two", ttlSeconds: 60)
        let workers = try await reopened.workerInventory().workers.map(\.workerID)
        await reopened.close()
        await other.close()

        #expect(closed)
        #expect(seen?.holder == "one")
        #expect(seen?.fencingToken == lease.fencingToken)
        #expect(refused == nil)
        #expect(workers == ["w"])
        await nodes.close()
    }

    @Test("keys, holders, worker ids and metadata keep their exact bytes (NUL, non-ASCII)")
    func exactBytes() async throws {
        let nodes = try await Nodes.open(2)
        let key = "clé\u{0}🔑"
        let holder = "hö\u{0}lder"
        let lease = try #require(try await nodes.stores[0].acquireLease(key: key, holder: holder, ttlSeconds: 60))
        let registration = try await nodes.stores[0].registerWorker(
            workerID: "wörker\u{0}", metadata: ["zone": "ä\u{0}\"1\"", "🔑": ""], heartbeatSeconds: 30)

        let seen = try await nodes.stores[1].lease(key: key)
        let other = try await nodes.stores[1].acquireLease(key: "clé", holder: holder, ttlSeconds: 60)
        let workers = try await nodes.stores[1].workerInventory().workers

        #expect(
            seen
                == Lease(
                    key: key, holder: holder, fencingToken: lease.fencingToken, expiresAt: seen?.expiresAt ?? 0,
                    ttl: lease.ttl))
        #expect(other != nil, "a key that is a prefix up to the NUL is another key")
        #expect(workers.map(\.workerID) == ["wörker\u{0}"])
        #expect(workers.first?.metadata == ["zone": "ä\u{0}\"1\"", "🔑": ""])
        #expect(registration.worker.metadata == workers.first?.metadata)
        await nodes.close()
    }

    // MARK: - Worker presence

    @Test("a worker registered on one node is in the other node's inventory, sorted, with a version that rises")
    func workersAreSharedByNodes() async throws {
        let nodes = try await Nodes.open(2)
        let (a, b) = (nodes.stores[0], nodes.stores[1])
        let first = try await a.registerWorker(workerID: "w2", metadata: ["zone": "1"], heartbeatSeconds: 30)
        let onB = try await b.workerInventory()
        let second = try await b.registerWorker(workerID: "w1", heartbeatSeconds: 10)
        let onA = try await a.workerInventory()
        try await a.workerHeartbeat(workerID: "w1", generation: second.generation)
        let afterHeartbeat = try await b.workerInventory()

        #expect(first.inventory.workers.map(\.workerID) == ["w2"])
        #expect(first.replacedGeneration == nil)
        #expect(onB.workers.map(\.workerID) == ["w2"])
        #expect(onB.workers.first?.metadata == ["zone": "1"])
        #expect(onB.workers.first?.heartbeatInterval == 30_000_000_000)
        #expect(onB.version == first.inventory.version)
        #expect(second.generation > first.generation)
        #expect(second.inventory.version > onB.version)
        #expect(onA.workers.map(\.workerID) == ["w1", "w2"])
        #expect(onA.version == second.inventory.version)
        #expect(afterHeartbeat.version == onA.version, "heartbeats do not change the membership version")
        await nodes.close()
    }

    @Test(
        "re-registering a worker id on another node replaces the older generation, whose heartbeat then fails with notFound"
    )
    func reRegistrationOnAnotherNodeReplaces() async throws {
        let nodes = try await Nodes.open(2)
        let (a, b) = (nodes.stores[0], nodes.stores[1])
        let older = try await a.registerWorker(workerID: "w", heartbeatSeconds: 30)
        let newer = try await b.registerWorker(workerID: "w", heartbeatSeconds: 30)
        let heartbeat = await streamKitError {
            try await a.workerHeartbeat(workerID: "w", generation: older.generation)
        }
        let unknownGeneration = await streamKitError {
            try await a.workerHeartbeat(workerID: "w", generation: newer.generation + 1_000)
        }
        let unknownWorker = await streamKitError { try await a.workerHeartbeat(workerID: "nobody", generation: 1) }
        try await a.workerHeartbeat(workerID: "w", generation: newer.generation)
        let olderUnregistered = try await a.unregisterWorker(workerID: "w", generation: older.generation)
        let stillThere = try await a.workerInventory()
        let newerUnregistered = try await a.unregisterWorker(workerID: "w", generation: newer.generation)
        let empty = try await b.workerInventory()

        #expect(newer.replacedGeneration == older.generation)
        #expect(newer.inventory.workers.count == 1)
        #expect(heartbeat?.code == .notFound)
        #expect(heartbeat?.message.contains("replaced") == true, "\(String(describing: heartbeat))")
        #expect(unknownGeneration?.code == .notFound)
        #expect(unknownWorker?.code == .notFound)
        #expect(!olderUnregistered, "a replaced generation's unregistration does nothing")
        #expect(stillThere.workers.map(\.workerID) == ["w"])
        #expect(stillThere.version == newer.inventory.version)
        #expect(newerUnregistered)
        #expect(empty.workers.isEmpty)
        #expect(empty.version > stillThere.version)
        await nodes.close()
    }

    @Test(
        "a worker that misses three heartbeat intervals is evicted on every node; its heartbeat then fails with notFound"
    )
    func missedHeartbeatsEvict() async throws {
        let nodes = try await Nodes.open(2)
        let (a, b) = (nodes.stores[0], nodes.stores[1])
        let start = a.configuration.clock.now()
        let brief = try await a.registerWorker(workerID: "brief", heartbeatSeconds: 1)
        _ = try await a.registerWorker(workerID: "steady", heartbeatSeconds: 30)

        var after = WorkerInventory.empty
        try await eventually {
            after = try await b.workerInventory()
            return after.workers.map(\.workerID) == ["steady"]
        }
        let goneFor = a.configuration.clock.now() - start
        let heartbeat = await streamKitError {
            try await a.workerHeartbeat(workerID: "brief", generation: brief.generation)
        }

        #expect(goneFor >= 2_999_000_000, "evicted only after 3 missed 1 s intervals (by the database's clock)")
        // Two membership changes since "brief" registered: "steady" registered, and "brief" was evicted (on a loaded
        // machine possibly by that very registration, so compare with the version "brief" registered at).
        #expect(after.version >= brief.inventory.version + 2, "the eviction is a membership change")
        #expect(heartbeat?.code == .notFound)
        #expect(try await a.workerInventory().workers.map(\.workerID) == ["steady"])
        await nodes.close()
    }

    // MARK: - Arguments

    @Test(
        "bad lease and presence arguments fail alike on every backend; a heartbeat interval beyond UInt64 nanoseconds is invalid, not a crash",
        arguments: Backend.allCases)
    func argumentsAreCheckedAlike(_ backend: Backend) async throws {
        try await withStore(backend) { fixture in
            let store = fixture.store
            let lease = Lease(key: "k", holder: "h", fencingToken: 1, expiresAt: 0, ttl: 1_000_000_000)
            let errors: [StreamKitError?] = [
                await streamKitError { _ = try await store.acquireLease(key: "", holder: "h", ttlSeconds: 10) },
                await streamKitError { _ = try await store.acquireLease(key: "k", holder: "h", ttlSeconds: 0.5) },
                await streamKitError {
                    _ = try await store.acquireLease(
                        key: "k", holder: String(repeating: "h", count: 257), ttlSeconds: 10)
                },
                await streamKitError { _ = try await store.renewLease(lease, ttlSeconds: 100_000) },
                await streamKitError { _ = try await store.registerWorker(workerID: "w", heartbeatSeconds: 301) },
                await streamKitError { _ = try await store.registerWorker(workerID: "w", heartbeatSeconds: Int.max) },
                await streamKitError { _ = try await store.registerWorker(workerID: "w", heartbeatSeconds: -1) },
                await streamKitError {
                    _ = try await store.registerWorker(
                        workerID: "w", metadata: ["m": String(repeating: "x", count: 4_096)])
                },
            ]
            for error in errors { #expect(error?.code == .invalidArgument, "\(String(describing: error))") }
            let renewal = await streamKitError { _ = try await store.renewLease(lease) }
            #expect(renewal?.code == .leaseNotHeld)
            #expect(renewal?.message.contains("released") == true)
            let heartbeat = await streamKitError { try await store.workerHeartbeat(workerID: "w", generation: 1) }
            #expect(heartbeat?.code == .notFound)
            let inventory = try await store.workerInventory()
            let held = try await store.lease(key: "k")
            #expect(inventory == .empty)
            #expect(held == nil)
        }
    }
}
