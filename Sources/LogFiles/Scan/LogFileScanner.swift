/// Reads one log file's blocks (trusting its `.idx` sidecar where the sidecar matches the log), checks them,
/// and reports where valid data ends — or, salvaging, also every valid block past damaged bytes.
struct LogFileScanner {
    /// How much of the already-indexed part to check.
    enum Depth: Sendable {
        /// Block headers of indexed blocks are compared with the sidecar; unindexed blocks are fully checked.
        case headers
        /// As `headers`, and the stored bytes of every indexed block pass their CRC (nothing decompressed).
        case checksums
        /// Every block is read, CRC-checked, decompressed and its records checked.
        case full
    }

    struct Result {
        var path: String
        var header: FileHeader
        /// The valid blocks before `problem`; salvaging, every valid block of the file.
        var blocks: [BlockSummary]
        /// Byte offset just after the last valid block before `problem`.
        var validEnd: Int64
        var fileSize: Int64
        /// The first problem.
        var problem: ScanProblem?
        /// Every problem in file order: `problem` and, salvaging, those met past it.
        var problems: [ScanProblem]
        /// Salvaging: the file header did not decode, so `header` was made up from the file's name.
        var headerDamaged: Bool
        /// How many leading blocks the sidecar described correctly, and the sidecar's valid byte length.
        var indexedBlocks: Int
        var indexValidEnd: Int64

        var firstPosition: UInt64 { header.firstPosition }
        /// Position after the last valid entry.
        var endPosition: UInt64 { blocks.last.map { $0.header.lastPosition + 1 } ?? header.firstPosition }
    }

    let fileSystem: any FileSystem
    let layout: StoreLayout

    /// Scans the log file that starts at `firstPosition`.
    ///
    /// - Parameter salvage: Read past damage — a file header that does not decode, a block that fails its
    ///   checks with valid blocks after it — to every valid block of the file, listing each damaged spot in
    ///   `problems`. Without it the scan ends at the first problem, and an unreadable header throws.
    /// - Throws: `LogFilesError` — `.corrupt` for a file header that does not decode (unless salvaging),
    ///   `.unsupportedVersion`, `.io`.
    func scan(firstPosition: UInt64, depth: Depth, salvage: Bool = false) throws -> Result {
        let path = layout.logPath(firstPosition: firstPosition)
        let file = try fileSystem.open(path, mode: .read)
        defer { file.close() }
        let size = try file.size()
        let headerBytes = try file.readBytes(count: FileHeader.size, at: 0)
        let header: FileHeader
        var headerProblem: ScanProblem?
        do {
            header = try headerBytes.withUnsafeBytes { (raw) in try FileHeader.decode(raw, kind: .log, path: path) }
        } catch let error as LogFilesError where salvage && error.code == .corrupt {
            // The name says where the file starts; the blocks say the rest.
            header = FileHeader(kind: .log, firstPosition: firstPosition, fileID: firstPosition, createdAt: 0)
            headerProblem = ScanProblem(
                path: path, offset: error.offset ?? 0, reason: error.message, isTail: size <= Int64(FileHeader.size),
                position: firstPosition)
        }
        var result = Result(
            path: path, header: header, blocks: [], validEnd: Int64(FileHeader.size), fileSize: size,
            problem: headerProblem, problems: headerProblem.map { [$0] } ?? [], headerDamaged: headerProblem != nil,
            indexedBlocks: 0, indexValidEnd: 0)
        var expected = header.firstPosition
        let stored = RawBuffer(capacity: 64 * 1024)

        // 1. The sidecar, as far as it agrees with the log.
        var indexedProblem: ScanProblem?
        try readIndex(firstPosition: firstPosition) { summary in
            guard summary.offset == result.validEnd, summary.header.firstPosition == expected,
                result.validEnd + Int64(summary.byteCount) <= size
            else { return false }
            var onDisk = [UInt8](repeating: 0, count: BlockHeader.size)
            var expectedBytes = onDisk
            let n = try onDisk.withUnsafeMutableBytes { (b) in try file.read(into: b, at: summary.offset) }
            expectedBytes.withUnsafeMutableBytes { summary.header.encode(into: $0.baseAddress!) }
            guard n == BlockHeader.size, onDisk == expectedBytes else { return false }
            if depth != .headers {
                let checked =
                    depth == .full
                    ? try load(file, summary.header, at: summary.offset, stored: stored).map { _ in () }
                    : try checksum(file, summary.header, at: summary.offset, stored: stored)
                if case .failure(let problem) = checked {
                    indexedProblem = ScanProblem(
                        path: path, offset: summary.offset, reason: problem.reason, isTail: false, position: expected)
                    return false
                }
            }
            result.blocks.append(summary)
            result.validEnd += Int64(summary.byteCount)
            expected = summary.header.lastPosition + 1
            return true
        } onEnd: { validEnd in
            result.indexedBlocks = result.blocks.count
            result.indexValidEnd = validEnd
        }

        // 2. Blocks past the sidecar: read, check and summarise each.
        var last = indexedProblem
        if indexedProblem == nil {
            let (end, problem) = try scanBlocks(
                file, path: path, firstPosition: firstPosition, from: result.validEnd, expected: expected, size: size,
                stored: stored, into: &result.blocks)
            result.validEnd = end
            last = problem
        }
        if let last {
            if result.problem == nil { result.problem = last }
            result.problems.append(last)
        }

        // 3. Salvaging: past each damaged spot, on from the next valid block (a torn tail has none after it).
        guard salvage else { return result }
        while let damaged = last, !damaged.isTail,
            let (offset, next) = try nextValidBlock(
                file, from: damaged.offset + 1, size: size, after: damaged.position ?? 0)
        {
            (_, last) = try scanBlocks(
                file, path: path, firstPosition: firstPosition, from: offset, expected: next.firstPosition, size: size,
                stored: stored, into: &result.blocks)
            if let last { result.problems.append(last) }
        }
        return result
    }

    /// Reads, checks and summarises blocks into `blocks` from `offset` on (the first one expected to start at
    /// position `expected`), up to the end of the file or the first invalid block.
    /// - Returns: The offset after the last valid block and the problem that ended the scan, if any.
    private func scanBlocks(
        _ file: any StorageFile, path: String, firstPosition: UInt64, from start: Int64, expected first: UInt64,
        size: Int64, stored: RawBuffer, into blocks: inout [BlockSummary]
    ) throws -> (end: Int64, problem: ScanProblem?) {
        var offset = start
        var expected = first
        var runs = RunBuilder()
        while offset < size {
            let remaining = size - offset
            guard remaining >= Int64(BlockHeader.size) else {
                return (
                    offset, problem(path, offset, "partial block header", file: file, size: size, expected: expected)
                )
            }
            var headerBytes = [UInt8](repeating: 0, count: BlockHeader.size)
            _ = try headerBytes.withUnsafeMutableBytes { (b) in try file.read(into: b, at: offset) }
            if try headerBytes.allSatisfy({ $0 == 0 }) && isZero(file, from: offset, to: size) { break }
            let blockHeader: BlockHeader
            switch headerBytes.withUnsafeBytes({ BlockHeader.decode($0.baseAddress!) }) {
            case .success(let decoded):
                blockHeader = decoded
            case .failure(let why):
                return (offset, problem(path, offset, why.description, file: file, size: size, expected: expected))
            }
            guard blockHeader.firstPosition == expected else {
                let why = "block starts at position \(blockHeader.firstPosition), expected \(expected)"
                return (offset, problem(path, offset, why, file: file, size: size, expected: expected))
            }
            guard remaining >= Int64(BlockHeader.size + blockHeader.storedLength) else {
                let torn = ScanProblem(
                    path: path, offset: offset, reason: "block runs past end of file", isTail: true, position: expected)
                return (offset, torn)
            }
            let records: [UInt8]
            switch try load(file, blockHeader, at: offset, stored: stored) {
            case .success(let decoded):
                records = decoded
            case .failure(let why):
                let next = offset + Int64(BlockHeader.size + blockHeader.storedLength)
                let followed = try validBlockFollows(file, from: next, size: size, after: expected)
                return (
                    offset,
                    ScanProblem(path: path, offset: offset, reason: why.reason, isTail: !followed, position: expected)
                )
            }
            runs.reset()
            records.withUnsafeBytes { bytes in
                BlockCodec.forEachRecord(bytes, firstPosition: blockHeader.firstPosition) { view, _ in runs.add(view) }
            }
            blocks.append(
                BlockSummary(header: blockHeader, fileFirstPosition: firstPosition, offset: offset, runs: runs.runs))
            offset += Int64(BlockHeader.size + blockHeader.storedLength)
            expected = blockHeader.lastPosition + 1
        }
        return (offset, nil)
    }

    /// Reads and checks one block (`stored` is a reused read buffer); returns its records or the problem.
    func load(
        _ file: any StorageFile, _ header: BlockHeader, at offset: Int64, stored: RawBuffer
    ) throws -> Swift.Result<[UInt8], BlockProblem> {
        stored.count = 0
        stored.reserve(header.storedLength)
        stored.count = try file.read(
            into: UnsafeMutableRawBufferPointer(start: stored.base, count: header.storedLength),
            at: offset + Int64(BlockHeader.size))
        return BlockCodec.decode(header, stored: stored.bytes)
    }

    /// Reads and CRC-checks one block's stored bytes without decompressing them.
    func checksum(
        _ file: any StorageFile, _ header: BlockHeader, at offset: Int64, stored: RawBuffer
    ) throws -> Swift.Result<Void, BlockProblem> {
        stored.count = 0
        stored.reserve(header.storedLength)
        stored.count = try file.read(
            into: UnsafeMutableRawBufferPointer(start: stored.base, count: header.storedLength),
            at: offset + Int64(BlockHeader.size))
        guard stored.count == header.storedLength else { return .failure(BlockProblem("block truncated")) }
        guard CRC32C.checksum(stored.bytes) == header.checksum else {
            return .failure(BlockProblem("block checksum mismatch"))
        }
        return .success(())
    }

    private func problem(
        _ path: String, _ offset: Int64, _ reason: String, file: any StorageFile, size: Int64, expected: UInt64
    ) -> ScanProblem {
        let followed = (try? validBlockFollows(file, from: offset + 1, size: size, after: expected)) ?? false
        return ScanProblem(path: path, offset: offset, reason: reason, isTail: !followed, position: expected)
    }

    /// Whether a valid block header for a position ≥ `after` starts anywhere in `from..<size`.
    func validBlockFollows(_ file: any StorageFile, from: Int64, size: Int64, after: UInt64) throws -> Bool {
        try nextValidBlock(file, from: from, size: size, after: after) != nil
    }

    /// The first valid block header for a position ≥ `after` in `from..<size`, and its offset.
    func nextValidBlock(
        _ file: any StorageFile, from: Int64, size: Int64, after: UInt64
    ) throws -> (offset: Int64, header: BlockHeader)? {
        guard from < size else { return nil }
        let chunk = 1 << 20
        var offset = from
        var buffer = [UInt8](repeating: 0, count: chunk + BlockHeader.size)
        while offset + Int64(BlockHeader.size) <= size {
            let n = try buffer.withUnsafeMutableBytes { (b) in try file.read(into: b, at: offset) }
            let found = buffer.withUnsafeBytes { b -> (Int, BlockHeader)? in
                var i = 0
                while i + BlockHeader.size <= n {
                    if b.baseAddress!.le(i, as: UInt32.self) == BlockHeader.magic,
                        case .success(let h) = BlockHeader.decode(b.baseAddress! + i), h.firstPosition >= after
                    {
                        return (i, h)
                    }
                    i += 1
                }
                return nil
            }
            if let (i, header) = found { return (offset + Int64(i), header) }
            offset += Int64(chunk)
        }
        return nil
    }

    private func isZero(_ file: any StorageFile, from: Int64, to size: Int64) throws -> Bool {
        var offset = from
        while offset < size {
            let bytes = try file.readBytes(count: Int(min(Int64(1 << 20), size - offset)), at: offset)
            if bytes.isEmpty { return true }
            if !bytes.allSatisfy({ $0 == 0 }) { return false }
            offset += Int64(bytes.count)
        }
        return true
    }

    /// Feeds the sidecar's records to `accept` until it returns false or the sidecar ends.
    private func readIndex(
        firstPosition: UInt64, accept: (BlockSummary) throws -> Bool, onEnd: (Int64) -> Void
    ) throws {
        try Self.readIndex(
            fileSystem: fileSystem, layout: layout, firstPosition: firstPosition, accept: accept, onEnd: onEnd)
    }

    /// Feeds the records of the sidecar of log file `firstPosition` to `accept` until it returns false or the
    /// sidecar ends (or stops being valid); `onEnd` gets the valid length. A missing sidecar has none.
    static func readIndex(
        fileSystem: any FileSystem, layout: StoreLayout, firstPosition: UInt64, accept: (BlockSummary) throws -> Bool,
        onEnd: (Int64) -> Void
    ) throws {
        let path = layout.indexPath(firstPosition: firstPosition)
        guard let file = try? fileSystem.open(path, mode: .read) else { return onEnd(0) }
        defer { file.close() }
        let bytes = try file.readBytes(count: Int(try file.size()), at: 0)
        try bytes.withUnsafeBytes { (b) in
            guard let header = try? FileHeader.decode(b, kind: .index, path: path),
                header.firstPosition == firstPosition
            else { return onEnd(0) }
            var o = FileHeader.size
            while let (summary, size) = BlockIndexCodec.decode(
                b.baseAddress! + o, available: b.count - o, fileFirstPosition: firstPosition)
            {
                guard try accept(summary) else { break }
                o += size
            }
            onEnd(Int64(o))
        }
    }
}
