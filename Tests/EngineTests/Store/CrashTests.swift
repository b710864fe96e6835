import Foundation
import StreamKitLogFiles
import Testing

@testable import StreamKitEngine

/// Kills a producing child process with SIGKILL at random moments and checks, after each kill, that every
/// acknowledged entry is there and nothing half-written is.
@Suite(.timeLimit(.minutes(3))) struct CrashTests {
    /// Cycles per run; `STREAMKIT_CRASH_CYCLES` raises it for longer soaks.
    static let cycles = ProcessInfo.processInfo.environment["STREAMKIT_CRASH_CYCLES"].flatMap(Int.init) ?? 20

    static var childPath: String {
        let base = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return base.appendingPathComponent("streamkit-crash-child").path
    }

    @Test("SIGKILL at random moments never loses an acknowledged entry nor leaves a half-written transaction")
    func killAndRecover() async throws {
        try await killAndRecover(retaining: false)
    }

    @Test(
        "SIGKILL at random moments while retention drops files loses nothing acknowledged and resurrects nothing dropped"
    )
    func killDuringRetentionAndRecover() async throws {
        try await killAndRecover(retaining: true)
    }

    @Test(
        "SIGKILL at random moments while segments are truncated and compaction rewrites files loses nothing acknowledged and resurrects nothing deleted; the bytes end up erased"
    )
    func killDuringCompactionAndRecover() async throws {
        try await killAndRecover(retaining: false, compacting: true)
    }

    private func killAndRecover(retaining: Bool, compacting: Bool = false) async throws {
        let directory = NSTemporaryDirectory() + "streamkit-crash-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let id = UUID()
        var acknowledged: [String: UInt64] = [:]
        var firstSeen: [String: UInt64] = [:]  // With retention: the first sequence left only ever moves forward.
        var truncated: [String: UInt64] = [:]  // With compaction: acknowledged truncations (entries before are gone).
        var generator = SystemRandomNumberGenerator()
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.childPath), "child not built at \(Self.childPath)")

        for cycle in 0..<Self.cycles {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: Self.childPath)
            child.arguments =
                [directory, id.uuidString] + (retaining ? ["--retain"] : []) + (compacting ? ["--compact"] : [])
            let output = Pipe()
            child.standardOutput = output
            try child.run()
            // A child that hangs is killed after 20 s, so the test fails instead of hanging the run.
            let watchdog = Task.detached { [pid = child.processIdentifier] in
                try await Task.sleep(for: .seconds(20))
                kill(pid, SIGKILL)
            }
            defer { watchdog.cancel() }
            // Let it get ready, then produce for a random while, then kill it mid-flight.
            let reader = output.fileHandleForReading
            var buffer = Data()
            let deadline = Date().addingTimeInterval(Double.random(in: 0.05...0.4, using: &generator))
            var ready = false
            while Date() < deadline || !ready {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                if !ready, String(decoding: buffer, as: UTF8.self).contains("ready") { ready = true }
            }
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            buffer.append(reader.readDataToEndOfFile())
            for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 3, parts[0] == "trunc", let bound = UInt64(parts[2]) {
                    truncated[String(parts[1])] = max(truncated[String(parts[1])] ?? 0, bound)
                    continue
                }
                guard parts.count == 2, let sequence = UInt64(parts[1]) else { continue }
                acknowledged[String(parts[0])] = max(acknowledged[String(parts[0])] ?? 0, sequence)
            }

            // Reopen in this process and check.
            var configuration = StoreFixture.quiet()
            configuration.log.durability = .fsync
            let store = try await Store.open(id: id, directory: directory, configuration: configuration)
            for s in 0..<4 {
                let name = "g\(s)"
                let entries = try await store.consumeSegment(space: "crash", segment: name).collect()
                let first = entries.first?.sequence ?? 1
                let last = entries.last?.sequence ?? 0
                #expect(
                    entries.map(\.sequence) == Array(first..<(first + UInt64(entries.count))),
                    "cycle \(cycle): \(name) is not contiguous")
                #expect(last >= acknowledged[name] ?? 0, "cycle \(cycle): \(name) lost acknowledged entries")
                #expect(last % 10 == 0, "cycle \(cycle): \(name) ends in a partial transaction")
                if retaining {
                    #expect(first >= firstSeen[name] ?? 1, "cycle \(cycle): \(name) got dropped entries back")
                    firstSeen[name] = max(firstSeen[name] ?? 1, first)
                } else if compacting {
                    #expect(
                        entries.isEmpty || first >= truncated[name] ?? 1,
                        "cycle \(cycle): \(name) got deleted entries back")
                } else {
                    #expect(first == 1, "cycle \(cycle): \(name) lost its first entries")
                }
                #expect(
                    entries.allSatisfy { $0.payload.bytes == Array("\(name)-\($0.sequence)".utf8) },
                    "cycle \(cycle): garbage in \(name)")
            }
            await store.close()
        }
        #expect(acknowledged.values.reduce(0, +) > 0, "the child never acknowledged anything")
        if compacting {
            // Erased for good: with every deletion finished (offline, after a clean close), only erased records hide
            // entries, and no entry before an acknowledged truncation is left in the files.
            #expect(!truncated.isEmpty, "the child never truncated")
            var configuration = StoreFixture.quiet()
            configuration.retention.compacts = false
            await (try await Store.open(id: id, directory: directory, configuration: configuration)).close()
            _ = try LogCompaction.run(directory: directory)
            #expect(try StoreManifest.read(directory: directory).deletions.isEmpty)
            let left = try LogReader(directory: directory).entries()
            for (name, bound) in truncated {
                #expect(
                    left.filter { $0.segment == name }.allSatisfy { $0.sequence >= bound },
                    "\(name): deleted entries left in the files")
            }
        }
        if retaining { #expect(firstSeen.values.contains { $0 > 1 }, "retention never dropped anything") }
    }
}
