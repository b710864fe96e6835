import Foundation
import Testing

/// Publishing and reading through nodes, with the `streamkit publish` and `tail` commands.
enum NodeClient {
    /// One acknowledged record: the sequence `publish` printed for it.
    struct Acknowledged: Hashable {
        var payload: String
        var sequence: Int
    }

    /// A `streamkit publish` of `payloads` (one per line) through `node` to one segment; started, not awaited.
    static func startPublishing(
        _ payloads: [String], through node: NodeProcess, store: UUID, space: String, segment: String
    ) throws -> ChildProcess {
        try ChildProcess(
            ["publish", node.url, "--store", store.uuidString, "--space", space, "--segment", segment],
            stdin: payloads.map { $0 + "\n" }.joined())
    }

    /// What a publisher acknowledged so far (or in all, once it ended): its stdout lines
    /// `SPACE/SEGMENT SEQUENCE TIME`, paired with the payloads it was given, in order.
    static func acknowledged(_ lines: [String], payloads: [String]) throws -> [Acknowledged] {
        try zip(lines, payloads).map { line, payload in
            let fields = line.split(separator: " ")
            let sequence = try #require(fields.count == 3 ? Int(fields[1]) : nil, "not an acknowledgement: \(line)")
            return Acknowledged(payload: payload, sequence: sequence)
        }
    }

    /// One `streamkit publish` per node, all at once: node `i` publishes `payloads[i]` to `segment(i)`; started,
    /// not awaited.
    static func startPublishers(
        _ payloads: [[String]], through nodes: [NodeProcess], store: UUID, space: String, segment: (Int) -> String
    ) throws -> [ChildProcess] {
        var publishers: [ChildProcess] = []
        do {
            for (index, node) in nodes.enumerated() {
                publishers.append(
                    try startPublishing(
                        payloads[index], through: node, store: store, space: space, segment: segment(index)))
            }
        } catch {
            for publisher in publishers { publisher.stop() }
            throw error
        }
        return publishers
    }

    /// Waits for `publisher` of `payloads` to end and returns what it acknowledged: all of them, or the test fails.
    static func acknowledgements(of publisher: ChildProcess, payloads: [String]) async throws -> [Acknowledged] {
        let finished = try await publisher.finished(timeout: .seconds(300))
        try #require(finished.status == 0, "publish failed: \(finished.stderr)")
        try #require(finished.stdoutLines.count == payloads.count, "\(finished.stdout)")
        return try acknowledged(finished.stdoutLines, payloads: payloads)
    }

    /// Publishes `payloads` through `node` and returns what was acknowledged (all of them, or the test fails).
    static func publish(
        _ payloads: [String], through node: NodeProcess, store: UUID, space: String, segment: String
    ) async throws -> [Acknowledged] {
        let child = try startPublishing(payloads, through: node, store: store, space: space, segment: segment)
        defer { child.stop() }
        return try await acknowledgements(of: child, payloads: payloads)
    }

    /// `streamkit tail --from-start` of a space (or one segment) through `node` until it printed `count` entries;
    /// then SIGINT. Returns the printed lines (the JSON of `dump`), failing when more than `count` came.
    static func read(
        _ count: Int, through node: NodeProcess, store: UUID, space: String, segment: String? = nil
    ) async throws -> [String] {
        try await read(count, through: node.url, store: store, space: space, segment: segment)
    }

    /// ``read(_:through:store:space:segment:)`` through the server at `url`.
    static func read(
        _ count: Int, through url: String, store: UUID, space: String, segment: String? = nil
    ) async throws -> [String] {
        let tail = try ChildProcess(
            ["tail", url, "--store", store.uuidString, "--space", space, "--from-start"]
                + (segment.map { ["--segment", $0] } ?? []))
        defer { tail.stop() }
        _ = try await tail.lines(count, timeout: .seconds(120))
        tail.signal(SIGINT)
        let ended = try await tail.finished(timeout: .seconds(60))
        try #require(ended.status == 0, "tail through \(url) failed: \(ended.stderr)")
        try #require(
            ended.stdoutLines.count == count,
            "tail through \(url) printed \(ended.stdoutLines.count) entries, not \(count)")
        return ended.stdoutLines
    }

    /// A line of `dump` or `tail` as a JSON object.
    static func json(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}
