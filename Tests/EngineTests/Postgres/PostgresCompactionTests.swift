import Foundation
import PostgresNIO
import StreamKitLogFiles
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine
@testable import StreamKitPostgres

/// Deletion and compaction over PostgreSQL: the rows holding deleted entries are rewritten with those records
/// erased, the deletion's row goes, reads stay the same, and sequences continue after a restart.
@Suite struct PostgresCompactionTests {
    private static let marker = Array("SECRET-MARKER".utf8)

    /// Every entry the store's rows hold, erased records included (empty names), decoded from the bodies.
    private static func rowEntries(_ log: PostgresLog, store id: UUID) async throws -> [Entry] {
        try await log.withConnection { connection in
            var entries: [Entry] = []
            for try await (first, count, timestamp, codec, rawLength, checksum, body) in try await connection.query(
                """
                SELECT first_position, entry_count, first_timestamp, codec, raw_length, checksum, body
                FROM streamkit_batches WHERE store = \(id) ORDER BY first_position
                """, logger: log.logger
            ).decode((Int64, Int32, Int64, Int16, Int32, Int64, ByteBuffer).self) {
                entries += try BatchCodec.decode(
                    body: Array(buffer: body), codec: UInt8(codec), rawLength: Int(rawLength),
                    checksum: UInt32(checksum),
                    entryCount: Int(count), firstPosition: UInt64(first), firstTimestamp: timestamp)
            }
            return entries
        }
    }

    private static func deletionRows(_ log: PostgresLog, store id: UUID) async throws -> Int {
        try await log.withConnection { connection in
            var count = 0
            for try await (n) in try await connection.query(
                "SELECT count(*) FROM streamkit_deletions WHERE store = \(id)", logger: log.logger
            ).decode(Int.self) {
                count = n
            }
            return count
        }
    }

    @Test func compactionErasesDeletedEntriesFromTheRowsAndReadsStayTheSameAlsoAfterAReopen() async throws {
        var configuration = StoreFixture.quiet()
        configuration.retention.compacts = false
        let log = try await TestPostgres.log()
        let store = try #require(try await log.openStore(id: UUID(), configuration: configuration))
        for t in UInt64(0)..<10 {
            let range = (t * 5 + 1)...(t * 5 + 5)
            try await store.produce(
                space: "s", segment: "secret",
                records: range.map { Record(sequence: $0, payload: Self.marker + Array("-\($0)".utf8)) })
            try await store.produce(space: "s", segment: "kept", records: records(range, tag: "kept"))
        }
        try await store.deleteSegment(space: "s", segment: "secret")
        let before = try await store.consumeSpace(space: "s").collect()
        let heldBefore = try await Self.rowEntries(log, store: store.id).filter {
            $0.payload.bytes.starts(with: Self.marker)
        }.count
        let recorded = try await Self.deletionRows(log, store: store.id)

        let outcome = try #require(try await store.compact())

        let after = try await store.consumeSpace(space: "s").collect()
        let rows = try await Self.rowEntries(log, store: store.id)
        let left = try await Self.deletionRows(log, store: store.id)
        await store.close()
        let reopened = try #require(
            try await log.openStore(id: store.id, configuration: configuration, creating: false))
        let afterReopen = try await reopened.consumeSpace(space: "s").collect()
        let reused = await streamKitError {
            try await reopened.produce(space: "s", segment: "secret", records: records(1...1))
        }
        try await reopened.produce(space: "s", segment: "secret", records: records(51...51))
        let continued = try await reopened.consumeSegment(space: "s", segment: "secret").collect()
        await reopened.close()

        #expect(heldBefore == 50)
        #expect(recorded == 1)
        #expect(outcome.erasedEntries == 50)
        #expect(outcome.finishedDeletions.map(\.segment) == ["secret"])
        #expect(after.map(\.position) == before.map(\.position))
        #expect(before.allSatisfy { $0.segment == "kept" })
        #expect(!rows.contains { $0.payload.bytes.starts(with: Self.marker) })
        #expect(rows.filter { $0.space.isEmpty }.count == 50)
        #expect(left == 0)
        #expect(afterReopen.map(\.position) == before.map(\.position))
        #expect(reused?.expectedSequence == 51)
        #expect(continued.map(\.sequence) == [51])
    }
}
