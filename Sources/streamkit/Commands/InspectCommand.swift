import ArgumentParser
import Foundation
import StreamKitLogFiles
import StreamKitPostgres

/// `streamkit inspect (DIR | --postgres URL) [--store ID] [--json]`.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show stores, files, blocks, entries, compression and segments of a data directory.",
        discussion: """
            Reads every block's CRC (nothing is decompressed; `verify` checks more). Damage — what opening a \
            store would refuse — is listed with its file and offset, also on stderr, and the exit status is 2; \
            the figures then count what can be read. A torn tail a crash left (which opening cuts) is listed \
            but is not damage.

            With --postgres URL (or \(PostgresOptions.urlVariable) when no DIR is given) the stores are read from \
            the PostgreSQL tables that `streamkit serve --postgres` nodes share: each store's positions, rows and \
            segments, from the rows' summaries (no row body is read; `verify` reads them all). Rows that do not \
            fit together are damage (status 2).

            Each store's retention policy is shown: its own (set with `streamkit retention`), or else the \
            default, which is the server's configuration and so unknown here: give the same --retention-… bounds \
            as `serve` to see what they would reclaim. Bytes are split into live, deleted (compaction reclaims \
            them; an estimate, each block's share by entry count) and past the policy (the next retention pass \
            drops those files).
            """)

    @Argument(help: "A data directory, or a single store directory.")
    var directory: String?

    @OptionGroup var postgres: PostgresOptions

    @Option(name: .long, help: "Only this store.")
    var store: String?

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    @OptionGroup(title: "The server's default retention (for stores without their own policy)")
    var retention: RetentionOptions

    func validate() throws {
        try postgres.validate(directoryOption: "DIR", hasDirectory: directory != nil)
        guard directory != nil || postgres.resolvedURL(hasDirectory: false) != nil else {
            throw ValidationError("give a data directory DIR, or --postgres URL (or \(PostgresOptions.urlVariable))")
        }
        if directory == nil, let store { _ = try Remote.storeID(store) }
    }

    func run() async throws {
        try await Output.run {
            guard let directory else { return try await inspectPostgres() }
            let data = try DataDirectory(path: directory)
            let now = Int64(Date().timeIntervalSince1970 * 1e9)
            let summaries = try (store.map { [try data.store($0)] } ?? data.stores).map {
                try StoreSummary(id: $0.id, path: $0.path, configured: retention.policy, now: now)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                encoder.keyEncodingStrategy = .convertToSnakeCase
                Output.line(String(decoding: try encoder.encode(summaries), as: UTF8.self))
                try Self.failIfDamaged(summaries)
                return
            }
            for summary in summaries {
                Output.line("store \(summary.id)  (\(summary.path))")
                Output.line(
                    "  log files \(summary.logFiles), WAL files \(summary.walFiles), blocks \(summary.blocks), "
                        + "entries \(summary.entries + summary.walEntries) (\(summary.walEntries) not sealed yet; "
                        + "\(summary.liveEntries) live, \(summary.deletedEntriesOnDisk) deleted, \(summary.erasedRecords) erased)"
                )
                Output.line(
                    "  positions \(summary.firstPosition)…\(summary.lastPosition), stored \(summary.storedBytes) B, "
                        + "raw \(summary.rawBytes) B, compression \(String(format: "%.2f", summary.compressionRatio))×")
                Output.line(
                    "  retention: "
                        + (summary.retentionPolicy.map { "the store's own policy, \($0.text)" }
                            ?? (retention.isSet
                                ? "the default, \(summary.appliedPolicy.text) (as given here)"
                                : "the server's default (give inspect its --retention-… bounds to see them applied)"))
                )
                Output.line(
                    "  bytes: \(summary.liveBytes) live, \(summary.deletedBytesOnDisk) deleted (compaction reclaims them), "
                        + "\(summary.expiredBytes) in \(summary.expiredFiles) log files past the policy"
                        + (summary.expiredEntries > 0
                            ? "; \(summary.expiredEntries) entries past its per-segment bound" : ""))
                for line in ConsumerSummary.lines(summary.consumers) { Output.line(line) }
                for problem in summary.damage { Output.line("  DAMAGE: \(problem)") }
                for tail in summary.tornTails { Output.line("  torn tail (open cuts it): \(tail)") }
                for line in StoreSummary.Segment.lines(summary.segments) { Output.line(line) }
                if summary.logStart > 1 || !summary.retiredSegments.isEmpty {
                    Output.line(
                        "  retention: the log starts at position \(summary.logStart); \(summary.retiredSegments.count) "
                            + "segment\(summary.retiredSegments.count == 1 ? "" : "s") with no entry left")
                    for retired in summary.retiredSegments {
                        Output.line(
                            "    \(retired.space)/\(retired.segment): continues after sequence \(retired.lastSequence)")
                    }
                }
                if !summary.deletions.isEmpty {
                    Output.line(
                        "  deletions: \(summary.deletions.count) (\(summary.deletedEntriesOnDisk) entries left out of every "
                            + "read and still on disk; compaction erases them)")
                    for deletion in summary.deletions {
                        Output.line(
                            "    \(deletion.space)/\(deletion.segment): sequences before \(deletion.before), "
                                + "in positions up to \(deletion.through)")
                    }
                }
            }
            try Self.failIfDamaged(summaries)
        }
    }

    /// `inspect --postgres`: every store of the database (or `--store`), read through the engine.
    private func inspectPostgres() async throws {
        guard let (url, source) = postgres.resolvedURL(hasDirectory: false) else { return }
        let location = try PostgresOptions.location(url: url, source: source)
        let only = try store.map(Remote.storeID)
        let summaries = try await PostgresStores.with(location) { stores in
            var summaries: [PostgresStoreSummary] = []
            for id in try await stores.ids(only: only) {
                do {
                    summaries.append(
                        try await stores.withStore(id) {
                            await PostgresStoreSummary(store: $0, database: location.redacted)
                        })
                } catch let error as CLIError where error.exitCode == DamageHandling.exitCode {
                    summaries.append(PostgresStoreSummary(id: id, database: location.redacted, damage: error.message))
                }
            }
            return summaries
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            Output.line(String(decoding: try encoder.encode(summaries), as: UTF8.self))
        } else {
            for summary in summaries {
                for line in summary.lines { Output.line(line) }
            }
        }
        for summary in summaries {
            for problem in summary.damage { Output.error("streamkit: \(summary.id): damaged: \(problem)") }
        }
        try DamageHandling.fail(damagedStores: summaries.filter { !$0.damage.isEmpty }.count)
    }

    private static func failIfDamaged(_ summaries: [StoreSummary]) throws {
        for summary in summaries { DamageHandling.report(summary.damageFound, store: summary.id) }
        try DamageHandling.fail(damagedStores: summaries.filter { !$0.damage.isEmpty }.count)
    }
}
