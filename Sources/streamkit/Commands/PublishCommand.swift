import ArgumentParser
import Dispatch
import Foundation
import StreamKitClient
import StreamKitEngine

/// `streamkit publish URL --store ID --space S --segment G [--token T]`, one record per line of stdin.
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish each line of stdin as one record to a segment of a remote store.",
        discussion: """
            A line that is a JSON object with a string "payload" and an optional "metadata" object of strings \
            publishes that payload with that metadata; any other line is the payload itself (UTF-8). Empty \
            lines are skipped. The store assigns each record the segment's next sequence, so several \
            publishers may write to one segment. For each record one line is printed on stdout once it is \
            committed: SPACE/SEGMENT SEQUENCE TIME. On an error the records before it stay published and the \
            exit status is 1.
            """)

    @OptionGroup var remote: RemoteOptions

    @Option(name: .long, help: "The space.")
    var space: String

    @Option(name: .long, help: "The segment.")
    var segment: String

    func validate() throws {
        if space.isEmpty || segment.isEmpty { throw ValidationError("--space and --segment must not be empty") }
        if segment == "*" { throw ValidationError("--segment must name one segment, not *") }
    }

    func run() async throws {
        try await Output.run {
            let id = try remote.storeID()
            let input = LineReader()
            try await withRemoteClient(url: remote.url, token: remote.resolvedToken(), caFile: remote.caFile) {
                client in
                while let line = await input.next() {
                    guard let (payload, metadata) = Self.record(line) else { continue }
                    let status = try await client.publish(
                        store: id, space: space, segment: segment, payload: payload, metadata: metadata)
                    Output.line(
                        "\(status.space)/\(status.segment) \(status.lastSequence) \(isoTime(status.lastTimestamp))")
                }
            }
        }
    }

    /// The payload and metadata of one input line; nil for an empty line.
    static func record(_ line: String) -> (payload: [UInt8], metadata: [String: String])? {
        guard !line.isEmpty else { return nil }
        if line.first == "{",
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let payload = object["payload"] as? String
        {
            switch object["metadata"] {
            case nil, is NSNull:
                return (Array(payload.utf8), [:])
            case let metadata as [String: String]:
                return (Array(payload.utf8), metadata)
            default:
                break  // Not the documented shape: the line is the payload.
            }
        }
        return (Array(line.utf8), [:])
    }
}

/// Lines of stdin, read one at a time on a thread of their own, so a slow terminal or pipe never blocks
/// the concurrency pool.
final class LineReader: Sendable {
    private let queue = DispatchQueue(label: "streamkit.stdin")

    /// The next line without its line break, or nil at the end of input.
    func next() async -> String? {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: readLine(strippingNewline: true)) }
        }
    }
}
