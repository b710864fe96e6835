import ArgumentParser
import Foundation

/// Writing to stdout and stderr without buffering surprises, plus a terminal progress line.
enum Output {
    /// One line on stdout, written at once (no buffer to flush).
    static func line(_ text: String) {
        write(Data((text + "\n").utf8))
    }

    /// Bytes on stdout with `write(2)`, at once. When the reader has gone (`EPIPE`: `streamkit tail … | head`)
    /// the process ends quietly with status 0, as other Unix filters do.
    static func write(_ data: Data) {
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            guard var pointer = bytes.baseAddress else { return }
            var remaining = bytes.count
            while remaining > 0 {
                let written = Foundation.write(1, pointer, remaining)
                if written < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    exit(errno == EPIPE ? 0 : 1)
                }
                pointer += written
                remaining -= written
            }
        }
    }

    /// One line on stderr; line breaks inside `text` become spaces, so an error is always one line.
    static func error(_ text: String) {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        FileHandle.standardError.write(Data((flat + "\n").utf8))
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

    /// Runs `body`; a `CLIError`, a `StreamKitError` or any other error becomes one line on stderr and an
    /// exit status (1 unless the `CLIError` says otherwise).
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
