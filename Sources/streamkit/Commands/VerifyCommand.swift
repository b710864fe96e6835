import ArgumentParser
import Foundation
import StreamKitLogFiles

/// `streamkit verify DIR [--store ID]`: checks every block and frame; non-zero status on corruption.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every block and WAL frame (CRC, framing, positions, timestamps).",
        discussion: """
            Checks what opening each store would: exit status 0 when nothing is damaged, 2 when a store is \
            damaged (each problem is printed with its file and offset, and the damage also on stderr). A torn \
            tail a crash left at the end of the last files is printed but is not damage: opening cuts it.
            """)

    @Argument(help: "A data directory, or a single store directory.")
    var directory: String

    @Option(name: .long, help: "Only this store.")
    var store: String?

    func run() async throws {
        try await Output.run {
            let data = try DataDirectory(path: directory)
            let stores = try store.map { [try data.store($0)] } ?? data.stores
            var damaged = 0
            for location in stores {
                let reader = try LogReader(directory: location.path)
                let report = try reader.verify { done, total in Output.progress("verify \(location.id)", done: done, total: total) }
                let status = report.isClean ? "ok" : (report.hasCorruption ? "CORRUPT" : "torn tail (open will cut it)")
                Output.line(
                    "\(location.id): \(status) — \(report.logFiles) log files, \(report.blocks) blocks, \(report.entries) entries, "
                        + "\(report.walFiles) WAL files, \(report.walFrames) WAL frames")
                for problem in report.problems {
                    Output.line("  \(problem.path) @\(problem.offset): \(problem.reason)\(problem.isTail ? " (torn tail)" : "")")
                }
                if report.hasCorruption { damaged += 1 }
                DamageHandling.report(report.problems.filter { !$0.isTail }, store: location.id)
            }
            try DamageHandling.fail(damagedStores: damaged)
        }
    }
}
