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

    @Test(
        "while the sealer is stuck on a log write, the appender compresses queued blocks itself, stops at the queue bound, and loses nothing once the write returns"
    )
    func appenderHelpsAStuckSealer() async throws {
        try await withTemporaryDirectory { dir in
            // Arrange: 1 KiB blocks, so 400 transactions make ~130 blocks, far more than the 16 that may queue.
            let gate = LogWriteGate()
            var configuration = smallConfiguration()
            configuration.logFileBytes = 1 << 20
            configuration.fileSystem = FaultInjectingFileSystem(beforeWrite: { path in
                if path.hasSuffix(".log") { gate.pass() }
            })
            let writer = try LogWriter.open(directory: dir, configuration: configuration).writer
            let transactions = (0..<400).map { transaction($0) }
            gate.close()

            // Act: append everything while the first log write is held, then let it through.
            let appender = Task { try await appendAll(writer, transactions) }
            #expect(
                try await eventually { gate.waiting == 1 && writer.builderCompressions >= CommitWorker.resumeBlocks })
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
