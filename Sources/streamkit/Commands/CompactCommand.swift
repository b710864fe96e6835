import ArgumentParser
import Logging
import StreamKitLogFiles

/// `streamkit compact DIR [--store ID] [--retention-max-age AGE] [--retention-max-bytes SIZE]`: erases deleted
/// entries from the files of closed stores and drops their oldest log files past a retention bound.
struct CompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract:
            "Erase deleted entries from closed stores' files, and drop their oldest log files past a retention bound.",
        discussion: """
            Works on closed stores only (a store open elsewhere is refused: its writer holds the lock). With \
            --retention-max-entries N every segment is first truncated to its newest N entries. Then the \
            entries deleted (with `streamkit delete` or that bound) are erased: every log file holding one is rewritten without \
            its bytes (positions stay), and the record of each finished deletion leaves the manifest. Then, with \
            a bound, whole log files go, oldest first: a file goes once its newest entry is older than \
            --retention-max-age, or while the store's log files take more than --retention-max-bytes. The file \
            being appended to, and entries not yet sealed into it, always stay. Reads then start at the oldest \
            entry left; sequences and positions are never reused (a segment whose entries all went continues \
            after its last sequence). A store with a retention policy of its own (`streamkit retention`) is held to             that instead of the bounds given here, as the server would. Safe to interrupt at any point             (docs/operations.md).
            """)

    @Argument(help: "A data directory, or a single store directory.")
    var directory: String

    @Option(name: .long, help: "Only this store.")
    var store: String?

    @OptionGroup var retention: RetentionOptions

    func run() async throws {
        try await Output.run {
            let data = try DataDirectory(path: directory)
            let stores = try store.map { [try data.store($0)] } ?? data.stores
            var configuration = LogConfiguration()
            configuration.logger.logLevel = .warning
            for location in stores {
                do {
                    let own = try StoreManifest.read(directory: location.path).policy
                    let policy = own ?? retention.policy
                    if own != nil { Output.line("\(location.id): the store's own retention policy applies: \(policy)") }
                    if let limit = policy.maxEntriesPerSegment {
                        let truncated = try LogRetention.truncate(
                            directory: location.path, policy: policy, configuration: configuration)
                        Output.line(
                            "\(location.id): deleted \(truncated.expiredEntries) entries past the newest \(limit) of each segment"
                        )
                    }
                    let erased = try LogCompaction.run(directory: location.path, configuration: configuration)
                    if erased.rewrittenFiles > 0 || !erased.finishedDeletions.isEmpty {
                        Output.line(
                            "\(location.id): erased \(erased.erasedEntries) deleted entries in \(erased.rewrittenFiles) log "
                                + "files (\(erased.reclaimedBytes) bytes); \(erased.finishedDeletions.count) deletions finished"
                        )
                    } else if !policy.hasBounds {
                        Output.line("\(location.id): no deleted entries to erase")
                    }
                    guard policy.maxAge != nil || policy.maxBytes != nil else { continue }
                    let outcome = try LogRetention.drop(
                        directory: location.path, policy: policy, configuration: configuration)
                    Output.line(
                        "\(location.id): dropped \(outcome.droppedFiles) log files, \(outcome.droppedEntries) entries, "
                            + "\(outcome.reclaimedBytes) bytes; the log starts at position \(outcome.manifest.logStart)"
                    )
                } catch let error as LogFilesError where error.code == .storeLocked {
                    throw CLIError(
                        "\(location.id): the store is open (a server or another tool holds it); stop it first")
                }
            }
        }
    }
}
