import Synchronization

/// Progress on stderr as one self-rewriting line (`\r`), at most 10 redraws per second, and only
/// when stderr is a terminal. Otherwise silent, except the one final line per scenario (`finish`).
final class ProgressReporter: ProgressReporting {
    private struct State {
        var lastDrawNanoseconds: UInt64 = 0
        var lineVisible = false
    }

    private static let minimumInterval: UInt64 = 100_000_000

    private let interactive: Bool
    private let state = Mutex(State())

    init(interactive: Bool = StandardError.isTerminal) {
        self.interactive = interactive
    }

    /// Cheap enough to call once per batch: without a terminal it returns at once; with one it reads
    /// the clock and takes an uncontended lock.
    func update(_ label: String, done: Int, total: Int) {
        guard interactive else { return }
        let now = MonotonicClock.nanoseconds()
        let draw = state.withLock { state -> Bool in
            guard now &- state.lastDrawNanoseconds >= Self.minimumInterval else { return false }
            state.lastDrawNanoseconds = now
            state.lineVisible = true
            return true
        }
        guard draw else { return }
        let percent = total > 0 ? min(100, done * 100 / total) : 0
        StandardError.emit("\r\u{1B}[2K\(label)  \(done)/\(total)  \(percent)%")
    }

    /// Clears the progress line (if any) and prints `line` on its own.
    func finish(_ line: String) {
        let clear = state.withLock { state -> Bool in
            defer {
                state.lineVisible = false
                state.lastDrawNanoseconds = 0
            }
            return state.lineVisible
        }
        StandardError.emitLine((clear ? "\r\u{1B}[2K" : "") + line)
    }
}
