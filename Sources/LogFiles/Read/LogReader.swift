/// Read-only access to a store's files for tools (inspect, verify, dump, replay): links `StreamKitLogFiles`
/// alone, takes no lock, and works while a writer holds the store.
///
/// Opening takes a snapshot of which blocks and WAL frames exist; entries committed later are not seen.
/// Torn tails (a writer mid-write, or a crash) are skipped, not repaired: the reader never modifies files.
public final class LogReader: Sendable {
    /// The store's file layout.
    public let layout: StoreLayout
    /// Every readable sealed block, in log order.
    public let blocks: [BlockSummary]
    /// Problems met while opening (torn tails, damage); reading stops before them.
    public let problems: [ScanProblem]
    private let walEntries: [Entry]
    private let fileSystem: any FileSystem
    /// Log files opened once, by first position (read-only descriptors; `pread` is thread-safe).
    private let files: [UInt64: any StorageFile]

    /// Position after the last readable entry (1 for an empty store).
    public var endPosition: UInt64 {
        walEntries.last.map { $0.position + 1 } ?? blocks.last.map { $0.header.lastPosition + 1 } ?? 1
    }

    /// Opens a store directory read-only.
    /// - Parameter directory: A store directory (holding `log/` and/or `wal/`).
    /// - Throws: `LogFilesError` — `.notAStore` when the directory is not a store, `.io` on read failures,
    ///   `.corrupt` when a file header is unreadable.
    public convenience init(directory: String) throws {
        try self.init(directory: directory, fileSystem: PosixFileSystem())
    }

    package init(directory: String, fileSystem: any FileSystem) throws {
        let layout = StoreLayout(root: directory)
        guard fileSystem.isDirectory(layout.root) else {
            throw LogFilesError.notAStore(directory, "no such directory")
        }
        guard fileSystem.isDirectory(layout.logDirectory) || fileSystem.isDirectory(layout.walDirectory) else {
            throw LogFilesError.notAStore(directory, "not a StreamKit store: no log/ or wal/ directory")
        }
        self.layout = layout
        self.fileSystem = fileSystem
        var problems: [ScanProblem] = []
        var blocks: [BlockSummary] = []
        let scanner = LogFileScanner(fileSystem: fileSystem, layout: layout)
        var end: UInt64 = 1
        for first in StoreLayout.numbers(in: try fileSystem.list(layout.logDirectory), extension: "log") {
            guard let result = try? scanner.scan(firstPosition: first, depth: .headers) else { continue }
            if !blocks.isEmpty && result.firstPosition != end { break }
            blocks += result.blocks
            end = result.endPosition
            if let problem = result.problem {
                problems.append(problem)
                break
            }
        }
        // WAL frames past the log's end (committed but not sealed yet).
        var tail: [Entry] = []
        let walScanner = WALScanner(fileSystem: fileSystem, layout: layout)
        var materializer = EntryMaterializer()
        walLoop: for id in StoreLayout.numbers(in: try fileSystem.list(layout.walDirectory), extension: "wal") {
            guard let wal = try? walScanner.scan(fileID: id), wal.header.fileID == id else { continue }  // removed or stale
            for frame in wal.frames where frame.lastPosition >= end {
                if frame.firstPosition > end { break walLoop }
                wal.data.withUnsafeBytes { b in
                    BlockCodec.forEachRecord(
                        UnsafeRawBufferPointer(rebasing: b[frame.records]), firstPosition: frame.firstPosition
                    ) { view, position in
                        if position >= end { tail.append(materializer.entry(view, position: position)) }
                    }
                }
                end = frame.lastPosition + 1
            }
            if let problem = wal.problem {
                problems.append(problem)
                break
            }
        }
        self.blocks = blocks
        self.problems = problems
        self.walEntries = tail
        var files: [UInt64: any StorageFile] = [:]
        for first in Set(blocks.map(\.fileFirstPosition)) {
            files[first] = try fileSystem.open(layout.logPath(firstPosition: first), mode: .read)
        }
        self.files = files
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
    public func readBlock(at index: Int) throws -> [Entry] {
        guard blocks.indices.contains(index) else { throw LogFilesError.invalidArgument("no block \(index)") }
        let block = blocks[index]
        return try BlockReading.read(block.header, file: file(of: block), offset: block.offset)
    }

    /// Calls `body` with every entry from `position` on, in log order (sealed blocks, then WAL entries),
    /// until `body` returns false.
    /// - Throws: what `body` throws, or `LogFilesError` for a block that fails its checks.
    public func forEachEntry(from position: UInt64 = 1, _ body: (Entry) throws -> Bool) throws {
        if let first = blockIndex(containing: position) {
            let buffers = BlockReading.Buffers()
            for block in blocks[first...] {
                let more = try BlockReading.forEach(
                    block.header, file: file(of: block), offset: block.offset, from: position, buffers: buffers, body)
                guard more else { return }
            }
        }
        for entry in walEntries where entry.position >= position {
            guard try body(entry) else { return }
        }
    }

    /// Reads up to `limit` entries from `position` on.
    public func entries(from position: UInt64 = 1, limit: Int = .max) throws -> [Entry] {
        var out: [Entry] = []
        try forEachEntry(from: position) { entry in
            out.append(entry)
            return out.count < limit
        }
        return out
    }

    /// Checks every block and WAL frame of the store: CRCs, decompression, record framing, contiguous
    /// positions, non-decreasing timestamps, and that the WAL continues the log.
    /// - Parameter progress: Called after each file with (bytes checked, total bytes).
    public func verify(progress: ((Int64, Int64) -> Void)? = nil) throws -> VerificationReport {
        var report = VerificationReport()
        let scanner = LogFileScanner(fileSystem: fileSystem, layout: layout)
        let logNumbers = StoreLayout.numbers(in: try fileSystem.list(layout.logDirectory), extension: "log")
        let walIDs = StoreLayout.numbers(in: try fileSystem.list(layout.walDirectory), extension: "wal")
        var total: Int64 = 0
        for first in logNumbers { total += (try? fileSystem.size(of: layout.logPath(firstPosition: first))) ?? 0 }
        for id in walIDs { total += (try? fileSystem.size(of: layout.walPath(fileID: id))) ?? 0 }
        var done: Int64 = 0
        var expected: UInt64?
        var lastTimestamp = Int64.min
        for first in logNumbers {
            let path = layout.logPath(firstPosition: first)
            let result: LogFileScanner.Result
            do {
                result = try scanner.scan(firstPosition: first, depth: .full)
            } catch let error as LogFilesError {
                report.problems.append(ScanProblem(path: path, offset: error.offset ?? 0, reason: error.message, isTail: false))
                continue
            }
            report.logFiles += 1
            if let expected, result.firstPosition != expected {
                report.problems.append(
                    ScanProblem(
                        path: path, offset: 0,
                        reason: "file starts at position \(result.firstPosition), expected \(expected)", isTail: false))
            }
            for block in result.blocks {
                if block.header.minTimestamp < lastTimestamp {
                    report.problems.append(
                        ScanProblem(path: path, offset: block.offset, reason: "timestamps go backwards", isTail: false))
                }
                lastTimestamp = block.header.maxTimestamp
                report.blocks += 1
                report.entries += block.header.entryCount
                report.storedBytes += Int64(block.header.storedLength)
                report.rawBytes += Int64(block.header.rawLength)
            }
            if let problem = result.problem { report.problems.append(problem) }
            expected = result.endPosition
            done += result.fileSize
            progress?(done, total)
        }
        let walScanner = WALScanner(fileSystem: fileSystem, layout: layout)
        var walExpected: UInt64?
        // What recovery replays: frames past the log's end, continuing it without a gap. A WAL file may start
        // past the log's end when an earlier WAL file holds the positions between (entries replayed after a
        // crash but not sealed yet), so the check is against the replay cursor, not the log's end.
        var cursor = expected ?? 1
        for id in walIDs {
            let path = layout.walPath(fileID: id)
            let wal: WALScanner.Result
            do {
                wal = try walScanner.scan(fileID: id)
            } catch let error as LogFilesError {
                if error.code == .io && error.errno == 2 { continue }  // removed by a live writer meanwhile
                report.problems.append(ScanProblem(path: path, offset: error.offset ?? 0, reason: error.message, isTail: false))
                continue
            }
            report.walFiles += 1
            report.walFrames += wal.frames.count
            if let first = wal.frames.first, let walExpected, first.firstPosition != walExpected {
                report.problems.append(
                    ScanProblem(
                        path: path, offset: Int64(first.offset),
                        reason: "WAL frame starts at position \(first.firstPosition), expected \(walExpected)", isTail: false))
            }
            for frame in wal.frames where frame.lastPosition >= cursor {
                if frame.firstPosition > cursor {
                    report.problems.append(
                        ScanProblem(
                            path: path, offset: Int64(frame.offset),
                            reason: "WAL continues at position \(frame.firstPosition) but the log and the WAL before it end at \(cursor - 1)",
                            isTail: false))
                }
                cursor = frame.lastPosition + 1
            }
            if let problem = wal.problem { report.problems.append(problem) }
            if !wal.frames.isEmpty { walExpected = wal.endPosition }
            done += Int64(wal.data.count)
            progress?(done, total)
        }
        return report
    }

}
