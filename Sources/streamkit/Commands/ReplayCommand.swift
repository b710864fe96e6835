import ArgumentParser
import Foundation
import Logging
import StreamKitEngine
import StreamKitLogFiles

/// `streamkit replay DIR --store ID --to-dir DIR2 [--space S]`: re-produces entries into another store,
/// keeping sequences; resumable (entries the destination already has are skipped).
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-produce a store's entries into another data directory, keeping sequences (resumable).",
        discussion: "Entries the destination already holds are skipped, so an interrupted replay can be run again. A segment whose destination is ahead or has a gap is reported as a conflict and left alone.")

    @Argument(help: "The source data directory, or a single store directory.")
    var directory: String

    @Option(name: .long, help: "The store id to replay.")
    var store: String

    @Option(name: [.customLong("to-dir")], help: "The destination data directory (the store keeps its id).")
    var toDirectory: String

    @Option(name: .long, help: "Only this space.")
    var space: String?

    func run() async throws {
        try await Output.run {
            let location = try DataDirectory(path: directory).store(store)
            let reader = try LogReader(directory: location.path)
            let total = Int64(max(1, reader.endPosition - 1))
            guard let id = UUID(uuidString: location.id) else {
                throw CLIError("store directory name \(location.id) is not a store id (UUID)")
            }
            try FileManager.default.createDirectory(atPath: toDirectory, withIntermediateDirectories: true)
            var configuration = StoreConfiguration()
            configuration.log.logger.logLevel = .warning
            configuration.logger.logLevel = .warning
            let destination = try await Store.open(
                id: id, directory: toDirectory + "/" + location.id.lowercased(), configuration: configuration)
            var replayed = 0
            var skipped = 0
            var conflicts: [String: String] = [:]
            var pending: [Entry] = []

            func flush() async throws {
                guard let first = pending.first else { return }
                defer { pending.removeAll(keepingCapacity: true) }
                let key = first.space + "/" + first.segment
                if conflicts[key] != nil { return }
                let last = await destination.status(space: first.space, segment: first.segment)?.lastSequence ?? 0
                let fresh = pending.filter { $0.sequence > last }
                skipped += pending.count - fresh.count
                guard let head = fresh.first else { return }
                guard head.sequence == last + 1 else {
                    conflicts[key] = "destination ends at \(last), source continues at \(head.sequence)"
                    return
                }
                let records = fresh.map { Record(sequence: $0.sequence, payload: Array($0.payload), metadata: $0.metadata) }
                try await destination.produce(space: first.space, segment: first.segment, records: records)
                replayed += fresh.count
            }

            // Block by block (bounded memory), then the entries not sealed yet.
            func replay(_ entries: [Entry]) async throws {
                for entry in entries where space == nil || entry.space == space {
                    if let first = pending.first, first.transactionID != entry.transactionID || first.segment != entry.segment {
                        try await flush()
                    }
                    pending.append(entry)
                }
            }
            for index in reader.blocks.indices {
                try await replay(try reader.readBlock(at: index))
                Output.progress("replay \(location.id)", done: Int64(reader.blocks[index].header.lastPosition), total: total)
            }
            var tail: [Entry] = []
            try reader.forEachEntry(from: reader.blocks.last.map { $0.header.lastPosition + 1 } ?? 1) { entry in
                tail.append(entry)
                return true
            }
            try await replay(tail)
            try await flush()
            Output.progress("replay \(location.id)", done: total, total: total)
            await destination.close()
            Output.line("replayed \(replayed) entries, skipped \(skipped) already present, \(conflicts.count) conflicts")
            for (segment, why) in conflicts.sorted(by: { $0.key < $1.key }) { Output.line("  conflict \(segment): \(why)") }
            if !conflicts.isEmpty { throw CLIError("\(conflicts.count) segment(s) conflicted", exitCode: 3) }
        }
    }
}
