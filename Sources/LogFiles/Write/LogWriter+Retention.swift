import Synchronization

extension LogWriter {
    /// Where the log would start if `policy` were applied now: the first position of the oldest sealed log file
    /// to keep, or nil when no file may go. Files go oldest first while their newest entry is older than
    /// `policy.maxAge` or the log files (with their block indexes) take more than `policy.maxBytes`; the newest
    /// sealed file always stays.
    ///
    /// - Parameters:
    ///   - policy: The maximum age and size of the log files.
    ///   - now: The time ages are measured against (ns since the Unix epoch).
    public func retentionStart(_ policy: LogRetention.Policy, now: Int64) -> UInt64? {
        LogRetention.start(
            of: readIndex, policy: policy, now: now, fileSystem: configuration.fileSystem, layout: layout)
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
    public func dropLogFiles(
        before logStart: UInt64, retired: [StoreManifest.RetiredSegment]
    ) throws -> LogRetention.Outcome {
        try manifest.withLock { current in
            let outcome = try LogRetention.drop(
                from: readIndex, before: logStart, retired: retired, current: current, configuration: configuration,
                layout: layout)
            current = outcome.manifest
            return outcome
        }
    }

    /// Records deletions durably (in the manifest, one write for all, each merged with its segment's earlier
    /// one) before returning: readers that open the store from now on leave their entries out, and compaction
    /// erases them.
    ///
    /// - Returns: The manifest as written.
    /// - Throws: `LogFilesError.io` when the manifest cannot be written (then nothing was recorded).
    @discardableResult
    public func recordDeletions(_ deletions: [StoreManifest.Deletion]) throws -> StoreManifest {
        try manifest.withLock { current in
            let next = current.adding(deletions)
            guard next != current else { return current }
            try next.write(fileSystem: configuration.fileSystem, layout: layout, createdAt: configuration.clock())
            current = next
            return next
        }
    }
}

extension LogWriter {
    /// The store's own retention policy (nil: the configured default applies).
    public var retentionPolicy: LogRetention.Policy? { manifest.withLock { $0.policy } }

    /// The deletions recorded in the manifest that compaction has not finished yet.
    public var deletions: [StoreManifest.Deletion] { manifest.withLock { $0.deletions } }

    /// Records the store's own retention policy durably in the manifest (nil: back to the configured default).
    ///
    /// - Throws: `LogFilesError.io` when the manifest cannot be written (then the policy is unchanged).
    public func setRetentionPolicy(_ policy: LogRetention.Policy?) throws {
        try manifest.withLock { current in
            var next = current
            next.policy = policy
            guard next != current else { return }
            try next.write(fileSystem: configuration.fileSystem, layout: layout, createdAt: configuration.clock())
            current = next
        }
    }
}
