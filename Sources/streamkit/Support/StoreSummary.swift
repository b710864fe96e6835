import Foundation
import StreamKitEngine
import StreamKitLogFiles

/// What `inspect` reports of one store, computed from block summaries and WAL entries after checking every
/// block's CRC (no decompression); damage is read past, so the figures count everything readable.
struct StoreSummary: Encodable {
    struct Segment: Encodable {
        var space: String
        var segment: String
        var entries: Int
        var firstSequence: UInt64
        var lastSequence: UInt64
        var firstTimestamp: Int64
        var lastTimestamp: Int64

        /// The lines `inspect` prints for `segments` (sorted by space): a line per space, then one per segment.
        static func lines(_ segments: [Segment]) -> [String] {
            var lines: [String] = []
            var space: String?
            for segment in segments {
                if segment.space != space {
                    space = segment.space
                    let count = segments.filter { $0.space == segment.space }.count
                    lines.append("  space \(segment.space): \(count) segment\(count == 1 ? "" : "s")")
                }
                lines.append(
                    "    \(segment.segment): \(segment.entries) entries, sequences \(segment.firstSequence)…"
                        + "\(segment.lastSequence), \(isoTime(segment.firstTimestamp)) … \(isoTime(segment.lastTimestamp))"
                )
            }
            return lines
        }
    }

    var id: String
    var path: String
    var logFiles: Int
    var walFiles: Int
    var blocks: Int
    var entries: Int
    var walEntries: Int
    var storedBytes: Int
    var rawBytes: Int
    var compressionRatio: Double
    var firstPosition: UInt64
    var lastPosition: UInt64
    var segments: [Segment]
    /// Where the log starts (1 unless retention dropped its oldest files).
    var logStart: UInt64
    /// Segments none of whose entries is left (dropped by retention), with the sequence they continue after.
    var retiredSegments: [StoreManifest.RetiredSegment]
    /// Deletions whose entries are still in the log files (left out of `segments` and every read).
    var deletions: [StoreManifest.Deletion]
    /// Entries those deletions cover that are still in the files (compaction erases them).
    var deletedEntriesOnDisk = 0
    /// Erased records (what compaction left of deleted entries: a position and a time, no data).
    var erasedRecords = 0
    /// Entries every read returns (what `segments` counts).
    var liveEntries = 0
    /// The store's own retention policy (`streamkit retention`), which replaces the server's default; nil: none.
    var retentionPolicy: PolicySummary?
    /// The policy that applies: the store's own, or else the default `inspect` was given (`--retention-…`).
    var appliedPolicy = PolicySummary(.init())
    /// Stored bytes of the deleted entries still on disk (an estimate: each block's share by entry count);
    /// compaction reclaims them.
    var deletedBytesOnDisk = 0
    /// Log files (with their block indexes) past the applied policy's age or size bound: the next retention pass
    /// drops them.
    var expiredFiles = 0
    /// Their bytes.
    var expiredBytes: Int64 = 0
    /// Live entries past the applied policy's per-segment bound: the next retention pass deletes them.
    var expiredEntries = 0
    /// Stored bytes of blocks less the deleted entries' share and the expired files: what stays.
    var liveBytes = 0
    /// Durable consumers (their acknowledged positions; lag needs the store open).
    var consumers: [ConsumerSummary] = []
    /// Damage: what opening the store would refuse, each with its file and offset.
    var damage: [String]
    /// Torn tails: what a crash left at the end of the last files, which opening the store cuts.
    var tornTails: [String]
    /// The damage, for reporting on stderr.
    let damageFound: [ScanProblem]

    private enum CodingKeys: String, CodingKey {
        case id, path, logFiles, walFiles, blocks, entries, walEntries, storedBytes, rawBytes, compressionRatio,
            firstPosition, lastPosition, segments, logStart, retiredSegments, deletions, deletedEntriesOnDisk,
            erasedRecords, liveEntries, retentionPolicy, appliedPolicy, deletedBytesOnDisk, expiredFiles, expiredBytes,
            expiredEntries, liveBytes, consumers, damage, tornTails
    }

    /// - Parameters:
    ///   - configured: The default policy for stores without their own (the server's `--retention-…` bounds).
    ///   - now: Nanoseconds since the epoch, for the age bound.
    init(id: String, path: String, configured: LogRetention.Policy = .init(), now: Int64) throws {
        let reader = try LogReader(directory: path, check: .checksums)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: path + "/log")) ?? []
        let wals = (try? FileManager.default.contentsOfDirectory(atPath: path + "/wal")) ?? []
        self.id = id
        self.path = path
        logFiles = files.filter { $0.hasSuffix(".log") }.count
        walFiles = wals.filter { $0.hasSuffix(".wal") }.count
        blocks = reader.blocks.count
        entries = reader.blocks.reduce(0) { $0 + $1.header.entryCount }
        storedBytes = reader.blocks.reduce(0) { $0 + $1.header.storedLength }
        rawBytes = reader.blocks.reduce(0) { $0 + $1.header.rawLength }
        compressionRatio = storedBytes > 0 ? Double(rawBytes) / Double(storedBytes) : 0
        firstPosition = reader.blocks.first?.header.firstPosition ?? reader.walEntries.first?.position ?? 0
        damageFound = reader.damage
        damage = reader.damage.map { "\($0.path) @\($0.offset): \($0.reason)" }
        do {
            consumers = try ConsumerFile.read(directory: path).map { ConsumerSummary($0) }
        } catch {
            damage.append("\(path)/consumers: \(error)")
        }
        let manifest = reader.manifest  // The default when damaged: verify reports it.
        logStart = manifest.logStart
        retiredSegments = manifest.retired
        deletions = manifest.deletions
        let deleted = manifest.deletionsBySegment
        tornTails = reader.problems.filter(\.isTail).map { "\($0.path) @\($0.offset): \($0.reason)" }

        var bySegment: [String: Segment] = [:]
        var order: [String] = []
        func note(
            space: String, segment: String, count: Int, first: UInt64, last: UInt64, firstTs: Int64, lastTs: Int64
        ) {
            let key = space + "\u{0}" + segment
            if var known = bySegment[key] {
                known.entries += count
                known.firstSequence = min(known.firstSequence, first)
                known.lastSequence = max(known.lastSequence, last)
                known.firstTimestamp = min(known.firstTimestamp, firstTs)
                known.lastTimestamp = max(known.lastTimestamp, lastTs)
                bySegment[key] = known
            } else {
                order.append(key)
                bySegment[key] = Segment(
                    space: space, segment: segment, entries: count, firstSequence: first, lastSequence: last,
                    firstTimestamp: firstTs, lastTimestamp: lastTs)
            }
        }
        for (index, block) in reader.blocks.enumerated() {
            erasedRecords += block.runs.filter(\.space.isEmpty).reduce(0) { $0 + $1.count }
            let deletedBefore = deletedEntriesOnDisk
            for run in block.runs where !run.space.isEmpty {  // (The empty names count erased records.)
                var first = run.firstSequence
                var firstTimestamp = run.firstTimestamp
                if let deletion = deleted[StoreManifest.SegmentName(space: run.space, segment: run.segment)],
                    first < deletion.before
                {
                    deletedEntriesOnDisk += Int(min(run.lastSequence + 1, deletion.before) - first)
                    guard run.lastSequence >= deletion.before else { continue }  // All of the run is deleted.
                    // A run's sequences are consecutive: the entries from `before` on are left. Its first one's time
                    // is in the block.
                    first = deletion.before
                    let left = try? reader.readBlock(at: index).first {
                        $0.space == run.space && $0.segment == run.segment && $0.sequence == first
                    }
                    firstTimestamp = left?.timestamp ?? firstTimestamp
                }
                note(
                    space: run.space, segment: run.segment,
                    count: first == run.firstSequence ? run.count : Int(run.lastSequence - first + 1), first: first,
                    last: run.lastSequence, firstTs: firstTimestamp, lastTs: run.lastTimestamp)
            }
            let deletedHere = deletedEntriesOnDisk - deletedBefore
            if deletedHere > 0, block.header.entryCount > 0 {
                deletedBytesOnDisk += block.header.storedLength * deletedHere / block.header.entryCount
            }
        }
        deletedEntriesOnDisk += reader.walEntries.filter { !$0.space.isEmpty && reader.isDeleted($0) }.count
        for entry in reader.walEntries where !reader.isDeleted(entry) {
            note(
                space: entry.space, segment: entry.segment, count: 1, first: entry.sequence, last: entry.sequence,
                firstTs: entry.timestamp, lastTs: entry.timestamp)
        }
        walEntries = reader.walEntries.count
        lastPosition = reader.endPosition - 1
        segments = order.compactMap { bySegment[$0] }.sorted { ($0.space, $0.segment) < ($1.space, $1.segment) }
        liveEntries = segments.reduce(0) { $0 + $1.entries }

        let policy = manifest.policy ?? configured
        retentionPolicy = manifest.policy.map(PolicySummary.init)
        appliedPolicy = PolicySummary(policy)
        if let limit = policy.maxEntriesPerSegment {
            expiredEntries = segments.reduce(0) { $0 + max(0, $1.entries - limit) }
        }
        if policy.maxAge != nil || policy.maxBytes != nil {
            var newest: [Int64] = []
            var bytes: [Int64] = []
            var files: [UInt64] = []
            for block in reader.blocks {
                if files.last != block.fileFirstPosition {
                    files.append(block.fileFirstPosition)
                    newest.append(block.header.maxTimestamp)
                    let size = { (path: String) in
                        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.int64Value ?? 0
                    }
                    bytes.append(
                        size(StoreLayout(root: path).logPath(firstPosition: block.fileFirstPosition))
                            + size(StoreLayout(root: path).indexPath(firstPosition: block.fileFirstPosition)))
                } else {
                    newest[newest.count - 1] = max(newest[newest.count - 1], block.header.maxTimestamp)
                }
            }
            expiredFiles = policy.filesToDrop(newest: newest, bytes: bytes, now: now)
            expiredBytes = bytes.prefix(expiredFiles).reduce(0, +)
            var expiredStored = 0
            let expired = Set(files.prefix(expiredFiles))
            for block in reader.blocks where expired.contains(block.fileFirstPosition) {
                expiredStored += block.header.storedLength
            }
            liveBytes = max(0, storedBytes - deletedBytesOnDisk - expiredStored)
        } else {
            liveBytes = max(0, storedBytes - deletedBytesOnDisk)
        }
    }
}

/// Formats nanoseconds since the epoch as an ISO 8601 UTC time with microseconds.
func isoTime(_ nanoseconds: Int64) -> String {
    let seconds = Double(nanoseconds) / 1e9
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Date(timeIntervalSince1970: seconds))
}
