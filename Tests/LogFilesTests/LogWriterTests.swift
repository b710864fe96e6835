import Foundation
import Synchronization
import Testing

@testable import StreamKitLogFiles

@Suite struct LogWriterTests {
    // MARK: - Round trip

    @Test(
        "entries come back identical after many transactions across file rolls and a reopen, with every durability",
        arguments: [Durability.none, .fsync, .interval(milliseconds: 2)])
    func roundTripAcrossRolls(durability: Durability) async throws {
        try await withTemporaryDirectory { dir in
            let transactions = (0..<300).map { transaction($0) }
            let opened = try LogWriter.open(directory: dir, configuration: smallConfiguration(durability: durability))
            let committed = try await appendAll(opened.writer, transactions)
            await opened.writer.close()

            let entries = try readAll(dir)
            #expect(entries.map(Fingerprint.init) == fingerprints(transactions))
            #expect(entries.map(\.position) == Array(1...UInt64(entries.count)))
            #expect(committed.last?.lastPosition == UInt64(entries.count))
            #expect(files(in: dir + "/log", ext: "log").count > 3)
            #expect(files(in: dir + "/wal", ext: "wal").isEmpty)

            let reopened = try LogWriter.open(directory: dir, configuration: smallConfiguration())
            #expect(reopened.recovery.nextPosition == UInt64(entries.count) + 1)
            #expect(reopened.recovery.report.blocksFromIndex == reopened.recovery.blocks.count)
            #expect(reopened.recovery.tail.isEmpty)
            var fromWriter: [Entry] = []
            for i in 0..<reopened.writer.sealedBlocks.count {
                fromWriter += try reopened.writer.sealedBlocks.read(at: i)
            }
            #expect(fromWriter == entries)
            await reopened.writer.close()
        }
    }

    @Test("entries carry the transaction id, number, timestamps and end marker the writer assigned")
    func assignedFields() async throws {
        try await withTemporaryDirectory { dir in
            let t = transaction(0, records: 4)
            let opened = try LogWriter.open(directory: dir, configuration: smallConfiguration())
            let committed = try await opened.writer.append(t)
            await opened.writer.close()

            let entries = try readAll(dir)
            #expect(entries.count == 4)
            #expect(entries.allSatisfy { $0.transactionID == t.transactionID && $0.transactionNumber == 1 })
            #expect(entries.map(\.endsTransaction) == [false, false, false, true])
            #expect(entries.map(\.timestamp) == (0..<4).map { committed.firstTimestamp + Int64($0) })
            #expect(entries.allSatisfy { $0.space == "orders" && $0.segment == "segment-0" })
        }
    }

    @Test("timestamps strictly increase even when the clock stands still or steps back")
    func monotonicTimestamps() async throws {
        try await withTemporaryDirectory { dir in
            let ticks = Mutex<[Int64]>([1_000, 1_000, 500, 2_000])
            var configuration = smallConfiguration()
            configuration.clock = { ticks.withLock { $0.isEmpty ? 0 : $0.removeFirst() } }
            let opened = try LogWriter.open(directory: dir, configuration: configuration)
            for n in 0..<4 { try await opened.writer.append(transaction(n, records: 2)) }
            await opened.writer.close()

            let timestamps = try readAll(dir).map(\.timestamp)
            #expect(timestamps == [1_000, 1_001, 1_002, 1_003, 1_004, 1_005, 2_000, 2_001])
        }
    }

    @Test("concurrent appenders get unique contiguous positions and every transaction is stored whole")
    func concurrentAppends() async throws {
        try await withTemporaryDirectory { dir in
            let opened = try LogWriter.open(directory: dir, configuration: smallConfiguration(durability: .fsync))
            let writer = opened.writer
            let results = try await withThrowingTaskGroup(of: [CommittedTransaction].self) { group in
                for task in 0..<8 {
                    group.addTask {
                        var mine: [CommittedTransaction] = []
                        for n in 0..<25 { mine.append(try await writer.append(transaction(task * 25 + n))) }
                        return mine
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            await writer.close()

            let positions = results.flatMap { r in (0..<r.count).map { r.firstPosition + UInt64($0) } }.sorted()
            #expect(positions == Array(1...600))
            let entries = try readAll(dir)
            #expect(entries.count == 600)
            for r in results {
                let ids = Set(entries[Int(r.firstPosition - 1)..<Int(r.lastPosition)].map(\.transactionID))
                #expect(ids.count == 1)
            }
        }
    }

    // MARK: - Errors

    @Test("an empty transaction is refused with invalidArgument")
    func emptyTransaction() async throws {
        try await withTemporaryDirectory { dir in
            let opened = try LogWriter.open(directory: dir, configuration: smallConfiguration())
            defer { Task { await opened.writer.close() } }
            var t = transaction(0)
            t.records = []
            await #expect(throws: LogFilesError.self) { try await opened.writer.append(t) }
            do {
                _ = try await opened.writer.append(t)
            } catch let error as LogFilesError {
                #expect(error.code == .invalidArgument)
            }
        }
    }

    @Test("a transaction over the size limit is refused with transactionTooLarge naming the limit")
    func oversizedTransaction() async throws {
        try await withTemporaryDirectory { dir in
            var configuration = smallConfiguration()
            configuration.maxTransactionBytes = 500
            let opened = try LogWriter.open(directory: dir, configuration: configuration)
            do {
                _ = try await opened.writer.append(transaction(0, records: 10))
                Issue.record("expected transactionTooLarge")
            } catch let error as LogFilesError {
                #expect(error.code == .transactionTooLarge)
                #expect(error.limit == 500)
            }
            #expect(opened.writer.nextPosition == 1)
            await opened.writer.close()
        }
    }

    @Test("append after close fails with closed, and close twice is harmless")
    func appendAfterClose() async throws {
        try await withTemporaryDirectory { dir in
            let opened = try LogWriter.open(directory: dir, configuration: smallConfiguration())
            await opened.writer.close()
            await opened.writer.close()
            do {
                _ = try await opened.writer.append(transaction(0))
                Issue.record("expected closed")
            } catch let error as LogFilesError {
                #expect(error.code == .closed)
            }
        }
    }

    // MARK: - Lock

    @Test("a second writer is refused with storeLocked while a reader may open")
    func singleWriter() async throws {
        try await withTemporaryDirectory { dir in
            let opened = try LogWriter.open(directory: dir, configuration: smallConfiguration())
            try await appendAll(opened.writer, (0..<10).map { transaction($0) })

            #expect(throws: LogFilesError.storeLocked(StoreLayout(root: dir).lockPath)) {
                _ = try LogWriter.open(directory: dir, configuration: smallConfiguration())
            }
            let reader = try LogReader(directory: dir)
            #expect(try reader.entries().count == 30)

            await opened.writer.close()
            let again = try LogWriter.open(directory: dir, configuration: smallConfiguration())
            await again.writer.close()
        }
    }

    @Test("a directory that is not a store is refused by the reader with notAStore")
    func notAStore() async throws {
        try await withTemporaryDirectory { dir in
            do {
                _ = try LogReader(directory: dir)
                Issue.record("expected notAStore")
            } catch let error as LogFilesError {
                #expect(error.code == .notAStore)
            }
        }
    }

    // MARK: - WAL truncation

    @Test("WAL files covered by sealed, synced blocks are deleted and reopen is still complete")
    func walTruncation() async throws {
        try await withTemporaryDirectory { dir in
            let transactions = (0..<200).map { transaction($0) }
            let opened = try LogWriter.open(directory: dir, configuration: smallConfiguration(durability: .fsync))
            try await appendAll(opened.writer, transactions)
            let walBytesWritten = transactions.count * 300
            #expect(walBytesWritten > 10 * 4096)  // many WAL files were written
            #expect(files(in: dir + "/wal", ext: "wal").count <= 3)

            try await opened.writer.checkpoint()
            let remaining = files(in: dir + "/wal", ext: "wal")
            #expect(remaining.count == 1)
            let current = try #require(
                UInt64(URL(fileURLWithPath: remaining[0]).deletingPathExtension().lastPathComponent))
            let scan = try WALScanner(fileSystem: PosixFileSystem(), layout: StoreLayout(root: dir)).scan(
                fileID: current)
            #expect(scan.frames.isEmpty, "the current WAL file still holds covered transactions")

            let copy = dir + "-copy"
            try copyStore(dir, to: copy)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            await opened.writer.close()
            let reopened = try LogWriter.open(directory: copy, configuration: smallConfiguration())
            #expect(reopened.recovery.report.replayedEntries == 0)
            await reopened.writer.close()
            #expect(try readAll(copy).map(Fingerprint.init) == fingerprints(transactions))
        }
    }

    @Test(
        "while appends run, WAL files are dropped once the log covers them (synced unless durability is none), without a checkpoint",
        arguments: [Durability.fsync, .none])
    func walDroppedDuringRun(durability: Durability) async throws {
        try await withTemporaryDirectory { dir in
            var configuration = smallConfiguration(durability: durability)
            configuration.walFileBytes = 2048
            let opened = try LogWriter.open(directory: dir, configuration: configuration)
            try await appendAll(opened.writer, (0..<300).map { transaction($0) })
            // Deletion follows the appends asynchronously (sealer, then syncer, then the WAL thread).
            let written = (300 * 300) / 2048
            let deadline = ContinuousClock.now + .seconds(10)
            while files(in: dir + "/wal", ext: "wal").count > 3 && ContinuousClock.now < deadline { await Task.yield() }
            #expect(written > 20)
            #expect(files(in: dir + "/wal", ext: "wal").count <= 3, "covered WAL files were kept")
            await opened.writer.close()
        }
    }

    @Test("a crash before sealing leaves transactions in the WAL that reopen replays")
    func walReplay() async throws {
        try await withTemporaryDirectory { dir in
            let transactions = (0..<50).map { transaction($0) }
            var configuration = smallConfiguration()
            configuration.blockBytes = 64 << 10
            let opened = try LogWriter.open(directory: dir, configuration: configuration)
            try await appendAll(opened.writer, transactions)
            let crashed = dir + "-crashed"
            try copyStore(dir, to: crashed)
            defer { try? FileManager.default.removeItem(atPath: crashed) }
            await opened.writer.close()

            let reopened = try LogWriter.open(directory: crashed, configuration: configuration)
            #expect(reopened.recovery.report.replayedEntries == 150)
            #expect(reopened.recovery.tail.map(Fingerprint.init) == fingerprints(transactions))
            try await reopened.writer.append(transaction(50))
            await reopened.writer.close()
            #expect(try readAll(crashed).map(Fingerprint.init) == fingerprints(transactions + [transaction(50)]))
        }
    }
}
