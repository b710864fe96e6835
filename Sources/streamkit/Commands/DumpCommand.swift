import ArgumentParser
import Foundation
import StreamKitEngine
import StreamKitLogFiles
import StreamKitPostgres

/// `streamkit dump (DIR | --postgres URL) --store ID [--space S] [--segment G] [--from P] [--to P] [--format ndjson|raw]`.
struct DumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print a store's entries in log order as NDJSON (or raw payloads).",
        discussion: """
            Damage in the store (what opening it would refuse; a torn tail a crash left is not damage) ends the \
            dump after the entries before it, with one line on stderr naming the file, the offset and the \
            positions it hides, and status 2. With --skip-damaged the dump goes on past each damaged spot, \
            naming it on stderr, and ends with status 0.

            With --postgres URL (or \(PostgresOptions.urlVariable) when no DIR is given) the store is read from \
            the PostgreSQL tables that `streamkit serve --postgres` nodes share, in the same format; a damaged \
            row ends the dump after the entries before it, with status 2 (--skip-damaged reads files only).
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case ndjson, raw
    }

    @Argument(help: "A data directory, or a single store directory.")
    var directory: String?

    @OptionGroup var postgres: PostgresOptions

    @Option(name: .long, help: "The store id.")
    var store: String

    @Option(name: .long, help: "Only this space.")
    var space: String?

    @Option(name: .long, help: "Only this segment (with --space).")
    var segment: String?

    @Option(name: .long, help: "First log position (inclusive).")
    var from: UInt64 = 1

    @Option(name: .long, help: "Last log position (inclusive).")
    var to: UInt64 = .max

    @Option(name: .long, help: "ndjson (one JSON object per entry) or raw (payloads, one per line).")
    var format: Format = .ndjson

    @OptionGroup var damageOptions: DamageOptions

    func validate() throws {
        if segment != nil && space == nil { throw ValidationError("--segment needs --space") }
        if to < from { throw ValidationError("--to must not be below --from") }
        try postgres.validate(directoryOption: "DIR", hasDirectory: directory != nil)
        guard directory != nil || postgres.resolvedURL(hasDirectory: false) != nil else {
            throw ValidationError("give a data directory DIR, or --postgres URL (or \(PostgresOptions.urlVariable))")
        }
        if directory == nil {
            _ = try Remote.storeID(store)
            if damageOptions.skipDamaged { throw ValidationError("--skip-damaged reads data directories only") }
        }
    }

    func run() async throws {
        try await Output.run {
            guard let directory else { return try await dumpPostgres() }
            let location = try DataDirectory(path: directory).store(store)
            let reader = try LogReader(directory: location.path)
            var damage = DamageHandling(store: location.id, skip: damageOptions.skipDamaged)
            var buffer = Data()
            defer { Output.write(buffer) }  // What was read before an error, too.
            try reader.forEachEntry(from: from) { met in
                guard (met.skipped?.lowerBound ?? met.problem.position ?? 0) <= to else { return false }
                Output.write(buffer)
                buffer.removeAll(keepingCapacity: true)
                try damage.meet(met)
                return true
            } _: { entry in
                guard entry.position <= to else { return false }
                if let space, entry.space != space { return true }
                if let segment, entry.segment != segment { return true }
                emit(entry, into: &buffer)
                return true
            }
            Output.write(buffer)
            buffer.removeAll()
            damage.finish()
        }
    }

    /// Appends `entry` in the chosen format and a line break to `buffer`, writing the buffer out when it is large.
    private func emit(_ entry: Entry, into buffer: inout Data) {
        switch format {
        case .ndjson: buffer.append(Self.json(entry))
        case .raw: entry.payload.withUnsafeBytes { buffer.append(contentsOf: $0) }
        }
        buffer.append(0x0A)
        if buffer.count > 1 << 16 {
            Output.write(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }

    /// `dump --postgres`: the store's entries through the engine, in log order (one space's, or one segment's).
    private func dumpPostgres() async throws {
        guard let (url, source) = postgres.resolvedURL(hasDirectory: false) else { return }
        let location = try PostgresOptions.location(url: url, source: source)
        let id = try Remote.storeID(store)
        try await PostgresStores.with(location) { stores in
            try await stores.withStore(id) { store in
                if let space, let segment {
                    try await write(store.consumeSegment(space: space, segment: segment), of: store)
                } else if let space {
                    try await write(store.consumeSpace(space: space), of: store)
                } else {
                    try await write(await PostgresStores.everything(store), of: store)
                }
            }
        }
    }

    /// Writes the entries of `read` from `from` through `to`; a damaged row ends it after the entries before it.
    private func write<Entries: AsyncSequence>(_ read: Entries, of store: Store) async throws
    where Entries.Element == Entry {
        var buffer = Data()
        defer { Output.write(buffer) }  // What was read before an error, too.
        do {
            for try await entry in read {
                guard entry.position <= to else { break }
                guard entry.position >= from else { continue }
                emit(entry, into: &buffer)
            }
        } catch let error as StreamKitError where error.code == .corrupt {
            throw CLIError(
                "\(store.id.uuidString.lowercased()): damaged data: \(PostgresStores.damage(store, error)) — the entries after it are not read",
                exitCode: DamageHandling.exitCode)
        } catch let error as StreamKitError {
            throw CLIError("\(store.id.uuidString.lowercased()): \(error.message)")
        }
    }

    /// One entry as a JSON object; the payload as UTF-8 text when it is valid UTF-8, base64 otherwise,
    /// stated in `payload_encoding`.
    static func json(_ entry: Entry) -> Data {
        let bytes = Array(entry.payload)
        let text = String(validating: bytes, as: UTF8.self)
        let object: [String: Any] = [
            "position": entry.position,
            "space": entry.space,
            "segment": entry.segment,
            "sequence": entry.sequence,
            "timestamp": entry.timestamp,
            "time": isoTime(entry.timestamp),
            "transaction_id": entry.transactionID.uuidString,
            "transaction_number": entry.transactionNumber,
            "metadata": entry.metadata,
            "payload": text ?? Data(bytes).base64EncodedString(),
            "payload_encoding": text == nil ? "base64" : "utf8",
        ]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data()
    }
}
