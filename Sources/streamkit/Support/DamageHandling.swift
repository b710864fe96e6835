import ArgumentParser
import StreamKitLogFiles

/// `--skip-damaged`, for the commands that read a store's entries (`dump`, `replay`).
struct DamageOptions: ParsableArguments {
    @Flag(
        name: .customLong("skip-damaged"),
        help:
            "Read past damaged data: go on with what can be read, naming each damaged spot and the positions it skipped on stderr (status 0)."
    )
    var skipDamaged = false
}

/// The one way the offline commands (`inspect`, `verify`, `dump`, `replay`) treat damage in a store — what
/// opening the store would refuse (a torn tail that open cuts is not damage): each damaged spot is a line on
/// stderr naming the store, the file, the offset, the reason and the positions it skipped, and the command
/// ends with status 2 — unless `--skip-damaged` let it read past them, when it ends with a line saying how
/// much it skipped.
struct DamageHandling {
    /// The exit status of a command that met damage.
    static let exitCode: Int32 = 2

    /// The store's id, for the messages.
    let store: String
    /// Whether to read past damage (`--skip-damaged`).
    let skip: Bool
    /// The damage met so far.
    private(set) var met: [ReadDamage] = []

    init(store: String, skip: Bool) {
        self.store = store
        self.skip = skip
    }

    /// Damage met while reading: named on stderr, then skipped or, without `--skip-damaged`, the end of the
    /// command (write out what was read before it first).
    /// - Throws: `CLIError` with status 2 unless skipping.
    mutating func meet(_ damage: ReadDamage) throws {
        met.append(damage)
        guard skip else {
            throw CLIError(
                "\(store): damaged data: \(damage) — the entries after it are not read (--skip-damaged reads past it)",
                exitCode: Self.exitCode)
        }
        Output.error("streamkit: \(store): skipped damaged data: \(damage)")
    }

    /// After a read that went past damage: one line on stderr with what was skipped in all.
    func finish() {
        guard !met.isEmpty else { return }
        let positions = met.reduce(0) { $0 + ($1.skipped?.count ?? 0) }
        let unknown = met.contains { $0.skipped == nil } ? " and whatever the last one held" : ""
        Output.error(
            "streamkit: \(store): read past \(met.count) damaged spot\(met.count == 1 ? "" : "s"), skipping \(positions) position\(positions == 1 ? "" : "s")\(unknown)"
        )
    }

    /// Damage found by a check (`inspect`, `verify`): each named on stderr.
    static func report(_ damage: [ScanProblem], store: String) {
        for problem in damage {
            let at = problem.position.map { " (position \($0))" } ?? ""
            Output.error("streamkit: \(store): damaged: \(problem.path) @\(problem.offset)\(at): \(problem.reason)")
        }
    }

    /// The end of a check that found damaged stores.
    /// - Throws: `CLIError` with status 2 when `count` > 0.
    static func fail(damagedStores count: Int) throws {
        guard count > 0 else { return }
        throw CLIError("\(count) store\(count == 1 ? " is" : "s are") damaged", exitCode: exitCode)
    }
}
