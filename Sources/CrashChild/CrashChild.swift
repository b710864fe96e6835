import Foundation
import Logging
import StreamKitEngine

/// A producer for the crash tests: opens the store in the given directory with `fsync` durability and
/// produces transactions of 10 records round-robin to 4 segments, printing `segment sequence` for the last
/// record of every acknowledged transaction, until it is killed (or has produced `--transactions`). With
/// `--retain`, retention runs in the background every 10 ms and keeps about 64 KiB of 16 KiB log files, so
/// kills land in the middle of drops too. With `--compact`, every 8th transaction also truncates a segment before
/// its last 20 sequences (printing `trunc segment sequence` once that returned) and compaction runs in the
/// background every 10 ms over 16 KiB log files, so kills land in the middle of rewrites.
///
/// Usage: `streamkit-crash-child <directory> <store-uuid> [transactions] [--retain] [--compact]`
@main
struct CrashChild {
    /// Writes a line straight to the standard output (unbuffered, so a kill loses nothing printed).
    static func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func main() async {
        var arguments = CommandLine.arguments
        let retain = arguments.contains("--retain")
        let compact = arguments.contains("--compact")
        arguments.removeAll { $0 == "--retain" || $0 == "--compact" }
        guard arguments.count >= 3, let id = UUID(uuidString: arguments[2]) else {
            FileHandle.standardError.write(
                Data("usage: streamkit-crash-child <directory> <store-uuid> [transactions]\n".utf8))
            exit(64)
        }
        let limit = arguments.count > 3 ? Int(arguments[3]) ?? Int.max : Int.max
        var configuration = StoreConfiguration()
        configuration.log.durability = .fsync
        configuration.log.blockBytes = 8 << 10
        configuration.log.walFileBytes = 64 << 10
        configuration.log.logger.logLevel = .error
        configuration.logger.logLevel = .error
        if retain {
            configuration.log.logFileBytes = 16 << 10
            configuration.retention = RetentionConfiguration(
                policy: .init(maxBytes: 64 << 10), interval: .milliseconds(10))
        } else if compact {
            configuration.log.logFileBytes = 16 << 10
            configuration.retention = RetentionConfiguration(interval: .milliseconds(10), compactionBytesPerSecond: nil)
        }
        do {
            let store = try await Store.open(id: id, directory: arguments[1], configuration: configuration)
            var next: [UInt64] = []
            for s in 0..<4 {
                next.append((await store.status(space: "crash", segment: "g\(s)")?.lastSequence ?? 0) + 1)
            }
            emit("ready")
            for n in 0..<limit {
                let s = n % 4
                let first = next[s]
                let records = (first..<(first + 10)).map { Record(sequence: $0, payload: Array("g\(s)-\($0)".utf8)) }
                try await store.produce(space: "crash", segment: "g\(s)", records: records)
                next[s] = first + 10
                emit("g\(s) \(first + 9)")
                if compact, n % 8 == 7 {
                    let target = (n / 8) % 4
                    if next[target] > 21 {
                        let bound = next[target] - 20
                        try await store.truncateSegment(space: "crash", segment: "g\(target)", before: bound)
                        emit("trunc g\(target) \(bound)")
                    }
                }
            }
            await store.close()
        } catch {
            FileHandle.standardError.write(Data("crash child failed: \(error)\n".utf8))
            exit(1)
        }
    }
}
