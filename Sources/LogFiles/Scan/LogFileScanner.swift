/// Reads one log file's blocks (trusting its `.idx` sidecar where the sidecar matches the log), checks them,
/// and reports where valid data ends.
struct LogFileScanner {
    /// How much of the already-indexed part to check.
    enum Depth: Sendable {
        /// Block headers of indexed blocks are compared with the sidecar; unindexed blocks are fully checked.
        case headers
        /// Every block is read, CRC-checked, decompressed and its records checked.
        case full
    }

    struct Result {
        var path: String
        var header: FileHeader
        var blocks: [BlockSummary]
        /// Byte offset just after the last valid block.
        var validEnd: Int64
        var fileSize: Int64
        var problem: ScanProblem?
        /// How many leading blocks the sidecar described correctly, and the sidecar's valid byte length.
        var indexedBlocks: Int
        var indexValidEnd: Int64

        var firstPosition: UInt64 { header.firstPosition }
        /// Position after the last valid entry.
        var endPosition: UInt64 { blocks.last.map { $0.header.lastPosition + 1 } ?? header.firstPosition }
    }

    let fileSystem: any FileSystem
    let layout: StoreLayout

    func scan(firstPosition: UInt64, depth: Depth) throws -> Result {
        let path = layout.logPath(firstPosition: firstPosition)
        let file = try fileSystem.open(path, mode: .read)
        defer { file.close() }
        let size = try file.size()
        let headerBytes = try file.readBytes(count: FileHeader.size, at: 0)
        let header = try headerBytes.withUnsafeBytes { (raw) in
            try FileHeader.decode(raw, kind: .log, path: path)
        }
        var result = Result(
            path: path, header: header, blocks: [], validEnd: Int64(FileHeader.size), fileSize: size, problem: nil,
            indexedBlocks: 0, indexValidEnd: 0)
        var expected = header.firstPosition
        let stored = RawBuffer(capacity: 64 * 1024)

        // 1. The sidecar, as far as it agrees with the log.
        try readIndex(firstPosition: firstPosition) { summary in
            guard summary.offset == result.validEnd, summary.header.firstPosition == expected,
                result.validEnd + Int64(summary.byteCount) <= size
            else { return false }
            var onDisk = [UInt8](repeating: 0, count: BlockHeader.size)
            var expectedBytes = onDisk
            let n = try onDisk.withUnsafeMutableBytes { (b) in try file.read(into: b, at: summary.offset) }
            expectedBytes.withUnsafeMutableBytes { summary.header.encode(into: $0.baseAddress!) }
            guard n == BlockHeader.size, onDisk == expectedBytes else { return false }
            if depth == .full {
                if case .failure(let problem) = try load(file, summary.header, at: summary.offset, stored: stored) {
                    result.problem = ScanProblem(path: path, offset: summary.offset, reason: problem.reason, isTail: false)
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
        if result.problem != nil { return result }

        // 2. Blocks past the sidecar: read, check and summarise each.
        var offset = result.validEnd
        var runs = RunBuilder()
        blocks: while offset < size {
            let remaining = size - offset
            guard remaining >= Int64(BlockHeader.size) else {
                result.problem = problem(path, offset, "partial block header", file: file, size: size, expected: expected)
                break
            }
            var headerBytes = [UInt8](repeating: 0, count: BlockHeader.size)
            _ = try headerBytes.withUnsafeMutableBytes { (b) in try file.read(into: b, at: offset) }
            if try headerBytes.allSatisfy({ $0 == 0 }) && isZero(file, from: offset, to: size) { break }
            let decoded = headerBytes.withUnsafeBytes { BlockHeader.decode($0.baseAddress!) }
            guard case .success(let blockHeader) = decoded else {
                if case .failure(let why) = decoded {
                    result.problem = problem(path, offset, why.description, file: file, size: size, expected: expected)
                }
                break
            }
            guard blockHeader.firstPosition == expected else {
                result.problem = problem(
                    path, offset, "block starts at position \(blockHeader.firstPosition), expected \(expected)",
                    file: file, size: size, expected: expected)
                break
            }
            guard remaining >= Int64(BlockHeader.size + blockHeader.storedLength) else {
                result.problem = ScanProblem(path: path, offset: offset, reason: "block runs past end of file", isTail: true)
                break
            }
            let records: [UInt8]
            switch try load(file, blockHeader, at: offset, stored: stored) {
            case .success(let decoded):
                records = decoded
            case .failure(let why):
                let next = offset + Int64(BlockHeader.size + blockHeader.storedLength)
                let followed = try validBlockFollows(file, from: next, size: size, after: expected)
                result.problem = ScanProblem(path: path, offset: offset, reason: why.reason, isTail: !followed)
                break blocks
            }
            runs.reset()
            records.withUnsafeBytes { bytes in
                BlockCodec.forEachRecord(bytes, firstPosition: blockHeader.firstPosition) { view, _ in runs.add(view) }
            }
            result.blocks.append(
                BlockSummary(header: blockHeader, fileFirstPosition: firstPosition, offset: offset, runs: runs.runs))
            offset += Int64(BlockHeader.size + blockHeader.storedLength)
            expected = blockHeader.lastPosition + 1
        }
        result.validEnd = offset
        return result
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

    private func problem(
        _ path: String, _ offset: Int64, _ reason: String, file: any StorageFile, size: Int64, expected: UInt64
    ) -> ScanProblem {
        let followed = (try? validBlockFollows(file, from: offset + 1, size: size, after: expected)) ?? false
        return ScanProblem(path: path, offset: offset, reason: reason, isTail: !followed)
    }

    /// Whether a valid block header for a position ≥ `after` starts anywhere in `from..<size`.
    func validBlockFollows(_ file: any StorageFile, from: Int64, size: Int64, after: UInt64) throws -> Bool {
        guard from < size else { return false }
        let chunk = 1 << 20
        var offset = from
        var buffer = [UInt8](repeating: 0, count: chunk + BlockHeader.size)
        while offset + Int64(BlockHeader.size) <= size {
            let n = try buffer.withUnsafeMutableBytes { (b) in try file.read(into: b, at: offset) }
            let found = buffer.withUnsafeBytes { b -> Bool in
                var i = 0
                while i + BlockHeader.size <= n {
                    if b.baseAddress!.le(i, as: UInt32.self) == BlockHeader.magic,
                        case .success(let h) = BlockHeader.decode(b.baseAddress! + i), h.firstPosition >= after
                    {
                        return true
                    }
                    i += 1
                }
                return false
            }
            if found { return true }
            offset += Int64(chunk)
        }
        return false
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
        let path = layout.indexPath(firstPosition: firstPosition)
        guard let file = try? fileSystem.open(path, mode: .read) else { return onEnd(0) }
        defer { file.close() }
        let bytes = try file.readBytes(count: Int(try file.size()), at: 0)
        try bytes.withUnsafeBytes { (b) in
            guard let header = try? FileHeader.decode(b, kind: .index, path: path), header.firstPosition == firstPosition
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
