import ArgumentParser
import Foundation
import StreamKitLogFiles
import StreamKitPostgres

/// `streamkit verify (DIR | --postgres URL) [--store ID]`: checks every block and frame, or every PostgreSQL row;
/// non-zero status on corruption.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every block and WAL frame (CRC, framing, positions, timestamps).",
        discussion: """
            Checks what opening each store would: exit status 0 when nothing is damaged, 2 when a store is \
            damaged (each problem is printed with its file and offset, and the damage also on stderr). A torn \
            tail a crash left at the end of the last files is printed but is not damage: opening cuts it.

            With --postgres URL (or \(PostgresOptions.urlVariable) when no DIR is given) each store's rows are \
            read from PostgreSQL and decoded (which checks each row's checksum): positions must run 1…head \
            without a gap and each segment's sequences without one. A store's check stops at its first damaged \
            row.
            """)

    @Argument(help: "A data directory, or a single store directory.")
    var directory: String?

    @OptionGroup var postgres: PostgresOptions

    @Option(name: .long, help: "Only this store.")
    var store: String?

    func validate() throws {
        try postgres.validate(directoryOption: "DIR", hasDirectory: directory != nil)
        guard directory != nil || postgres.resolvedURL(hasDirectory: false) != nil else {
            throw ValidationError("give a data directory DIR, or --postgres URL (or \(PostgresOptions.urlVariable))")
        }
        if directory == nil, let store { _ = try Remote.storeID(store) }
    }

    func run() async throws {
        try await Output.run {
            guard let directory else { return try await verifyPostgres() }
            let data = try DataDirectory(path: directory)
            let stores = try store.map { [try data.store($0)] } ?? data.stores
            var damaged = 0
            for location in stores {
                let reader = try LogReader(directory: location.path)
                let report = try reader.verify { done, total in
                    Output.progress("verify \(location.id)", done: done, total: total)
                }
                let status = report.isClean ? "ok" : (report.hasCorruption ? "CORRUPT" : "torn tail (open will cut it)")
                Output.line(
                    "\(location.id): \(status) — \(report.logFiles) log files, \(report.blocks) blocks, \(report.entries) entries, "
                        + "\(report.walFiles) WAL files, \(report.walFrames) WAL frames")
                for problem in report.problems {
                    Output.line(
                        "  \(problem.path) @\(problem.offset): \(problem.reason)\(problem.isTail ? " (torn tail)" : "")"
                    )
                }
                if report.hasCorruption { damaged += 1 }
                DamageHandling.report(report.problems.filter { !$0.isTail }, store: location.id)
            }
            try DamageHandling.fail(damagedStores: damaged)
        }
    }

    /// `verify --postgres`: reads every entry of every store (or `--store`) through the engine.
    private func verifyPostgres() async throws {
        guard let (url, source) = postgres.resolvedURL(hasDirectory: false) else { return }
        let location = try PostgresOptions.location(url: url, source: source)
        let only = try store.map(Remote.storeID)
        let damaged = try await PostgresStores.with(location) { stores in
            var damaged = 0
            for id in try await stores.ids(only: only) {
                let label = id.uuidString.lowercased()
                let check: PostgresCheck
                do {
                    check = try await stores.withStore(id) { try await PostgresCheck(store: $0) }
                } catch let error as CLIError where error.exitCode == DamageHandling.exitCode {
                    check = PostgresCheck(problem: error.message)
                }
                if !check.opened {
                    Output.line("\(label): CORRUPT — the store cannot be opened")
                } else {
                    let status = check.problems.isEmpty ? "ok" : "CORRUPT"
                    Output.line(
                        "\(label): \(status) — \(check.rows) rows, \(check.entries) entries of \(check.head), "
                            + "\(check.segments) segments")
                }
                for problem in check.problems {
                    Output.line("  \(problem)")
                    Output.error("streamkit: \(label): damaged: \(problem)")
                }
                if !check.problems.isEmpty { damaged += 1 }
            }
            return damaged
        }
        try DamageHandling.fail(damagedStores: damaged)
    }
}
