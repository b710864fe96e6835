import ArgumentParser

/// `streamkit`: inspect, verify, dump and replay StreamKit data directories.
@main
struct StreamKitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streamkit",
        abstract: "Inspect, verify, dump and replay StreamKit stores.",
        discussion: """
            DIR is a data directory holding one store directory per store id (as the server and \
            StoreRegistry lay them out), or a single store directory. These commands read the log files \
            directly, take no lock, and work on stores a live server holds.
            """,
        subcommands: [InspectCommand.self, VerifyCommand.self, DumpCommand.self, ReplayCommand.self]
    )
}
