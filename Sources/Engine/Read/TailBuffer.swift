import Synchronization
import StreamKitLogFiles

/// The most recent committed entries, decoded, in position order: what readers get without touching the
/// log. The store appends as transactions become visible and drops the oldest sealed entries when the tail
/// outgrows its memory budget. Readers copy out under a short lock.
final class TailBuffer: Sendable {
    private struct State {
        var entries: [Entry] = []
        var head = 0
        var bytes = 0
        /// Position of `entries[head]` (or of the next entry to come when empty).
        var startPosition: UInt64 = 1
    }

    private let state = Mutex(State())

    init(startPosition: UInt64) {
        state.withLock { $0.startPosition = startPosition }
    }

    /// Position of the oldest entry held (or of the next entry when empty).
    var startPosition: UInt64 { state.withLock { $0.startPosition } }

    var byteCount: Int { state.withLock { $0.bytes } }

    static func cost(_ entry: Entry) -> Int { 160 + entry.payload.count + entry.space.utf8.count + entry.segment.utf8.count }

    /// Appends entries that continue the tail (positions must follow on).
    func append(_ entries: [Entry]) {
        guard !entries.isEmpty else { return }
        let cost = entries.reduce(0) { $0 + Self.cost($1) }
        state.withLock { state in
            if state.head == state.entries.count {
                state.entries.removeAll(keepingCapacity: true)
                state.head = 0
                state.startPosition = entries[0].position
            }
            state.entries.append(contentsOf: entries)
            state.bytes += cost
        }
    }

    /// Drops the oldest entries while over `budget` bytes, but never past `sealedThrough` (entries not in a
    /// sealed block yet stay).
    func trim(toBudget budget: Int, sealedThrough: UInt64) {
        state.withLock { state in
            guard state.bytes > budget else { return }
            while state.bytes > budget, state.head < state.entries.count,
                state.entries[state.head].position <= sealedThrough
            {
                state.bytes -= Self.cost(state.entries[state.head])
                state.head += 1
                state.startPosition += 1
            }
            if state.head > 4096 && state.head * 2 > state.entries.count {
                state.entries.removeFirst(state.head)
                state.head = 0
            }
        }
    }

    /// Copies entries with positions in `from...through` that `accept` takes, up to `max`; returns them and
    /// the position after the last one examined.
    func collect(
        from: UInt64, through: UInt64, max: Int, into out: inout [Entry], _ accept: (Entry) -> Bool
    ) -> UInt64 {
        state.withLock { state in
            guard from >= state.startPosition else { return from }
            var index = state.head + Int(from - state.startPosition)
            var next = from
            while index < state.entries.count, next <= through, out.count < max {
                let entry = state.entries[index]
                if accept(entry) { out.append(entry) }
                index += 1
                next += 1
            }
            return next
        }
    }

    /// The entry at `position`, if the tail holds it.
    func entry(at position: UInt64) -> Entry? {
        state.withLock { state in
            guard position >= state.startPosition else { return nil }
            let index = state.head + Int(position - state.startPosition)
            return index < state.entries.count ? state.entries[index] : nil
        }
    }
}
