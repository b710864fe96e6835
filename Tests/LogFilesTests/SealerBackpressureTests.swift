import Foundation
import Testing
@testable import StreamKitLogFiles

/// Holds writes to log files (`*.log`) until released, to stall the sealer thread.
final class LogWriteGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var open = true
    private var held = 0

    func close() {
        condition.lock()
        open = false
        condition.unlock()
    }

    func release() {
        condition.lock()
        open = true
        condition.broadcast()
        condition.unlock()
    }

    /// Log writes waiting at the gate right now.
    var waiting: Int {
        condition.lock()
        defer { condition.unlock() }
        return held
    }

    func pass() {
        condition.lock()
        held += 1
        while !open { condition.wait() }
        held -= 1
        condition.unlock()
    }
}

/// A file system whose log-file writes go through a ``LogWriteGate``.
struct GatedFileSystem: FileSystem {
    let base: any FileSystem
    let gate: LogWriteGate

    func open(_ path: String, mode: OpenMode) throws -> any StorageFile {
        let file = try base.open(path, mode: mode)
        return path.hasSuffix(".log") ? GatedFile(base: file, gate: gate) : file
    }
    func list(_ directory: String) throws -> [String] { try base.list(directory) }
    func createDirectory(_ path: String) throws { try base.createDirectory(path) }
    func remove(_ path: String) throws { try base.remove(path) }
    func rename(_ from: String, to: String) throws { try base.rename(from, to: to) }
    func exists(_ path: String) -> Bool { base.exists(path) }
    func syncDirectory(_ path: String) throws { try base.syncDirectory(path) }
    func isDirectory(_ path: String) -> Bool { base.isDirectory(path) }
}

final class GatedFile: StorageFile {
    let base: any StorageFile
    let gate: LogWriteGate

    init(base: any StorageFile, gate: LogWriteGate) {
        self.base = base
        self.gate = gate
    }

    var path: String { base.path }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        gate.pass()
        try base.write(bytes, at: offset)
    }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try base.read(into: buffer, at: offset)
    }
    func sync() throws { try base.sync() }
    func truncate(to size: Int64) throws { try base.truncate(to: size) }
    func size() throws -> Int64 { try base.size() }
    func close() { base.close() }
}

@Suite struct SealerBackpressureTests {
    /// Waits (up to 20 s) until `condition` holds; there is no signal to wait on inside the writer's threads.
    private func eventually(_ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition() {
            if ContinuousClock.now > deadline { return false }
            try await Task.sleep(for: .milliseconds(2))
        }
        return true
    }

    @Test("while the sealer is stuck on a log write, the appender compresses queued blocks itself, stops at the queue bound, and loses nothing once the write returns")
    func appenderHelpsAStuckSealer() async throws {
        try await withTemporaryDirectory { dir in
            // Arrange: 1 KiB blocks, so 400 transactions make ~130 blocks, far more than the 16 that may queue.
            let gate = LogWriteGate()
            var configuration = smallConfiguration()
            configuration.logFileBytes = 1 << 20
            configuration.fileSystem = GatedFileSystem(base: PosixFileSystem(), gate: gate)
            let writer = try LogWriter.open(directory: dir, configuration: configuration).writer
            let transactions = (0..<400).map { transaction($0) }
            gate.close()

            // Act: append everything while the first log write is held, then let it through.
            let appender = Task { try await appendAll(writer, transactions) }
            #expect(try await eventually { gate.waiting == 1 && writer.builderCompressions >= CommitWorker.resumeBlocks })
            let stalledAt = writer.nextPosition
            gate.release()
            let committed = try await appender.value
            await writer.close()

            // Assert: the appender was held back (it cannot run ahead of a stuck sealer), helped, and every
            // record reached the log in order.
            #expect(stalledAt < UInt64(transactions.count * 3))
            #expect(writer.builderCompressions > 0)
            let entries = try readAll(dir)
            #expect(entries.map(Fingerprint.init) == fingerprints(transactions))
            #expect(entries.map(\.position) == Array(1...UInt64(entries.count)))
            #expect(committed.last?.lastPosition == UInt64(entries.count))
        }
    }
}
