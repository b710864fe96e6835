import Foundation
import Testing

@testable import StreamKitLogFiles

/// Torn tails, bit flips and injected I/O failures: reopen must give a prefix of the committed transactions,
/// never garbage and never a trap.
@Suite struct CrashRecoveryTests {
    /// Checks that `entries` is exactly the first k whole transactions of `transactions` for some k.
    func expectTransactionPrefix(_ entries: [Entry], of transactions: [TransactionInput], _ note: Comment) {
        let expected = fingerprints(transactions)
        let got = entries.map(Fingerprint.init)
        #expect(got == Array(expected.prefix(got.count)), note)
        var boundaries: Set<Int> = [0]
        var total = 0
        for t in transactions {
            total += t.records.count
            boundaries.insert(total)
        }
        #expect(boundaries.contains(got.count), "\(note): \(got.count) entries is not a transaction boundary")
        #expect(entries.map(\.position) == Array(1..<(UInt64(entries.count) + 1)), note)
    }

    /// Reopens a damaged copy with a writer, reads everything back, and closes it.
    func reopenAndRead(
        _ directory: String, _ configuration: LogConfiguration = smallConfiguration()
    ) async throws -> (RecoveryReport, [Entry]) {
        let opened = try LogWriter.open(directory: directory, configuration: configuration)
        let report = opened.recovery.report
        await opened.writer.close()
        return (report, try readAll(directory))
    }

    @Test("a WAL whose last frame is cut at every byte offset reopens as a prefix of the committed transactions")
    func tornWALTail() async throws {
        try await withTemporaryDirectory { dir in
            var configuration = smallConfiguration()
            configuration.blockBytes = 1 << 20  // keep everything in the WAL
            configuration.walFileBytes = 1 << 20
            let transactions = (0..<6).map { transaction($0) }
            let opened = try LogWriter.open(directory: dir, configuration: configuration)
            try await appendAll(opened.writer, transactions)
            let crashed = dir + "-crashed"
            try copyStore(dir, to: crashed)
            await opened.writer.close()
            defer { try? FileManager.default.removeItem(atPath: crashed) }

            let wal = try #require(files(in: crashed + "/wal", ext: "wal").last)
            let size = fileSize(wal)
            let walID = try #require(UInt64(URL(fileURLWithPath: wal).deletingPathExtension().lastPathComponent))
            let scan = try WALScanner(fileSystem: PosixFileSystem(), layout: StoreLayout(root: crashed)).scan(
                fileID: walID)
            let lastFrame = try #require(scan.frames.last).offset
            let scratch = dir + "-scratch"
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            for cut in lastFrame..<size {
                try copyStore(crashed, to: scratch)
                try truncateFile(files(in: scratch + "/wal", ext: "wal").last!, to: cut)
                let (_, entries) = try await reopenAndRead(scratch, configuration)
                expectTransactionPrefix(entries, of: transactions, "WAL cut at \(cut)")
                #expect(entries.count >= 15, "cut at \(cut) lost more than the last transaction")
            }
        }
    }

    @Test("a log whose last block is cut at every byte offset reopens as a prefix of the committed transactions")
    func tornBlockTail() async throws {
        try await withTemporaryDirectory { dir in
            let transactions = (0..<40).map { transaction($0) }
            let opened = try LogWriter.open(directory: dir, configuration: smallConfiguration())
            try await appendAll(opened.writer, transactions)
            await opened.writer.close()  // everything sealed, WAL gone: the log alone holds the data

            let log = try #require(files(in: dir + "/log", ext: "log").last)
            let reader = try LogReader(directory: dir)
            let lastBlock = try #require(reader.blocks.last)
            let scratch = dir + "-scratch"
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            for cut in Int(lastBlock.offset)..<fileSize(log) {
                try copyStore(dir, to: scratch)
                try truncateFile(scratch + "/log/" + URL(fileURLWithPath: log).lastPathComponent, to: cut)
                let (report, entries) = try await reopenAndRead(scratch)
                expectTransactionPrefix(entries, of: transactions, "log cut at \(cut)")
                #expect(report.cutLogBytes > 0 || cut == Int(lastBlock.offset))
                #expect(entries.count < 120)
            }
        }
    }

    @Test("a bit flip anywhere in a block is found by verify and by a full open, which never returns garbage")
    func bitFlipInBlock() async throws {
        try await withTemporaryDirectory { dir in
            let transactions = (0..<30).map { transaction($0) }
            let opened = try LogWriter.open(directory: dir, configuration: smallConfiguration())
            try await appendAll(opened.writer, transactions)
            await opened.writer.close()

            let reader = try LogReader(directory: dir)
            #expect(try reader.verify().isClean)
            let block = reader.blocks[reader.blocks.count / 2]
            let logName = URL(fileURLWithPath: StoreLayout(root: dir).logPath(firstPosition: block.fileFirstPosition))
                .lastPathComponent
            var configuration = smallConfiguration()
            configuration.verifyOnOpen = .full
            let scratch = dir + "-scratch"
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            for offset in Int(block.offset)..<(Int(block.offset) + block.byteCount) {
                try copyStore(dir, to: scratch)
                try flipBit(scratch + "/log/" + logName, at: offset, mask: UInt8(1 << (offset % 8)))
                let verification = try LogReader(directory: scratch).verify()
                #expect(!verification.isClean, "flip at \(offset) not found by verify")
                do {
                    let (report, entries) = try await reopenAndRead(scratch, configuration)
                    #expect(report.cutAnything, "flip at \(offset) not found on open")
                    expectTransactionPrefix(entries, of: transactions, "flip at \(offset)")
                } catch let error as LogFilesError {
                    #expect(error.code == .corrupt, "flip at \(offset): \(error)")
                }
            }
        }
    }

    @Test("a bit flip anywhere in a WAL frame is found by verify and on open, which never returns garbage")
    func bitFlipInWALFrame() async throws {
        try await withTemporaryDirectory { dir in
            var configuration = smallConfiguration()
            configuration.blockBytes = 1 << 20
            configuration.walFileBytes = 1 << 20
            let transactions = (0..<5).map { transaction($0) }
            let opened = try LogWriter.open(directory: dir, configuration: configuration)
            try await appendAll(opened.writer, transactions)
            let crashed = dir + "-crashed"
            try copyStore(dir, to: crashed)
            await opened.writer.close()
            defer { try? FileManager.default.removeItem(atPath: crashed) }

            let wal = try #require(files(in: crashed + "/wal", ext: "wal").last)
            let walName = URL(fileURLWithPath: wal).lastPathComponent
            let scratch = dir + "-scratch"
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            for offset in stride(from: 64, to: fileSize(wal), by: 3) {
                try copyStore(crashed, to: scratch)
                try flipBit(scratch + "/wal/" + walName, at: offset, mask: UInt8(1 << (offset % 8)))
                #expect(!(try LogReader(directory: scratch).verify().isClean), "flip at \(offset) not found by verify")
                do {
                    let (report, entries) = try await reopenAndRead(scratch, configuration)
                    #expect(report.cutAnything, "flip at \(offset) not found on open")
                    expectTransactionPrefix(entries, of: transactions, "flip at \(offset)")
                } catch let error as LogFilesError {
                    #expect(error.code == .corrupt, "flip at \(offset): \(error)")
                }
            }
        }
    }

    @Test("a crash while the WAL reuses a recycled file recovers every transaction and reports no damage")
    func recycledWALCrash() async throws {
        try await withTemporaryDirectory { dir in
            var configuration = smallConfiguration(durability: .fsync)
            configuration.walFileBytes = 8 * 1024
            let transactions = (0..<120).map { transaction($0) }
            let opened = try LogWriter.open(directory: dir, configuration: configuration)
            try await appendAll(opened.writer, transactions)
            let crashed = dir + "-crashed"
            try copyStore(dir, to: crashed)
            defer { try? FileManager.default.removeItem(atPath: crashed) }
            await opened.writer.close()
            let recycled = try files(in: crashed + "/wal", ext: "wal").contains { path in
                let id = try #require(UInt64(URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent))
                let scan = try WALScanner(fileSystem: PosixFileSystem(), layout: StoreLayout(root: crashed)).scan(
                    fileID: id)
                return scan.header.flags & FileHeader.recycledFlag != 0 && fileSize(path) > scan.validEnd
            }
            #expect(recycled, "no recycled WAL file with stale bytes was left to recover from")

            #expect(try LogReader(directory: crashed).verify().isClean)
            let (report, entries) = try await reopenAndRead(crashed, configuration)
            #expect(!report.cutAnything)
            #expect(entries.map(Fingerprint.init) == fingerprints(transactions))
        }
    }

    @Test(
        "after two crashes the second WAL file starts past the log's end, continuing the first: verify calls it sound, as recovery does"
    )
    func walContinuingEarlierWALPastLogEnd() async throws {
        try await withTemporaryDirectory { dir in
            var configuration = smallConfiguration()
            configuration.blockBytes = 1 << 20  // seal only at checkpoints
            configuration.walFileBytes = 1 << 20
            let transactions = (0..<30).map { transaction($0) }
            let first = dir + "/first"
            let opened = try LogWriter.open(directory: first, configuration: configuration)
            try await appendAll(opened.writer, Array(transactions[0..<10]))
            try await opened.writer.checkpoint()  // the log holds positions 1…30
            try await appendAll(opened.writer, Array(transactions[10..<20]))  // 31…60 in the WAL only
            let crashed = dir + "/crashed"
            try copyStore(first, to: crashed)
            await opened.writer.close()

            // Recovery replays 31…60 into the unsealed tail; new frames go to a new WAL file from 61 on.
            let reopened = try LogWriter.open(directory: crashed, configuration: configuration)
            try await appendAll(reopened.writer, Array(transactions[20..<30]))
            let twice = dir + "/twice"
            try copyStore(crashed, to: twice)
            await reopened.writer.close()

            let walStarts = try files(in: twice + "/wal", ext: "wal").map { path in
                let id = try #require(UInt64(URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent))
                return try WALScanner(fileSystem: PosixFileSystem(), layout: StoreLayout(root: twice)).scan(fileID: id)
                    .frames.first?.firstPosition
            }
            #expect(walStarts == [31, 61], "not the state of the report: log 1…30, WAL 31…60, WAL 61…90")
            let verification = try LogReader(directory: twice).verify()
            #expect(verification.isClean, "\(verification.problems)")
            #expect(try readAll(twice).map(Fingerprint.init) == fingerprints(transactions))
            let (report, entries) = try await reopenAndRead(twice, configuration)
            #expect(!report.cutAnything)
            #expect(entries.map(Fingerprint.init) == fingerprints(transactions))
        }
    }

    @Test("the recovery report counts the entries of a torn last block it cut, and how many the WAL did not give back")
    func tornBlockEntriesReported() async throws {
        try await withTemporaryDirectory { dir in
            var configuration = smallConfiguration()
            configuration.blockBytes = 1 << 20  // one block, sealed by the close
            configuration.walFileBytes = 1 << 20
            let transactions = (0..<10).map { transaction($0) }
            let live = dir + "/live"
            let opened = try LogWriter.open(directory: live, configuration: configuration)
            try await appendAll(opened.writer, transactions)
            let walOnly = dir + "/wal-only"
            try copyStore(live, to: walOnly)
            await opened.writer.close()
            let block = try #require(try LogReader(directory: live).blocks.last)
            try #require(block.header.entryCount == 30)
            let log = try #require(files(in: live + "/log", ext: "log").last)
            let cut = Int(block.offset) + BlockHeader.size + block.header.storedLength / 2

            // The sealer died halfway through the block; the WAL still holds its entries.
            let withWAL = dir + "/with-wal"
            try copyStore(walOnly, to: withWAL)
            let logCopy = withWAL + "/log/" + URL(fileURLWithPath: log).lastPathComponent
            try FileManager.default.copyItem(atPath: log, toPath: logCopy)
            try truncateFile(logCopy, to: cut)
            let (replayed, entries) = try await reopenAndRead(withWAL, configuration)
            #expect(replayed.cutEntries == 30)
            #expect(replayed.replayedEntries == 30)
            #expect(replayed.lostEntries == 0)
            #expect(entries.map(Fingerprint.init) == fingerprints(transactions))

            // The same torn block with no WAL behind it.
            let alone = dir + "/alone"
            try copyStore(live, to: alone)
            try truncateFile(alone + "/log/" + URL(fileURLWithPath: log).lastPathComponent, to: cut)
            let (lost, left) = try await reopenAndRead(alone, configuration)
            #expect(lost.cutEntries == 30)
            #expect(lost.replayedEntries == 0)
            #expect(lost.lostEntries == 30)
            #expect(left.isEmpty)
        }
    }

    // MARK: - Injected failures

    @Test(
        "ENOSPC, EIO and short writes on the WAL give typed errors and reopen shows only whole transactions",
        arguments: [
            FaultInjectingFileSystem.Fault(.write, pathContains: "/wal/", after: 3, errno: 28),
            FaultInjectingFileSystem.Fault(.write, pathContains: "/wal/", after: 5, shortWriteBytes: 100, errno: 5),
            FaultInjectingFileSystem.Fault(.sync, pathContains: "/wal/", after: 4, errno: 5),
        ])
    func injectedWALFailure(fault: FaultInjectingFileSystem.Fault) async throws {
        try await withTemporaryDirectory { dir in
            let faults = FaultInjectingFileSystem()
            var configuration = smallConfiguration(durability: .fsync)
            configuration.fileSystem = faults
            configuration.walFileBytes = 1 << 20
            let opened = try LogWriter.open(directory: dir, configuration: configuration)
            faults.inject(fault)
            var acknowledged: [TransactionInput] = []
            var failure: LogFilesError?
            for n in 0..<20 {
                do {
                    try await opened.writer.append(transaction(n))
                    acknowledged.append(transaction(n))
                } catch let error as LogFilesError {
                    failure = error
                    break
                }
            }
            let error = try #require(failure)
            #expect(error.code == .writerFailed)
            #expect(error.errno == fault.errno)
            do {
                try await opened.writer.append(transaction(99))
                Issue.record("the writer accepted an append after an I/O failure")
            } catch let later as LogFilesError {
                #expect(later.code == .writerFailed)
            }
            await opened.writer.close()

            let (_, entries) = try await reopenAndRead(dir)
            let all = (0..<20).map { transaction($0) }
            expectTransactionPrefix(entries, of: all, "after \(fault.errno)")
            #expect(entries.count >= fingerprints(acknowledged).count, "an acknowledged transaction was lost")
        }
    }

    @Test("an ENOSPC while sealing a log block stops the writer with a typed error and loses nothing acknowledged")
    func injectedLogFailure() async throws {
        try await withTemporaryDirectory { dir in
            let faults = FaultInjectingFileSystem()
            var configuration = smallConfiguration(durability: .fsync)
            configuration.fileSystem = faults
            let opened = try LogWriter.open(directory: dir, configuration: configuration)
            faults.inject(.init(.write, pathContains: ".log", after: 2, shortWriteBytes: 10, errno: 28))
            var acknowledged = 0
            for n in 0..<60 {
                do {
                    try await opened.writer.append(transaction(n))
                    acknowledged += 1
                } catch let error as LogFilesError {
                    #expect(error.code == .writerFailed)
                    break
                }
            }
            #expect(acknowledged < 60)
            await opened.writer.close()

            let (_, entries) = try await reopenAndRead(dir)
            expectTransactionPrefix(entries, of: (0..<60).map { transaction($0) }, "after log ENOSPC")
            #expect(entries.count >= acknowledged * 3)
        }
    }
}
