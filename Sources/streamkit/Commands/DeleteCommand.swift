import ArgumentParser
import StreamKitClient
import StreamKitEngine

/// `streamkit delete URL --store ID --space S --segment G [--before SEQ] [--token T]`.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a segment's entries (all of them, or those before a sequence) in a remote store.",
        discussion: """
            Without --before every entry of the segment is deleted; with it, the entries with sequences below \
            SEQ. Deleted entries are never returned again by any read or tool; producing to the segment \
            continues after its last sequence (sequences are never reused). Compaction then erases their bytes \
            from the log files (in the server every --compaction-interval). The token must grant deletion (streamkit token \
            --delete). Prints the number of entries deleted. Exit status 1 on an error (an unknown segment \
            is one).
            """)

    @OptionGroup var remote: RemoteOptions

    @Option(name: .long, help: "The space.")
    var space: String

    @Option(name: .long, help: "The segment.")
    var segment: String

    @Option(name: .long, help: "Delete only the entries with sequences below this one.")
    var before: UInt64?

    func validate() throws {
        if space.isEmpty || segment.isEmpty { throw ValidationError("--space and --segment must not be empty") }
        if segment == "*" { throw ValidationError("--segment must name one segment, not *") }
        if before == 0 { throw ValidationError("--before must be a sequence of 1 or more") }
    }

    func run() async throws {
        try await Output.run {
            let id = try remote.storeID()
            try await withRemoteClient(url: remote.url, token: remote.resolvedToken(), caFile: remote.caFile) {
                client in
                let count =
                    if let before {
                        try await client.truncateSegment(store: id, space: space, segment: segment, before: before)
                    } else {
                        try await client.deleteSegment(store: id, space: space, segment: segment)
                    }
                Output.line("\(space)/\(segment) deleted \(count) entries")
            }
        }
    }
}
