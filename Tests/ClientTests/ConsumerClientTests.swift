import Foundation
import StreamKitTestSupport
import StreamKitWire
import Testing

@testable import StreamKitClient

/// Durable named consumers through the client, over both transports: resuming where the last reader stopped,
/// automatic and manual acknowledgement, exclusivity, fencing, lag and deletion.
struct ConsumerClientTests {
    private static func produce(_ h: ClientHarness, _ range: ClosedRange<UInt64>, segment: String = "g") async throws {
        try await h.client.produce(store: h.storeID, space: "s", segment: segment, records: records(range))
    }

    @Test(arguments: TransportKind.allCases)
    func aConsumerResumesAfterTheLastEntryTheFirstReaderProcessed(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        try await Self.produce(h, 1...1500, segment: "a")
        try await Self.produce(h, 1...1000, segment: "b")
        try await h.client.createConsumer(store: h.storeID, name: "billing", spaces: ["s"])

        let first = try await h.client.withConsumer(store: h.storeID, name: "billing") { reader in
            var seen: [Entry] = []
            for try await entry in reader.entries() {
                seen.append(entry)
                if seen.count == 1800 { break }  // Entry 1800 was delivered, not processed.
            }
            return seen
        }
        let second = try await h.client.withConsumer(store: h.storeID, name: "billing") { reader in
            try await collect(reader.entries())
        }
        let third = try await h.client.withConsumer(store: h.storeID, name: "billing") { reader in
            try await collect(reader.entries())
        }
        let all = try await collect(h.client.consumeSpace(store: h.storeID, space: "s"))
        await h.tearDown()

        #expect(first.count == 1800)
        #expect(second.map(\.offset) == all[1799...].map(\.offset))
        #expect(third.isEmpty)
    }

    @Test(arguments: TransportKind.allCases)
    func manualAcknowledgementMovesOnlyWhatWasAcknowledged(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        try await Self.produce(h, 1...10)
        try await h.client.createConsumer(store: h.storeID, name: "c", space: "s", segment: "g")

        try await h.client.withConsumer(store: h.storeID, name: "c", acknowledgement: .manual) { reader in
            let entries = try await collect(reader.entries())
            try await reader.acknowledge(through: entries[3])
            let more = try await collect(reader.entries())  // Continues after what was delivered.
            #expect(more.isEmpty)
        }
        let status = try await h.client.consumer(store: h.storeID, name: "c")
        let resumed = try await h.client.withConsumer(store: h.storeID, name: "c", acknowledgement: .manual) { reader in
            try await collect(reader.entries()).map(\.sequence)
        }
        await h.tearDown()

        #expect(status?.consumer.position.sequence == 4)
        #expect(status?.lag.entries == 6)
        #expect(resumed == Array(5...10))
    }

    @Test(arguments: TransportKind.allCases)
    func aSecondReaderIsRefusedWhileTheFirstHoldsTheConsumer(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        try await h.client.createConsumer(store: h.storeID, name: "c", spaces: ["s"])

        let refused = try await h.client.withConsumer(store: h.storeID, name: "c") { _ in
            await errorCode { try await h.client.withConsumer(store: h.storeID, name: "c") { _ in } }
        }
        let afterwards = await errorCode { try await h.client.withConsumer(store: h.storeID, name: "c") { _ in } }
        let unknown = await errorCode { try await h.client.withConsumer(store: h.storeID, name: "nobody") { _ in } }
        await h.tearDown()

        #expect(refused == .leaseNotHeld)
        #expect(afterwards == nil)
        #expect(unknown == .notFound)
    }

    @Test(arguments: TransportKind.allCases)
    func whenTheHolderDiesItsLeaseExpiresAndTheNextReaderTakesOver(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        try await Self.produce(h, 1...5)
        try await h.client.createConsumer(store: h.storeID, name: "c", spaces: ["s"])
        // A holder that died holding the consumer: its lease is never renewed nor released.
        let dead = try #require(
            try await h.client.acquireLease(store: h.storeID, key: "consumer:c", ttl: .seconds(10), holder: "dead"))

        let whileHeld = await errorCode { try await h.client.withConsumer(store: h.storeID, name: "c") { _ in } }
        h.clock.advance(by: 10_000_000_000)
        let taken = try await h.client.withConsumer(store: h.storeID, name: "c") { reader in
            (reader.fencingToken, try await collect(reader.entries()).count)
        }
        let status = try await h.client.consumer(store: h.storeID, name: "c")
        await h.tearDown()

        #expect(whileHeld == .leaseNotHeld)
        #expect(taken.0 > dead.fencingToken)
        #expect(taken.1 == 5)
        #expect(status?.lag.entries == 0)
    }

    @Test(arguments: TransportKind.allCases)
    func aReaderTakenOverCannotMoveThePosition(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        try await Self.produce(h, 1...10)
        try await h.client.createConsumer(store: h.storeID, name: "c", spaces: ["s"])
        let (old, entries) = try await h.client.withConsumer(store: h.storeID, name: "c", acknowledgement: .manual) {
            ($0, try await collect($0.entries()))
        }

        let newer = try await h.client.withConsumer(store: h.storeID, name: "c", acknowledgement: .manual) { reader in
            reader.fencingToken
        }
        let stale = await errorCode { try await old.acknowledge(through: entries[8]) }
        let status = try await h.client.consumer(store: h.storeID, name: "c")
        await h.tearDown()

        #expect(newer > old.fencingToken)
        #expect(stale == .leaseNotHeld)
        #expect(status?.consumer.position == .start)
        #expect(status?.consumer.fencingToken == newer)
    }

    @Test(arguments: TransportKind.allCases)
    func consumersAreListedWithTheirLagAndDeletable(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let none = try await h.client.consumers(store: h.storeID)
        try await Self.produce(h, 1...10)
        let fresh = try await h.client.createConsumer(store: h.storeID, name: "new", spaces: ["s"])
        let late = try await h.client.createConsumer(store: h.storeID, name: "late", spaces: ["s"], startAtHead: true)
        try await Self.produce(h, 11...12)

        let listed = try await h.client.consumers(store: h.storeID)
        let deleted = try await h.client.deleteConsumer(store: h.storeID, name: "new")
        let deletedAgain = try await h.client.deleteConsumer(store: h.storeID, name: "new")
        let left = try await h.client.consumers(store: h.storeID)
        let bad = await errorCode { try await h.client.createConsumer(store: h.storeID, name: "", spaces: ["s"]) }
        await h.tearDown()

        #expect(none.isEmpty)
        #expect(fresh.lag.entries == 10)
        #expect(late.lag.entries == 0)
        #expect(listed.map(\.consumer.name) == ["late", "new"])
        #expect(listed.map(\.lag.entries) == [2, 12])
        #expect(listed.allSatisfy { $0.lag.nanoseconds > 0 })
        #expect(deleted && !deletedAgain)
        #expect(left.map(\.consumer.name) == ["late"])
        #expect(bad == .invalidArgument)
    }

    @Test func aConnectionToAServerWithoutConsumersRefusesAsUnsupportedAndStaysUsable() async throws {
        let (_, output) = AsyncStream<[UInt8]>.makeStream()
        let connection = ClientConnection(serial: 1, url: "ws://old", limits: MuxLimits(), output: output)

        let refused = await errorCode {
            _ = try await connection.open(
                .consumerQuery(name: nil), store: UUID(), receiver: StreamInbox(autoConsume: true), closeAfterOpen: true
            )
        }

        #expect(refused == .unsupported)
        #expect(connection.isUsable)
        #expect(await connection.openStreamCount == 0)
    }
}

/// Every entry of a consumer's read.
func collect(_ entries: ConsumerEntries) async throws -> [Entry] {
    var out: [Entry] = []
    for try await entry in entries { out.append(entry) }
    return out
}
