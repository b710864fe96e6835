import Foundation
import StreamKitTestSupport

/// How long the chaos test strikes and with which seed: `STREAMKIT_CHAOS_SECONDS` (default 20; longer for a soak)
/// and `STREAMKIT_CHAOS_SEED` (default random, printed, so a failing run's schedule can be replayed);
/// `STREAMKIT_CHAOS_GRACEFUL_RESTARTS=0` leaves graceful restarts out of the mix.
///
/// A seed fixes what the test decides — when to strike and how, batch sizes, when the reader pauses — not how the
/// tasks interleave, so a replay repeats the schedule, not necessarily the exact failure.
struct ChaosSettings: Sendable {
    let seconds: Double
    let seed: UInt64
    /// Whether half the restarts shut the server down gracefully, with the client still connected (go-away, then
    /// the streams' `storeUnavailable`) instead of crashing it. On by default; `STREAMKIT_CHAOS_GRACEFUL_RESTARTS=0`
    /// turns it off (every restart a crash). See ``Chaos/strike(_:until:graceful:random:)``.
    let gracefulRestarts: Bool

    static let current = ChaosSettings(
        seconds: environment("STREAMKIT_CHAOS_SECONDS").flatMap(Double.init).map { max(1, $0) } ?? 20,
        seed: environment("STREAMKIT_CHAOS_SEED").flatMap { UInt64($0) } ?? UInt64.random(in: 1...999_999_999),
        gracefulRestarts: environment("STREAMKIT_CHAOS_GRACEFUL_RESTARTS") != "0")

    /// The test's time limit: the strike window plus room to settle and verify.
    static var timeLimitMinutes: Int {
        Int((current.seconds + 90 + Double(Chaos.overtime.components.seconds)) / 60) + 1
    }

    private static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// An independent generator per actor of the test, derived from the seed.
    func generator(_ stream: UInt64) -> SplitMix64 {
        SplitMix64(seed: seed &+ stream &* 0x9E37_79B9_7F4A_7C15)
    }
}
