/// Read-only access to a store's files for tools (inspect, verify, dump, replay): links `StreamKitLogFiles`
/// alone, takes no lock, and works while a writer holds the store.
///
/// Opening takes a snapshot of which blocks and WAL frames exist; entries committed later are not seen.
/// Torn tails (a writer mid-write, or a crash) are left out, not repaired: the reader never modifies files.
/// Damage — what opening the store for writing would refuse (see `docs/format.md`, Recovery) — is read past:
/// ``problems`` lists it, and reading meets it in log order, between the entries before and after it
/// (``forEachEntry(from:damaged:_:)``, ``chunks(from:)``), or stops there (``forEachEntry(from:_:)``).
public final class LogReader: Sendable {
    /// How much of the log opening a reader checks.
    public enum Check: Sendable {
        /// Block headers (against the block index where it matches the log); block bodies are checked when
        /// read. As cheap as opening the store.
        case structure
        /// Also the CRC of every block's stored bytes: reads the whole log, decompresses nothing.
        case checksums
        /// Also decompresses every block and checks its records.
        case full

        var depth: LogFileScanner.Depth {
            switch self {
            case .structure: .headers
            case .checksums: .checksums
            case .full: .full
            }
        }
    }

    /// A stretch of the store in log order.
    private enum Piece: Sendable {
        case block(Int)
        case wal(Range<Int>)
        case damage(ScanProblem)
    }

    /// The store's file layout.
    public let layout: StoreLayout
    /// Every readable sealed block, in log order.
    public let blocks: [BlockSummary]
    /// Committed entries not sealed into a block yet (from WAL frames past the log's end), in log order.
    public let walEntries: [Entry]
    /// Every problem met while opening, in the order met: torn tails (`isTail`: what open cuts, not damage)
    /// and damage.
    public let problems: [ScanProblem]
    /// The store's manifest: where the log starts, retired segments, deletions (the default when it has none
    /// or it is damaged, which ``problems`` then says).
    public let manifest: StoreManifest
    /// The manifest's deletions by segment: entries they cover are never handed out.
    private let deletions: [StoreManifest.SegmentName: StoreManifest.Deletion]
    /// The last position a deletion covers (0 when there is none): entries after it need no check.
    private let deletedThrough: UInt64
    private let pieces: [Piece]
    private let fileSystem: any FileSystem
    /// Log files opened once, by first position (read-only descriptors; `pread` is thread-safe).
    private let files: [UInt64: any StorageFile]

    /// The problems that are damage (not torn tails): what opening the store for writing would refuse.
    public var damage: [ScanProblem] { problems.filter { !$0.isTail } }

    /// Position after the last readable entry (1 for an empty store).
    public var endPosition: UInt64 {
        walEntries.last.map { $0.position + 1 } ?? blocks.last.map { $0.header.lastPosition + 1 } ?? 1
    }

    /// Opens a store directory read-only.
    /// - Parameters:
    ///   - directory: A store directory (holding `log/` and/or `wal/`).
    ///   - check: How much of the log to check now (block bodies not checked now are checked when read).
    /// - Throws: `LogFilesError` — `.notAStore` when the directory is not a store, `.io` on read failures,
    ///   `.unsupportedVersion` for files of a newer format. Damage does not throw: see ``problems``.
    public convenience init(directory: String, check: Check = .structure) throws {
        try self.init(directory: directory, fileSystem: PosixFileSystem(), check: check)
    }

    package init(directory: String, fileSystem: any FileSystem, check: Check = .structure) throws {
        let layout = StoreLayout(root: directory)
        try Self.checkStore(layout, fileSystem: fileSystem)
        self.layout = layout
        self.fileSystem = fileSystem
        let scan = try StoreScan(fileSystem: fileSystem, layout: layout, depth: check.depth)
        var blocks: [BlockSummary] = []
        var walEntries: [Entry] = []
        var pieces: [Piece] = []
        for piece in scan.pieces {
            switch piece {
            case .block(let block):
                pieces.append(.block(blocks.count))
                blocks.append(block)
            case .walEntries(let entries):
                pieces.append(.wal(walEntries.count..<(walEntries.count + entries.count)))
                walEntries += entries
            case .damage(let problem):
                pieces.append(.damage(problem))
            }
        }
        self.blocks = blocks
        self.walEntries = walEntries
        self.pieces = pieces
        self.problems = scan.problems
        self.manifest = scan.manifest
        self.deletions = scan.manifest.deletionsBySegment
        self.deletedThrough = scan.manifest.deletions.map(\.through).max() ?? 0
        var files: [UInt64: any StorageFile] = [:]
        for first in Set(blocks.map(\.fileFirstPosition)) {
            files[first] = try fileSystem.open(layout.logPath(firstPosition: first), mode: .read)
        }
        self.files = files
    }

    private static func checkStore(_ layout: StoreLayout, fileSystem: any FileSystem) throws {
        guard fileSystem.isDirectory(layout.root) else {
            throw LogFilesError.notAStore(layout.root, "no such directory")
        }
        guard fileSystem.isDirectory(layout.logDirectory) || fileSystem.isDirectory(layout.walDirectory) else {
            throw LogFilesError.notAStore(layout.root, "not a StreamKit store: no log/ or wal/ directory")
        }
    }

    private func file(of block: BlockSummary) throws -> any StorageFile {
        if let file = files[block.fileFirstPosition] { return file }
        return try fileSystem.open(layout.logPath(firstPosition: block.fileFirstPosition), mode: .read)
    }

    /// Index of the block holding `position`, or of the first block after it; nil when no block does.
    public func blockIndex(containing position: UInt64) -> Int? {
        let index = blocks.partitioningIndex { $0.header.lastPosition >= position }
        return index < blocks.count ? index : nil
    }

    /// Reads, checks and decodes the block at `index`.
    /// - Throws: `LogFilesError` — `.corrupt` when the block fails its checks, `.io` on read failure.
    /// Entries that a deletion covers are left out.
    /// - Throws: `LogFilesError` — `.corrupt` when the block fails its checks, `.io` on read failure.
    public func readBlock(at index: Int) throws -> [Entry] {
        guard blocks.indices.contains(index) else { throw LogFilesError.invalidArgument("no block \(index)") }
        let block = blocks[index]
        let entries = try BlockReading.read(block.header, file: file(of: block), offset: block.offset)
        return entries.filter { !isDeleted($0) }
    }

    /// Whether `entry` was deleted: a deletion recorded in the manifest covers it, or compaction erased it (an
    /// erased record, which has no names). Readers never hand it out.
    public func isDeleted(_ entry: Entry) -> Bool {
        if entry.space.isEmpty { return true }
        guard entry.position <= deletedThrough,
            let deletion = deletions[StoreManifest.SegmentName(space: entry.space, segment: entry.segment)]
        else { return false }
        return deletion.hides(sequence: entry.sequence, position: entry.position)
    }

    /// Calls `body` with every entry from `position` on, in log order (sealed blocks, then WAL entries),
    /// until `body` returns false; stops at the first damage with an error.
    /// - Throws: What `body` throws, or `LogFilesError` — `.corrupt` (file and offset) at the first damage
    ///   reached, whether found when opening or when reading a block; `.io` on read failure.
    public func forEachEntry(from position: UInt64 = 1, _ body: (Entry) throws -> Bool) throws {
        try forEachEntry(
            from: position,
            damaged: { damage in
                throw LogFilesError.corrupt(
                    damage.problem.reason, path: damage.problem.path, offset: damage.problem.offset)
            }, body)
    }

    /// Calls `body` with every readable entry from `position` on, in log order, and `damaged` with each damage
    /// met between them (found when opening or when reading a block), until either returns false.
    /// - Throws: What the closures throw, or `LogFilesError` — `.io` on read failure.
    public func forEachEntry(
        from position: UInt64 = 1, damaged: (ReadDamage) throws -> Bool, _ body: (Entry) throws -> Bool
    ) throws {
        var walk = Walk(from: position, mayReadAhead: true)
        defer { walk.readAhead?.stop() }
        while true {
            switch try step(&walk, body) {
            case .end, .stopped: return
            case .more: continue
            case .damage(let damage): guard try damaged(damage) else { return }
            }
        }
    }

    /// Reads up to `limit` entries from `position` on.
    /// - Throws: `LogFilesError` — `.corrupt` at the first damage reached, `.io` on read failure.
    public func entries(from position: UInt64 = 1, limit: Int = .max) throws -> [Entry] {
        var out: [Entry] = []
        try forEachEntry(from: position) { entry in
            out.append(entry)
            return out.count < limit
        }
        return out
    }

    /// What ``Chunks`` hands out: the entries of one block (or of the WAL run after the log), or damage.
    public enum Chunk {
        /// Readable entries, in log order.
        case entries([Entry])
        /// Damage met at this point of the log, and the positions it skipped.
        case damage(ReadDamage)
    }

    /// The store from a position on, a block at a time, with damage in its place: for callers that suspend
    /// between blocks (`replay`). Iterate it in one task.
    public struct Chunks {
        private let reader: LogReader
        private var walk: Walk

        fileprivate init(reader: LogReader, from position: UInt64) {
            self.reader = reader
            walk = Walk(from: position)
        }

        /// The next chunk, or nil at the end.
        /// - Throws: `LogFilesError` — `.io` on read failure.
        public mutating func next() throws -> Chunk? {
            while true {
                var entries: [Entry] = []
                switch try reader.step(
                    &walk,
                    {
                        entries.append($0)
                        return true
                    })
                {
                case .end: return nil
                case .damage(let damage): return .damage(damage)
                case .more, .stopped: if !entries.isEmpty { return .entries(entries) }
                }
            }
        }
    }

    /// The store from `position` on, a block at a time (see ``Chunks``).
    public func chunks(from position: UInt64 = 1) -> Chunks { Chunks(reader: self, from: position) }

    /// Where a walk over the pieces is.
    private struct Walk {
        /// The position asked for first.
        let from: UInt64
        /// The next piece.
        var index = 0
        /// The first position not handed out yet.
        var next: UInt64
        let buffers = BlockReading.Buffers()
        /// Whether the walk may start a read-ahead thread: only a walk that stops it when it ends.
        let mayReadAhead: Bool
        /// Blocks handed out so far; a read-ahead starts after ``LogReader/readAheadAfter`` of them.
        var blocksRead = 0
        var readAhead: BlockReadAhead?

        init(from: UInt64, mayReadAhead: Bool = false) {
            self.from = max(from, 1)
            next = self.from
            self.mayReadAhead = mayReadAhead
        }
    }

    /// A walk that has handed out this many whole blocks is a long sequential read: the blocks after it are
    /// decoded ahead on a thread of its own (short reads never start one).
    static let readAheadAfter = 2
    /// Blocks decoded ahead of a reader at most (each ≈ 64 KiB of records and their entries).
    static let readAheadDepth = 4

    /// Starts decoding the blocks after piece `walk.index` on a thread of its own.
    private func startReadAhead(_ walk: inout Walk) {
        var jobs: [BlockReadAhead.Job] = []
        for p in walk.index..<pieces.count {
            guard case .block(let i) = pieces[p] else { continue }
            let block = blocks[i]
            guard let file = try? file(of: block) else { break }
            jobs.append(BlockReadAhead.Job(piece: p, header: block.header, file: file, offset: block.offset))
        }
        walk.readAhead = BlockReadAhead.start(jobs: jobs, depth: Self.readAheadDepth)
    }

    private enum Step {
        case more, stopped, end
        case damage(ReadDamage)
    }

    /// Hands the next piece's entries from `walk.next` on to `body`, or returns the damage met.
    private func step(_ walk: inout Walk, _ body: (Entry) throws -> Bool) throws -> Step {
        guard walk.index < pieces.count else { return .end }
        let piece = pieces[walk.index]
        walk.index += 1
        switch piece {
        case .block(let i):
            let block = blocks[i]
            guard block.header.lastPosition >= walk.next else { return .more }
            walk.blocksRead += 1
            if walk.mayReadAhead, walk.readAhead == nil, walk.blocksRead == Self.readAheadAfter + 1 {
                startReadAhead(&walk)
            }
            if let readAhead = walk.readAhead, let k = readAhead.job(ofPiece: walk.index - 1),
                case .decoded(let result) = readAhead.take(k)
            {
                let entries: [Entry]
                do {
                    entries = try result.get()
                } catch let error as LogFilesError where error.code == .corrupt {
                    return .damage(damage(bodyDamage(error, block), &walk))
                }
                return try hand(entries, &walk, body)
            }
            var delivered = false
            var next = walk.next
            do {
                let more = try BlockReading.forEach(
                    block.header, file: file(of: block), offset: block.offset, from: walk.next, buffers: walk.buffers
                ) { entry in
                    delivered = true
                    next = entry.position + 1
                    if isDeleted(entry) { return true }
                    return try body(entry)
                }
                walk.next = next
                return more ? .more : .stopped
            } catch let error as LogFilesError where error.code == .corrupt && !delivered {
                return .damage(damage(bodyDamage(error, block), &walk))
            }
        case .wal(let range):
            return try hand(walEntries[range], &walk, body)
        case .damage(let problem):
            guard problem.position.map({ $0 >= walk.from }) ?? true else { return .more }
            return .damage(damage(problem, &walk))
        }
    }

    /// Hands `entries` (decoded already: WAL entries, or a block the read-ahead decoded) from `walk.next` on to
    /// `body`, leaving out deleted ones.
    private func hand(
        _ entries: some Collection<Entry>, _ walk: inout Walk, _ body: (Entry) throws -> Bool
    ) rethrows -> Step {
        for entry in entries where entry.position >= walk.next {
            walk.next = entry.position + 1
            if isDeleted(entry) { continue }
            guard try body(entry) else { return .stopped }
        }
        return .more
    }

    /// Damage in `block`'s body, found only when reading it.
    private func bodyDamage(_ error: LogFilesError, _ block: BlockSummary) -> ScanProblem {
        ScanProblem(
            path: error.path ?? layout.logPath(firstPosition: block.fileFirstPosition),
            offset: error.offset ?? block.offset, reason: error.message, isTail: false,
            position: block.header.firstPosition)
    }

    /// The damage `problem` as met at `walk`: what it skips runs to the next readable piece.
    private func damage(_ problem: ScanProblem, _ walk: inout Walk) -> ReadDamage {
        var resume: UInt64?
        for piece in pieces[walk.index...] {
            switch piece {
            case .block(let i): resume = blocks[i].header.firstPosition
            case .wal(let range): resume = walEntries[range.lowerBound].position
            case .damage: continue
            }
            break
        }
        guard let resume else { return ReadDamage(problem: problem, skipped: nil) }
        let skipped = walk.next..<max(walk.next, resume)
        walk.next = skipped.upperBound
        return ReadDamage(problem: problem, skipped: skipped)
    }

    /// Checks every block and WAL frame of the store: CRCs, decompression, record framing, contiguous
    /// positions (the log, then the WAL frames past its end, as recovery replays them), non-decreasing
    /// timestamps. Problems are what opening the store for writing would find: torn tails (`isTail`) it cuts,
    /// and damage it refuses.
    /// - Parameter progress: Called after each file with (bytes checked, total bytes).
    public func verify(progress: ((Int64, Int64) -> Void)? = nil) throws -> VerificationReport {
        var total: Int64 = 0
        for first in StoreLayout.numbers(in: try fileSystem.list(layout.logDirectory), extension: "log") {
            total += (try? fileSystem.size(of: layout.logPath(firstPosition: first))) ?? 0
        }
        for id in StoreLayout.numbers(in: try fileSystem.list(layout.walDirectory), extension: "wal") {
            total += (try? fileSystem.size(of: layout.walPath(fileID: id))) ?? 0
        }
        var done: Int64 = 0
        let scan = try StoreScan(fileSystem: fileSystem, layout: layout, depth: .full) { bytes in
            done += bytes
            progress?(min(done, total), total)
        }
        var report = VerificationReport()
        report.logFiles = scan.logFiles
        report.walFiles = scan.walFiles
        report.walFrames = scan.walFrames
        report.problems = scan.problems
        var lastTimestamp = Int64.min
        for case .block(let block) in scan.pieces {
            if block.header.minTimestamp < lastTimestamp {
                report.problems.append(
                    ScanProblem(
                        path: layout.logPath(firstPosition: block.fileFirstPosition), offset: block.offset,
                        reason: "timestamps go backwards", isTail: false, position: block.header.firstPosition))
            }
            lastTimestamp = block.header.maxTimestamp
            report.blocks += 1
            report.entries += block.header.entryCount
            report.storedBytes += Int64(block.header.storedLength)
            report.rawBytes += Int64(block.header.rawLength)
        }
        return report
    }
}
