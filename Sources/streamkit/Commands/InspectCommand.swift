import ArgumentParser
import Foundation

/// `streamkit inspect DIR [--json]`.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show stores, files, blocks, entries, compression and segments of a data directory.",
        discussion: """
            Reads every block's CRC (nothing is decompressed; `verify` checks more). Damage — what opening a \
            store would refuse — is listed with its file and offset, also on stderr, and the exit status is 2; \
            the figures then count what can be read. A torn tail a crash left (which opening cuts) is listed \
            but is not damage.
            """)

    @Argument(help: "A data directory, or a single store directory.")
    var directory: String

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        try await Output.run {
            let data = try DataDirectory(path: directory)
            let summaries = try data.stores.map { try StoreSummary(id: $0.id, path: $0.path) }
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
                        + "entries \(summary.entries + summary.walEntries) (\(summary.walEntries) not sealed yet)")
                Output.line(
                    "  positions \(summary.firstPosition)…\(summary.lastPosition), stored \(summary.storedBytes) B, "
                        + "raw \(summary.rawBytes) B, compression \(String(format: "%.2f", summary.compressionRatio))×")
                for problem in summary.damage { Output.line("  DAMAGE: \(problem)") }
                for tail in summary.tornTails { Output.line("  torn tail (open cuts it): \(tail)") }
                var space = ""
                for segment in summary.segments {
                    if segment.space != space {
                        space = segment.space
                        let count = summary.segments.filter { $0.space == space }.count
                        Output.line("  space \(space): \(count) segment\(count == 1 ? "" : "s")")
                    }
                    Output.line(
                        "    \(segment.segment): \(segment.entries) entries, sequences \(segment.firstSequence)…"
                            + "\(segment.lastSequence), \(isoTime(segment.firstTimestamp)) … \(isoTime(segment.lastTimestamp))")
                }
            }
            try Self.failIfDamaged(summaries)
        }
    }

    private static func failIfDamaged(_ summaries: [StoreSummary]) throws {
        for summary in summaries { DamageHandling.report(summary.damageFound, store: summary.id) }
        try DamageHandling.fail(damagedStores: summaries.filter { !$0.damage.isEmpty }.count)
    }
}
