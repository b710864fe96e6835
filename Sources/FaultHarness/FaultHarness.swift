import ArgumentParser
import Foundation
import StreamKitTestSupport

/// `streamkit-faults --streamkit PATH [--duration S] [--seed N] [--phases crash,damage,garbage] [--every-byte]`:
/// attacks a built `streamkit` binary the way a crash, a damaged disk and a hostile network would, within a time
/// budget, and exits non-zero when any check fails. See `docs/reliability.md`.
@main
struct FaultHarness: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streamkit-faults",
        abstract: "Crash, damage and garbage checks of the streamkit binary, bounded in time.",
        discussion: """
            Three phases share the time budget: crash (kill -9 of `serve` under concurrent publishers, then every \
            acknowledged record is checked), damage (bit flips and truncations of store copies run through \
            verify, inspect, dump and serve) and garbage (hostile bytes at the server's port while a publisher \
            and a tail keep working). Every random choice comes from --seed (printed at the start), so a run's \
            decisions replay; timing still varies. Only 127.0.0.1 is used. Prints a table of figures and checks; \
            the exit status is 1 when a check failed, 2 when the harness itself could not run.
            """)

    enum Phase: String, ExpressibleByArgument, CaseIterable, Sendable {
        case crash, damage, garbage
    }

    @Option(name: .long, help: "The streamkit binary under test.")
    var streamkit: String

    @Option(name: .long, help: "The time budget in seconds, shared by the phases.")
    var duration = 90

    @Option(name: .long, help: "The seed of every random choice (default: a random one, printed).")
    var seed: UInt64?

    @Option(name: .long, help: "Phases to run, comma-separated: crash, damage, garbage.")
    var phases = "crash,damage,garbage"

    @Flag(
        name: .customLong("every-byte"),
        help: "Damage every byte of the tiny stores' files (flip and cut), not a sample.")
    var everyByte = false

    @Option(name: .long, help: "Damage cases and tool runs at once.")
    var jobs = 2

    @Option(name: .long, help: "The work directory (default: a new one in the temporary directory).")
    var work: String?

    @Flag(name: .long, help: "Keep the work directory (it is always kept when a check fails).")
    var keep = false

    func validate() throws {
        guard FileManager.default.isExecutableFile(atPath: streamkit) else {
            throw ValidationError("--streamkit \(streamkit) is not an executable")
        }
        if duration < 10 { throw ValidationError("--duration must be at least 10 seconds") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        _ = try selectedPhases()
    }

    private func selectedPhases() throws -> [Phase] {
        try phases.split(separator: ",").map { name in
            guard let phase = Phase(rawValue: String(name)) else { throw ValidationError("unknown phase \(name)") }
            return phase
        }
    }

    /// Writes `text` and a line break to stdout at once (no buffer: progress reaches a log file as it happens).
    static func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Each phase's share of the budget.
    private static let weights: [Phase: Double] = [.crash: 0.4, .damage: 0.33, .garbage: 0.27]

    func run() async throws {
        let seed = self.seed ?? UInt64.random(in: 0...UInt64.max)
        let chosen = try selectedPhases()
        let work = self.work ?? (NSTemporaryDirectory() + "streamkit-faults-\(seed)")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        Self.say(
            "streamkit-faults: seed \(seed) (replay with --seed \(seed)), \(duration) s, phases \(chosen.map(\.rawValue).joined(separator: ",")), work \(work)"
        )
        // A copy of the binary: the tree's build may replace the original while the harness runs.
        let streamkit = work + "/streamkit"
        try? FileManager.default.removeItem(atPath: streamkit)
        try FileManager.default.copyItem(atPath: self.streamkit, toPath: streamkit)
        signal(SIGPIPE, SIG_IGN)  // A child or socket gone away is a result, not the harness's end.
        let report = Report()
        let began = ContinuousClock.now
        let total = chosen.reduce(0) { $0 + (Self.weights[$1] ?? 0) }
        var start = began
        do {
            for phase in chosen {
                let share = Double(duration) * (Self.weights[phase] ?? 0) / total
                let deadline = max(start + .seconds(share), ContinuousClock.now + .seconds(5))
                let phaseBegan = ContinuousClock.now
                Self.say("streamkit-faults: \(phase.rawValue) phase, \(Int(share)) s")
                switch phase {
                case .crash:
                    try await CrashConsistency(
                        binary: streamkit, work: work, seed: seed, deadline: deadline, report: report
                    ).run()
                case .damage:
                    try await StoreDamage(
                        binary: streamkit, work: work, seed: seed, deadline: deadline, everyByte: everyByte, jobs: jobs,
                        report: report
                    ).run()
                case .garbage:
                    try await PortGarbage(binary: streamkit, work: work, seed: seed, deadline: deadline, report: report)
                        .run()
                }
                report.figure(
                    phase.rawValue, "seconds", "\(Int((ContinuousClock.now - phaseBegan).components.seconds))")
                start = deadline
            }
        } catch {
            Self.say(report.render())
            Self.say("streamkit-faults: the harness could not go on: \(error) (seed \(seed), work \(work) kept)")
            throw ExitCode(2)
        }
        Self.say(report.render())
        let elapsed = (ContinuousClock.now - began).components.seconds
        if report.failed {
            Self.say(
                "streamkit-faults: FAILED after \(elapsed) s (seed \(seed), work \(work) kept): \(report.failures.joined(separator: "; "))"
            )
            throw ExitCode(1)
        }
        Self.say("streamkit-faults: every check passed in \(elapsed) s (seed \(seed))")
        if !keep { try? FileManager.default.removeItem(atPath: work) }
    }
}
