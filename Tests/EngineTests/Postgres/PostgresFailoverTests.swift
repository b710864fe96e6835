import Foundation
import PostgresNIO
import StreamKitLogFiles
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine
@testable import StreamKitPostgres

/// The database's log going back under a node (a failover to a replica that had not received every commit): the
/// node must not hand out positions it already read with other contents.
@Suite struct PostgresFailoverTests {
    @Test(
        "a node whose commit gets positions it already read with other contents fails it with corrupt, and refuses every append after it"
    )
    func logGoingBackStopsAppends() async throws {
        let log = try await TestPostgres.node()
        let store = try #require(try await log.openStore(id: UUID(), configuration: StoreFixture.quiet()))
        for sequence in UInt64(1)...3 {
            try await store.produce(
                space: "s", segment: "g", records: [Record(sequence: sequence, payload: [UInt8(sequence)])])
        }
        // The database as a replica that had received only the first commit would have it.
        let id = store.id
        try await log.withConnection { connection in
            try await connection.query(
                "DELETE FROM streamkit_batches WHERE store = \(id) AND first_position > 1", logger: log.logger)
            try await connection.query(
                """
                UPDATE streamkit_stores SET head = 1,
                    last_timestamp = (SELECT first_timestamp FROM streamkit_batches WHERE store = \(id) AND first_position = 1)
                WHERE store = \(id)
                """, logger: log.logger)
            try await connection.query(
                "UPDATE streamkit_segments SET last_sequence = 1, last_transaction = 1 WHERE store = \(id)",
                logger: log.logger)
        }

        let diverged = await streamKitError {
            try await store.produce(space: "s", segment: "other", records: [Record(sequence: 1, payload: [9])])
        }
        let after = await streamKitError {
            try await store.produce(space: "s", segment: "third", records: [Record(sequence: 1, payload: [10])])
        }

        #expect(diverged?.code == .corrupt, "\(String(describing: diverged))")
        #expect(diverged?.message.contains("went back") == true)
        #expect(after?.code == .corrupt, "\(String(describing: after))")
        let entries = try await store.consumeSegment(space: "s", segment: "g").collect()
        #expect(entries.map(\.sequence) == [1, 2, 3], "what the node read stays readable")
        await store.close()
        await log.close()
    }
}
