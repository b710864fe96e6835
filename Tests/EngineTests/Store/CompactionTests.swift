import Foundation
import StreamKitLogFiles
import Testing

@testable import StreamKitEngine

/// Compaction erases what deletions cover from the files: the bytes are gone, reads are the same before and
/// after (also after a restart), positions and offsets keep their meaning, and the deletion records go.
struct CompactionTests {
    private static func smallFiles() -> StoreConfiguration {
        var configuration = StoreFixture.quiet()
        configuration.log.blockBytes = 1024
        configuration.log.logFileBytes = 8 * 1024
        configuration.retention.compacts = false  // Tests call compact() themselves.
        return configuration
    }

    private static let marker = Array("SECRET-MARKER".utf8)

    /// Whether any file under `directory` holds `bytes`.
    private static func filesHold(_ bytes: [UInt8], under directory: String) throws -> [String] {
        var found: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let name = enumerator?.nextObject() as? String {
            let path = directory + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            if data.count >= bytes.count,
                (0...(data.count - bytes.count)).contains(where: { data[$0..<($0 + bytes.count)].elementsEqual(bytes) })
            {
                found.append(name)
            }
        }
        return found
    }

    /// "secret" (payloads with the marker, uncompressible enough to stay visible) interleaved with "kept", then
    /// enough of "kept" that the log rolls past them.
    private static func fill(_ store: Store) async throws {
        for t in 0..<UInt64(20) {
            let range = (t * 5 + 1)...(t * 5 + 5)
            try await store.produce(
                space: "s", segment: "secret",
                records: range.map {
                    Record(sequence: $0, payload: marker + Array("-\($0)".utf8), metadata: ["who": "SECRET-MARKER"])
                })
            try await store.produce(space: "s", segment: "kept", records: records(range, tag: "kept"))
        }
        try await store.produce(
            space: "s", segment: "kept", records: records(101...600, tag: String(repeating: "k", count: 40)))
    }

    @Test func compactionErasesDeletedEntriesFromTheFilesAndEveryReadStaysTheSame() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-compaction-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await Store.open(id: UUID(), directory: directory, configuration: Self.smallFiles())
        try await Self.fill(store)
        try await store.truncateSegment(space: "s", segment: "secret", before: 101)  // all 100
        _ = try await store.consumeSpace(space: "s").collect()  // Decoded blocks in the cache.
        let before = try await store.consumeSpace(space: "s").collect()
        let held = try Self.filesHold(Self.marker, under: directory + "/log")

        let outcome = try #require(try await store.compact())

        let after = try await store.consumeSpace(space: "s").collect()
        let kept = try await store.consumeSegment(space: "s", segment: "kept").collect()
        let left = try Self.filesHold(Self.marker, under: directory)
        let manifest = try StoreManifest.read(directory: directory)
        let again = try await store.compact()
        await store.close()
        let reopened = try await Store.open(id: store.id, directory: directory, configuration: Self.smallFiles())
        let afterRestart = try await reopened.consumeSpace(space: "s").collect()
        let reused = await streamKitError {
            try await reopened.produce(space: "s", segment: "secret", records: records(1...1))
        }
        let listed = await reopened.segments(space: "s")
        await reopened.close()
        let onDisk = try Self.filesHold(Self.marker, under: directory)
        let verified = try LogReader(directory: directory).verify()
        let tools = try LogReader(directory: directory).entries()

        #expect(!held.isEmpty)
        #expect(outcome.erasedEntries == 100)
        #expect(outcome.rewrittenFiles >= 1)
        #expect(outcome.finishedDeletions.map(\.segment) == ["secret"])
        #expect(
            after.map(\.position) == before.map(\.position),
            "\(after.prefix(3).map { ($0.space, $0.segment, $0.sequence, $0.payload.count) })")
        #expect(after.allSatisfy { $0.segment == "kept" })
        #expect(kept.map(\.sequence) == Array(1...600))
        #expect(left.isEmpty, "still in \(left)")
        #expect(manifest.deletions.isEmpty)
        #expect(manifest.retired.map(\.segment) == ["secret"])
        #expect(again == nil)
        #expect(afterRestart.map(\.position) == before.map(\.position))
        #expect(reused?.expectedSequence == 101)
        #expect(listed == ["kept"])
        #expect(onDisk.isEmpty, "still in \(onDisk)")
        #expect(verified.isClean, "\(verified.problems)")
        #expect(tools.map(\.position) == before.map(\.position))
    }

    /// The WAL keeps written space for reuse: a covered file as the spare (one checkpoint), then the part of the
    /// file made from it not written again (a second checkpoint). Neither may keep deleted entries' bytes.
    @Test(arguments: [1, 2])
    func theWALKeepsNoDeletedEntryBytesInSpaceItReuses(checkpoints: Int) async throws {
        let directory = NSTemporaryDirectory() + "streamkit-compaction-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await Store.open(id: UUID(), directory: directory, configuration: Self.smallFiles())
        try await Self.fill(store)
        for n in 1...UInt64(checkpoints) {
            try await store.produce(space: "s", segment: "after", records: records(n...n, tag: "a"))
            try await store.reads.storage.flush()
        }
        try await store.deleteSegment(space: "s", segment: "secret")
        let held = try Self.filesHold(Self.marker, under: directory + "/wal")

        let outcome = try await store.compact()
        let left = try Self.filesHold(Self.marker, under: directory)
        await store.close()

        #expect(!held.isEmpty)
        #expect(outcome?.finishedDeletions.map(\.segment) == ["secret"])
        #expect(left.isEmpty, "still in \(left)")
    }

    @Test func anOffsetOfAnErasedEntryResumesAtTheNextEntryLeftAlsoAfterARestart() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-compaction-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await Store.open(id: UUID(), directory: directory, configuration: Self.smallFiles())
        try await Self.fill(store)
        let entries = try await store.consumeSpace(space: "s").collect()
        let offset = try #require(entries.first { $0.segment == "secret" && $0.sequence == 3 }).offset
        let next = entries.filter { $0.position > offset.position && $0.segment == "kept" }.map(\.position)
        try await store.deleteSegment(space: "s", segment: "secret")
        try await store.compact()

        let resumed = try await store.consumeSpace(space: "s", offset: offset).collect()
        await store.close()
        let reopened = try await Store.open(id: store.id, directory: directory, configuration: Self.smallFiles())
        let resumedAfterRestart = try await reopened.consumeSpace(space: "s", offset: offset).collect()
        await reopened.close()

        #expect(resumed.map(\.position) == next)
        #expect(resumedAfterRestart.map(\.position) == next)
    }

    /// Blocks holding only deleted entries are erased from their headers without being read: the bytes go all
    /// the same, and the offset of every erased entry still resumes at the next entry left.
    @Test func blocksWhollyDeletedAreErasedUnreadAndEveryOffsetIntoThemStillResumes() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-compaction-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await Store.open(id: UUID(), directory: directory, configuration: Self.smallFiles())
        for t in 0..<UInt64(40) {  // Separate transactions: times with gaps between them.
            try await store.produce(
                space: "s", segment: "secret",
                records: ((t * 5 + 1)...(t * 5 + 5)).map { Record(sequence: $0, payload: Self.marker) })
        }
        try await store.produce(
            space: "s", segment: "kept", records: records(1...400, tag: String(repeating: "k", count: 40)))
        let secret = try await store.consumeSegment(space: "s", segment: "secret").collect()
        let firstKept = try #require(try await store.consumeSegment(space: "s", segment: "kept").collect().first)
        try await store.deleteSegment(space: "s", segment: "secret")

        let outcome = try #require(try await store.compact())
        var resumed: [UInt64] = []
        for entry in secret {
            resumed.append(
                try #require(try await store.consumeSpace(space: "s", offset: entry.offset, limit: 1).collect().first)
                    .position)
        }
        await store.close()
        let reopened = try await Store.open(id: store.id, directory: directory, configuration: Self.smallFiles())
        var resumedAfterRestart: [UInt64] = []
        for entry in secret {
            let next = try await reopened.consumeSpace(space: "s", offset: entry.offset, limit: 1).collect().first
            resumedAfterRestart.append(try #require(next).position)
        }
        await reopened.close()
        let left = try Self.filesHold(Self.marker, under: directory)
        let verified = try LogReader(directory: directory).verify()

        #expect(outcome.erasedEntries == 200)
        #expect(left.isEmpty, "still in \(left)")
        #expect(verified.isClean, "\(verified.problems)")
        #expect(resumed == Array(repeating: firstKept.position, count: secret.count))
        #expect(resumedAfterRestart == resumed)
    }

    @Test func aTruncatedSegmentKeepsItsLaterEntriesThroughCompactionAndRestart() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-compaction-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await Store.open(id: UUID(), directory: directory, configuration: Self.smallFiles())
        try await Self.fill(store)
        try await store.truncateSegment(space: "s", segment: "secret", before: 51)
        try await store.compact()

        let segment = try await store.consumeSegment(space: "s", segment: "secret").collect()
        await store.close()
        let reopened = try await Store.open(id: store.id, directory: directory, configuration: Self.smallFiles())
        let afterRestart = try await reopened.consumeSegment(space: "s", segment: "secret").collect()
        let status = try #require(await reopened.status(space: "s", segment: "secret"))
        await reopened.close()

        #expect(segment.map(\.sequence) == Array(51...100))
        #expect(afterRestart.map(\.sequence) == Array(51...100))
        #expect(
            afterRestart.allSatisfy { $0.payload.starts(with: Self.marker) && $0.metadata == ["who": "SECRET-MARKER"] })
        #expect(status.firstSequence == 51)
        #expect(status.firstTimestamp == afterRestart.first?.timestamp)
    }

    @Test func filesWithoutABlockIndexAreCompactedFromTheirRecordsAndGetOneAgain() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-compaction-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await Store.open(id: UUID(), directory: directory, configuration: Self.smallFiles())
        try await Self.fill(store)
        try await store.deleteSegment(space: "s", segment: "secret")
        let before = try await store.consumeSpace(space: "s").collect()
        await store.close()
        let log = directory + "/log"
        for name in try FileManager.default.contentsOfDirectory(atPath: log) where name.hasSuffix(".idx") {
            try FileManager.default.removeItem(atPath: log + "/" + name)
        }

        let outcome = try LogCompaction.run(directory: directory)
        let indexes = try FileManager.default.contentsOfDirectory(atPath: log).filter { $0.hasSuffix(".idx") }
        let reopened = try await Store.open(id: store.id, directory: directory, configuration: Self.smallFiles())
        let after = try await reopened.consumeSpace(space: "s").collect()
        await reopened.close()

        #expect(outcome.erasedEntries == 100)
        #expect(!indexes.isEmpty)
        #expect(try Self.filesHold(Self.marker, under: directory).isEmpty)
        #expect(after.map(\.position) == before.map(\.position))
    }

    /// A copy of a running store's files is what a crash leaves: the WAL's spare (deleted entries' frames in
    /// it) and, with entries not sealed yet, WAL files. Offline compaction removes the spare; it keeps the
    /// deletions while WAL files are left (they may hold deleted frames too) and erases the log files all the same.
    @Test(arguments: [false, true])
    func offlineCompactionAfterACrashRemovesTheWALSpareAndKeepsDeletionsWhileWALFilesAreLeft(
        unsealed: Bool
    ) async throws {
        let directory = NSTemporaryDirectory() + "streamkit-compaction-" + UUID().uuidString
        let crashed = directory + "-crashed"
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: crashed)
        }
        let store = try await Store.open(id: UUID(), directory: directory, configuration: Self.smallFiles())
        try await Self.fill(store)
        try await store.reads.storage.flush()  // The WAL file with the secret frames becomes the spare.
        if unsealed { try await store.produce(space: "s", segment: "after", records: records(1...1)) }
        try await store.deleteSegment(space: "s", segment: "secret")
        try FileManager.default.copyItem(atPath: directory, toPath: crashed)
        await store.close()
        try? FileManager.default.removeItem(atPath: crashed + "/LOCK")
        let spareBefore = FileManager.default.fileExists(atPath: crashed + "/wal/spare")

        let outcome = try LogCompaction.run(directory: crashed)
        let left = try Self.filesHold(Self.marker, under: crashed)
        let deletions = try StoreManifest.read(directory: crashed).deletions

        #expect(spareBefore)
        #expect(outcome.erasedEntries == 100)
        if unsealed {
            #expect(outcome.finishedDeletions.isEmpty)
            #expect(deletions.map(\.segment) == ["secret"])
            #expect(left.allSatisfy { $0.hasPrefix("wal/") }, "\(left)")
        } else {
            #expect(outcome.finishedDeletions.map(\.segment) == ["secret"])
            #expect(deletions.isEmpty)
            #expect(left.isEmpty, "still in \(left)")
        }
    }

    @Test func entriesInTheFileBeingAppendedToWaitForTheLogToRollPastThem() async throws {
        let directory = NSTemporaryDirectory() + "streamkit-compaction-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await Store.open(id: UUID(), directory: directory, configuration: Self.smallFiles())
        try await store.produce(space: "s", segment: "secret", records: records(1...3, tag: "SECRET-MARKER"))
        try await store.deleteSegment(space: "s", segment: "secret")

        let early = try await store.compact()
        let recorded = try StoreManifest.read(directory: directory).deletions
        try await store.produce(
            space: "s", segment: "kept", records: records(1...400, tag: String(repeating: "k", count: 60)))
        let late = try #require(try await store.compact())
        let finished = try StoreManifest.read(directory: directory).deletions
        let read = try await store.consumeSegment(space: "s", segment: "secret").collect()
        await store.close()

        #expect(early == nil)
        #expect(recorded.map(\.segment) == ["secret"])
        #expect(late.erasedEntries == 3)
        #expect(finished.isEmpty)
        #expect(read.isEmpty)
    }
}
