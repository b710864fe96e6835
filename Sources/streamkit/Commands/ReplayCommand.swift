import ArgumentParser
import Foundation
import Logging
import StreamKitClient
import StreamKitEngine
import StreamKitLogFiles

/// `streamkit replay DIR --store ID (--to-dir DIR2 | --to-url ws://… [--token T]) [--space S]`: re-produces
/// entries into another store, keeping sequences; resumable (entries the destination already has are skipped).
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract:
            "Re-produce a store's entries into another data directory or a remote store, keeping sequences (resumable).",
        discussion: """
            With --to-dir the store is written directly (it must not be open in a server); with --to-url it is \
            produced through a server into the store of the same id. Entries the destination already holds are \
            skipped, so an interrupted replay can be run again. A segment whose destination is ahead or has a \
            gap is reported as a conflict and left alone (exit status 3).

            Damage in the source (what opening it would refuse) ends the replay after the entries before it, \
            with one line on stderr naming the file, the offset and the positions it hides, and status 2. With \
            --skip-damaged the replay goes on past each damaged spot, naming it on stderr; a segment that lost \
            entries to the damage then stops at the gap as a conflict.
            """)

    @Argument(help: "The source data directory, or a single store directory.")
    var directory: String

    @Option(name: .long, help: "The store id to replay.")
    var store: String

    @Option(name: [.customLong("to-dir")], help: "The destination data directory (the store keeps its id).")
    var toDirectory: String?

    @Option(
        name: [.customLong("to-url")],
        help: "The destination server, e.g. ws://127.0.0.1:7420/streamkit (the store keeps its id).")
    var toURL: String?

    @Option(name: .long, help: "The bearer token for --to-url (or set \(Remote.tokenVariable)).")
    var token: String?

    @Option(
        name: .customLong("ca-file"),
        help: "With a wss:// --to-url, trust the CA certificates of this PEM file instead of the system's trust store.")
    var caFile: String?

    @Option(name: .long, help: "Only this space.")
    var space: String?

    @OptionGroup var damageOptions: DamageOptions

    func validate() throws {
        switch (toDirectory, toURL) {
        case (nil, nil):
            throw ValidationError("give the destination: --to-dir DIR or --to-url ws://HOST:PORT/streamkit")
        case (.some, .some): throw ValidationError("give either --to-dir or --to-url, not both")
        case (nil, .some(let url)): try Remote.validate(url: url, option: "--to-url")
        case (.some, nil): if token != nil { throw ValidationError("--token goes with --to-url") }
        }
    }

    func run() async throws {
        try await Output.run {
            let location = try DataDirectory(path: directory).store(store)
            let reader = try LogReader(directory: location.path)
            guard let id = UUID(uuidString: location.id) else {
                throw CLIError("store directory name \(location.id) is not a store id (UUID)")
            }
            if let toURL {
                try await withRemoteClient(url: toURL, token: Remote.token(token), caFile: caFile) { client in
                    try await replay(
                        reader, id: id, label: location.id, into: RemoteDestination(client: client, store: id))
                }
            } else if let toDirectory {
                try FileManager.default.createDirectory(atPath: toDirectory, withIntermediateDirectories: true)
                var configuration = StoreConfiguration()
                configuration.log.logger.logLevel = .warning
                configuration.logger.logLevel = .warning
                let store = try await Store.open(
                    id: id, directory: toDirectory + "/" + location.id.lowercased(), configuration: configuration)
                do {
                    try await replay(reader, id: id, label: location.id, into: LocalDestination(store: store))
                } catch {
                    await store.close()
                    throw error
                }
                await store.close()
            }
        }
    }

    /// Replays every entry of `reader` (of `space` when given) into `destination`, one source transaction at a
    /// time, skipping what the destination already holds; prints a summary and fails on conflicts.
    private func replay(
        _ reader: LogReader, id: UUID, label: String, into destination: some ReplayDestination
    ) async throws {
        let total = Int64(max(1, reader.endPosition - 1))
        var replayed = 0
        var skipped = 0
        var conflicts: [String: String] = [:]
        var lastSequences: [String: UInt64] = [:]  // The destination's, once asked; then kept up to date.
        var pending: [Entry] = []

        func flush() async throws {
            guard let first = pending.first else { return }
            defer { pending.removeAll(keepingCapacity: true) }
            let key = first.space + "/" + first.segment
            if conflicts[key] != nil { return }
            let last: UInt64
            if let known = lastSequences[key] {
                last = known
            } else {
                last = try await destination.lastSequence(space: first.space, segment: first.segment)
                lastSequences[key] = last
            }
            let fresh = pending.filter { $0.sequence > last }
            skipped += pending.count - fresh.count
            guard let head = fresh.first, let tail = fresh.last else { return }
            guard head.sequence == last + 1 else {
                conflicts[key] = "destination ends at \(last), source continues at \(head.sequence)"
                return
            }
            let records = fresh.map { Record(sequence: $0.sequence, payload: Array($0.payload), metadata: $0.metadata) }
            do {
                try await destination.produce(space: first.space, segment: first.segment, records: records)
            } catch let error as StreamKitError where error.code == .sequenceConflict {
                // Someone else wrote the segment meanwhile.
                conflicts[key] = "destination changed during the replay: \(error.message)"
                return
            }
            lastSequences[key] = tail.sequence
            replayed += fresh.count
        }

        func summary() {
            Output.line(
                "replayed \(replayed) entries, skipped \(skipped) already present, \(conflicts.count) conflicts")
            for (segment, why) in conflicts.sorted(by: { $0.key < $1.key }) {
                Output.line("  conflict \(segment): \(why)")
            }
        }

        // Block by block (bounded memory), then the entries not sealed yet; damage in its place.
        var damage = DamageHandling(store: label, skip: damageOptions.skipDamaged)
        var chunks = reader.chunks()
        while let chunk = try chunks.next() {
            switch chunk {
            case .entries(let entries):
                for entry in entries where space == nil || entry.space == space {
                    if let first = pending.first,
                        first.transactionID != entry.transactionID || first.segment != entry.segment
                    {
                        try await flush()
                    }
                    pending.append(entry)
                }
                if let last = entries.last {
                    Output.progress("replay \(label)", done: Int64(min(last.position, UInt64(total))), total: total)
                }
            case .damage(let met):
                if let first = pending.first, pending.last?.endsTransaction == false {
                    // Replayed in part it would not be one transaction any more.
                    Output.error(
                        "streamkit: \(label): \(first.space)/\(first.segment) transaction \(first.transactionID) runs into "
                            + "the damage: its \(pending.count) entries before it are not replayed")
                    pending.removeAll()
                }
                try await flush()
                do {
                    try damage.meet(met)
                } catch {
                    summary()
                    throw error
                }
            }
        }
        try await flush()
        Output.progress("replay \(label)", done: total, total: total)
        summary()
        damage.finish()
        if !conflicts.isEmpty { throw CLIError("\(conflicts.count) segment(s) conflicted", exitCode: 3) }
    }
}

/// Where `replay` writes: a store opened from a directory, or a store behind a server.
protocol ReplayDestination {
    /// The segment's last sequence in the destination; 0 when it is empty or unknown.
    func lastSequence(space: String, segment: String) async throws -> UInt64
    /// Appends `records` (contiguous sequences) with compare-and-append.
    func produce(space: String, segment: String, records: [Record]) async throws
}

/// `--to-dir`: the store's files, opened in this process.
struct LocalDestination: ReplayDestination {
    let store: Store

    func lastSequence(space: String, segment: String) async throws -> UInt64 {
        await store.status(space: space, segment: segment)?.lastSequence ?? 0
    }

    func produce(space: String, segment: String, records: [Record]) async throws {
        try await store.produce(space: space, segment: segment, records: records)
    }
}

/// `--to-url`: the store of the same id behind a StreamKit server.
struct RemoteDestination: ReplayDestination {
    let client: StreamKitClient
    let store: UUID

    func lastSequence(space: String, segment: String) async throws -> UInt64 {
        try await client.peek(store: store, space: space, segment: segment)?.sequence ?? 0
    }

    func produce(space: String, segment: String, records: [Record]) async throws {
        try await client.produce(store: store, space: space, segment: segment, records: records)
    }
}
