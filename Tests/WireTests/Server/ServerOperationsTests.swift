import StreamKitEngine
import StreamKitLogFiles
import StreamKitWire
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The server's coordination and multi-space operations over a real connection: consume, subscribe, leases,
/// worker presence and the hello exchange.
@Suite(.timeLimit(.minutes(1)))
struct ServerOperationsTests {
    @Test("consume over several spaces streams every space's entries from its offset")
    func consumeSeveralSpaces() async throws {
        let store = UUID()
        try await withTestServer { port, _ in
            try await withTestClient(port: port) { client in
                for space in ["a", "b"] {
                    for n in 1...3 {
                        _ = try await client.call(
                            store,
                            .publish(space: space, segment: "g", payload: Array("\(space)\(n)".utf8), metadata: [:]))
                    }
                }

                let answers = try await client.call(
                    store, .consume(spaces: ["a": .start, "b": .start], bounds: ReadBounds(), limit: 0))

                let entries = answers.flatMap { answer -> [Entry] in
                    if case .entries(let batch) = answer { return batch }
                    return []
                }
                #expect(entries.count == 6)
                #expect(
                    entries.filter { $0.space == "a" }.map(\.payload.bytes)
                        == ["a1", "a2", "a3"].map { Array($0.utf8) })
                #expect(entries.filter { $0.space == "b" }.map(\.sequence) == [1, 2, 3])
            }
        }
    }

    @Test("a subscription sends a snapshot, then a status per commit, and ends when the client closes its half")
    func subscriptionStreamsStatuses() async throws {
        let store = UUID()
        try await withTestServer { port, _ in
            try await withTestClient(port: port) { client in
                _ = try await client.call(store, .publish(space: "s", segment: "a", payload: [1], metadata: [:]))
                let (id, answers) = try await client.openRaw(
                    .subscribe(space: "s", segment: "*", heartbeatSeconds: nil), store: store, closeAfterOpen: false)
                var iterator = answers.makeAsyncIterator()

                let snapshot = try await iterator.next()
                await client.consumed(id)
                _ = try await client.call(store, .publish(space: "s", segment: "b", payload: [2], metadata: [:]))
                let live = try await iterator.next()
                await client.consumed(id)
                await client.close(id)
                let end = try await iterator.next()

                guard case .status(let first)? = snapshot, case .status(let second)? = live else {
                    Issue.record("expected statuses, got \(String(describing: snapshot)), \(String(describing: live))")
                    return
                }
                #expect(first.segment == "a" && first.lastSequence == 1)
                #expect(second.segment == "b" && second.lastSequence == 1)
                #expect(end == nil)
            }
        }
    }

    @Test("leases cross the wire: acquire, contention, renew, query and release")
    func leasesCrossTheWire() async throws {
        let store = UUID()
        try await withTestServer { port, _ in
            try await withTestClient(port: port) { client in
                let acquired = try await client.call(store, .leaseAcquire(key: "job", holder: "one", ttlSeconds: 30))
                let contended = try await client.call(store, .leaseAcquire(key: "job", holder: "two", ttlSeconds: 30))
                guard case .leaseResult(let lease?)? = acquired.first else {
                    Issue.record("expected a lease, got \(acquired)")
                    return
                }
                let renewed = try await client.call(store, .leaseRenew(lease, ttlSeconds: 60))
                let queried = try await client.call(store, .leaseQuery(key: "job"))
                let released = try await client.call(store, .leaseRelease(lease))
                let afterRelease = try await client.call(store, .leaseQuery(key: "job"))

                #expect(lease.holder == "one")
                #expect(contended == [.leaseResult(nil)])
                guard case .leaseResult(let renewedLease?)? = renewed.first else {
                    Issue.record("expected a renewed lease, got \(renewed)")
                    return
                }
                #expect(renewedLease.fencingToken == lease.fencingToken)
                #expect(queried == [.leaseResult(renewedLease)])
                #expect(released == [.ack(true)])
                #expect(afterRelease == [.leaseResult(nil)])
            }
        }
    }

    @Test("a lease renewal by a holder that lost it fails with the engine's typed error")
    func staleRenewalFails() async throws {
        let store = UUID()
        try await withTestServer { port, _ in
            try await withTestClient(port: port) { client in
                guard
                    case .leaseResult(let lease?)? = try await client.call(
                        store, .leaseAcquire(key: "job", holder: "one", ttlSeconds: 30)
                    ).first
                else {
                    Issue.record("expected a lease")
                    return
                }
                _ = try await client.call(store, .leaseRelease(lease))

                await #expect(throws: StreamKitError.self) {
                    _ = try await client.call(store, .leaseRenew(lease, ttlSeconds: nil))
                }
            }
        }
    }

    @Test("worker presence crosses the wire: register, heartbeat, inventory, unregister")
    func workerPresenceCrossesTheWire() async throws {
        let store = UUID()
        try await withTestServer { port, _ in
            try await withTestClient(port: port) { client in
                let registered = try await client.call(
                    store, .workerRegister(workerID: "w1", metadata: ["zone": "eu"], heartbeatSeconds: 30))
                guard case .workerRegistered(let generation, let worker, _, let inventory)? = registered.first else {
                    Issue.record("expected a registration, got \(registered)")
                    return
                }
                let heartbeat = try await client.call(store, .workerHeartbeat(workerID: "w1", generation: generation))
                let listed = try await client.call(store, .workerInventoryRequest)
                let removed = try await client.call(store, .workerUnregister(workerID: "w1", generation: generation))
                let removedAgain = try await client.call(
                    store, .workerUnregister(workerID: "w1", generation: generation))

                #expect(worker.metadata == ["zone": "eu"])
                #expect(inventory.workers.map(\.workerID) == ["w1"])
                #expect(heartbeat == [.ack(true)])
                guard case .workerInventory(let live)? = listed.first else {
                    Issue.record("expected an inventory, got \(listed)")
                    return
                }
                #expect(live.workers.map(\.workerID) == ["w1"])
                #expect(removed == [.ack(true)])
                #expect(removedAgain == [.ack(false)])
            }
        }
    }

    @Test("a hello on a stream without a store answers with the server's hello")
    func helloIsAnswered() async throws {
        try await withTestServer { port, _ in
            try await withTestClient(port: port) { client in
                let (id, answers) = try await client.openRaw(.hello(WireHello()), store: nil, closeAfterOpen: true)

                let messages = try await client.collect(id, answers)

                guard case .hello(let server)? = messages.first, messages.count == 1 else {
                    Issue.record("expected one hello, got \(messages)")
                    return
                }
                let agreed = try WireHello.negotiate(local: WireHello(), remote: server)
                #expect(agreed.version == WireVersion.current)
            }
        }
    }

    @Test("a hello with no common version fails that stream with invalidArgument")
    func helloWithoutCommonVersionFails() async throws {
        try await withTestServer { port, _ in
            try await withTestClient(port: port) { client in
                let future = WireHello(minVersion: 1_000, maxVersion: 1_001)
                let (id, answers) = try await client.openRaw(.hello(future), store: nil, closeAfterOpen: true)

                await #expect {
                    _ = try await client.collect(id, answers)
                } throws: { error in
                    (error as? StreamKitError)?.code == .invalidArgument
                }
            }
        }
    }

    @Test("a stream that opens with an answer message fails with invalidArgument")
    func answerAsRequestFails() async throws {
        try await withTestServer { port, _ in
            try await withTestClient(port: port) { client in
                let store = UUID()
                await #expect {
                    _ = try await client.call(store, .ack(true))
                } throws: { error in
                    (error as? StreamKitError)?.code == .invalidArgument
                }
            }
        }
    }
}
