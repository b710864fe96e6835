import Foundation
import Logging
import StreamKitLogFiles

/// StreamKit rows of the `logfiles.*` scenarios: the LogFiles layer alone (no engine), driven with the
/// same records, transaction size and durability the peers get.
enum LogFilesStreamKitRows {
    /// Builds the transactions of one segment (sequences 1…n) before timing starts.
    static func transactions(_ workload: Workload) -> [TransactionInput] {
        var out: [TransactionInput] = []
        out.reserveCapacity(workload.records / max(1, workload.batch) + 1)
        var index = 0
        var number: UInt64 = 1
        while index < workload.records {
            let end = min(index + workload.batch, workload.records)
            let records = (index..<end).map { i in
                Record(sequence: UInt64(i + 1), payload: Array(workload.payloads.record(i)))
            }
            out.append(
                TransactionInput(
                    space: "orders", segment: "orders-1", transactionID: UUID(), transactionNumber: number,
                    records: records))
            number += 1
            index = end
        }
        return out
    }

    static func configuration(_ durability: BenchDurability) -> LogConfiguration {
        var configuration = LogConfiguration()
        configuration.durability = durability == .fsync ? .fsync : .none
        configuration.logger.logLevel = .warning
        // Block-size experiments: STREAMKIT_BENCH_BLOCK_KIB=16|32|64 (default: the library default, 64).
        if let text = ProcessInfo.processInfo.environment["STREAMKIT_BENCH_BLOCK_KIB"], let kib = Int(text), kib > 0 {
            configuration.blockBytes = kib << 10
        }
        return configuration
    }

    /// `logfiles.append`: one appender awaiting each transaction (as the C reference did), timed to the last
    /// acknowledgement; then 16 concurrent appenders (group commit) on a fresh store, reported in `extras`.
    static func append(
        _ workload: Workload, directory: String, progress: any ProgressReporting
    ) async throws -> [Measurement] {
        let transactions = transactions(workload)
        TimedPhase.prepare()
        let opened = try LogWriter.open(
            directory: directory + "/serial", configuration: configuration(workload.durability))
        let writer = opened.writer
        var latency = LatencyRecorder()
        let start = MonotonicClock.nanoseconds()
        for (i, transaction) in transactions.enumerated() {
            let t0 = MonotonicClock.nanoseconds()
            try await writer.append(transaction)
            latency.record(nanoseconds: MonotonicClock.nanoseconds() - t0)
            if i % 256 == 0 {
                progress.update("logfiles.append streamkit", done: i * workload.batch, total: workload.records)
            }
        }
        let end = MonotonicClock.nanoseconds()
        let closeStart = MonotonicClock.nanoseconds()
        await writer.close()
        let closeSeconds = MonotonicClock.seconds(from: closeStart, to: MonotonicClock.nanoseconds())
        let disk = DiskUsage.bytes(under: directory + "/serial")

        // Group commit: 16 appenders sharing the writer.
        let grouped = try LogWriter.open(
            directory: directory + "/group", configuration: configuration(workload.durability)
        ).writer
        let producers = 16
        let groupStart = MonotonicClock.nanoseconds()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for p in 0..<producers {
                group.addTask {
                    var i = p
                    while i < transactions.count {
                        var t = transactions[i]
                        t.segment = "orders-\(p)"
                        try await grouped.append(t)
                        i += producers
                    }
                }
            }
            try await group.waitForAll()
        }
        let groupSeconds = MonotonicClock.seconds(from: groupStart, to: MonotonicClock.nanoseconds())
        await grouped.close()

        return [
            workload.measurement(
                system: .streamkit, seconds: MonotonicClock.seconds(from: start, to: end), latency: latency.summary,
                bytesOnDisk: disk, peakResidentBytes: ResidentMemory.peak(),
                extras: [
                    "close_ms": String(format: "%.1f", closeSeconds * 1000),
                    "group16_records_per_second": String(format: "%.0f", Double(workload.records) / groupSeconds),
                ])
        ]
    }

    /// `logfiles.read`: write the workload untimed (durability `none`, closed so every entry is in a block),
    /// then time reading every entry from the start through the read-only `LogReader` (CRC, decompress,
    /// decode into `Entry` values). Also reports the reopen (recovery) time and the compression ratio.
    static func read(
        _ workload: Workload, directory: String, progress: any ProgressReporting
    ) async throws -> [Measurement] {
        let transactions = transactions(workload)
        let store = directory + "/store"
        let opened = try LogWriter.open(directory: store, configuration: configuration(.none))
        for transaction in transactions { try await opened.writer.append(transaction) }
        await opened.writer.close()

        let reopenStart = MonotonicClock.nanoseconds()
        let reopened = try LogWriter.open(directory: store, configuration: configuration(.none))
        let reopenSeconds = MonotonicClock.seconds(from: reopenStart, to: MonotonicClock.nanoseconds())
        await reopened.writer.close()

        TimedPhase.prepare()
        let start = MonotonicClock.nanoseconds()
        let reader = try LogReader(directory: store)
        var count = 0
        var bytes = 0
        try reader.forEachEntry(from: 1) { entry in
            count += 1
            bytes &+= entry.payload.count
            if count & 0xFFFF == 0 { progress.update("logfiles.read streamkit", done: count, total: workload.records) }
            return true
        }
        let end = MonotonicClock.nanoseconds()
        let allocations = TimedPhase.allocations()
        guard count == workload.records, bytes == workload.records * workload.payloadBytes else {
            throw ReadBackMismatch(read: count, bytes: bytes, written: workload.records)
        }
        let raw = reader.blocks.reduce(0) { $0 + $1.header.rawLength }
        let stored = reader.blocks.reduce(0) { $0 + $1.header.storedLength }
        return [
            workload.measurement(
                system: .streamkit, seconds: MonotonicClock.seconds(from: start, to: end),
                bytesOnDisk: DiskUsage.bytes(under: store), peakResidentBytes: ResidentMemory.peak(),
                extras: [
                    "compression_ratio": String(format: "%.2f", Double(raw) / Double(max(stored, 1))),
                    "reopen_ms": String(format: "%.1f", reopenSeconds * 1000),
                    "blocks": "\(reader.blocks.count)",
                    "crc32c_mb_per_second": String(format: "%.0f", crc32cThroughput()),
                    "allocations_per_entry": String(format: "%.3f", Double(allocations) / Double(max(count, 1))),
                ])
        ]
    }
}

/// CRC32C throughput in MB/s over 64 KiB buffers (the checksum of every block, frame and header).
func crc32cThroughput() -> Double {
    let buffer = [UInt8](repeating: 0x5A, count: 64 << 10)
    var crc: UInt32 = 0
    let rounds = 4096
    let start = MonotonicClock.nanoseconds()
    buffer.withUnsafeBytes { bytes in
        for _ in 0..<rounds { crc = CRC32C.checksum(bytes, continuing: crc) }
    }
    let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
    return Double(rounds * buffer.count) / seconds / 1_000_000
}

/// The read-back of `logfiles.read` did not return what was written.
struct ReadBackMismatch: Error, CustomStringConvertible {
    var read: Int
    var bytes: Int
    var written: Int

    var description: String { "logfiles.read: read \(read) entries (\(bytes) payload bytes) but wrote \(written)" }
}
