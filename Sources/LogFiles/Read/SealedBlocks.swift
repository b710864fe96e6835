import Synchronization

/// The sealed blocks of a log: where each is, and reading, checking and decoding them while the writer runs. The
/// commit thread adds blocks as it seals them; readers look up and read without touching the writer's state.
public final class SealedBlocks: Sendable {
    struct Location: Sendable {
        var header: BlockHeader
        var fileFirstPosition: UInt64
        var offset: Int64
    }

    private struct State {
        /// Block `base + i` is `blocks[i]`: indexes stay those given out when blocks are dropped from the front.
        var base = 0
        var blocks: [Location] = []
        var fresh: [BlockSummary] = []
        var files: [UInt64: any StorageFile] = [:]
    }

    private let state = Mutex(State())
    private let fileSystem: any FileSystem
    private let layout: StoreLayout

    init(fileSystem: any FileSystem, layout: StoreLayout, blocks: [BlockSummary]) {
        self.fileSystem = fileSystem
        self.layout = layout
        state.withLock { state in
            state.blocks = blocks.map {
                Location(header: $0.header, fileFirstPosition: $0.fileFirstPosition, offset: $0.offset)
            }
        }
    }

    func publish(_ summary: BlockSummary) {
        state.withLock { state in
            state.blocks.append(
                Location(header: summary.header, fileFirstPosition: summary.fileFirstPosition, offset: summary.offset))
            state.fresh.append(summary)
        }
    }

    /// One past the index of the last sealed block (indexes are not reused when blocks are dropped).
    public var count: Int { state.withLock { $0.base + $0.blocks.count } }

    /// The last position sealed into a block (0 when none).
    public var lastPosition: UInt64 { state.withLock { $0.blocks.last?.header.lastPosition ?? 0 } }

    func location(at index: Int) -> Location? {
        state.withLock { $0.blocks.indices.contains(index - $0.base) ? $0.blocks[index - $0.base] : nil }
    }

    /// The sealed log files in order: first position, last position sealed in it, newest timestamp, blocks.
    func files() -> [(first: UInt64, last: UInt64, maxTimestamp: Int64, blocks: Int)] {
        state.withLock { state in
            var out: [(first: UInt64, last: UInt64, maxTimestamp: Int64, blocks: Int)] = []
            for block in state.blocks {
                if let last = out.last, last.first == block.fileFirstPosition {
                    out[out.count - 1] = (
                        last.first, block.header.lastPosition, max(last.maxTimestamp, block.header.maxTimestamp),
                        last.blocks + 1
                    )
                } else {
                    out.append((block.fileFirstPosition, block.header.lastPosition, block.header.maxTimestamp, 1))
                }
            }
            return out
        }
    }

    /// Forgets the blocks of log files before `position` (a file's first position) and their open files (a read
    /// in progress keeps its file open until it is done).
    func drop(before position: UInt64) {
        state.withLock { state in
            let count = state.blocks.partitioningIndex { $0.fileFirstPosition >= position }
            state.blocks.removeFirst(count)
            state.base += count
            for first in Array(state.files.keys) where first < position { state.files[first] = nil }
        }
    }

    /// The header of block `index` (0-based, log order).
    public func header(at index: Int) -> BlockHeader? { location(at: index)?.header }

    /// Summaries of blocks sealed since the last call, in order (for an index kept up to date by the caller).
    public func takeFresh() -> [BlockSummary] {
        state.withLock { state in
            defer { state.fresh.removeAll() }
            return state.fresh
        }
    }

    /// Index of the block holding `position`, or of the first block after it; nil past the last block.
    public func index(containing position: UInt64) -> Int? {
        state.withLock { state in
            let index = state.blocks.partitioningIndex { $0.header.lastPosition >= position }
            return index < state.blocks.count ? state.base + index : nil
        }
    }

    /// Reads, checks and decodes block `index`.
    /// - Throws: `LogFilesError` — `.corrupt` when the block fails its checks, `.io` on read failure,
    ///   `.invalidArgument` for an index out of range.
    public func read(at index: Int) throws -> [Entry] {
        let (location, file) = try located(at: index)
        return try BlockReading.read(location.header, file: file, offset: location.offset)
    }

    /// Where block `index` is and its file, taken together: compaction replaces a file's blocks and its file
    /// at once (``replace(file:with:)``), and a reader must not pair one's offset with the other.
    private func located(at index: Int) throws -> (Location, any StorageFile) {
        while true {
            let found = state.withLock { state -> (Location, (any StorageFile)?)? in
                guard state.blocks.indices.contains(index - state.base) else { return nil }
                let location = state.blocks[index - state.base]
                return (location, state.files[location.fileFirstPosition])
            }
            guard let (location, cached) = found else { throw LogFilesError.invalidArgument("no block \(index)") }
            if let cached { return (location, cached) }
            let opened = try fileSystem.open(layout.logPath(firstPosition: location.fileFirstPosition), mode: .read)
            // Installed unless the file was replaced (or dropped) meanwhile: then look again.
            let installed = state.withLock { state -> (Location, any StorageFile)? in
                guard state.blocks.indices.contains(index - state.base) else { return nil }
                let current = state.blocks[index - state.base]
                if let existing = state.files[current.fileFirstPosition] { return (current, existing) }
                guard current.offset == location.offset, current.header == location.header else { return nil }
                state.files[current.fileFirstPosition] = opened
                return (current, opened)
            }
            if let installed { return installed }
        }
    }

    /// Replaces the blocks of log file `first` (rewritten by compaction: the same blocks at new offsets, with
    /// new stored bytes) and the file they are read from. Readers that hold the old file finish with it.
    /// - Returns: The indexes of the file's blocks; nil when the index no longer has the file (retention dropped
    ///   it) or its block count changed.
    func replace(file first: UInt64, with blocks: [BlockSummary], opened: any StorageFile) -> Range<Int>? {
        state.withLock { state in
            let start = state.blocks.partitioningIndex { $0.fileFirstPosition >= first }
            let end = state.blocks[start...].partitioningIndex { $0.fileFirstPosition > first }
            guard end - start == blocks.count, blocks.count > 0 else { return nil }
            for (i, block) in zip(start..<end, blocks) {
                state.blocks[i] = Location(header: block.header, fileFirstPosition: first, offset: block.offset)
            }
            state.files[first] = opened
            return (state.base + start)..<(state.base + end)
        }
    }

    /// The locations of the blocks of log file `first`, in order, with their indexes.
    func blocks(ofFile first: UInt64) -> [(index: Int, location: Location)] {
        state.withLock { state in
            let start = state.blocks.partitioningIndex { $0.fileFirstPosition >= first }
            let end = state.blocks[start...].partitioningIndex { $0.fileFirstPosition > first }
            return (start..<end).map { (state.base + $0, state.blocks[$0]) }
        }
    }

    /// Block `index` as stored (header and stored bytes, read with one `pread`), not checked: the reader that
    /// decodes it checks it (``StoredBlock/entries(_:)``).
    /// - Throws: `LogFilesError` — `.io` on read failure, `.corrupt` for a short read, `.invalidArgument` for
    ///   an index out of range.
    package func stored(at index: Int) throws -> StoredBlock {
        let (location, file) = try located(at: index)
        let header = location.header
        let offset = location.offset + Int64(BlockHeader.size)
        var short = false
        let body = try [UInt8](unsafeUninitializedCapacity: header.storedLength) { buffer, initialized in
            let count = try file.read(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
            short = count != header.storedLength
            initialized = short ? 0 : count
        }
        guard !short else { throw LogFilesError.corrupt("block truncated", path: file.path, offset: location.offset) }
        return StoredBlock(header: header, body: body)
    }

    /// Re-reads block `index` from its file and checks it (header as indexed at open, CRC, decompression, record
    /// framing) without building entries: the unit of work of a background scrub.
    /// - Returns: The bytes read.
    /// - Throws: `LogFilesError` — `.corrupt` with the file and the block's offset, `.io` on read failure,
    ///   `.invalidArgument` for an index out of range.
    public func verify(at index: Int) throws -> Int {
        let (location, file) = try located(at: index)
        return try BlockReading.verify(
            location.header, file: file, offset: location.offset, buffers: BlockReading.Buffers())
    }

    func file(_ fileFirstPosition: UInt64) throws -> any StorageFile {
        if let file = state.withLock({ $0.files[fileFirstPosition] }) { return file }
        let file = try fileSystem.open(layout.logPath(firstPosition: fileFirstPosition), mode: .read)
        return state.withLock { state in
            if let existing = state.files[fileFirstPosition] { return existing }
            state.files[fileFirstPosition] = file
            return file
        }
    }

    func closeFiles() {
        state.withLock { state in
            for file in state.files.values { file.close() }
            state.files.removeAll()
        }
    }
}
