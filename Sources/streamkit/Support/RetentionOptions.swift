import ArgumentParser
import StreamKitLogFiles

/// `--retention-max-age AGE --retention-max-bytes SIZE`, shared by `serve` and `compact`.
struct RetentionOptions: ParsableArguments {
    @Option(name: .long, help: "Drop log entries older than this (90s, 15m, 36h, 7d, 2w), in whole log files.")
    var retentionMaxAge: AgeArgument?

    @Option(name: .long, help: "Keep at most this many bytes of log files per store (512M, 10GiB, 5GB).")
    var retentionMaxBytes: ByteCountArgument?

    /// Whether either bound was given.
    var isSet: Bool { retentionMaxAge != nil || retentionMaxBytes != nil }

    /// The policy the bounds make (no bound keeps everything).
    var policy: LogRetention.Policy { .init(maxAge: retentionMaxAge?.value, maxBytes: retentionMaxBytes?.value) }
}
