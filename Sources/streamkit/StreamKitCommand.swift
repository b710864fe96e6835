import ArgumentParser

/// `streamkit`: run the server, talk to it, and inspect, verify, dump and replay StreamKit data directories.
@main
struct StreamKitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streamkit",
        abstract: "Serve, publish to, follow, inspect, verify, dump and replay StreamKit stores.",
        discussion: """
            serve runs the WebSocket server over a data directory, or over a PostgreSQL database that several \
            serve nodes share (--postgres URL); publish, tail and replay --to-url talk to \
            a server at ws://HOST:PORT/streamkit; token mints access tokens for a server run with --jwt-secret.

            DIR is a data directory holding one store directory per store id (as the server and \
            StoreRegistry lay them out), or a single store directory. inspect, verify, dump and replay read \
            the log files directly, take no lock, and work on stores a live server holds. inspect, verify \
            and dump --postgres URL read the PostgreSQL tables instead (beside live nodes too).
            """,
        subcommands: [
            ServeCommand.self, PublishCommand.self, TailCommand.self, TokenCommand.self,
            InspectCommand.self, VerifyCommand.self, DumpCommand.self, ReplayCommand.self, CompactCommand.self,
            DeleteCommand.self,
            RetentionCommand.self, ConsumersCommand.self,
        ]
    )
}
