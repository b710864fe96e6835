import Foundation
import StreamKitEngine

/// What `verify --postgres` finds in one store: every entry through the head it had when opened, read in log
/// order (decoding each row checks its checksum), with positions dense from 1 and each segment's sequences
/// following each other. The check of a store stops at its first damaged row.
struct PostgresCheck {
    /// The store's head (last position) when the check began.
    var head: UInt64 = 0
    var rows = 0
    var entries = 0
    var segments = 0
    /// What is wrong; empty when the store is sound.
    var problems: [String] = []

    /// Whether the store could be opened (its rows fit together and with its head).
    var opened = true

    /// A store that could not be opened.
    init(problem: String) {
        opened = false
        problems = [problem]
    }

    /// Reads every entry of `store` up to its head.
    /// - Throws: `CLIError` when the database fails (not damage: the store could not be read).
    init(store: Store) async throws {
        // The head first, then the spaces: every entry up to the head is in one of them (a live node may add more).
        let statistics = await store.statistics()
        head = statistics.visibleThrough
        rows = statistics.blocks
        var expected: UInt64 = 1
        var lastSequence: [SegmentName: UInt64] = [:]
        do {
            for try await entry in await PostgresStores.everything(store) {
                guard entry.position <= head else { break }
                if entry.position != expected {
                    problems.append(
                        entry.position > expected
                            ? "positions \(expected)…\(entry.position - 1) are missing"
                            : "position \(entry.position) comes after position \(expected - 1)")
                }
                expected = entry.position + 1
                let name = SegmentName(space: entry.space, segment: entry.segment)
                let previous = lastSequence[name] ?? 0
                if entry.sequence != previous + 1 {
                    problems.append(
                        "\(entry.space)/\(entry.segment): sequence \(entry.sequence) at position \(entry.position) follows \(previous)"
                    )
                }
                lastSequence[name] = entry.sequence
                entries += 1
                if entries % 4096 == 0 {
                    Output.progress("verify \(store.id)", done: Int64(entries), total: Int64(head))
                }
            }
        } catch let error as StreamKitError where error.code == .corrupt {
            problems.append(PostgresStores.damage(store, error))
            segments = lastSequence.count
            return
        } catch let error as StreamKitError {
            throw CLIError("\(store.id.uuidString.lowercased()): \(error.message)")
        }
        if entries >= 4096 { Output.progress("verify \(store.id)", done: Int64(head), total: Int64(head)) }
        if expected <= head { problems.append("positions \(expected)…\(head) are missing") }
        segments = lastSequence.count
    }

    private struct SegmentName: Hashable {
        var space: String
        var segment: String
    }
}
