internal import CStreamKitSupport
import CoreMetrics

/// The write side of the log: the current log file and its block-index sidecar, rolling, write-back hints.
/// Owned by the commit thread.
final class LogOutput {
    let fileSystem: any FileSystem
    let layout: StoreLayout
    let fileBytes: Int
    let writebackBytes: Int
    let syncNames: Bool
    private var file: (any StorageFile)?
    private var index: (any StorageFile)?
    private(set) var fileFirstPosition: UInt64 = 0
    private var size: Int64 = 0
    private var indexSize: Int64 = 0
    private var unsynced = false
    private var sinceWriteback = 0
    private var writebackFrom: Int64 = 0
    private let indexBuffer = RawBuffer(capacity: 4096)
    /// Position of the last entry written to the current file (0 when none).
    private(set) var lastPosition: UInt64 = 0

    /// The file being appended to and the last position in it, for an off-thread `fdatasync`.
    var syncTarget: (file: any StorageFile, through: UInt64)? {
        guard let file, unsynced, lastPosition > 0 else { return nil }
        return (file, lastPosition)
    }

    /// Bytes written and sync durations.
    let metrics: LogMetrics

    init(
        fileSystem: any FileSystem, layout: StoreLayout, fileBytes: Int, writebackBytes: Int, syncNames: Bool,
        metrics: LogMetrics = LogMetrics(factory: nil)
    ) {
        self.metrics = metrics
        self.fileSystem = fileSystem
        self.layout = layout
        self.fileBytes = fileBytes
        self.writebackBytes = writebackBytes
        self.syncNames = syncNames
    }

    /// Continues an existing log file at `size` and its sidecar at `indexSize`.
    func resume(fileFirstPosition: UInt64, size: Int64, indexSize: Int64) throws {
        self.file = try fileSystem.open(layout.logPath(firstPosition: fileFirstPosition), mode: .readWrite)
        self.index = try fileSystem.open(layout.indexPath(firstPosition: fileFirstPosition), mode: .readWrite)
        self.fileFirstPosition = fileFirstPosition
        self.size = size
        self.indexSize = indexSize
        writebackFrom = size
    }

    /// Appends a sealed block (header + stored bytes in `block`) and its sidecar record; returns its summary.
    func append(block: RawBuffer, header: BlockHeader, runs: [SegmentRun], clock: () -> Int64) throws -> BlockSummary {
        if file == nil || (size + Int64(block.count) > Int64(fileBytes) && size > Int64(FileHeader.size)) {
            try roll(firstPosition: header.firstPosition, clock: clock)
        }
        guard let file, let index else { throw LogFilesError.closed }
        let summary = BlockSummary(header: header, fileFirstPosition: fileFirstPosition, offset: size, runs: runs)
        do {
            try file.write(block.bytes, at: size)
        } catch {
            try? file.truncate(to: size)
            throw error
        }
        size += Int64(block.count)
        metrics.logBytes.increment(by: block.count)
        unsynced = true
        lastPosition = header.lastPosition
        indexBuffer.count = 0
        BlockIndexCodec.append(summary, to: indexBuffer)
        try index.write(indexBuffer.bytes, at: indexSize)
        indexSize += Int64(indexBuffer.count)
        sinceWriteback += block.count
        if sinceWriteback >= writebackBytes, let posix = file as? PosixFile {
            _ = sk_start_writeback(posix.fd, writebackFrom, size - writebackFrom)
            writebackFrom = size
            sinceWriteback = 0
        }
        return summary
    }

    /// Makes every block written so far durable (a file is synced before the log rolls away from it, so
    /// that only the last log file can ever have a torn tail).
    func sync() throws {
        guard unsynced, let file else { return }
        try LogMetrics.timed(metrics.logSync) { try file.sync() }
        unsynced = false
    }

    private func roll(firstPosition: UInt64, clock: () -> Int64) throws {
        try sync()
        file?.close()
        index?.close()
        file = nil
        index = nil
        let header = FileHeader(
            kind: .log, firstPosition: firstPosition, fileID: firstPosition, createdAt: realtimeNanoseconds())
        let logPath = layout.logPath(firstPosition: firstPosition)
        let newFile = try fileSystem.open(logPath, mode: .create)
        try header.bytes.withUnsafeBytes { (b) in try newFile.write(b, at: 0) }
        try newFile.sync()
        let indexPath = layout.indexPath(firstPosition: firstPosition)
        try? fileSystem.remove(indexPath)
        let newIndex = try fileSystem.open(indexPath, mode: .create)
        var indexHeader = header
        indexHeader.kind = .index
        try indexHeader.bytes.withUnsafeBytes { (b) in try newIndex.write(b, at: 0) }
        if syncNames { try fileSystem.syncDirectory(layout.logDirectory) }
        file = newFile
        index = newIndex
        fileFirstPosition = firstPosition
        size = Int64(FileHeader.size)
        indexSize = Int64(FileHeader.size)
        writebackFrom = size
        sinceWriteback = 0
    }

    func close() throws {
        try sync()
        if let index { try index.sync() }
        file?.close()
        index?.close()
        file = nil
        index = nil
    }
}
