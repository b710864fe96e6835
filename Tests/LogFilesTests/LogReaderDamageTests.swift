import Foundation
import Testing

@testable import StreamKitLogFiles

/// What the read-only reader (behind `inspect`, `verify`, `dump`, `replay`) makes of damage: it finds what
/// opening the store would refuse, reports it with file, offset and the positions it hides, stops there when
/// asked to read strictly, and otherwise reads past it to everything still readable.
@Suite struct LogReaderDamageTests {
    /// Reads everything past damage: the entries, and the damage in the order met.
    func readPast(_ directory: String) throws -> (entries: [Entry], damage: [ReadDamage]) {
        var entries: [Entry] = []
        var damage: [ReadDamage] = []
        try LogReader(directory: directory).forEachEntry { met in
            damage.append(met)
            return true
        } _: { entry in
            entries.append(entry)
            return true
        }
        return (entries, damage)
    }

    /// Whether opening the store for writing (with every block checked) refuses it as damaged.
    func openRefuses(_ directory: String) async throws -> Bool {
        var configuration = smallConfiguration()
        configuration.verifyOnOpen = .full
        do {
            let opened = try LogWriter.open(directory: directory, configuration: configuration)
            await opened.writer.close()
            return false
        } catch let error as LogFilesError where error.code == .corrupt {
            return true
        }
    }

    /// A crashed store whose log holds transactions 0…9 (positions 1…30, in 4 blocks) and whose one WAL
    /// file holds 10…29 (positions 31…90), a frame each.
    func crashedStore(_ dir: String) async throws -> (path: String, transactions: [TransactionInput]) {
        let transactions = (0..<30).map { transaction($0) }
        var configuration = smallConfiguration()
        configuration.blockBytes = 1 << 20  // blocks sealed at checkpoints only
        configuration.logFileBytes = 1 << 20
        configuration.walFileBytes = 1 << 20
        let live = dir + "/live"
        let opened = try LogWriter.open(directory: live, configuration: configuration)
        for part in [0..<3, 3..<6, 6..<8, 8..<10] {
            try await appendAll(opened.writer, Array(transactions[part]))
            try await opened.writer.checkpoint()
        }
        try await appendAll(opened.writer, Array(transactions[10...]))
        let crashed = dir + "/crashed"
        try copyStore(live, to: crashed)
        await opened.writer.close()
        return (crashed, transactions)
    }

    @Test(
        "a bit flipped anywhere in a log file's header is damage at that file: a strict read fails at once, a read past it gets every entry"
    )
    func logFileHeaderFlip() async throws {
        try await withTemporaryDirectory { dir in
            let transactions = try await sealedStore(dir + "/store")
            let log = try #require(files(in: dir + "/store/log", ext: "log").first)
            let scratch = dir + "/scratch"
            for offset in 16..<FileHeader.size {
                try copyStore(dir + "/store", to: scratch)
                let damaged = scratch + "/log/" + URL(fileURLWithPath: log).lastPathComponent
                try flipBit(damaged, at: offset, mask: UInt8(1 << (offset % 8)))

                let reader = try LogReader(directory: scratch)
                #expect(reader.damage.map(\.path) == [damaged], "flip at \(offset)")
                #expect(try reader.verify().hasCorruption, "flip at \(offset)")
                #expect(try await openRefuses(scratch), "flip at \(offset)")
                #expect(throws: LogFilesError.self) { try reader.entries() }
                let (entries, damage) = try readPast(scratch)
                #expect(
                    entries.map(Fingerprint.init) == fingerprints(transactions),
                    "flip at \(offset): \(entries.count) entries")
                #expect(damage.map(\.skipped) == [1..<1], "flip at \(offset)")
            }
        }
    }

    @Test(
        "a bit flipped in a WAL frame with frames after it is damage: a strict read stops there, a read past it skips exactly that frame's positions"
    )
    func walFrameFlipInTheMiddle() async throws {
        try await withTemporaryDirectory { dir in
            let (crashed, transactions) = try await crashedStore(dir)
            let wal = try #require(files(in: crashed + "/wal", ext: "wal").last)
            let id = try #require(UInt64(URL(fileURLWithPath: wal).deletingPathExtension().lastPathComponent))
            let frames = try WALScanner(fileSystem: PosixFileSystem(), layout: StoreLayout(root: crashed)).scan(
                fileID: id
            ).frames
            try #require(frames.count == 20 && frames.first?.firstPosition == 31)
            let bad = frames[10]  // positions 61…63
            let scratch = dir + "/scratch"
            for offset in stride(from: bad.offset, to: bad.records.upperBound, by: 5) {
                try copyStore(crashed, to: scratch)
                try flipBit(scratch + "/wal/" + URL(fileURLWithPath: wal).lastPathComponent, at: offset, mask: 0x04)

                let reader = try LogReader(directory: scratch)
                #expect(reader.damage.map(\.offset) == [Int64(bad.offset)], "flip at \(offset)")
                #expect(try await openRefuses(scratch), "flip at \(offset)")
                #expect(throws: LogFilesError.self) { try reader.entries() }
                #expect(try reader.entries(limit: 60).count == 60)
                let (entries, damage) = try readPast(scratch)
                let expected = fingerprints(transactions)
                #expect(
                    entries.map(Fingerprint.init) == Array(expected[0..<60] + expected[63...]),
                    "flip at \(offset): \(entries.count) entries")
                #expect(damage.map(\.skipped) == [61..<64], "flip at \(offset)")
            }
        }
    }

    @Test(
        "a log cut below where the WAL starts is damage: the positions between are reported missing, the WAL after them is read"
    )
    func logCutBelowTheWAL() async throws {
        try await withTemporaryDirectory { dir in
            let (crashed, transactions) = try await crashedStore(dir)
            let reader = try LogReader(directory: crashed)
            #expect(reader.problems.isEmpty)
            #expect(reader.blocks.count > 2)
            let log = try #require(files(in: crashed + "/log", ext: "log").first)
            let keep = reader.blocks[1]
            // Torn, then clean.
            for cut in [Int(keep.offset) + keep.byteCount + 10, Int(keep.offset) + keep.byteCount] {
                try truncateFile(log, to: cut)

                let damaged = try LogReader(directory: crashed)
                #expect(try damaged.verify().hasCorruption, "cut at \(cut)")
                #expect(try await openRefuses(crashed), "cut at \(cut)")
                #expect(damaged.damage.first?.path.hasSuffix(".wal") == true)
                let (entries, damage) = try readPast(crashed)
                let end = Int(keep.header.lastPosition)
                let expected = fingerprints(transactions)
                #expect(
                    entries.map(Fingerprint.init) == Array(expected[0..<end] + expected[30...]),
                    "cut at \(cut): \(entries.count) entries")
                #expect(damage.map(\.skipped) == [UInt64(end + 1)..<31], "cut at \(cut)")
            }
        }
    }

    @Test(
        "a block whose body fails its CRC in the middle of a log is damage found by a checksum check, and read past block by block"
    )
    func blockBodyFlip() async throws {
        try await withTemporaryDirectory { dir in
            let transactions = try await sealedStore(dir)
            let structure = try LogReader(directory: dir)
            let block = structure.blocks[structure.blocks.count / 2]
            try flipBit(try #require(files(in: dir + "/log", ext: "log").first), at: Int(block.offset) + 100)

            #expect(try LogReader(directory: dir).problems.isEmpty, "a structure check reads no block body")
            let checked = try LogReader(directory: dir, check: .checksums)
            #expect(checked.damage.map(\.offset) == [block.offset])
            #expect(checked.damage.first?.position == block.header.firstPosition)
            #expect(checked.blocks.count == structure.blocks.count - 1)
            let (entries, damage) = try readPast(dir)
            let skipped = block.header.firstPosition..<(block.header.lastPosition + 1)
            #expect(damage.map(\.skipped) == [skipped])
            #expect(damage.first?.problem.offset == block.offset)
            #expect(entries.map(\.position) == Array(1..<skipped.lowerBound) + Array(skipped.upperBound...120))
            #expect(entries.count + skipped.count == fingerprints(transactions).count)
        }
    }

    @Test("crash copies taken at any moment are never damage, and the reader sees what a reopen recovers")
    func crashCopiesAreSound() async throws {
        try await withTemporaryDirectory { dir in
            // With fsync an acknowledged frame is on disk, so between appends only the sealer runs: the copies
            // are states a crash could leave (with `none` a copy could catch a WAL file mid-write).
            var configuration = smallConfiguration(durability: .fsync)
            configuration.walFileBytes = 4 * 1024  // several WAL files, recycled
            var current = dir + "/live"
            var opened = try LogWriter.open(directory: current, configuration: configuration)
            var copies: [String] = []
            for n in 0..<120 {
                try await opened.writer.append(transaction(n))
                if n % 10 == 9 {
                    let copy = dir + "/copy-\(n)"
                    try copyLiveStore(current, to: copy)
                    copies.append(copy)
                }
                if n % 40 == 39 {
                    // A crash and a reopen: recovery replays the WAL into the tail, new frames go to new files.
                    let crashed = dir + "/crashed-\(n)"
                    try copyLiveStore(current, to: crashed)
                    await opened.writer.close()
                    current = crashed
                    opened = try LogWriter.open(directory: current, configuration: configuration)
                }
            }
            await opened.writer.close()
            for copy in copies {
                let reader = try LogReader(directory: copy)
                let verification = try reader.verify()
                #expect(!verification.hasCorruption, "\(copy): \(verification.problems)")
                let seen = try reader.entries()
                let reopened = try LogWriter.open(directory: copy, configuration: smallConfiguration())
                await reopened.writer.close()
                let recovered = try readAll(copy)
                #expect(recovered == seen, "\(copy): reader \(seen.count) entries, recovered \(recovered.count)")
            }
        }
    }

    @Test("over bit flips at many offsets of a crashed store, the reader calls damage exactly what a full open refuses")
    func agreesWithRecovery() async throws {
        try await withTemporaryDirectory { dir in
            let (crashed, _) = try await crashedStore(dir)
            let targets = files(in: crashed + "/log", ext: "log") + files(in: crashed + "/wal", ext: "wal")
            let scratch = dir + "/scratch"
            for target in targets {
                let relative = String(target.dropFirst(crashed.count))
                for offset in stride(from: 0, to: fileSize(target), by: 37) {
                    try copyStore(crashed, to: scratch)
                    try flipBit(scratch + relative, at: offset, mask: UInt8(1 << (offset % 8)))
                    let damaged = try LogReader(directory: scratch, check: .full).damage
                    let refused = try await openRefuses(scratch)
                    #expect(
                        !damaged.isEmpty == refused,
                        "\(relative) flip at \(offset): reader \(damaged), open refused \(refused)")
                }
            }
        }
    }
}
