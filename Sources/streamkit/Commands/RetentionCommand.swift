import ArgumentParser
import StreamKitClient
import StreamKitEngine

/// `streamkit retention URL --store ID [--max-age AGE] [--max-bytes SIZE] [--max-entries N] [--clear] [--token T]`.
struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Show or set a remote store's own retention policy.",
        discussion: """
            Without bounds, prints the store's own policy (if it has one), the server's default (serve \
            --retention-…) and which applies. With --max-age, --max-bytes or --max-entries the store gets a \
            policy of its own with exactly those bounds, which replaces the default whole (a bound not given is \
            not bounded); --clear goes back to the default. The policy is kept with the store (its manifest, or \
            PostgreSQL) and applied by the server's background pass every --compaction-interval. Setting one needs \
            a token that grants deletion (streamkit token --delete). Exit status 1 on an error (a store that does \
            not exist is one when setting).
            """)

    @OptionGroup var remote: RemoteOptions

    @Option(name: .long, help: "Drop entries older than this (90s, 15m, 36h, 7d, 2w), in whole log files.")
    var maxAge: AgeArgument?

    @Option(name: .long, help: "Keep at most this many bytes of log files (512M, 10GiB, 5GB).")
    var maxBytes: ByteCountArgument?

    @Option(name: .long, help: "Keep at most this many of the newest entries of each segment.")
    var maxEntries: Int?

    @Flag(name: .long, help: "Remove the store's own policy: the server's default applies again.")
    var clear = false

    func validate() throws {
        if let maxEntries, maxEntries < 1 {
            throw ValidationError("--max-entries must be 1 or more, got \(maxEntries)")
        }
        if clear && (maxAge != nil || maxBytes != nil || maxEntries != nil) {
            throw ValidationError("--clear takes no bound")
        }
    }

    func run() async throws {
        try await Output.run {
            let id = try remote.storeID()
            try await withRemoteClient(url: remote.url, token: remote.resolvedToken(), caFile: remote.caFile) {
                client in
                let retention: StoreRetention
                if clear {
                    retention = try await client.setRetentionPolicy(store: id, nil)
                } else if maxAge != nil || maxBytes != nil || maxEntries != nil {
                    let policy = LogRetention.Policy(
                        maxAge: maxAge?.value, maxBytes: maxBytes?.value, maxEntriesPerSegment: maxEntries)
                    retention = try await client.setRetentionPolicy(store: id, policy)
                } else {
                    retention = try await client.retention(store: id)
                }
                for line in Self.lines(retention) { Output.line(line) }
            }
        }
    }

    /// What `retention` prints.
    static func lines(_ retention: StoreRetention) -> [String] {
        [
            "own policy: \(retention.own?.description ?? "none")",
            "server default: \(retention.configured.description)",
            "applies: \(retention.effective.description)\(retention.own == nil ? " (the default)" : " (the store's own)")",
        ]
    }
}
