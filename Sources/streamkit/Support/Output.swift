import ArgumentParser
import Foundation

/// Writing to stdout and stderr without buffering surprises, plus a terminal progress line.
enum Output {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static let stderrIsTerminal = isatty(2) != 0

    /// A self-rewriting progress line on stderr, only on a terminal.
    static func progress(_ label: String, done: Int64, total: Int64) {
        guard stderrIsTerminal, total > 0 else { return }
        let percent = Int(done * 100 / total)
        let width = 30
        let filled = min(width, Int(Int64(width) * done / total))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(percent)%".utf8))
        if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// Runs `body`; a `CLIError` or a `LogFilesError` becomes one line on stderr and an exit status.
    static func run(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as CLIError {
            Output.error("streamkit: \(error.message)")
            throw ExitCode(error.exitCode)
        } catch let error as ExitCode {
            throw error
        } catch {
            Output.error("streamkit: \(error)")
            throw ExitCode(1)
        }
    }
}

