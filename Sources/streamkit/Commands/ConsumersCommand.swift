import ArgumentParser
import Foundation
import StreamKitClient
import StreamKitEngine

/// `streamkit consumers URL --store ID [--create NAME --space S… [--segment G] [--from-now]] [--delete NAME] [--json]`.
struct ConsumersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consumers",
        abstract: "List, create or delete a remote store's durable consumers.",
        discussion: """
            Without --create or --delete, prints every durable consumer of the store: its name, what it reads, how \
            far it is behind the head (entries and time), its fencing token and when its position last moved. \
            --create NAME makes one reading the --space options (merged in commit order), or one segment with \
            --space and --segment; it starts at the beginning, or after what is there now with --from-now. \
            Creating an existing consumer with the same target changes nothing. --delete NAME forgets one. Read \
            as a consumer with `streamkit tail … --consumer NAME` or StreamKitClient.withConsumer. Exit status 1 on \
            an error.
            """)

    @OptionGroup var remote: RemoteOptions

    @Option(name: .long, help: "Create a consumer of this name.")
    var create: String?

    @Option(name: .long, help: "A space the created consumer reads (repeat for several).")
    var space: [String] = []

    @Option(name: .long, help: "Read this one segment of --space instead.")
    var segment: String?

    @Flag(name: .customLong("from-now"), help: "Start the created consumer after the entries there now.")
    var fromNow = false

    @Option(name: .long, help: "Delete the consumer of this name.")
    var delete: String?

    @Flag(name: .long, help: "Print one JSON object per consumer.")
    var json = false

    func validate() throws {
        if create != nil && delete != nil { throw ValidationError("--create and --delete exclude each other") }
        if create?.isEmpty == true || delete?.isEmpty == true {
            throw ValidationError("a consumer name must not be empty")
        }
        if create != nil {
            if space.isEmpty { throw ValidationError("--create needs at least one --space") }
            if segment != nil && space.count != 1 { throw ValidationError("--segment needs exactly one --space") }
        } else if !space.isEmpty || segment != nil || fromNow {
            throw ValidationError("--space, --segment and --from-now go with --create")
        }
    }

    func run() async throws {
        try await Output.run {
            let id = try remote.storeID()
            try await withRemoteClient(url: remote.url, token: remote.resolvedToken(), caFile: remote.caFile) {
                client in
                if let name = create {
                    let status =
                        if let segment {
                            try await client.createConsumer(
                                store: id, name: name, space: space[0], segment: segment, startAtHead: fromNow)
                        } else {
                            try await client.createConsumer(store: id, name: name, spaces: space, startAtHead: fromNow)
                        }
                    Output.line(Self.line(status, json: json))
                } else if let name = delete {
                    let existed = try await client.deleteConsumer(store: id, name: name)
                    guard existed else { throw CLIError("no consumer named \(name)") }
                    Output.line("deleted consumer \(name)")
                } else {
                    let statuses = try await client.consumers(store: id)
                    if statuses.isEmpty && !json { Output.line("no consumers") }
                    for status in statuses { Output.line(Self.line(status, json: json)) }
                }
            }
        }
    }

    /// One consumer, as text or JSON.
    static func line(_ status: ConsumerStatus, json: Bool) -> String {
        let consumer = status.consumer
        let seconds = Double(status.lag.nanoseconds) / 1e9
        let updated = Date(timeIntervalSince1970: Double(consumer.updatedAt) / 1e9)
        if json {
            var object: [String: Any] = [
                "name": consumer.name, "lag_entries": status.lag.entries, "lag_seconds": seconds,
                "fencing_token": consumer.fencingToken, "updated_at": ISO8601DateFormatter().string(from: updated),
                "offsets": consumer.position.offsets.mapValues(\.token),
            ]
            switch consumer.target {
            case .spaces(let spaces): object["spaces"] = spaces
            case .segment(let space, let segment):
                object["space"] = space
                object["segment"] = segment
                object["sequence"] = consumer.position.sequence
            }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
        let behind = String(format: "%.3f", seconds)
        return "\(consumer.name)\t\(consumer.target)\tbehind \(status.lag.entries) entries, \(behind) s"
            + "\ttoken \(consumer.fencingToken)\tmoved \(ISO8601DateFormatter().string(from: updated))"
    }
}
