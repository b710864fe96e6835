import Foundation
import StreamKitLogFiles
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine
@testable import StreamKitPostgres

/// Durable consumers over PostgreSQL: one consumer shared by every node — created on one, acknowledged on it, read
/// and taken over on another, fenced across nodes, and still there after every node closed.
@Suite struct PostgresConsumerTests {
    @Test func aConsumerAcknowledgedOnOneNodeResumesOnAnotherAndAnOlderReaderIsFencedAcrossNodes() async throws {
        var configuration = StoreFixture.quiet()
        configuration.followPollInterval = .milliseconds(50)
        let nodes = try await PostgresNodesTests.Nodes.open(2, configuration: configuration)
        let (a, b) = (nodes.stores[0], nodes.stores[1])
        try await a.produce(space: "s", segment: "g", records: records(1...20))
        let created = try await a.createConsumer(name: "billing", target: .spaces(["s"]))
        let again = try await b.createConsumer(name: "billing", target: .spaces(["s"]))  // The same consumer.
        let entries = try await a.consumeSpace(space: "s").collect()

        try await a.acknowledge(
            consumer: "billing", through: created.position.advanced(through: entries[7]), fencingToken: 5)
        let seenOnB = try await b.consumer(named: "billing")
        try await b.acknowledge(
            consumer: "billing", through: created.position.advanced(through: entries[11]), fencingToken: 9)
        let stale = await streamKitError {
            try await a.acknowledge(
                consumer: "billing", through: created.position.advanced(through: entries[19]), fencingToken: 5)
        }
        await b.catchUp(SegmentKey(space: "s", segment: "g"), through: 20)
        let lagOnB = try await b.consumerStatuses(named: "billing").first?.lag.entries
        await nodes.close()
        let log = try await TestPostgres.log()
        let reopened = try #require(try await log.openStore(id: a.id, configuration: configuration, creating: false))
        let afterReopen = try await reopened.consumer(named: "billing")
        let resumed = try await reopened.consume(spaces: ["s": afterReopen?.position.offset(of: "s") ?? .start])
            .collect()
        await reopened.close()

        #expect(again == created)
        #expect(seenOnB?.position.offset(of: "s") == entries[7].offset)
        #expect(stale?.code == .leaseNotHeld)
        #expect(lagOnB == 8)
        #expect(afterReopen?.fencingToken == 9)
        #expect(resumed.map(\.sequence) == Array(13...20))
    }
}
