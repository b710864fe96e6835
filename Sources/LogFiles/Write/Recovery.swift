import Logging

/// Open-time recovery: checks the log, cuts torn tails, replays the WAL past the log's end, cuts an
/// incomplete transaction, and repairs block-index sidecars.
struct Recovery {
    struct Outcome {
        var blocks: [BlockSummary]
        var tailRecords: RawBuffer
        var tailFirstPosition: UInt64
        var tailCount: Int
        var nextPosition: UInt64
        var lastTimestamp: Int64
        var lastLogFile: (firstPosition: UInt64, size: Int64, indexSize: Int64)?
        var olderWAL: [WALOutput.OldFile]
        var nextWALFileID: UInt64
        var manifest: StoreManifest
        var report: RecoveryReport
    }

    let fileSystem: any FileSystem
    let layout: StoreLayout
    let configuration: LogConfiguration

    private var logger: Logger { configuration.logger }

    func run() throws -> Outcome {
        let started = monotonicNanoseconds()
        var report = RecoveryReport()
        var cutThrough: UInt64 = 0  // The last position in log blocks cut, as far as their headers say.
        let manifest = try StoreManifest.load(fileSystem: fileSystem, layout: layout)
        var files = try recoverLog(&report, manifest: manifest, cutThrough: &cutThrough)
        var logEnd = files.last?.endPosition ?? manifest.logStart
        let (walFiles, nextWALFileID) = try recoverWAL(&report)

        // Replay WAL frames past the log's end.
        let tail = RawBuffer(capacity: 64 << 10)
        var tailCount = 0
        var cursor = logEnd
        var lastTimestamp = files.last?.blocks.last?.header.maxTimestamp ?? 0
        var older: [WALOutput.OldFile] = []
        for wal in walFiles {
            for frame in wal.frames where frame.lastPosition >= cursor {
                if frame.firstPosition > cursor {
                    try damage(
                        ScanProblem(
                            path: wal.path, offset: Int64(frame.offset),
                            reason:
                                "WAL continues at position \(frame.firstPosition) but the log ends at \(cursor - 1)",
                            isTail: false), &report)
                    break
                }
                let skip = Int(cursor - frame.firstPosition)
                wal.data.withUnsafeBytes { b in
                    var o = frame.records.lowerBound
                    var i = 0
                    while o < frame.records.upperBound {
                        let view = RecordView(base: b.baseAddress! + o)
                        if i >= skip {
                            tail.append(UnsafeRawBufferPointer(start: view.base, count: view.size))
                            tailCount += 1
                            lastTimestamp = max(lastTimestamp, view.timestamp)
                        }
                        o += view.size
                        i += 1
                    }
                }
                report.replayedTransactions += 1
                report.replayedEntries += frame.count - skip
                cursor = frame.lastPosition + 1
            }
            if let last = wal.frames.last, last.lastPosition >= logEnd {
                older.append(WALOutput.OldFile(fileID: wal.fileID, lastPosition: last.lastPosition))
            } else {
                try fileSystem.remove(wal.path)  // fully covered by the log, or empty
            }
        }

        // Entries of cut blocks past what the log and the WAL still hold are gone.
        if cutThrough >= cursor { report.lostEntries += Int(cutThrough - cursor + 1) }

        // A log that ends inside a transaction the WAL cannot complete: cut back to the last whole one.
        if tailCount == 0, !files.isEmpty {
            try cutIncompleteTransaction(&files, &report)
            logEnd = files.last?.endPosition ?? manifest.logStart
            cursor = logEnd
            lastTimestamp = files.last?.blocks.last?.header.maxTimestamp ?? 0
        }

        var lastLogFile: (UInt64, Int64, Int64)?
        for i in files.indices {
            let indexSize = try repairIndex(files[i])
            if i == files.count - 1 { lastLogFile = (files[i].firstPosition, files[i].validEnd, indexSize) }
        }
        let blocks = files.flatMap(\.blocks)
        report.blocks = blocks.count
        report.durationNanoseconds = monotonicNanoseconds() - started
        if report.cutAnything {
            logger.warning(
                "recovery cut damaged or incomplete data",
                metadata: [
                    "store": "\(layout.root)", "cut_log_bytes": "\(report.cutLogBytes)",
                    "cut_wal_bytes": "\(report.cutWALBytes)", "cut_entries": "\(report.cutEntries)",
                    "replayed_entries": "\(report.replayedEntries)", "lost_entries": "\(report.lostEntries)",
                    "truncated_corruption": "\(report.truncatedCorruption.count)",
                ])
        }
        return Outcome(
            blocks: blocks, tailRecords: tail, tailFirstPosition: logEnd, tailCount: tailCount,
            nextPosition: cursor, lastTimestamp: lastTimestamp, lastLogFile: lastLogFile, olderWAL: older,
            nextWALFileID: nextWALFileID, manifest: manifest, report: report)
    }

    // MARK: - Log

    private func recoverLog(
        _ report: inout RecoveryReport, manifest: StoreManifest, cutThrough: inout UInt64
    ) throws -> [LogFileScanner.Result] {
        let scanner = LogFileScanner(fileSystem: fileSystem, layout: layout)
        var numbers = StoreLayout.numbers(in: try fileSystem.list(layout.logDirectory), extension: "log")
        // Files before the log's start were dropped (retention): the manifest that says so was written first, so
        // a crash between it and the unlinking leaves them here; finish the drop.
        while let first = numbers.first, first < manifest.logStart {
            try fileSystem.remove(layout.logPath(firstPosition: first))
            try fileSystem.remove(layout.indexPath(firstPosition: first))
            report.droppedLogFiles += 1
            numbers.removeFirst()
        }
        if let first = numbers.first, first != manifest.logStart {
            try damage(
                ScanProblem(
                    path: layout.logPath(firstPosition: first), offset: 0,
                    reason:
                        "the first log file starts at position \(first), the manifest says the log starts at \(manifest.logStart)",
                    isTail: false), &report)
            try removeLogFiles(numbers[...], &report, cutThrough: &cutThrough)
            return []
        }
        let depth: LogFileScanner.Depth = configuration.verifyOnOpen == .full ? .full : .headers
        var files: [LogFileScanner.Result] = []
        for (i, first) in numbers.enumerated() {
            let isLast = i == numbers.count - 1
            var result: LogFileScanner.Result
            do {
                result = try scanner.scan(firstPosition: first, depth: depth)
            } catch let error as LogFilesError
                where error.code == .corrupt && isLast
                && (try? fileSystem.size(of: layout.logPath(firstPosition: first))) ?? 0 <= Int64(FileHeader.size)
            {
                // A roll that crashed before its header was written: nothing was in the file.
                report.cutLogBytes += (try? fileSystem.size(of: layout.logPath(firstPosition: first))) ?? 0
                try fileSystem.remove(layout.logPath(firstPosition: first))
                try fileSystem.remove(layout.indexPath(firstPosition: first))
                continue
            }
            report.logFiles += 1
            report.blocksFromIndex += result.indexedBlocks
            if let previous = files.last, result.firstPosition != previous.endPosition {
                try damage(
                    ScanProblem(
                        path: result.path, offset: 0,
                        reason: "log file starts at position \(result.firstPosition), expected \(previous.endPosition)",
                        isTail: false), &report)
                try removeLogFiles(numbers[i...], &report, cutThrough: &cutThrough)
                break
            }
            if let problem = result.problem {
                if problem.isTail && isLast {
                    report.cutLogBytes += result.fileSize - result.validEnd
                } else {
                    try damage(problem, &report)
                }
                countBlocks(in: result.path, from: result.validEnd, &report, cutThrough: &cutThrough)
                let file = try fileSystem.open(result.path, mode: .readWrite)
                try file.truncate(to: result.validEnd)
                try file.sync()
                file.close()
                result.fileSize = result.validEnd
                result.problem = nil
                files.append(result)
                if !isLast { try removeLogFiles(numbers[(i + 1)...], &report, cutThrough: &cutThrough) }
                break
            }
            files.append(result)
        }
        return files
    }

    /// Counts the entries of the blocks from `offset` on in a log file about to be cut there, as far as their
    /// headers can be read (a torn block's header usually can), into `report.cutEntries`.
    private func countBlocks(
        in path: String, from offset: Int64, _ report: inout RecoveryReport, cutThrough: inout UInt64
    ) {
        guard let file = try? fileSystem.open(path, mode: .read) else { return }
        defer { file.close() }
        let scanner = LogFileScanner(fileSystem: fileSystem, layout: layout)
        guard let size = try? file.size() else { return }
        var next = offset
        while let (at, header) = try? scanner.nextValidBlock(file, from: next, size: size, after: 0) {
            report.cutEntries += header.entryCount
            cutThrough = max(cutThrough, header.lastPosition)
            next = at + Int64(BlockHeader.size + header.storedLength)
        }
    }

    private func removeLogFiles(
        _ numbers: ArraySlice<UInt64>, _ report: inout RecoveryReport, cutThrough: inout UInt64
    ) throws {
        for first in numbers {
            countBlocks(
                in: layout.logPath(firstPosition: first), from: Int64(FileHeader.size), &report, cutThrough: &cutThrough
            )
            report.cutLogBytes += (try? fileSystem.size(of: layout.logPath(firstPosition: first))) ?? 0
            try fileSystem.remove(layout.logPath(firstPosition: first))
            try fileSystem.remove(layout.indexPath(firstPosition: first))
        }
    }

    /// Damage that is not a torn tail: refuse, or record and go on, per the policy.
    private func damage(_ problem: ScanProblem, _ report: inout RecoveryReport) throws {
        guard configuration.corruptionPolicy == .truncate else {
            throw LogFilesError.corrupt(problem.reason, path: problem.path, offset: problem.offset)
        }
        logger.error("truncating the store at damaged data: \(problem)")
        report.truncatedCorruption.append(problem)
    }

    // MARK: - WAL

    private func recoverWAL(_ report: inout RecoveryReport) throws -> ([WALScanner.Result], UInt64) {
        let scanner = WALScanner(fileSystem: fileSystem, layout: layout)
        let ids = StoreLayout.numbers(in: try fileSystem.list(layout.walDirectory), extension: "wal")
        var results: [WALScanner.Result] = []
        var stopped = false
        for (i, id) in ids.enumerated() {
            let isLast = i == ids.count - 1
            let path = layout.walPath(fileID: id)
            if stopped {
                report.cutWALBytes += (try? fileSystem.size(of: path)) ?? 0
                try fileSystem.remove(path)
                continue
            }
            var result: WALScanner.Result
            do {
                result = try scanner.scan(fileID: id)
            } catch let error as LogFilesError
                where error.code == .corrupt && (try? fileSystem.size(of: path)) ?? 0 <= Int64(FileHeader.size)
            {
                // Created but its header never made it to disk: it held nothing.
                report.cutWALBytes += (try? fileSystem.size(of: path)) ?? 0
                try fileSystem.remove(path)
                continue
            }
            if result.header.fileID != id {
                // A recycled file renamed for reuse whose new header never made it to disk: stale frames only.
                report.cutWALBytes += Int64(result.data.count)
                try fileSystem.remove(path)
                continue
            }
            report.walFiles += 1
            if let previous = results.last, let first = result.frames.first, first.firstPosition != previous.endPosition
            {
                try damage(
                    ScanProblem(
                        path: path, offset: Int64(first.offset),
                        reason: "WAL file starts at position \(first.firstPosition), expected \(previous.endPosition)",
                        isTail: false), &report)
                report.cutWALBytes += Int64(result.data.count)
                try fileSystem.remove(path)
                stopped = true
                continue
            }
            if let problem = result.problem {
                if !(problem.isTail && isLast) { try damage(problem, &report) }
                report.cutWALBytes += Int64(result.data.count - result.validEnd)
                let file = try fileSystem.open(path, mode: .readWrite)
                try file.truncate(to: Int64(result.validEnd))
                try file.sync()
                file.close()
                result.problem = nil
                stopped = true
            }
            results.append(result)
        }
        return (results, (ids.last ?? 0) + 1)
    }

    // MARK: - Transaction boundary

    /// Removes trailing log entries whose transaction has no end in the log (only possible when the WAL that
    /// held them was lost with an unsynced durability setting).
    private func cutIncompleteTransaction(_ files: inout [LogFileScanner.Result], _ report: inout RecoveryReport) throws
    {
        while var file = files.last {
            guard let block = file.blocks.last else {
                if files.count == 1 { return }
                // An empty last file: drop it and look at the previous one.
                try fileSystem.remove(file.path)
                try fileSystem.remove(layout.indexPath(firstPosition: file.firstPosition))
                files.removeLast()
                continue
            }
            let handle = try fileSystem.open(file.path, mode: .readWrite)
            defer { handle.close() }
            let stored = try handle.readBytes(
                count: block.header.storedLength, at: block.offset + Int64(BlockHeader.size))
            let records: [UInt8]
            switch stored.withUnsafeBytes({ BlockCodec.decode(block.header, stored: $0) }) {
            case .success(let decoded): records = decoded
            case .failure(let problem):
                throw LogFilesError.corrupt(problem.reason, path: file.path, offset: block.offset)
            }
            var keep = 0
            var index = 0
            records.withUnsafeBytes { bytes in
                BlockCodec.forEachRecord(bytes, firstPosition: block.header.firstPosition) { view, _ in
                    index += 1
                    if view.endsTransaction { keep = index }
                }
            }
            if keep == block.header.entryCount { return }
            report.cutEntries += block.header.entryCount - keep
            report.lostEntries += block.header.entryCount - keep
            try handle.truncate(to: block.offset)
            file.blocks.removeLast()
            file.validEnd = block.offset
            file.fileSize = block.offset
            if keep > 0 {
                // Re-seal the whole transactions of this block in its place.
                var size = 0
                var count = 0
                var minTs = Int64.max
                var maxTs = Int64.min
                records.withUnsafeBytes { bytes in
                    BlockCodec.forEachRecord(bytes, firstPosition: block.header.firstPosition) { view, _ in
                        if count < keep {
                            size += view.size
                            count += 1
                            minTs = min(minTs, view.timestamp)
                            maxTs = max(maxTs, view.timestamp)
                        }
                    }
                }
                let out = RawBuffer(capacity: size + BlockHeader.size + 64)
                var runs = RunBuilder()
                let header = records.withUnsafeBytes { bytes in
                    let kept = UnsafeRawBufferPointer(rebasing: bytes[0..<size])
                    BlockCodec.forEachRecord(kept, firstPosition: 0) { view, _ in runs.add(view) }
                    return BlockCodec.seal(
                        records: kept, entryCount: keep, firstPosition: block.header.firstPosition, minTimestamp: minTs,
                        maxTimestamp: maxTs, compress: configuration.compression, into: out)
                }
                try handle.write(out.bytes, at: block.offset)
                file.blocks.append(
                    BlockSummary(
                        header: header, fileFirstPosition: file.firstPosition, offset: block.offset, runs: runs.runs))
                file.validEnd = block.offset + Int64(out.count)
                file.fileSize = file.validEnd
            }
            try handle.sync()
            file.indexedBlocks = min(file.indexedBlocks, file.blocks.count - (keep > 0 ? 1 : 0))
            file.indexValidEnd = -1  // rewrite the sidecar
            files[files.count - 1] = file
            if keep > 0 { return }
        }
    }

    // MARK: - Sidecar

    /// Makes the file's sidecar describe exactly its blocks; returns the sidecar's size.
    private func repairIndex(_ file: LogFileScanner.Result) throws -> Int64 {
        let path = layout.indexPath(firstPosition: file.firstPosition)
        let existing = (try? fileSystem.size(of: path)) ?? -1
        if file.indexValidEnd > 0 && file.indexedBlocks == file.blocks.count && existing == file.indexValidEnd {
            return existing
        }
        let buffer = RawBuffer(capacity: 64 << 10)
        let keep = file.indexValidEnd > 0 ? file.indexedBlocks : 0
        var start = file.indexValidEnd > 0 ? file.indexValidEnd : 0
        if start == 0 {
            var header = FileHeader(
                kind: .index, firstPosition: file.firstPosition, fileID: file.firstPosition,
                createdAt: realtimeNanoseconds())
            header.kind = .index
            buffer.reserve(FileHeader.size)
            header.encode(into: buffer.tail)
            buffer.count = FileHeader.size
        }
        for summary in file.blocks[keep...] { BlockIndexCodec.append(summary, to: buffer) }
        let handle: any StorageFile
        if existing >= 0 {
            handle = try fileSystem.open(path, mode: .readWrite)
        } else {
            handle = try fileSystem.open(path, mode: .create)
            start = 0
        }
        defer { handle.close() }
        try handle.truncate(to: start)
        try handle.write(buffer.bytes, at: start)
        return start + Int64(buffer.count)
    }
}
