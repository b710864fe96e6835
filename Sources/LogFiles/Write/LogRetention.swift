package import Logging

/// Drops whole log files from the start of a closed store's log: the oldest entries go, their disk space is
/// given back, and the store remembers where its log now starts and where each segment whose entries all went
/// had got to (``StoreManifest``), so positions and sequences are never reused.
///
/// Crash-safe at every step: the manifest naming the new start is written (atomically, synced) before any file is
/// unlinked, and opening a store removes files before the start it names, finishing an interrupted drop. The last
/// log file (the one a writer appends to) and entries not sealed yet are never dropped.
public enum LogRetention {
    /// Which of the oldest entries may go. A log file is dropped when it is past either bound; files go oldest
    /// first and only as a prefix of the log.
    public struct Policy: Sendable, Hashable, CustomStringConvertible {
        /// Entries older than this (by timestamp, against `now`) may go: a file goes once its newest entry has.
        public var maxAge: Duration?
        /// The log may keep at most this many bytes of log files and block indexes; the oldest files go until it
        /// fits (or only the last file is left).
        public var maxBytes: Int64?
        /// Each segment keeps at most its newest this many entries; older ones are deleted (and then erased by
        /// compaction). Applied by the engine (`Store.applyRetention`) and by ``truncate(directory:policy:configuration:)``.
        public var maxEntriesPerSegment: Int?

        /// Creates a policy; nil bounds do not drop anything.
        public init(maxAge: Duration? = nil, maxBytes: Int64? = nil, maxEntriesPerSegment: Int? = nil) {
            self.maxAge = maxAge
            self.maxBytes = maxBytes
            self.maxEntriesPerSegment = maxEntriesPerSegment
        }

        /// The bounds in words, e.g. `max age 7d, max bytes 1073741824` (`no bound` when it has none).
        public var description: String {
            var parts: [String] = []
            if let maxAge { parts.append("max age \(Self.age(maxAge))") }
            if let maxBytes { parts.append("max bytes \(maxBytes)") }
            if let maxEntriesPerSegment { parts.append("max entries per segment \(maxEntriesPerSegment)") }
            return parts.isEmpty ? "no bound" : parts.joined(separator: ", ")
        }

        /// An age in the largest unit that divides it (`7d`, `36h`, `90s`, `1500ms`, `12ns`).
        static func age(_ duration: Duration) -> String {
            let nanoseconds = duration.nanoseconds
            for (unit, size) in [
                ("d", Int64(86_400_000_000_000)), ("h", 3_600_000_000_000), ("m", 60_000_000_000),
                ("s", 1_000_000_000), ("ms", 1_000_000),
            ] where nanoseconds % size == 0 && nanoseconds != 0 {
                return "\(nanoseconds / size)\(unit)"
            }
            return "\(nanoseconds)ns"
        }

        /// Whether some bound is set (a policy without one keeps everything).
        public var hasBounds: Bool { maxAge != nil || maxBytes != nil || maxEntriesPerSegment != nil }

        /// How many of the oldest log files go: each file's newest timestamp and bytes, in log order. The last
        /// file always stays.
        package func filesToDrop(newest: [Int64], bytes: [Int64], now: Int64) -> Int {
            let horizon = maxAge.map { now - $0.nanoseconds }
            var remaining = bytes.reduce(0, +)
            var dropped = 0
            while dropped < newest.count - 1 {
                let expired = horizon.map { newest[dropped] < $0 } ?? false
                let oversized = maxBytes.map { remaining > $0 } ?? false
                guard expired || oversized else { break }
                remaining -= bytes[dropped]
                dropped += 1
            }
            return dropped
        }
    }

    /// What a drop did.
    public struct Outcome: Sendable, Hashable {
        /// Log files removed.
        public var droppedFiles = 0
        /// Entries they held.
        public var droppedEntries = 0
        /// Entries deleted because their segment had more than `maxEntriesPerSegment` (their bytes go when
        /// compaction erases them).
        public var expiredEntries = 0
        /// Bytes of log files and block indexes given back.
        public var reclaimedBytes: Int64 = 0
        /// The manifest after the drop (unchanged when nothing was dropped).
        public var manifest = StoreManifest()

        /// Nothing dropped.
        public init() {}

        /// What a drop did, as log metadata.
        package var logMetadata: Logger.Metadata {
            [
                "files": "\(droppedFiles)", "entries": "\(droppedEntries)", "bytes": "\(reclaimedBytes)",
                "log_start": "\(manifest.logStart)",
            ]
        }

        /// Nothing dropped; the manifest as it is.
        public init(manifest: StoreManifest) { self.manifest = manifest }
    }

    /// Drops the log files of the closed store at `directory` that `policy` lets go.
    ///
    /// Opens the store as a writer would (taking its lock and recovering it first), so it fails with
    /// `.storeLocked` while the store is open elsewhere.
    ///
    /// - Parameters:
    ///   - directory: The store directory.
    ///   - policy: What may go.
    ///   - now: The time ages are measured against, in nanoseconds since the Unix epoch (default: the
    ///     configuration's clock).
    ///   - configuration: File system, corruption policy and clock.
    /// - Returns: What was dropped.
    /// - Throws: `LogFilesError` — `.storeLocked`, `.corrupt`, `.io`; `.notAStore` when `directory` holds no
    ///   store.
    public static func drop(
        directory: String, policy: Policy, now: Int64? = nil, configuration: LogConfiguration = .init()
    ) throws -> Outcome {
        try ClosedStore.withLock(directory: directory, configuration: configuration) { layout, recovered in
            try drop(recovered, layout: layout, policy: policy, now: now, configuration: configuration)
        }
    }

    private static func drop(
        _ recovered: Recovery.Outcome, layout: StoreLayout, policy: Policy, now: Int64?, configuration: LogConfiguration
    ) throws -> Outcome {
        let fileSystem = configuration.fileSystem
        let index = SealedBlocks(fileSystem: fileSystem, layout: layout, blocks: recovered.blocks)
        guard
            let logStart = start(
                of: index, policy: policy, now: now ?? configuration.clock(), fileSystem: fileSystem, layout: layout)
        else { return Outcome(manifest: recovered.manifest) }

        // Segments with entries in what stays (kept blocks or the unsealed tail) have their head in the log.
        let dropped = recovered.blocks.prefix { $0.fileFirstPosition < logStart }
        let present = ClosedStore.segments(in: recovered.blocks[dropped.endIndex...], tail: recovered)
        var heads: [StoreManifest.SegmentName: StoreManifest.RetiredSegment] = [:]
        for retired in recovered.manifest.retired {
            heads[StoreManifest.SegmentName(space: retired.space, segment: retired.segment)] = retired
        }
        for block in dropped {
            for run in block.runs where !run.space.isEmpty {  // Later runs of a segment carry later heads.
                heads[StoreManifest.SegmentName(space: run.space, segment: run.segment)] = StoreManifest.RetiredSegment(
                    space: run.space, segment: run.segment, lastSequence: run.lastSequence,
                    lastTransactionNumber: run.lastTransactionNumber, lastTimestamp: run.lastTimestamp)
            }
        }
        let outcome = try drop(
            from: index, before: logStart, retired: heads.filter { !present.contains($0.key) }.map(\.value),
            current: recovered.manifest, configuration: configuration, layout: layout)
        configuration.logger.info(
            "log files dropped", metadata: outcome.logMetadata.merging(["store": "\(layout.root)"]) { $1 })
        return outcome
    }

    /// Applies `policy.maxEntriesPerSegment` to a closed store: every segment with more entries left is truncated
    /// to its newest ones, recorded as deletions in the manifest (one write); ``LogCompaction/run(directory:configuration:)``
    /// then erases them. Does nothing without that bound.
    ///
    /// - Returns: The entries deleted (``Outcome/expiredEntries``) and the manifest.
    /// - Throws: `LogFilesError` — `.storeLocked`, `.corrupt`, `.io`; `.notAStore`.
    public static func truncate(
        directory: String, policy: Policy, configuration: LogConfiguration = .init()
    ) throws -> Outcome {
        try ClosedStore.withLock(directory: directory, configuration: configuration) { layout, recovered in
            try truncate(recovered, layout: layout, policy: policy, configuration: configuration)
        }
    }

    private static func truncate(
        _ recovered: Recovery.Outcome, layout: StoreLayout, policy: Policy, configuration: LogConfiguration
    ) throws -> Outcome {
        var outcome = Outcome(manifest: recovered.manifest)
        guard let limit = policy.maxEntriesPerSegment.map({ UInt64(max($0, 0)) }) else { return outcome }

        // Each segment's entries in log order, as (first sequence, last sequence, last position) stretches.
        var stretches: [StoreManifest.SegmentName: [(first: UInt64, last: UInt64, through: UInt64)]] = [:]
        for block in recovered.blocks {
            for run in block.runs where !run.space.isEmpty {
                stretches[StoreManifest.SegmentName(space: run.space, segment: run.segment), default: []].append(
                    (run.firstSequence, run.lastSequence, block.header.lastPosition))
            }
        }
        BlockCodec.forEachRecord(recovered.tailRecords.bytes, firstPosition: recovered.tailFirstPosition) {
            view, position in
            let name = StoreManifest.SegmentName(
                space: String(decoding: view.space, as: UTF8.self),
                segment: String(decoding: view.segment, as: UTF8.self))
            stretches[name, default: []].append((view.sequence, view.sequence, position))
        }
        let deleted = recovered.manifest.deletionsBySegment
        var added: [StoreManifest.Deletion] = []
        for (name, list) in stretches {
            guard let firstStretch = list.first, let lastStretch = list.last else { continue }
            let first = max(firstStretch.first, deleted[name]?.before ?? 0)
            guard lastStretch.last >= first, lastStretch.last - first + 1 > limit else { continue }
            let before = lastStretch.last - limit + 1
            guard let holding = list.first(where: { $0.first <= before - 1 && before - 1 <= $0.last }) else { continue }
            added.append(.init(space: name.space, segment: name.segment, before: before, through: holding.through))
            outcome.expiredEntries += Int(before - first)
        }
        guard !added.isEmpty else { return outcome }
        outcome.manifest = recovered.manifest.adding(added)
        try outcome.manifest.write(
            fileSystem: configuration.fileSystem, layout: layout, createdAt: configuration.clock())
        return outcome
    }

    // MARK: - Shared by the offline drop and the writer's

    /// Where the log of `index` would start under `policy` at `now`: the first position of the oldest sealed log
    /// file to keep (never past the newest), or nil when no file may go.
    static func start(
        of index: SealedBlocks, policy: Policy, now: Int64, fileSystem: any FileSystem, layout: StoreLayout
    ) -> UInt64? {
        let files = index.files()
        guard files.count > 1 else { return nil }
        let dropped = policy.filesToDrop(
            newest: files.map(\.maxTimestamp),
            bytes: files.map { bytes(of: $0.first, fileSystem: fileSystem, layout: layout) },
            now: now)
        return dropped > 0 ? files[dropped].first : nil
    }

    /// Drops the sealed log files of `index` before `logStart`: writes the manifest (the new start, `retired`),
    /// forgets the files' blocks and unlinks them. Once the manifest is durable the drop is done: files that
    /// cannot be unlinked are logged at Error and left for the next open, which removes them.
    ///
    /// - Throws: `LogFilesError` — `.invalidArgument` when `logStart` does not start a sealed log file after the
    ///   first, `.io` when the manifest cannot be written (then nothing was dropped).
    static func drop(
        from index: SealedBlocks, before logStart: UInt64, retired: [StoreManifest.RetiredSegment],
        current: StoreManifest, configuration: LogConfiguration, layout: StoreLayout
    ) throws -> Outcome {
        let files = index.files()
        guard let keep = files.firstIndex(where: { $0.first == logStart }), keep > 0 else {
            guard logStart > current.logStart, files.first?.first != logStart else {
                return Outcome(manifest: current)  // Nothing before it is left.
            }
            throw LogFilesError.invalidArgument("position \(logStart) does not start a sealed log file that may go")
        }
        let fileSystem = configuration.fileSystem
        var outcome = Outcome(
            manifest: StoreManifest(
                logStart: logStart, retired: retired, deletions: current.deletions, policy: current.policy))
        outcome.droppedFiles = keep
        outcome.droppedEntries = Int(logStart - files[0].first)
        outcome.reclaimedBytes = files[..<keep].reduce(0) {
            $0 + bytes(of: $1.first, fileSystem: fileSystem, layout: layout)
        }
        try outcome.manifest.write(fileSystem: fileSystem, layout: layout, createdAt: configuration.clock())
        index.drop(before: logStart)
        do {
            try removeLogFiles(files[..<keep].map(\.first), fileSystem: fileSystem, layout: layout)
        } catch {
            configuration.logger.error(
                "dropped log files could not all be removed; the next open of the store removes them",
                metadata: ["store": "\(layout.root)", "error": "\(error)"])
        }
        return outcome
    }

    /// Bytes of the log file starting at `first` and its block index.
    private static func bytes(of first: UInt64, fileSystem: any FileSystem, layout: StoreLayout) -> Int64 {
        ((try? fileSystem.size(of: layout.logPath(firstPosition: first))) ?? 0)
            + ((try? fileSystem.size(of: layout.indexPath(firstPosition: first))) ?? 0)
    }

    /// Unlinks the log files (and block indexes) starting at `firsts` — after the manifest that drops them is
    /// durable — and syncs the log directory.
    private static func removeLogFiles(_ firsts: [UInt64], fileSystem: any FileSystem, layout: StoreLayout) throws {
        for first in firsts {
            try fileSystem.remove(layout.logPath(firstPosition: first))
            try fileSystem.remove(layout.indexPath(firstPosition: first))
        }
        try fileSystem.syncDirectory(layout.logDirectory)
    }

}

extension LogRetention {
    /// Whether the closed store at `directory` has work that time alone made due: deletions still to erase, or,
    /// with a maximum age (its own policy's, else `policy`'s), an oldest log file — not the only one — whose
    /// newest entry is older than that age at `now`. (Size and per-segment bounds change only with writes, which
    /// a closed store has none of.) Reads the manifest and one block index and takes no lock: a store someone is
    /// writing gives a stale answer, which only delays or wastes one pass. A store it cannot read is due (opening
    /// it finds out).
    package static func isDue(directory: String, default policy: Policy, now: Int64) -> Bool {
        let fileSystem = PosixFileSystem()
        let layout = StoreLayout(root: directory)
        guard let manifest = try? StoreManifest.load(fileSystem: fileSystem, layout: layout) else { return true }
        if !manifest.deletions.isEmpty { return true }
        guard let maxAge = (manifest.policy ?? policy).maxAge,
            let names = try? fileSystem.list(layout.logDirectory)
        else { return false }
        let files = StoreLayout.numbers(in: names, extension: "log")
        guard files.count >= 2 else { return false }
        var newest = Int64.min
        var indexed = false
        try? LogFileScanner.readIndex(fileSystem: fileSystem, layout: layout, firstPosition: files[0]) { summary in
            newest = max(newest, summary.header.maxTimestamp)
            indexed = true
            return true
        } onEnd: { _ in
        }
        return !indexed || newest < now - maxAge.nanoseconds
    }
}
