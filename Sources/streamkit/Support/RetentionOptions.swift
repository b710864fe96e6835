import ArgumentParser
import StreamKitLogFiles

/// `--retention-max-age AGE --retention-max-bytes SIZE --retention-max-entries N`, shared by `serve` and `compact`.
struct RetentionOptions: ParsableArguments {
    @Option(name: .long, help: "Drop log entries older than this (90s, 15m, 36h, 7d, 2w), in whole log files.")
    var retentionMaxAge: AgeArgument?

    @Option(name: .long, help: "Keep at most this many bytes of log files per store (512M, 10GiB, 5GB).")
    var retentionMaxBytes: ByteCountArgument?

    @Option(name: .long, help: "Keep at most this many of the newest entries of each segment (older ones are deleted).")
    var retentionMaxEntries: Int?

    func validate() throws {
        if let retentionMaxEntries, retentionMaxEntries < 1 {
            throw ValidationError("--retention-max-entries must be 1 or more, got \(retentionMaxEntries)")
        }
    }

    /// Whether any bound was given.
    var isSet: Bool { retentionMaxAge != nil || retentionMaxBytes != nil || retentionMaxEntries != nil }

    /// The policy the bounds make (no bound keeps everything).
    var policy: LogRetention.Policy {
        .init(
            maxAge: retentionMaxAge?.value, maxBytes: retentionMaxBytes?.value,
            maxEntriesPerSegment: retentionMaxEntries)
    }
}
