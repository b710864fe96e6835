/// A read-only walk over a store's files that applies the rules of recovery (`Recovery`) without repairing
/// anything, and reads past damage to everything still readable. The tools see a store through it
/// (``LogReader``: `inspect`, `verify`, `dump`, `replay`), so they agree with each other and with what an open
/// of the store would do:
/// - a **torn tail** is no damage — open cuts it: the last block or frame of the last file cut short by a
///   crash (nothing valid after it), a last log file or a WAL file whose header never reached the disk;
/// - **damage** is what open refuses: bytes that fail their checks with valid data after them, a file header
///   that does not decode, a torn block or frame in a file that is not the last, a log file that does not
///   continue the one before it, a WAL file that does not continue the WAL file before it, and WAL frames that
///   leave a gap after the position where the log and the frames before them end.
///
/// Positions come from the log, then from WAL frames past its end, frame by frame: a WAL file may start past
/// the log's end when the WAL file before it holds the positions between (entries replayed after a crash and
/// not sealed yet).
///
/// Beside a live writer the WAL is read before the log: the writer drops a WAL file only once the log holds
/// its entries, so the log read afterwards covers any WAL file that vanished meanwhile.
struct StoreScan {
    /// One stretch of the store, in log order.
    enum Piece: Sendable {
        /// A readable block.
        case block(BlockSummary)
        /// Entries of WAL frames past the log's end, at contiguous positions.
        case walEntries([Entry])
        /// Damage, at the position it stands at (the first one expected there).
        case damage(ScanProblem)

        /// The first position the piece covers.
        var position: UInt64 {
            switch self {
            case .block(let block): block.header.firstPosition
            case .walEntries(let entries): entries.first?.position ?? 0
            case .damage(let problem): problem.position ?? 0
            }
        }
    }

    /// Everything readable and every damaged spot, in log order (damage before data at the same position).
    private(set) var pieces: [Piece] = []
    /// Every problem, torn tails included, in the order met (WAL files, then log files … in name order);
    /// `isTail` says whether open cuts it without complaint.
    private(set) var problems: [ScanProblem] = []
    /// Log files scanned.
    private(set) var logFiles = 0
    /// WAL files scanned.
    private(set) var walFiles = 0
    /// Valid WAL frames.
    private(set) var walFrames = 0
    /// The store's manifest (the default when it has none or it is damaged: the damage is a problem).
    private(set) var manifest = StoreManifest()
    /// The highest position of damage noted since the last readable piece: a gap in positions starting at or
    /// below it is that damage, not another.
    private var damageSincePiece: UInt64?

    /// Scans the store at `layout`.
    /// - Parameters:
    ///   - depth: How much of each block is checked (bodies not checked here are checked when read).
    ///   - progress: Called with the size of each file once it is scanned.
    /// - Throws: `LogFilesError` — `.io` on read failures (other than a WAL file a live writer removed),
    ///   `.unsupportedVersion` for a file of a newer format.
    init(
        fileSystem: any FileSystem, layout: StoreLayout, depth: LogFileScanner.Depth,
        progress: ((Int64) -> Void)? = nil
    ) throws {
        // 1. The WAL, before the log (see above).
        let walScanner = WALScanner(fileSystem: fileSystem, layout: layout)
        var wals: [(scan: WALScanner.Result, afterVanished: Bool)] = []
        var vanished = false
        for id in StoreLayout.numbers(in: try fileSystem.list(layout.walDirectory), extension: "wal") {
            let scan: WALScanner.Result
            do {
                scan = try walScanner.scan(fileID: id, salvage: true)
            } catch let error as LogFilesError where error.isMissingFile {
                vanished = true  // Dropped by a live writer: the log holds its entries.
                continue
            }
            progress?(Int64(scan.data.count))
            // A spare renamed for reuse whose new header never reached the disk holds nothing (recovery deletes it).
            guard scan.header.fileID == id else { continue }
            wals.append((scan, vanished))
            vanished = false
        }

        // 2. The log, from where the manifest says it starts: files before that are a drop a crash interrupted
        //    (the writer removes them on open), not part of the log.
        var logStart: UInt64?
        do {
            manifest = try StoreManifest.load(fileSystem: fileSystem, layout: layout)
            logStart = manifest.logStart
        } catch let error as LogFilesError where error.code == .corrupt || error.code == .unsupportedVersion {
            note(
                ScanProblem(path: layout.manifestPath, offset: error.offset ?? 0, reason: error.message, isTail: false))
        }
        let scanner = LogFileScanner(fileSystem: fileSystem, layout: layout)
        let numbers = StoreLayout.numbers(in: try fileSystem.list(layout.logDirectory), extension: "log")
            .filter { $0 >= logStart ?? 1 }
        var end: UInt64? = (logStart ?? 1) > 1 ? logStart : nil
        for (i, first) in numbers.enumerated() {
            let isLast = i == numbers.count - 1
            let file: LogFileScanner.Result
            do {
                file = try scanner.scan(firstPosition: first, depth: depth, salvage: true)
            } catch let error as LogFilesError where error.isMissingFile {
                continue
            }
            progress?(file.fileSize)
            logFiles += 1
            if let expected = end, file.firstPosition != expected {
                note(
                    ScanProblem(
                        path: file.path, offset: 0,
                        reason: "log file starts at position \(file.firstPosition), expected \(expected)",
                        isTail: false,
                        position: expected))
            }
            // Blocks and problems in file order.
            var blocks = file.blocks[...]
            var found = file.problems[...]
            while !blocks.isEmpty || !found.isEmpty {
                if let problem = found.first, blocks.first.map({ problem.offset <= $0.offset }) ?? true {
                    found.removeFirst()
                    var problem = problem
                    problem.isTail = problem.isTail && isLast
                    if problem.position == nil { problem.position = end ?? first }
                    note(problem)
                } else {
                    take(blocks.removeFirst(), path: file.path, end: &end)
                }
            }
        }

        // 3. WAL frames past the log's end, continuing it.
        var cursor = end ?? 1
        var previous: WALScanner.Result?
        var skippedSincePrevious = false
        var run: [Entry] = []
        var materializer = EntryMaterializer()
        for (i, (wal, afterVanished)) in wals.enumerated() {
            let isLast = i == wals.count - 1
            if !wal.problems.isEmpty && !fileSystem.exists(wal.path) {
                skippedSincePrevious = true  // Recycled by a live writer meanwhile: the log holds its entries.
                continue
            }
            defer { skippedSincePrevious = false }
            walFiles += 1
            walFrames += wal.frames.count
            if wal.headerDamaged && wal.data.count <= FileHeader.size {
                // Created, but its header never reached the disk: it held nothing (recovery deletes it).
                var problem = wal.problems[0]
                problem.isTail = true
                problems.append(problem)
                continue
            }
            if let previous, !afterVanished, !skippedSincePrevious,
                !(previous.headerDamaged && previous.frames.isEmpty),
                let first = wal.frames.first, first.firstPosition != previous.endPosition
            {
                flush(&run)
                note(
                    ScanProblem(
                        path: wal.path, offset: Int64(first.offset),
                        reason: "WAL file starts at position \(first.firstPosition), expected \(previous.endPosition)",
                        isTail: false, position: previous.endPosition))
            }
            var frames = wal.frames[...]
            var found = wal.problems[...]
            while !frames.isEmpty || !found.isEmpty {
                if let problem = found.first, frames.first.map({ problem.offset <= Int64($0.offset) }) ?? true {
                    found.removeFirst()
                    var problem = problem
                    problem.isTail = problem.isTail && isLast
                    if problem.position == nil { problem.position = frames.first?.firstPosition ?? cursor }
                    if !problem.isTail { flush(&run) }
                    note(problem)
                    continue
                }
                let frame = frames.removeFirst()
                guard frame.lastPosition >= cursor else { continue }
                if frame.firstPosition > cursor && !isExplained(cursor) {
                    flush(&run)
                    note(
                        ScanProblem(
                            path: wal.path, offset: Int64(frame.offset),
                            reason:
                                "WAL continues at position \(frame.firstPosition) but the log and the WAL before it "
                                + "end at \(cursor - 1)",
                            isTail: false, position: cursor))
                }
                if frame.firstPosition > cursor { flush(&run) }
                wal.data.withUnsafeBytes { b in
                    BlockCodec.forEachRecord(
                        UnsafeRawBufferPointer(rebasing: b[frame.records]), firstPosition: frame.firstPosition
                    ) { view, position in
                        if position >= cursor { run.append(materializer.entry(view, position: position)) }
                    }
                }
                cursor = frame.lastPosition + 1
                damageSincePiece = nil
            }
            previous = wal
        }
        flush(&run)
        // Damage found in WAL frames the log also holds stands among the log's blocks.
        pieces = pieces.enumerated().sorted { a, b in
            let (x, y) = (a.element.position, b.element.position)
            if x != y { return x < y }
            if a.element.isDamage != b.element.isDamage { return a.element.isDamage }
            return a.offset < b.offset
        }.map(\.element)
    }

    /// Records a problem; damage also goes into the pieces at its position.
    private mutating func note(_ problem: ScanProblem) {
        problems.append(problem)
        guard !problem.isTail else { return }
        pieces.append(.damage(problem))
        damageSincePiece = max(damageSincePiece ?? 0, problem.position ?? 0)
    }

    /// Whether damage noted since the last readable piece stands at `position` or after it.
    private func isExplained(_ position: UInt64) -> Bool {
        damageSincePiece.map { $0 >= position } ?? false
    }

    /// Adds a readable block of the log.
    private mutating func take(_ block: BlockSummary, path: String, end: inout UInt64?) {
        if let expected = end {
            if block.header.firstPosition < expected { return }  // Held by an earlier file (its start is damage).
            if block.header.firstPosition > expected && !isExplained(expected) {
                note(
                    ScanProblem(
                        path: path, offset: block.offset,
                        reason: "block starts at position \(block.header.firstPosition), expected \(expected)",
                        isTail: false, position: expected))
            }
        }
        pieces.append(.block(block))
        end = block.header.lastPosition + 1
        damageSincePiece = nil
    }

    private mutating func flush(_ run: inout [Entry]) {
        guard !run.isEmpty else { return }
        pieces.append(.walEntries(run))
        run = []
    }
}

extension StoreScan.Piece {
    fileprivate var isDamage: Bool {
        if case .damage = self { return true }
        return false
    }
}
