/// The `limit` peer: the physical path alone for the same records, the ceiling for this machine.
///
/// `append` packs the records (u32 length + bytes) into record-aligned 64 KiB blocks, compresses each
/// with `LZ4_compress_default` and `write(2)`s it. Durability `none` writes full blocks only (no sync
/// at all); `fsync` writes whatever is pending at each batch boundary (one smaller block) and
/// `fdatasync`s.
/// `read` reads that file back, decompresses every block and walks the records.
///
/// Usage from a scenario (records generated before timing):
/// ```swift
/// let limit = LimitPeer(directory: try work.subdirectory("limit-\(workload.durability)"))
/// rows.append(try limit.append(workload, progress: progress))
/// rows.append(try limit.read(workload, progress: progress))   // reads the file append wrote
/// ```
struct LimitPeer: Sendable {
    static let blockBytes = 65_536

    /// Directory holding the peer's one file.
    let directory: String

    var path: String { directory + "/limit.blocks" }

    init(directory: String) {
        self.directory = directory
    }

    /// Appends every record of `workload` in batches of `workload.batch`; one latency sample per batch
    /// (time to accept the batch, including its `fdatasync` under `fsync`).
    ///
    /// - Parameter recordsPerSync: under `fsync`, flush and `fdatasync` at the first batch boundary
    ///   after this many records since the last sync (default: every batch). A group-commit ceiling
    ///   for N producers is e.g. `N * workload.batch`.
    func append(
        _ workload: Workload,
        recordsPerSync: Int? = nil,
        progress: any ProgressReporting
    ) throws(PeerError) -> Measurement {
        var writer = try LimitBlockWriter(path: path, blockBytes: Self.blockBytes)
        let label = "\(workload.scenario) limit \(workload.durability.rawValue)"
        let size = workload.payloadBytes
        let total = workload.records
        let batch = max(1, workload.batch)
        let syncing = workload.durability == .fsync
        let syncEvery = max(1, recordsPerSync ?? batch)
        var unsynced = 0
        var latency = LatencyRecorder()
        TimedPhase.prepare()
        let seconds: Double = try workload.payloads.withUnsafeBytes { (all) throws(PeerError) -> Double in
            guard let base = all.baseAddress else { return 0 }
            let start = MonotonicClock.nanoseconds()
            var batchStart = 0
            while batchStart < total {
                let batchEnd = min(total, batchStart + batch)
                let batchBegan = MonotonicClock.nanoseconds()
                for index in batchStart..<batchEnd {
                    try writer.append(base + index * size, count: size)
                }
                unsynced += batchEnd - batchStart
                if syncing, unsynced >= syncEvery || batchEnd == total {
                    try writer.flush()
                    try writer.sync()
                    unsynced = 0
                }
                latency.record(nanoseconds: MonotonicClock.nanoseconds() &- batchBegan)
                progress.update(label, done: batchEnd, total: total)
                batchStart = batchEnd
            }
            try writer.flush()
            if syncing, unsynced > 0 { try writer.sync() }
            return MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
        }
        let ratio = writer.fileBytesWritten > 0 ? Double(writer.rawBytesWritten) / Double(writer.fileBytesWritten) : 0
        let blocks = writer.blocksWritten
        let onDisk = writer.fileBytesWritten
        _ = consume writer
        return workload.measurement(
            system: .limit,
            seconds: seconds,
            latency: latency.summary,
            bytesOnDisk: onDisk,
            peakResidentBytes: ResidentMemory.peak(),
            extras: ["lz4_ratio": NumberFormat.fixed(ratio, digits: 2), "blocks": String(blocks)]
        )
    }

    /// Reads back the file a previous `append` of the same workload wrote: every block decompressed,
    /// every record visited. Checks the record count and payload bytes.
    func read(_ workload: Workload, progress: any ProgressReporting) throws(PeerError) -> Measurement {
        let label = "\(workload.scenario) limit read"
        let total = workload.records
        var reader = try LimitBlockReader(path: path, blockBytes: Self.blockBytes)
        TimedPhase.prepare()
        let start = MonotonicClock.nanoseconds()
        let result = try reader.scan { done in progress.update(label, done: done, total: total) }
        let seconds = MonotonicClock.seconds(from: start, to: MonotonicClock.nanoseconds())
        _ = consume reader
        guard result.records == total, result.payloadBytes == total * workload.payloadBytes else {
            throw .verification(
                system: .limit,
                detail:
                    "read \(result.records) records / \(result.payloadBytes) bytes, expected \(total) / \(total * workload.payloadBytes)"
            )
        }
        return workload.measurement(
            system: .limit,
            seconds: seconds,
            bytesOnDisk: DiskUsage.bytes(under: directory),
            peakResidentBytes: ResidentMemory.peak()
        )
    }
}
