import Foundation
import Logging
import StreamKitClient
import StreamKitPostgres
import StreamKitTestSupport
import Testing

/// The in-process client over a registry whose stores live in PostgreSQL: two registries over two separate
/// `PostgresLog`s are two nodes as far as the database can tell, each with its own embedded client.
@Suite("In-process client over PostgreSQL", .timeLimit(.minutes(2)))
struct InProcessClientOverPostgresTests {
    struct Node {
        let registry: StoreRegistry
        let client: StreamKitClient
        let log: PostgresLog?

        static func start(_ log: PostgresLog, ownsLog: Bool) -> Node {
            var store = StoreConfiguration()
            store.logger.logLevel = .warning
            let registry = StoreRegistry(
                root: "", configuration: log.registryConfiguration(RegistryConfiguration(store: store)))
            var configuration = ClientConfiguration()
            configuration.logger.logLevel = .critical
            return Node(
                registry: registry,
                client: StreamKitClient(transport: .inProcess(registry), configuration: configuration),
                log: ownsLog ? log : nil)
        }

        func stop() async {
            await client.close()
            await registry.shutdown()
            await log?.close()
        }
    }

    /// Runs `body` with two nodes on the test database.
    func withTwoNodes(_ body: (Node, Node) async throws -> Void) async throws {
        let a = Node.start(try await TestPostgres.log(), ownsLog: false)
        let b = Node.start(try await TestPostgres.node(), ownsLog: true)
        do {
            try await body(a, b)
        } catch {
            await a.stop()
            await b.stop()
            throw error
        }
        await a.stop()
        await b.stop()
    }

    static func records(_ sequences: ClosedRange<UInt64>) -> [Record] {
        sequences.map { Record(sequence: $0, payload: Array("event \($0)".utf8)) }
    }

    @Test("what one node's client produces, the other node's client reads, peeks and is told of by its subscription")
    func commitsReachTheOtherNodesClient() async throws {
        try await withTwoNodes { a, b in
            let store = UUID()
            try await a.client.produce(store: store, space: "orders", segment: "o-1", records: Self.records(1...3))

            var read: [UInt64] = []
            for try await entry in b.client.consumeSegment(store: store, space: "orders", segment: "o-1") {
                read.append(entry.sequence)
            }
            #expect(read == [1, 2, 3])

            let (statuses, feed) = AsyncStream.makeStream(of: SegmentStatus.self)
            let subscription = try await b.client.subscribe(store: store, space: "orders") { status in
                feed.yield(status)
            }
            try await a.client.publish(store: store, space: "orders", segment: "o-1", payload: Array("event 4".utf8))
            var seen: UInt64 = 0
            for await status in statuses where status.segment == "o-1" {
                seen = status.lastSequence
                if seen >= 4 { break }
            }
            await subscription.cancel()
            #expect(seen == 4)
            let peeked = try await b.client.peek(store: store, space: "orders", segment: "o-1")
            #expect(peeked?.sequence == 4)
            #expect(peeked.map { Array($0.payload) } == Array("event 4".utf8))
        }
    }

    @Test(
        "a produce through one node on a sequence another node's client already took fails with sequenceConflict naming the next one"
    )
    func compareAndAppendHoldsAcrossNodes() async throws {
        try await withTwoNodes { a, b in
            let store = UUID()
            try await a.client.produce(store: store, space: "accounts", segment: "acc-7", records: Self.records(1...2))
            try await b.client.produce(store: store, space: "accounts", segment: "acc-7", records: Self.records(3...3))

            let error = try await #require(throws: StreamKitError.self) {
                try await a.client.produce(
                    store: store, space: "accounts", segment: "acc-7", records: Self.records(3...3))
            }

            #expect(error.code == .sequenceConflict)
            #expect(error.expectedSequence == 4)
            var read: [UInt64] = []
            for try await entry in a.client.consumeSegment(store: store, space: "accounts", segment: "acc-7") {
                read.append(entry.sequence)
            }
            #expect(read == [1, 2, 3])
        }
    }

    @Test("a lease held through one node's client is refused through the other's until it is released")
    func leasesAreSharedAcrossNodes() async throws {
        try await withTwoNodes { a, b in
            let store = UUID()
            let token = try await a.client.withLease(store: store, key: "billing", ttl: .seconds(60)) { lease in
                let refused = await #expect(throws: StreamKitError.self) {
                    try await b.client.withLease(store: store, key: "billing", ttl: .seconds(60)) { _ in }
                }
                #expect(refused?.code == .leaseNotHeld)
                return lease.fencingToken
            }

            let next = try await b.client.withLease(store: store, key: "billing", ttl: .seconds(60)) { $0.fencingToken }

            #expect(next > token)
        }
    }
}
