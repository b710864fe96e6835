import ArgumentParser
import Foundation
import StreamKitClient
import StreamKitEngine
import Synchronization

/// `streamkit tail URL --store ID --space S [--segment G] [--token T] [--from-start] [--consumer NAME]`.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Follow a remote space or segment, printing new entries as NDJSON until SIGINT.",
        discussion: """
            Entries are printed in the same JSON shape as `dump`, each exactly once and in order: commit \
            order for a space, sequence order for a segment. Without --from-start the output starts after the \
            newest entry present when tail starts. With --consumer NAME, tail follows as that durable consumer \
            (created on first use, reading the space or segment given, from the newest entry unless \
            --from-start): it holds the consumer exclusively, acknowledges each batch once printed, and a later \
            run continues after the last acknowledged entry. SIGINT or SIGTERM ends it with status 0; a lost \
            connection that cannot be re-established, a refused token or an unreachable server ends it with \
            one line on stderr and status 1.
            """)

    @OptionGroup var remote: RemoteOptions

    @Option(name: .long, help: "The space.")
    var space: String

    @Option(name: .long, help: "Only this segment.")
    var segment: String?

    @Flag(name: .customLong("from-start"), help: "Print the entries already there first.")
    var fromStart = false

    @Option(name: .long, help: "Follow as this durable consumer, resuming where its last run stopped.")
    var consumer: String?

    func validate() throws {
        if space.isEmpty { throw ValidationError("--space must not be empty") }
        if segment?.isEmpty == true { throw ValidationError("--segment must not be empty") }
        if consumer?.isEmpty == true { throw ValidationError("--consumer must not be empty") }
    }

    func run() async throws {
        try await Output.run {
            let id = try remote.storeID()
            let follower = Follower(
                store: id, space: space, segment: segment == "*" ? nil : segment, fromStart: fromStart,
                consumer: consumer)
            let url = remote.url
            let token = remote.resolvedToken()
            let caFile = remote.caFile
            // A signal cancels the follow and ends the command with status 0; a failure ends it with one line.
            _ = try await untilSignal {
                try await withRemoteClient(url: url, token: token, caFile: caFile) { client in
                    try await follower.run(client)
                }
            }
        }
    }
}

/// Follows one space (or one segment of it): wakes on every status of a subscription (and once a second,
/// to notice a subscription that failed), then reads what is new since the last printed entry.
private struct Follower: Sendable {
    let store: UUID
    let space: String
    let segment: String?
    let fromStart: Bool
    /// The durable consumer to follow as, if any.
    let consumer: String?

    /// Where the next read starts.
    private enum Position {
        /// After this sequence of the segment.
        case sequence(UInt64)
        /// After this offset of the space.
        case offset(Offset)
    }

    func run(_ client: StreamKitClient) async throws {
        if let consumer { return try await run(client, as: consumer) }
        let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let subscription = try await client.subscribe(store: store, space: space, segment: segment ?? "*") { _ in
            wake.yield()
        }
        let ticker = Task {
            while (try? await Task.sleep(for: .seconds(1))) != nil { wake.yield() }
        }
        defer { ticker.cancel() }
        var position = try await start(client)
        let what = space + (segment.map { "/" + $0 } ?? "")
        switch position {
        case .sequence(let last) where last > 0: Output.error("streamkit: following \(what) after sequence \(last)")
        case .offset(let offset) where offset != .start:
            Output.error("streamkit: following \(what) after position \(offset.position)")
        default: Output.error("streamkit: following \(what) from the start")
        }
        wake.yield()
        for await _ in wakes {
            let state = subscription.status()
            if state.state == .failed {
                throw CLIError("the subscription ended: \(state.lastError ?? "connection lost")")
            }
            position = try await readNew(client, after: position)
        }
        await subscription.cancel()  // Cancelled (a signal): the caller ends quietly.
    }

    /// Follows as durable consumer `name`: creates it on first use, then prints what comes after its position and
    /// acknowledges each batch once it is written out.
    private func run(_ client: StreamKitClient, as name: String) async throws {
        let created =
            if let segment {
                try await client.createConsumer(
                    store: store, name: name, space: space, segment: segment, startAtHead: !fromStart)
            } else {
                try await client.createConsumer(store: store, name: name, spaces: [space], startAtHead: !fromStart)
            }
        Output.error(
            "streamkit: following as consumer \(name) (\(created.consumer.target)), \(created.lag.entries) entries behind"
        )
        try await client.withConsumer(store: store, name: name, acknowledgement: .manual) { reader in
            // The last entry written to stdout and not acknowledged yet: acknowledged even when a signal ends the
            // command (in a task the signal does not cancel), so a later run does not print it again.
            let printed = Mutex<Entry?>(nil)
            do {
                try await follow(client, reader: reader, printed: printed)
            } catch {
                if let last = printed.withLock({ $0 }) {
                    _ = await Task.detached { try? await reader.acknowledge(through: last) }.value
                }
                throw error
            }
        }
    }

    private func follow(
        _ client: StreamKitClient, reader: ConsumerReader, printed: borrowing Mutex<Entry?>
    ) async throws {
        let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let subscription = try await client.subscribe(store: store, space: space, segment: segment ?? "*") { _ in
            wake.yield()
        }
        let ticker = Task {
            while (try? await Task.sleep(for: .seconds(1))) != nil { wake.yield() }
        }
        defer { ticker.cancel() }
        wake.yield()
        for await _ in wakes {
            let state = subscription.status()
            if state.state == .failed {
                throw CLIError("the subscription ended: \(state.lastError ?? "connection lost")")
            }
            var buffer = Data()
            var last: Entry?
            for try await entry in reader.entries() {
                try Task.checkCancellation()
                buffer.append(DumpCommand.json(entry))
                buffer.append(0x0A)
                last = entry
                if buffer.count > 1 << 16 {
                    Output.write(buffer)
                    buffer.removeAll(keepingCapacity: true)
                    printed.withLock { $0 = entry }
                    try await reader.acknowledge(through: entry)
                    printed.withLock { $0 = nil }
                }
            }
            Output.write(buffer)
            if let last {
                printed.withLock { $0 = last }
                try await reader.acknowledge(through: last)
                printed.withLock { $0 = nil }
            }
        }
        await subscription.cancel()
    }

    /// The starting point: the very beginning, or just after the newest entry now.
    private func start(_ client: StreamKitClient) async throws -> Position {
        if let segment {
            if fromStart { return .sequence(0) }
            let last = try await client.peek(store: store, space: space, segment: segment)
            return .sequence(last?.sequence ?? 0)
        }
        if fromStart { return .offset(.start) }
        // The space's newest entry is the newest of its segments' last entries (positions are store-wide).
        let segments = try await client.segments(store: store, space: space)
        var newest: Offset = .start
        for name in segments {
            if let last = try await client.peek(store: store, space: space, segment: name), last.offset > newest {
                newest = last.offset
            }
        }
        return .offset(newest)
    }

    /// Prints every entry after `position` that is visible now; returns the new position.
    ///
    /// Checks for cancellation (a signal) before each entry: entries a read has already received are handed
    /// out without suspending, so catching up on a long segment would otherwise run to its end first. What was
    /// printed up to then is written out, in whole lines.
    private func readNew(_ client: StreamKitClient, after position: Position) async throws -> Position {
        var buffer = Data()
        defer { Output.write(buffer) }
        func emit(_ entry: Entry) {
            buffer.append(DumpCommand.json(entry))
            buffer.append(0x0A)
            if buffer.count > 1 << 16 {
                Output.write(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        switch position {
        case .sequence(let last):
            var last = last
            let entries = client.consumeSegment(
                store: store, space: space, segment: segment ?? "", minSequence: last + 1)
            for try await entry in entries where entry.sequence > last {
                try Task.checkCancellation()
                emit(entry)
                last = entry.sequence
            }
            return .sequence(last)
        case .offset(let offset):
            var offset = offset
            for try await entry in client.consumeSpace(store: store, space: space, offset: offset)
            where entry.offset > offset {
                try Task.checkCancellation()
                emit(entry)
                offset = entry.offset
            }
            return .offset(offset)
        }
    }
}
