import Foundation
import Synchronization

/// The figures and checks of a run, printed as one table at the end; a failed check makes the run fail.
final class Report: Sendable {
    /// Whether a line is a check and how it came out.
    enum Verdict: String, Sendable {
        case pass = "ok"
        case fail = "FAIL"
        case info = ""
    }

    /// One line of the table.
    struct Line: Sendable {
        var phase: String
        var name: String
        var value: String
        var verdict: Verdict
    }

    private struct State {
        var lines: [Line] = []
        /// Examples of each failed check, for replaying it (a few per check).
        var examples: [String: [String]] = [:]
    }

    private let state = Mutex(State())
    /// Most examples kept per check.
    static let examplesPerCheck = 8

    /// A figure that is not a check.
    func figure(_ phase: String, _ name: String, _ value: String) {
        state.withLock { $0.lines.append(Line(phase: phase, name: name, value: value, verdict: .info)) }
    }

    /// A check: `value` is shown, `passed` decides the verdict.
    func check(_ phase: String, _ name: String, _ value: String, passed: Bool) {
        state.withLock {
            $0.lines.append(Line(phase: phase, name: name, value: value, verdict: passed ? .pass : .fail))
        }
    }

    /// A check that a count is zero.
    func zero(_ phase: String, _ name: String, _ count: Int) {
        check(phase, name, "\(count)", passed: count == 0)
    }

    /// Keeps an example (what happened, with what to replay it) under a check's name.
    func example(_ phase: String, _ name: String, _ text: String) {
        state.withLock { state in
            let key = "\(phase): \(name)"
            if (state.examples[key]?.count ?? 0) < Self.examplesPerCheck {
                state.examples[key, default: []].append(text)
            }
        }
    }

    /// `text` on one line (line breaks become ` | `), at most `limit` characters: for examples.
    static func oneLine(_ text: String, limit: Int = 400) -> String {
        String(text.split(whereSeparator: \.isNewline).joined(separator: " | ").prefix(limit))
    }

    /// Whether any check failed.
    var failed: Bool { state.withLock { $0.lines.contains { $0.verdict == .fail } } }

    /// The failed checks, as `phase: name`.
    var failures: [String] {
        state.withLock { $0.lines.filter { $0.verdict == .fail }.map { "\($0.phase): \($0.name)" } }
    }

    /// The table (Markdown, readable as plain text too), then the examples of each check or figure that has some.
    func render() -> String {
        let (lines, examples) = state.withLock { ($0.lines, $0.examples) }
        var text = "| phase | figure or check | value | result |\n|---|---|---:|---|\n"
        for line in lines {
            text += "| \(line.phase) | \(line.name) | \(line.value) | \(line.verdict.rawValue) |\n"
        }
        let failed = Set(lines.filter { $0.verdict == .fail }.map { "\($0.phase): \($0.name)" })
        for key in examples.keys.sorted() {  // Failed checks first, then figures worth a look.
            text += "\nexamples of \(key)\(failed.contains(key) ? " (FAIL)" : ""):\n"
            for example in examples[key] ?? [] { text += "  - \(example)\n" }
        }
        return text
    }
}
