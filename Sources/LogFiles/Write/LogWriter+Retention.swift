import Logging
import Synchronization

extension LogWriter {
    /// Where the log would start if `policy` were applied now: the first position of the oldest sealed log file
    /// to keep, or nil when no file may go. Files go oldest first while their newest entry is older than
    /// `policy.maxAge` or the log files (with their block indexes) take more than `policy.maxBytes`; the newest
    /// sealed file always stays.
    ///
    /// - Parameter now: The time ages are measured against (ns since the Unix epoch).
    public func retentionStart(_ policy: LogRetention.Policy, now: Int64) -> UInt64? {
        let files = readIndex.files()
        guard files.count > 1 else { return nil }
        let fileSystem = configuration.fileSystem
        let sizes = files.map { file in
            ((try? fileSystem.size(of: layout.logPath(firstPosition: file.first))) ?? 0)
                + ((try? fileSystem.size(of: layout.indexPath(firstPosition: file.first))) ?? 0)
        }
        let dropped = policy.filesToDrop(newest: files.map(\.maxTimestamp), bytes: sizes, now: now)
        return dropped > 0 ? files[dropped].first : nil
    }

    /// Drops the sealed log files before `logStart` while the writer runs: writes the manifest (the new start
    /// and `retired`, the heads of segments none of whose entries is left), forgets the files' blocks (reads of
    /// them in progress finish; new ones start after them) and unlinks them.
    ///
    /// Crash-safe: the manifest is durable before any file goes, and opening the store finishes the drop (also
    /// when unlinking fails here: that is logged at Error, not thrown, since the entries are gone for readers).
    ///
    /// - Parameters:
    ///   - logStart: The first position of a sealed log file other than the oldest (see ``retentionStart(_:now:)``):
    ///     the files before it go, the newest file always stays.
    ///   - retired: Every segment with no entry at or after `logStart` and with entries before it or already
    ///     retired, with its head (the caller knows which segments have entries left; segments it misses are
    ///     recovered from the log only if they have entries there).
    /// - Returns: What was dropped.
    /// - Throws: `LogFilesError` — `.invalidArgument` when `logStart` is not such a file's first position, `.io`
    ///   when the manifest cannot be written (then nothing was dropped).
    public func dropLogFiles(before logStart: UInt64, retired: [StoreManifest.RetiredSegment]) throws -> LogRetention.Outcome {
        try manifest.withLock { current in
            let files = readIndex.files()
            guard let keep = files.firstIndex(where: { $0.first == logStart }), keep > 0 else {
                guard logStart > current.logStart, files.first?.first != logStart else {
                    return LogRetention.Outcome(manifest: current)  // Nothing before it is left.
                }
                throw LogFilesError.invalidArgument("position \(logStart) does not start a sealed log file that may go")
            }
            let fileSystem = configuration.fileSystem
            var outcome = LogRetention.Outcome()
            for file in files[..<keep] {
                outcome.droppedFiles += 1
                outcome.reclaimedBytes +=
                    ((try? fileSystem.size(of: layout.logPath(firstPosition: file.first))) ?? 0)
                    + ((try? fileSystem.size(of: layout.indexPath(firstPosition: file.first))) ?? 0)
            }
            outcome.droppedEntries = Int(logStart - files[0].first)
            let next = StoreManifest(logStart: logStart, retired: retired)
            try next.write(fileSystem: fileSystem, layout: layout, createdAt: configuration.clock())
            current = next
            _ = readIndex.drop(before: logStart)
            outcome.manifest = next
            do {
                try LogRetention.removeLogFiles(files[..<keep].map(\.first), fileSystem: fileSystem, layout: layout)
            } catch {
                // The drop is done once the manifest is durable: files it left are removed by the next open.
                configuration.logger.error(
                    "dropped log files could not all be removed; the next open of the store removes them",
                    metadata: ["store": "\(layout.root)", "error": "\(error)"])
            }
            return outcome
        }
    }

}
